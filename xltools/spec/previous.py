"""A spec's [previous] table -> spec.model.Previous: what of last year's workbook `xltools carry`
keeps, and which of this year's figures must equal last year's (`check --previous`, `collect`).

    [previous]
    carry = ["income.org", "project_unit"]    # kept as they were (a table's column: every row)
    rows = "income.org"                       # a table's rows are matched by this column's text
    renamed = { unit_name = "dept_name" }     # this year's name = last year's, for a field renamed
    [[previous.equals]]
    id = "carryover-previous"
    field = "income.carryover"                # this year's 上年结转 ...
    last = "spend.balance_cum"                # ... is last year's 累计结余, row by row
    message = "上年结转应等于上年报告的累计结余"
"""
from __future__ import annotations

from .. import catalogue
from ..errors import SpecError
from ..findings import WARNING
from .model import Equals, Previous, Report

_KEYS = {"carry", "rows", "renamed", "equals"}


def _known(ref: str, reports: dict[str, Report], where: str) -> str:
    """A field, or a table's column (table.column), of this spec."""
    table, _, column = ref.partition(".")
    for rep in reports.values():
        if (column and table in rep.tables and column in rep.tables[table].columns) or (not column and ref in rep.fields):
            return ref
    raise SpecError(f"{where}：未知字段 {ref}")


def previous_of(doc: dict, reports: dict[str, Report], where: str) -> Previous:
    d = doc.get("previous")
    if d is None:
        return Previous()
    place = f"{where}: previous"
    for key in set(d) - _KEYS:
        raise SpecError(f"{place}：未知的键 {key}（可用 {'、'.join(sorted(_KEYS))}）")
    carry = tuple(_known(ref, reports, f"{place}.carry") for ref in d.get("carry", []))
    rows = _known(d["rows"], reports, f"{place}.rows") if "rows" in d else ""
    if rows and "." not in rows:
        raise SpecError(f"{place}.rows：应为某表的一列（表.列），如 income.org")
    renamed = d.get("renamed", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in renamed.items()):
        raise SpecError(f"{place}.renamed：应为 今年的字段名 = \"上年的字段名\"")
    for name in renamed:
        _known(name, reports, f"{place}.renamed")
    equals = []
    for j, e in enumerate(d.get("equals", [])):
        at = f"{place}.equals[{j}]"
        try:
            code, field, last, message = e["id"], e["field"], e["last"], e["message"]
        except KeyError as err:
            raise SpecError(f"{at}：缺少键 {err.args[0]}") from None
        if code in catalogue.CATALOGUE:
            raise SpecError(f"{at}：id {code} 已是内置校验代码，请换一个")
        if "." in field and not rows:
            raise SpecError(f"{at}：按行核对的列须先在 previous.rows 中给出各行的名称列")
        severity = e.get("severity", WARNING)
        if severity not in catalogue.SEVERITY_LABEL:
            raise SpecError(f"{at}.severity：只能是 {' 或 '.join(catalogue.SEVERITY_LABEL)}")
        equals.append(Equals(code, severity, _known(field, reports, f"{at}.field"), last, message))
    return Previous(carry, rows, tuple(equals), tuple(renamed.items()))
