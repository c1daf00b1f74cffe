"""The one small interface the macros use to read and write the open workbook, and its two
implementations: FileBook, the library's own file writer on a saved file (what the tests drive, end
to end, on real files), and LiveBook, xlwings on the workbook open in Excel (thin: each method is a
few COM calls; it is the only code here that imports xlwings).

The macros never hold Excel objects: they read a saved snapshot with the library (the same reader
the command line uses) and hand back plain values, sheet names and a mark plan.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from ..errors import BookError
from ..findings import SEVERITY_COLOURS
from ..ooxml.package import Package
from ..usertext import typed
from ..write import annotate, marks


class BookAccess(Protocol):
    label: str                                                  # the workbook's name, for messages

    def snapshot(self) -> Path: ...                             # the workbook as it is now, in a file
    def sheet_names(self) -> list[str]: ...
    def write_values(self, values: dict[str, dict[str, object]]) -> None: ...   # sheet -> A1 -> value
    def copy_sheet(self, source: str, name: str, before: str) -> None: ...
    def apply_marks(self, plan: marks.MarkPlan) -> None: ...    # replaces earlier marks
    def clear_marks(self) -> None: ...
    def ask(self, prompt: str, title: str) -> str | None: ...   # None: cancelled
    def folder(self) -> Path: ...                               # where exports go
    def pdf_maker(self): ...                                    # None: pack's default (LibreOffice)
    def addin_version(self) -> str: ...


class FileBook:
    """A workbook file edited in place (each call writes it atomically). `answers` stands in for
    the person at the keyboard: the replies ask() gives, in order."""

    def __init__(self, path, answers: list[str] | None = None):
        self.path = Path(path)
        self.label = self.path.name
        self.answers = list(answers or [])

    def snapshot(self) -> Path:
        return self.path

    def sheet_names(self) -> list[str]:
        return [name for name, _ in Package(self.path, self.label).sheets()]

    def write_values(self, values):
        from ..checker import read_book
        from ..spec.registry import Registry
        from ..write.fill import write_instances
        book = Package(self.path, self.label)
        for sheet, cells in values.items():
            xml = book.sheet(sheet)
            for ref, value in cells.items():
                xml.set(ref, value)
        data = book.to_bytes()
        # The formulas' cached results follow the new values, as Excel's recalculation would.
        spec, filled = read_book(self.path, Registry.packaged(), data)
        book = Package(data, self.label)
        write_instances(book, spec, filled.instances, write_inputs=False)
        book.save(self.path)

    def copy_sheet(self, source, name, before):
        book = Package(self.path, self.label)
        if name in dict(book.sheets()):
            raise BookError(f"工作表“{name}”已存在")
        book.clone_sheet(source, name, before=before)
        book.save(self.path)       # the workbook's structure protection is kept as it was

    def apply_marks(self, plan):
        annotate.write_marked(self.path, plan, self.label)

    def clear_marks(self):
        annotate.write_cleared(self.path, self.label)

    def ask(self, prompt, title):
        return self.answers.pop(0) if self.answers else None

    def folder(self) -> Path:
        return self.path.parent

    def pdf_maker(self):
        return None

    def addin_version(self) -> str:
        from .table import ADDIN_VERSION, XLWINGS_VERSION
        return f"{ADDIN_VERSION} (xlwings {XLWINGS_VERSION})"


# -- Excel, through xlwings ---------------------------------------------------------------------
XL_EXPRESSION = 2                 # xlExpression
XL_TYPE_PDF = 0                   # xlTypePDF
XL_CONTINUOUS = 1                 # xlContinuous
# A conditional format's border sides are xlLeft/xlRight/xlTop/xlBottom (not xlEdge*, which a
# FormatCondition refuses); its border weight is always thin.
XL_SIDES = (-4131, -4152, -4160, -4107)
MAX_ADDRESS = 255                 # Excel refuses a longer address string in Range("A1,B2,…")


def address_chunks(cells: list[str], limit: int = MAX_ADDRESS) -> list[str]:
    """Comma-joined addresses, each under Excel's limit: Range() takes one at a time, Union joins them."""
    chunks, current = [], ""
    for cell in cells:
        joined = f"{current},{cell}" if current else cell
        if len(joined) > limit - 1 and current:
            chunks.append(current)
            joined = cell
        current = joined
    return chunks + ([current] if current else [])


