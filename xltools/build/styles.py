"""How each role of a placed cell looks: one table, so the two sheets look like one form."""
from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

from ..findings import SEVERITY_COLOURS
from ..spec.model import Field, Placed, PrintSetup

THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")     # pale yellow: type here
COMPUTED_FILL = PatternFill("solid", fgColor="EEF3F8")  # pale blue-grey: computed, locked
# A check cell that says something, by its check's severity: (font, fill). The cells a check
# accuses take its fill. A warning's light yellow is not the input cells' pale yellow.

# Number formats by unit. Computed money hides zero, as the seed prints blank balances.
FORMATS = {
    "万元": "0.00", "元": "0.00", "人": "0", "%": "0.00%", "rate": "0.00%", "score": "General",
    # A month is typed as text (2022-01, 2022年1月, 2022.1): a date format would store 2022.1 as
    # the number 2022.1, the same number as 2022.10 (see xltools.units.Month).
    "date": 'yyyy"年"m"月"d"日"', "month": "@",
    "text": "@", "phone": "@", "postcode": "@", "choice": "@",
}
COMPUTED_FORMATS = {"万元": "0.00;-0.00;;@", "score": "General;-General;;@"}

ALIGN = {
    "title": Alignment(horizontal="center", vertical="center", wrap_text=True),
    "subtitle": Alignment(horizontal="center", vertical="center"),
    "issuer": Alignment(horizontal="center", vertical="center"),
    "section": Alignment(horizontal="left", vertical="center", wrap_text=True),
    "caption": Alignment(horizontal="center", vertical="center", wrap_text=True),
    "header": Alignment(horizontal="center", vertical="center", wrap_text=True),
    "label": Alignment(horizontal="center", vertical="center", wrap_text=True),
    "signer": Alignment(horizontal="right", vertical="center"),
    "date": Alignment(horizontal="right", vertical="center"),
    # Wrapped from the top, one finding a line: the column is wide enough for most findings on
    # one line, as the rows keep the form's printed heights.
    "check": Alignment(horizontal="left", vertical="top", wrap_text=True),
    "check-heading": Alignment(horizontal="left", vertical="bottom"),
}


def check_marks(severity: str) -> tuple[Font, PatternFill]:
    """The font and fill a conditional format gives a check cell of this severity once it speaks."""
    look = SEVERITY_COLOURS[severity]
    return Font(color=look.ink, bold=True), PatternFill("solid", fgColor=look.fill, bgColor=look.fill)


class Styler:
    def __init__(self, pr: PrintSetup):
        size = pr.body_size
        self.fonts = {
            "title": Font(name=pr.title_font, size=20, bold=True),
            "issuer": Font(name=pr.font, size=15),
            "subtitle": Font(name=pr.font, size=size + 1.5),
            "section": Font(name=pr.font, size=size + 1.5, bold=True),
            "caption": Font(name=pr.font, size=size, bold=True),
            "header": Font(name=pr.font, size=size, bold=True),
            "body": Font(name=pr.font, size=size),
            "text": Font(name=pr.text_font, size=size + 1),
            "fit": Font(name=pr.text_font, size=size + 1, color="FFFFFF"),   # there, not seen
            "check": Font(name=pr.font, size=9, color="808080"),
            "check-heading": Font(name=pr.font, size=9, bold=True, color="808080"),
        }

    def apply(self, cell, p: Placed, f: Field | None) -> None:
        role = p.role
        if f is not None:
            long_text = f.unit == "text" and (p.rows > 1 or p.align == "top")
            cell.font = self.fonts["text" if long_text else "body"]
            cell.number_format = (COMPUTED_FORMATS.get(f.unit) if f.kind == "computed" else None) \
                or FORMATS.get(f.unit, "General")
            horizontal = "right" if f.numeric else ("left" if long_text or p.cols > 2 else "center")
            if f.unit in ("date", "month"):
                horizontal = "center"
            cell.alignment = Alignment(horizontal=horizontal, vertical="top" if long_text else "center",
                                       wrap_text=True)
            cell.fill = INPUT_FILL if f.kind == "input" else COMPUTED_FILL
            cell.protection = Protection(locked=f.kind != "input")
            return
        cell.font = self.fonts.get(role, self.fonts["check" if role == "check" else "body"])
        align = ALIGN.get(role, ALIGN["label"])
        if p.align in ("left", "right"):
            align = Alignment(horizontal=p.align, vertical="center", wrap_text=True)
        cell.alignment = align

    def apply_run(self, cell, p: Placed) -> None:
        """A text row of a long text: typed into, in the text font, wrapped from the top left; its
        fit cell: the same, in white (spec.model.Run); its join cell: value not shown (number
        format ;;;), in the hidden column J. The formulas are hidden; every cell of the rows is
        unlocked (build.workbook._open_text_rows)."""
        cell.font = self.fonts["fit" if p.role == "fit" else "text"]
        if p.role in ("text", "fit"):
            cell.number_format = "@" if p.role == "text" else "General"
            cell.alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)
            if p.role == "text":
                cell.fill = INPUT_FILL
        else:
            cell.number_format = ";;;"
        cell.protection = Protection(locked=False, hidden=p.role != "text")


def border_range(ws, p: Placed, outline_only: bool = False, underline: bool = False) -> None:
    """Borders on every cell of a merged range (Excel draws a merged cell's border per cell)."""
    for r in range(p.row, p.row + p.rows):
        for c in range(p.col, p.col + p.cols):
            if underline:
                ws.cell(r, c).border = Border(bottom=THIN)
            elif outline_only:
                ws.cell(r, c).border = Border(
                    left=THIN if c == p.col else None, right=THIN if c == p.col + p.cols - 1 else None,
                    top=THIN if r == p.row else None, bottom=THIN if r == p.row + p.rows - 1 else None)
            else:
                ws.cell(r, c).border = BOX
