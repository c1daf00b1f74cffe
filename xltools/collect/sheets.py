"""The summary's sheets as openpyxl writes them, laid out for a director to read and print.

Every text goes in as a string cell through usertext.text_cell: a unit's name, a file name or a
finding quoting a DDE formula is never a formula, whatever it starts with. Each sheet has a title
row tall enough for its font, a line of notes, a header row whose texts wrap above the filter
buttons, its own column widths, rows as tall as their wrapped texts (set, not left to each program:
Excel does not fit them when it opens a file), panes frozen below the header and right of the
first column (单位 stays in view when scrolling right), and A4 landscape print of the columns meant
for paper, fitted to the page width, the header row repeated on each page.
"""
from __future__ import annotations

import math
from copy import copy
from dataclasses import dataclass

from ..usertext import text_cell

TITLE_ROW, NOTE_ROW, HEADER_ROW = 1, 2, 3
FIRST = HEADER_ROW + 1
LINE_PT = 16.0              # one line of 11 pt text (LibreOffice's CJK fallback is ~1.45 em)
MONEY = "#,##0.00"


@dataclass(frozen=True)
class Col:
    header: str
    width: float
    fmt: str | None = None
    total: bool = False          # a SUBTOTAL in the totals row
    wrap: bool = False           # long text: wrapped, the row as tall as it needs


