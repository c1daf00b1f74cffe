"""One report against the others: a figure of the report held once against the sum of a figure
over every copy of the report copied per project (2022: the department's 项目支出 against the
projects' 实际支出), as the spec's cross-report check declares it (the sheet of the report held
once shows the same sentence inline). A copy counts once its figure is filled (formulas.value_filled):
while none is, there is nothing to compare, as not every project needs a self-evaluation."""
from __future__ import annotations

from decimal import Decimal

from .. import catalogue
from ..findings import Finding
from ..formulas import effective, num, value_cross, value_filled
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
        counted = [(p, v) for p in filled.copies if (v := _filled_figure(spec, p)) is not None]
        spent = [v for _, v in counted]
        text = value_cross(spec, held_vals.get, spent)     # the inline cell's sentence, its figures
        if not text:
            return
        dept = sum((num(held_vals.get(n)) or Decimal(0) for n in c.fields), Decimal(0))
        projects = sum(spent, Decimal(0))
        entry = catalogue.cross_entry(c)
        rep = spec.reports[c.report]
        hint = entry.hint
        lines = explain_gap(dept - projects, *texts_of(rep, held_vals))
        project_items = " ".join(str(v) for p, _ in counted for v in p.values.values() if isinstance(v, str))
        lines = [line for line in lines if line_label(line) not in project_items] or lines
        if lines:
            hint = catalogue.HINT_CROSS_IN_TEXT.format(lines=catalogue.quoted_lines(lines))
        out.append(Finding(entry.code, entry.severity, rep.sheet, rep.cell(c.fields[0]), text, cents(projects),
                           cents(dept), hint))


def _filled_figure(spec: Spec, copy) -> Decimal | None:
    """A copy's figure as its template computes it from the inputs (as the cell shows it once
    recalculated: a cached total may be stale, a data file may leave it out), None while not
    filled."""
    fields = copy.report.fields
    return value_filled(spec, effective(copy.report, {n: v for n, v in copy.values.items()
                                                      if fields[n].kind == "input"}).get)
