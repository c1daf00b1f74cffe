"""Long texts as the office program shows and prints them: text in a row that is hidden (not on
screen, left out of the print) and text taller than its row (cut on screen and on paper).

Read from the heights and hidden flags the file stores for the rows that hold text
(Instance.row_marks). A row is reported cut only when it is lower than the least height any of
Excel, WPS and LibreOffice shows its text in (layout.least_height), so that a row fitted by
either program passes. `xltools pack` lays every text out again and prints it whole whatever
these say: they are warnings for the unit's own printout.
"""
from __future__ import annotations

from ..spec.layout import EXCEL_MAX_ROW_PT, LEAST_LINE_PT, ROW_CHARS, least_height
from .rule import Context, ReportRule

DEFAULT_ROW_PT = 15.0     # a row the file gives no height: Excel's and WPS's default


class TextRows(ReportRule):
    codes = ("text-hidden", "text-cut")

    def report(self, ctx: Context) -> None:
        inst, rep = ctx.inst, ctx.rep
        for name, held in inst.rows.items():
            run = rep.runs[name]
            width = sum(ctx.spec.print.widths[run.col - 1: run.col - 1 + run.cols])
            sure = LEAST_LINE_PT / (width * 1.3 - 1.5) * 2.2    # pt a character needs at most (least_height)
            label = rep.fields[name].label
            for ref, text in held:
                height, hidden = inst.row_marks.get(ref, (None, False))
                if not hidden and height is not None \
                        and height >= len(text) * sure + (text.count("\n") + 1) * LEAST_LINE_PT:
                    continue            # holds it however it wraps: most rows, at little cost
                row = int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
                if hidden:
                    ctx.add("text-hidden", ref, actual=text[:20], label=label, row=row, cell=ref)
                    continue
                need = least_height(text, width)
                have = DEFAULT_ROW_PT if height is None else height
                if need > EXCEL_MAX_ROW_PT:
                    ctx.add("text-cut", ref, variant="too-long", expected=ROW_CHARS, actual=len(text), label=label,
                            row=row, chars=len(text), need=round(need),
                            hint=f"把这一格的后半部分剪切到下一格（每格最多 {ROW_CHARS} 字）")
                elif have < need - LEAST_LINE_PT / 2:     # half a line short or more
                    ctx.add("text-cut", ref, expected=round(need), actual=have, label=label, row=row,
                            need=round(need), have=f"{have:g}")
