"""This year's report against last year's, as the spec's [previous] declares it: each `equals`
(上年结转 = last year's 累计结余), row by row of the 机构名称, and the main figures ([summary]
figures) with last year's beside them (上年数, 增减率).

Each side is first reduced to plain facts (JSON: `year_start` of this year's file, `year_end` of
last year's), so that `check --previous 去年.xlsx` compares two files it reads and `collect`
compares a submission with what its ledger kept of the unit's previous year: one comparison.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .. import catalogue
from ..catalogue import figure
from ..findings import Finding
from ..formulas import CENT, evaluate, input_defaults, num
from ..read.coerce import is_blank
from ..read.filled import Filled
from ..spec.model import Spec


def declares(spec: Spec) -> set[str]:
    """The codes a comparison with last year may give with this spec."""
    return {e.code for e in spec.previous.equals}


def _cells(filled: Filled, spec: Spec, ref: str) -> list[tuple[str, object, str, str]]:
    """(row name, value, sheet, field) of a field, or of each row of a table's column with the
    text of `[previous] rows` in the same row ("" for a single field). Names not in the spec
    (last year's spec may lack them) give nothing."""
    table, _, column = ref.partition(".")
    out = []
    for inst in filled.instances:
        rep = inst.report
        values = _as_computed(inst, spec)
        if not column:
            if ref in rep.fields:
                out.append(("", values.get(ref), inst.sheet, ref))
            continue
        tab = rep.tables.get(table)
        if tab is None or column not in tab.columns:
            continue
        names_table, _, names_column = spec.previous.rows.partition(".")
        names = rep.tables.get(names_table)
        for key in tab.rows:
            if key == tab.total_row:
                continue
            name = values.get(names.name(names_column, key)) if names else None
            if not is_blank(name):
                out.append((str(name).strip(), values.get(tab.name(column, key)), inst.sheet, tab.name(column, key)))
    return out


def _as_computed(inst, spec: Spec) -> dict:
    """The inputs as stated, every computed figure as the template computes it from them (a
    累计结余 the unit left blank is still what the form says)."""
    rep = inst.report
    inputs = input_defaults(rep)
    inputs.update({n: v for n, v in inst.values.items() if rep.fields[n].kind == "input"})
    return evaluate(rep, spec, inputs)[0]


def year_end(filled: Filled, spec: Spec, equals=None) -> dict:
    """What next year's report is compared with: each `equals` rule's last-year figure, by row
    (the rules of `spec`, this report's own, or those of next year's spec)."""
    return {e.code: {row: _text(v) for row, v, _, _ in _cells(filled, spec, e.last)}
            for e in (spec.previous.equals if equals is None else equals)}


def year_start(filled: Filled, spec: Spec) -> dict:
    """This year's side of each `equals` rule: row, value and where it stands."""
    return {e.code: [{"row": row, "value": _text(v), "sheet": sheet, "field": name}
                     for row, v, sheet, name in _cells(filled, spec, e.field)] for e in spec.previous.equals}


def compare(start: dict, end: dict, spec: Spec) -> list[Finding]:
    """Findings where this year's figure differs from last year's (cents of 万元; blank is 0).
    A row last year's report does not name is said so; a rule last year's facts lack, skipped."""
    out = []
    for e in spec.previous.equals:
        last = end.get(e.code)
        if last is None:
            continue
        entry = catalogue.previous_entry(e)
        for cell in start.get(e.code, []):
            rep = next(r for r in spec.reports.values() if cell["field"] in r.fields)
            where = (cell["sheet"], rep.shown_cell(cell["field"]))
            row = cell["row"] or rep.fields[cell["field"]].label
            this = num(_dec(cell["value"])) or Decimal(0)
            if cell["row"] and cell["row"] not in last:
                out.append(catalogue.finding(entry, *where, variant="unmatched", actual=this, row=row))
                continue
            before = _dec(last.get(cell["row"])) or Decimal(0)
            gap = this - before
            if gap.quantize(CENT, ROUND_HALF_UP) == 0:
                continue
            out.append(catalogue.finding(entry, *where, expected=before, actual=this, row=row, this=figure(this),
                                         last=figure(before), direction=catalogue.direction(gap), gap=figure(abs(gap))))
    return out


def figures_compared(this: list[dict], last: list[dict]) -> list[dict]:
    """The main figures (FigureValue: key, label, value) with last year's beside them: 上年数 and
    增减率 (the change over last year, in %, two decimals; None where last year's is 0 or absent)."""
    before = {f["key"]: f.get("value") for f in last}
    out = []
    for f in this:
        now, then = _dec(f.get("value")), _dec(before.get(f["key"]))
        rate = None
        if now is not None and then:
            rate = str(((now - then) / then * 100).quantize(CENT, ROUND_HALF_UP))
        out.append({"key": f["key"], "label": f["label"], "value": f.get("value"),
                    "previous": None if then is None else str(then), "change": rate})
    return out


def _text(v) -> str | None:
    return None if v is None or is_blank(v) else str(v)


def _dec(v) -> Decimal | None:
    try:
        return None if v is None else Decimal(str(v))
    except ArithmeticError:
        return None