def colour(hex_colour: str) -> int:
    """An RGB or ARGB hex colour as Excel's Color property wants it: blue * 65536 + green * 256 + red."""
    rgb = hex_colour[-6:]
    return int(rgb[4:6], 16) * 65536 + int(rgb[2:4], 16) * 256 + int(rgb[0:2], 16)


def mark_format(severity: str) -> dict[str, int]:
    """A mark as the file writer draws it (marks.dxf_xml): fill, bold coloured figures, a thin frame."""
    return {part: colour(value) for part, value in SEVERITY_COLOURS[severity]._asdict().items()}


def excel_value(value):
    """A value as Excel is given it: Decimal as a number, a text as text whatever it starts with
    (a project name or an expected "=SUM(…)" must not become a live formula)."""
    if isinstance(value, str):
        return typed(value)
    return float(value) if hasattr(value, "as_tuple") else value


def saved_path(book_api) -> str:
    """The workbook's file as Excel names it. A OneDrive/SharePoint address is refused rather than
    turned into a local path through the workbook's own settings sheet, as xlwings's Book.fullname
    would do: nothing a workbook carries chooses a path."""
    full = str(book_api.FullName)
    if "://" in full:
        raise BookError(f"工作簿 {book_api.Name} 保存在网址上（OneDrive/SharePoint）：请另存到本机文件夹后再用")
    return full


