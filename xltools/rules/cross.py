"""One report against the others: a figure of the report held once against the sum of a figure
over every copy of the report copied per project (2022: the department's 项目支出 against the
projects' 实际支出), as the spec's cross-report check declares it (the sheet of the report held
once shows the same sentence inline)."""
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
        held = filled.first(c.report) if c else None      # the report held once (the department)
        if held is None:
            return
        held_vals = held.values
        dept = sum((num(held_vals.get(n)) or Decimal(0) for n in c.fields), Decimal(0))
        copies = filled.copies
        spent = [num(p.values.get(c.copy_field)) or Decimal(0) for p in copies]
        projects = sum(spent, Decimal(0))
        gap = dept - projects
        if cents(gap) == 0:
            return
        entry = catalogue.cross_entry(c)
        rep = spec.reports[c.report]
        if not copies:
            copied = spec.reports[c.copied].sheet
            out.append(catalogue.finding(entry, rep.sheet, rep.cell(c.fields[0]), variant="no-project", expected=None,
                                         actual=cents(dept), hint=f"如有项目须做项目自评，请在“{copied}”表中填写"
                                         "（多个项目复制该表）", dept=figure(dept)))
            return
        hint = entry.hint
        lines = explain_gap(gap, *texts_of(rep, held_vals))
        project_items = " ".join(str(v) for p in copies for n, v in p.values.items() if isinstance(v, str))
        lines = [line for line in lines if line_label(line) not in project_items] or lines
        if lines:
            hint = catalogue.HINT_CROSS_IN_TEXT.format(lines=catalogue.quoted_lines(lines))
        # The sentence of the inline cell beside the figure, with the same figures.
        text = value_cross(spec, held_vals.get, spent)
        out.append(Finding(entry.code, entry.severity, rep.sheet, rep.cell(c.fields[0]), text, cents(projects),
                           cents(dept), hint))
