"""How tall a row with a check cell must be for everything its cell can say at once.

The form's rows keep their printed heights (most are 20 pt): beside them only the first line of a
wrapped check cell reads. No program fits a row to a formula's result, so the height is set in
the file, from the longest sentences the cell's check can give together: its check's value twin
(formulas.value_check, value_cross) asked with figures as wide as a report holds, each sentence
measured at column I's width and font. Column I is not printed: pack's copies, which leave it
out, give these rows back the form's heights (pack/frozen.py).
"""
from __future__ import annotations

from decimal import Decimal

from .. import formulas
from ..spec.layout import text_lines
from ..spec.model import Check, Report, Spec

CHECK_SIZE = 9.0        # pt, the check cells' font (styles.Styler)
CHECK_LINE_PT = 13.0    # a line of it: 1.45 em in LibreOffice's CJK fallback (Excel's 宋体: about 12)
CHECK_MAX_LINES = 10    # the 元 amounts of a 机构's five columns, two lines each: a cell saying more
                        # is read whole in 校验结果 (check --write), and a taller row dwarfs the form
WIDE = Decimal("999999.99")   # a figure as wide as a report holds, in 万元
SCORE = Decimal("999.99")     # a score or weight as wide as one typed by mistake


def _worst(check: Check, rep: Report) -> str:
    """The longest the check's cell reads: every one of its findings at once, with wide figures."""
    if check.kind == "quotes":
        org, narr = check.left
        said = "，".join(f"{phrase}{WIDE * 10000:,}元" for phrases, _ in check.right for phrase in phrases)
        opening = "" if said.startswith(check.lead) else check.lead   # (the lead may be the first phrase)
        values = {org: "某", narr: f"某{opening}{said}。"}
        return formulas.value_check(check, {**values, **{name: 0 for _, name in check.right}}.get)
    if check.kind == "levels":
        return formulas.value_check(check, {n: SCORE for names in check.left for n in names}.get)
    if check.kind == "weights":
        return formulas.value_check(check, {n: SCORE for n in check.left}.get)
    if check.kind == "score-range":
        return formulas.value_check(check, {check.left: -SCORE, check.right: SCORE}.get)
    return formulas.value_check(check, {check.left: WIDE, check.right: -WIDE}.get)   # compare


def check_row_heights(rep: Report, spec: Spec) -> dict[int, float]:
    """Row -> the height its check cell needs, where that is more than the form's row gives."""
    texts = {p.row: _worst(p.check, rep) for p in rep.placed if p.role == "check"}
    if spec.cross and rep.id == spec.cross.report:
        texts[formulas.cross_cell(spec)[0]] = formulas.value_cross(spec, {n: WIDE for n in spec.cross.fields}.get,
                                                                   [-WIDE] * 10)
    out = {}
    for row, text in texts.items():
        need = check_height(text, spec)
        if need > rep.row_heights.get(row, 0):
            out[row] = need
    return out


def check_height(text: str, spec: Spec) -> float:
    """Points a check cell's text takes in column I (text_lines measures the body font)."""
    lines = text_lines(text, spec.print.check_width * spec.print.body_size / CHECK_SIZE)
    return min(CHECK_MAX_LINES, lines) * CHECK_LINE_PT + 4