class LiveBook:
    """The workbook open in Excel. Sheet protection: the template's sheets are protected, so the
    few calls that format or copy unprotect with the template's password (XLTOOLS_PASSWORD, as the
    admin built it) and protect again with the same permissions."""

    def __init__(self, book):
        self.book = book
        self.app = book.app
        self.label = book.name
        self._tmp: Path | None = None

    def snapshot(self) -> Path:
        folder = Path(tempfile.mkdtemp(prefix="xltools-"))
        name = Path(self.book.name)
        path = folder / (name.stem + (name.suffix if name.suffix.lower() in (".xlsx", ".xlsm") else ".xlsx"))
        self.book.api.SaveCopyAs(str(path))      # unsaved edits included; the open book is untouched
        self._tmp = folder
        return path

    def sheet_names(self):
        return [s.name for s in self.book.sheets]

    def write_values(self, values):
        for sheet, cells in values.items():
            ws = self.book.sheets[sheet]
            for ref, value in cells.items():
                ws.range(ref).value = excel_value(value)

    def _structure_unlocked(self, action):
        """Run `action` with the workbook's structure protection lifted, then put it back."""
        api = self.book.api
        password = os.environ.get("XLTOOLS_PASSWORD") or ""
        locked = api.ProtectStructure
        if locked:
            api.Unprotect(password)
        try:
            return action()
        finally:
            if locked:
                api.Protect(password, True, False)       # Structure:=True, Windows:=False

    def copy_sheet(self, source, name, before):
        def copy():
            self.book.sheets[source].api.Copy(Before=self.book.sheets[before].api)
            new = self.book.sheets[self.book.sheets[before].index - 2]   # index is 1-based
            new.api.Visible = True
            new.name = name
        self._structure_unlocked(copy)

    def _unprotected(self, ws, action):
        p = ws.api
        password = os.environ.get("XLTOOLS_PASSWORD") or ""
        protected = p.ProtectContents
        if protected:
            perm = p.Protection
            keep = dict(DrawingObjects=p.ProtectDrawingObjects, Contents=True, Scenarios=p.ProtectScenarios,
                        AllowFormattingCells=perm.AllowFormattingCells,
                        AllowFormattingColumns=perm.AllowFormattingColumns,
                        AllowFormattingRows=perm.AllowFormattingRows,
                        AllowInsertingColumns=perm.AllowInsertingColumns, AllowInsertingRows=perm.AllowInsertingRows,
                        AllowInsertingHyperlinks=perm.AllowInsertingHyperlinks,
                        AllowDeletingColumns=perm.AllowDeletingColumns, AllowDeletingRows=perm.AllowDeletingRows,
                        AllowSorting=perm.AllowSorting, AllowFiltering=perm.AllowFiltering,
                        AllowUsingPivotTables=perm.AllowUsingPivotTables)
            p.Unprotect(password)
        try:
            action(ws)
        finally:
            if protected:
                p.Protect(password, **keep)

    def clear_marks(self):
        if marks.RESULT_SHEET in self.sheet_names():
            self.app.api.DisplayAlerts = False
            try:
                self._structure_unlocked(lambda: self.book.sheets[marks.RESULT_SHEET].delete())
            finally:
                self.app.api.DisplayAlerts = True
        tag = "=" + marks.MARK_FORMULA
        for ws in self.book.sheets:
            conditions = ws.api.Cells.FormatConditions
            ours = [i for i in range(conditions.Count, 0, -1)
                    if conditions.Item(i).Type == XL_EXPRESSION and conditions.Item(i).Formula1 == tag]
            if ours:
                self._unprotected(ws, lambda w: [w.api.Cells.FormatConditions.Item(i).Delete() for i in ours])

    def apply_marks(self, plan):
        self.clear_marks()
        last = self.book.sheets[len(self.book.sheets) - 1]
        ws = self._structure_unlocked(lambda: self.book.sheets.add(marks.RESULT_SHEET, after=last))
        ws.range("A1").value = [[excel_value(v) for v in row] for row in plan.rows]
        ws.range((1, 1), (1, len(plan.rows[0]))).api.Font.Bold = True
        for i, width in enumerate(marks.WIDTHS, start=1):
            ws.range((1, i)).column_width = width
        for row, (sheet, cell) in plan.links.items():
            anchor = ws.range((row, marks.LINK_COLUMN))
            ws.api.Hyperlinks.Add(Anchor=anchor.api, Address="", SubAddress=marks.location(sheet, cell),
                                  TextToDisplay=cell)
        for sheet, by_severity in plan.cells.items():
            def add(w, by_severity=by_severity):
                for severity in marks.SEVERITIES:
                    if not by_severity.get(severity):
                        continue
                    chunks = [w.range(a).api for a in address_chunks(by_severity[severity])]
                    target = chunks[0]
                    for more in chunks[1:]:
                        target = self.app.api.Union(target, more)
                    cond = target.FormatConditions.Add(Type=XL_EXPRESSION, Formula1="=" + marks.MARK_FORMULA)
                    look = mark_format(severity)
                    cond.Interior.Color = look["fill"]
                    cond.Font.Bold = True
                    cond.Font.Color = look["ink"]
                    for side in XL_SIDES:
                        cond.Borders(side).LineStyle = XL_CONTINUOUS
                        cond.Borders(side).Color = look["frame"]
            self._unprotected(self.book.sheets[sheet], add)
        ws.activate()

    def ask(self, prompt, title):
        answer = self.app.api.InputBox(prompt, title)
        return answer if isinstance(answer, str) and answer.strip() else None

    def folder(self) -> Path:
        full = Path(saved_path(self.book.api))
        if not full.parent.is_dir() or not full.suffix:
            raise BookError(f"工作簿 {self.label} 还没有保存：请先保存，导出的文件放在它旁边")
        return full.parent

    def pdf_maker(self):
        """PDFs by Excel's own export (ExportAsFixedFormat), in pack's pdf_maker shape."""
        app = self.app

        def make(src, outputs, watermark=None, pdfa=False):
            wb = app.books.open(str(src), read_only=True)
            try:
                if watermark:      # Excel's export has no watermark: a large page header says it
                    for ws in wb.sheets:
                        ws.api.PageSetup.CenterHeader = '&"SimSun,Bold"&24' + watermark
                for pdf, sheets in outputs.items():
                    if sheets:
                        wb.sheets[sheets[0]].api.Select()
                        for name in sheets[1:]:
                            wb.sheets[name].api.Select(False)
                        wb.api.ActiveSheet.ExportAsFixedFormat(XL_TYPE_PDF, str(pdf))
                    else:
                        wb.api.ExportAsFixedFormat(XL_TYPE_PDF, str(pdf))
            finally:
                wb.close()
        return make

    def addin_version(self) -> str:
        try:
            return str(self.app.api.Run("XltoolsAddinVersion"))
        except Exception:          # an add-in older than this library has no such function
            return "未知（加载项版本过旧）"

    def __del__(self):  # the snapshot folder goes with the macro run
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