def column(n: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(n)


def text_lines(text: str, width: float) -> int:
    """Lines a text takes wrapped in a column `width` units wide, as Excel draws 11 pt text (a
    unit is a digit of Calibri; a CJK or full-width character takes 2.1; LibreOffice fits ~1.5,
    so its rows show a little air below the text, never a cut)."""
    usable = max(width - 0.5, 2.0)
    return sum(max(1, math.ceil(sum(2.1 if ord(ch) > 0x2E7F else 1.0 for ch in part) / usable))
               for part in str(text).split("\n"))


def height(texts_and_widths, lines_at_least: int = 1) -> float:
    """Points a row needs to show each (text, column width) whole, wrapped (at most Excel's 409)."""
    lines = max([lines_at_least, *(text_lines(t, w) for t, w in texts_and_widths if t)])
    return min(409.0, lines * LINE_PT + 4)


class SheetWriter:
    def __init__(self, password):
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
        self.wb = Workbook()
        self.wb.remove(self.wb.active)
        self.password = password
        self.cached: dict[str, dict[str, object]] = {}
        thin = Side(style="thin", color="999999")
        self.box = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.head_font = Font(bold=True)
        self.head_fill = PatternFill("solid", fgColor="DDEBF7")
        self.title_font = Font(bold=True, size=16)
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.top = Alignment(vertical="top")
        self.head_align = Alignment(horizontal="center", vertical="top", wrap_text=True)
        self.link_font = Font(color="0563C1", underline="single")
        self.unlocked = Protection(locked=False)
        self.styles: dict = {}            # (number format, wrapped) -> the style array of a body cell

    def sheet(self, title: str, heading: str, note: str, cols: list[Col], printed: int | None = None):
        """A sheet with its title, note and header row; `printed`: how many columns from A go on
        paper (the title spans them)."""
        ws = self.wb.create_sheet(title)
        span = max(printed or len(cols), 1)
        self.text(ws, TITLE_ROW, 1, heading).font = self.title_font
        ws.row_dimensions[TITLE_ROW].height = 28
        self.text(ws, NOTE_ROW, 1, note).alignment = self.wrap
        width = sum(c.width for c in cols[:span]) or 60
        ws.row_dimensions[NOTE_ROW].height = height([(note, width)])
        for row in (TITLE_ROW, NOTE_ROW):
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=span)
        self.cached[title] = {}
        if cols:
            self.header(ws, HEADER_ROW, cols)
        return ws

    def header(self, ws, row: int, cols: list[Col], first_col: int = 1) -> None:
        """Headers wrapped and top-aligned in a row one line taller than they need: the filter
        button sits in the bottom right corner, below the text."""
        for i, c in enumerate(cols):
            cell = self.text(ws, row, first_col + i, c.header)
            cell.font, cell.fill, cell.alignment, cell.border = self.head_font, self.head_fill, self.head_align, self.box
            ws.column_dimensions[column(first_col + i)].width = c.width
        need = max(text_lines(c.header, c.width - 2) for c in cols) + 1      # the button takes 2 units
        ws.row_dimensions[row].height = max(ws.row_dimensions[row].height or 0, need * LINE_PT + 4)

    def text(self, ws, row: int, col: int, value):
        """A cell of our own words (a title, a label): text, never a formula."""
        cell = ws.cell(row, col)
        text_cell(cell, value)
        return cell

    def put(self, ws, row: int, col: int, value, c: Col | None = None):
        """A body cell. Unlocked: Excel sorts a range on a protected sheet only if none of its
        cells is locked; headers and totals stay locked (the ledger, not this copy, is the record).
        A text is a string cell whatever it starts with (usertext)."""
        cell = ws.cell(row, col)
        if isinstance(value, str):
            text_cell(cell, value)
        else:
            cell.value = value
        key = (c.fmt, c.wrap) if c is not None else (None, False)
        style = self.styles.get(key)
        if style is None:
            cell.border, cell.protection = self.box, self.unlocked
            cell.alignment = self.wrap if key[1] else self.top
            if key[0]:
                cell.number_format = key[0]
            self.styles[key] = copy(cell._style)
        else:      # openpyxl looks each style part up by hash on every assignment: 40% of the write
            cell._style = copy(style)
        return cell

    def row(self, ws, row: int, cols: list[Col], values: list) -> list:
        """One body row, as tall as its wrapped texts; returns its cells."""
        cells = [self.put(ws, row, i, v, c) for i, (c, v) in enumerate(zip(cols, values), start=1)]
        wrapped = [(v, c.width) for c, v in zip(cols, values) if c.wrap and isinstance(v, str)]
        if wrapped:
            ws.row_dimensions[row].height = height(wrapped)
        return cells

    def formula(self, ws, ref: str, formula: str, value, fmt: str | None = None, in_row: bool = False):
        """A formula of ours with its cached value; `in_row`: one of a table's rows (sorted with it)."""
        ws[ref] = formula
        ws[ref].border, ws[ref].alignment = self.box, self.top
        if in_row:
            ws[ref].protection = self.unlocked
        if fmt:
            ws[ref].number_format = fmt
        self.cached[ws.title][ref] = value

    def table(self, ws, name: str, cols: list[Col], first_row: int, last_row: int, first_col: int = 1) -> None:
        """An Excel table over header + rows: sortable and filterable, banded."""
        from openpyxl.worksheet.table import Table, TableStyleInfo
        if last_row <= first_row:
            return
        t = Table(displayName=name,
                  ref=f"{column(first_col)}{first_row}:{column(first_col + len(cols) - 1)}{last_row}")
        t.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        ws.add_table(t)

    def finish(self, ws, printed: int, last_row: int, freeze: str | None = "B4", fit_height: int = 0) -> None:
        """Frozen panes, protection and A4 landscape print of columns A..`printed` (fitted to the
        page width; `fit_height` pages tall, 0: as many as it takes)."""
        from ..build import protect
        ws.freeze_panes = freeze
        if freeze:
            ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
        ws.print_area = f"A1:{column(max(printed, 1))}{max(last_row, HEADER_ROW)}"
        ps = ws.page_setup
        ps.paperSize = ws.PAPERSIZE_A4
        ps.orientation = "landscape"
        ps.fitToWidth, ps.fitToHeight = 1, fit_height
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.5
        ws.page_margins.top = ws.page_margins.bottom = 0.6
        ws.oddFooter.center.text = "第 &P 页，共 &N 页"
        protect.apply(ws, self.password, f"xltools-collect:{ws.title}")
        ws.protection.autoFilter = False        # False = allowed: sorting and filtering the rows
        ws.protection.sort = False
        ws.protection.formatColumns = False
        ws.protection.formatRows = False
