"""The summary's sheets as openpyxl writes them, laid out for a director to read and print.

Written in openpyxl's write-only mode: each sheet from the top down, each row going to a temporary
file as it is written, so a province's 7,000 units cost a row's memory, not a workbook's. What a
sheet's head holds (column widths, frozen panes, page setup) is therefore set when the sheet is
begun, and what its tail holds (tables, print area) when it is done.

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


class Sheet:
    """One worksheet being written, top down (SheetWriter.sheet)."""

    def __init__(self, ws, printed: int):
        self.ws, self.printed = ws, printed
        self.last = 0                  # the last row written

    @property
    def title(self) -> str:
        return self.ws.title

    def write(self, row: int, cells: list, height: float | None = None) -> None:
        """Row `row` (below those written; the rows between stay empty) holding `cells` from
        column A (None: no cell there), `height` points tall (None: the default)."""
        while self.last < row - 1:
            self.ws.append([])
            self.last += 1
        if height is not None:
            self.ws.row_dimensions[row].height = height
        self.ws.append(cells)
        self.ws.row_dimensions.pop(row, None)        # written: not held for the rest of the sheet
        self.last = row


class SheetWriter:
    def __init__(self, password):
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
        self.wb = Workbook(write_only=True)
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

    def sheet(self, title: str, heading: str, note: str, cols: list[Col], printed: int | None = None,
              freeze: str | None = "B4", fit_height: int = 0, widths: dict[int, float] | None = None) -> Sheet:
        """A sheet with its title, note and header row; `printed`: how many columns from A go on
        paper (the title spans them); `freeze`: the top left cell not frozen; `fit_height`: pages
        tall (0: as many as it takes); `widths`: of further columns, by number."""
        ws = self.wb.create_sheet(title)
        span = max(printed or len(cols), 1)
        sheet = Sheet(ws, printed or len(cols))
        for n, width in {**{i: c.width for i, c in enumerate(cols, start=1)}, **(widths or {})}.items():
            ws.column_dimensions[column(n)].width = width
        self._layout(ws, freeze, fit_height)
        title_cell = self.text(ws, heading)
        title_cell.font = self.title_font
        sheet.write(TITLE_ROW, [title_cell], 28)
        note_cell = self.text(ws, note)
        note_cell.alignment = self.wrap
        width = sum(c.width for c in cols[:span]) or 60
        sheet.write(NOTE_ROW, [note_cell], height([(note, width)]))
        for row in (TITLE_ROW, NOTE_ROW):
            ws.merged_cells.add(f"A{row}:{column(span)}{row}")
        self.cached[title] = {}
        if cols:
            self.header(sheet, HEADER_ROW, cols)
        return sheet

    def _layout(self, ws, freeze: str | None, fit_height: int) -> None:
        """Frozen panes, protection and A4 landscape print, fitted to the page width."""
        from openpyxl.worksheet.worksheet import Worksheet
        from ..build import protect
        ws.freeze_panes = freeze
        if freeze:
            ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
        ps = ws.page_setup
        ps.paperSize = Worksheet.PAPERSIZE_A4
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

    def header(self, sheet: Sheet, row: int, cols: list[Col]) -> None:
        """Headers wrapped and top-aligned in a row one line taller than they need: the filter
        button sits in the bottom right corner, below the text."""
        cells = []
        for c in cols:
            cell = self.text(sheet.ws, c.header)
            cell.font, cell.fill, cell.alignment, cell.border = self.head_font, self.head_fill, self.head_align, self.box
            cells.append(cell)
        need = max(text_lines(c.header, c.width - 2) for c in cols) + 1      # the button takes 2 units
        sheet.write(row, cells, need * LINE_PT + 4)

    def text(self, ws, value):
        """A cell of our own words (a title, a label): text, never a formula."""
        from openpyxl.cell import WriteOnlyCell
        cell = WriteOnlyCell(ws)
        text_cell(cell, value)
        return cell

    def put(self, ws, value, c: Col | None = None):
        """A body cell. Unlocked: Excel sorts a range on a protected sheet only if none of its
        cells is locked; headers and totals stay locked (the ledger, not this copy, is the record).
        A text is a string cell whatever it starts with (usertext)."""
        from openpyxl.cell import WriteOnlyCell
        cell = WriteOnlyCell(ws)
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

    def row(self, sheet: Sheet, row: int, cols: list[Col], values: list, links: dict | None = None) -> None:
        """One body row, as tall as its wrapped texts; `links`: column number -> a hyperlink
        (a target, or an openpyxl Hyperlink) on that column's cell."""
        cells = [self.put(sheet.ws, v, c) for c, v in zip(cols, values)]
        for n, link in (links or {}).items():
            if link is not None:
                cells[n - 1].hyperlink = link
                cells[n - 1].font = self.link_font
        wrapped = [(v, c.width) for c, v in zip(cols, values) if c.wrap and isinstance(v, str)]
        sheet.write(row, cells, height(wrapped) if wrapped else None)

    def formula(self, sheet: Sheet, ref: str, formula: str, value, fmt: str | None = None):
        """A cell holding a formula of ours, its cached value put in when the file is finished."""
        from openpyxl.cell import WriteOnlyCell
        cell = WriteOnlyCell(sheet.ws, formula)
        cell.border, cell.alignment = self.box, self.top
        if fmt:
            cell.number_format = fmt
        self.cached[sheet.title][ref] = value
        return cell

    def table(self, sheet: Sheet, name: str, cols: list[Col], first_row: int, last_row: int, first_col: int = 1) -> None:
        """An Excel table over header + rows: sortable and filterable, banded. Its columns are
        named here (a write-only sheet cannot be read back for its headers)."""
        import warnings
        from openpyxl.worksheet.table import Table, TableStyleInfo
        if last_row <= first_row:
            return
        t = Table(displayName=name,
                  ref=f"{column(first_col)}{first_row}:{column(first_col + len(cols) - 1)}{last_row}")
        t.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        t._initialise_columns()
        for col, c in zip(t.tableColumns, cols):
            col.name = c.header
        with warnings.catch_warnings():        # "you must add table columns manually": done above
            warnings.simplefilter("ignore")
            sheet.ws.add_table(t)

    def finish(self, sheet: Sheet, last_row: int) -> None:
        """The print area: columns A..`printed`, down to `last_row`."""
        sheet.ws.print_area = f"A1:{column(max(sheet.printed, 1))}{max(last_row, HEADER_ROW)}"
