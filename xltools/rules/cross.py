"""One report against the others: the department's 项目支出 against the projects' 实际支出, as the
spec's cross-report check declares it (the department sheet shows the same sentence inline)."""
from __future__ import annotations

from decimal import Decimal

from .. import catalogue
from ..catalogue import figure
from ..findings import Finding
from ..formulas import num, value_cross
from ..read.filled import Filled
from ..spec.model import Spec
from .narrative import explain_gap, line_label
from .rule import BookRule, cents, texts_of


class CrossReport(BookRule):
    def declares(self, spec: Spec) -> set[str]:
        return {spec.cross.code} if spec.cross else set()

    def book(self, filled: Filled, spec: Spec, out: list[Finding]) -> None:
        c = spec.cross
        if c is None:
            return
        dept_vals = filled.dept.values
        dept = sum((num(dept_vals.get(n)) or Decimal(0) for n in c.dept), Decimal(0))
        projects = sum((num(p.values.get(c.project)) or Decimal(0) for p in filled.projects), Decimal(0))
        gap = dept - projects
        if cents(gap) == 0:
            return
        entry = catalogue.cross_entry(c)
        rep = spec.dept
        if not filled.projects:
            out.append(catalogue.finding(entry, rep.sheet, rep.cell(c.dept[0]), variant="no-project", expected=None,
                                         actual=cents(dept), hint=f"如有项目须做项目自评，请在“{spec.project.sheet}”表中填写"
                                         "（多个项目复制该表）", dept=figure(dept), sheet=spec.project.sheet))
            return
        hint = entry.hint
        lines = explain_gap(gap, *texts_of(spec.dept, dept_vals))
        project_items = " ".join(str(v) for p in filled.projects for n, v in p.values.items()
                                 if isinstance(v, str))
        lines = [line for line in lines if line_label(line) not in project_items] or lines
        if lines:
            hint = catalogue.HINT_CROSS_IN_TEXT.format(lines=catalogue.quoted_lines(lines))
        # The sentence of the department sheet's inline cell, with the same figures.
        text = value_cross(spec, dept_vals.get, [num(p.values.get(c.project)) or Decimal(0) for p in filled.projects])
        out.append(Finding(entry.code, entry.severity, rep.sheet, rep.cell(c.dept[0]), text, cents(projects),
                           cents(dept), hint))
