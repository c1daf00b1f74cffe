"""spec -> the protected template workbook (templates/self_eval.xlsx)."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Border, Protection
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.pagebreak import Break, RowBreak

from .. import catalogue, formulas, units
from ..formulas import cross_cell
from ..a1 import column_letters, quote_sheet
from ..spec.layout import ROW_CHARS
from ..spec.model import Field, Placed, Report, Spec
from . import protect
from .check_rows import check_row_heights
from .finish import workbook_bytes
from .names import FINGERPRINT_NAME, REPORT_MARK
from ..files import write_atomic
from .styles import THIN, Styler, border_range, check_marks


def _validation(f: Field, year: int, cell_of) -> DataValidation:
    """Chinese prompt and error for every input, and the rule its unit declares (xltools.units:
    the checker tests values with the same declaration)."""
    v = units.validation(f, year, cell_of)
    dv = DataValidation(type=v.type, formula1=v.formula1, prompt=v.prompt, error=v.error,
                        showInputMessage=True, showErrorMessage=True, allow_blank=True,
                        promptTitle="填报说明", errorTitle="输入有误", errorStyle="stop")
    dv.add(f.cell)
    return dv


def _text_validation(rep: Report, name: str) -> DataValidation:
    """The rows of a long text: at most ROW_CHARS characters each, so that each prints whole (a
    row is at most 409 pt high). Excel allows 255 characters of prompt and 225 of error."""
    label = rep.fields[name].label.replace("\n", "")[:40]
    dv = DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(ROW_CHARS),
                        showInputMessage=True, showErrorMessage=True, allow_blank=True, errorStyle="stop",
                        promptTitle="填报说明", errorTitle="输入有误",
                        prompt=f"{label}：每格一段，最多 {ROW_CHARS} 字，回车到下一格。整篇粘贴：单击本格（不要双击）"
                               "再粘贴，每段自动放进一格；然后选中这些行的行号，双击两个行号之间的分隔线，"
                               "行高即按文字调整（Excel：开始→格式→自动调整行高）。",
                        error=f"每格最多 {ROW_CHARS} 字（一行最高 409 磅，再多打印不全）。整篇文字请单击格子（不要双击）"
                              f"后粘贴，每段会放进一格；一段超过 {ROW_CHARS} 字时分在下一格。")
    for r in rep.runs[name].row_numbers:
        dv.add(f"{column_letters(rep.runs[name].col)}{r}")
    return dv


def _paint_run_cell(ws, p: Placed, rep: Report, styler: Styler) -> None:
    """A text row of a run (side borders only: the rows print as one box), its join cell, its fit
    cell, or the thin row closing the box."""
    if p.role == "close":
        for c in range(p.col, p.col + p.cols):
            ws.cell(p.row, c).border = Border(top=THIN)
        return
    cell = ws.cell(p.row, p.col)
    styler.apply_run(cell, p)
    if p.role == "fit":
        cell.value = "=" + formulas.fit_cells(rep.runs[p.field])[cell.coordinate]
    if p.role == "text":
        last = p.col + p.cols - 1
        ws.merge_cells(start_row=p.row, start_column=p.col, end_row=p.row, end_column=last)
        for c in range(p.col, last + 1):
            ws.cell(p.row, c).border = Border(left=THIN if c == p.col else None, right=THIN if c == last else None)
        run = rep.runs[p.field]
        for c in range(1, p.col):        # the label's column: one tall cell, its label at the top
            ws.cell(p.row, c).border = Border(left=THIN if c == 1 else None, top=THIN if p.row == run.first else None)


def _open_text_rows(ws, rep: Report) -> None:
    """Every cell of a long text's rows unlocked, also those the file does not hold (the row's
    style): LibreOffice fits the height of rows on a protected sheet only when nothing in them is
    locked (see spec.model.Run). Formulas stay hidden."""
    for r in sorted(rep.text_rows):
        ws.row_dimensions[r].protection = Protection(locked=False)
        for (row, _), cell in list(ws._cells.items()):
            if row == r:
                cell.protection = Protection(locked=False, hidden=cell.protection.hidden)


def _paint(ws, rep: Report, spec: Spec, styler: Styler) -> None:
    for p in rep.placed:
        if p.role == "box":
            border_range(ws, p, outline_only=True)
            continue
        if p.role in ("text", "join", "fit", "close"):
            _paint_run_cell(ws, p, rep, styler)
            continue
        cell = ws.cell(p.row, p.col)
        if p.rows > 1 or p.cols > 1:
            ws.merge_cells(start_row=p.row, start_column=p.col, end_row=p.row + p.rows - 1,
                           end_column=p.col + p.cols - 1)
        f = rep.fields.get(p.field) if p.field else None
        if f is None and p.role not in ("check",):
            cell.value = p.text or None
        styler.apply(cell, p, f)
        if f is not None and f.default is not None:
            cell.value = f.default if not isinstance(f.default, Decimal) else int(f.default) \
                if f.default == int(f.default) else float(f.default)
        if p.border and p.role not in ("title", "issuer", "check"):
            border_range(ws, p)
        elif f is not None and p.rows == 1 and p.align != "top":
            border_range(ws, p, underline=True)   # cover lines: something to write on when printed blank


def _formulas(ws, rep: Report, spec: Spec, styler: Styler) -> None:
    for ref, text in formulas.formula_cells(rep, spec).items():
        ws[ref].value = "=" + text
    heading = ws.cell(1, rep.check_column, catalogue.CHECK_COLUMN_HEADING)   # outside the print area, as the column
    styler.apply(heading, Placed(row=1, col=rep.check_column, role="check-heading"), None)
    if spec.cross and rep.id == spec.cross.report:     # the cross-report check has no placed check cell
        row = cross_cell(spec)[0]
        styler.apply(ws.cell(row, rep.check_column), Placed(row=row, col=rep.check_column, role="check"), None)
    # Check cells, and the cells they accuse, take their check's colours as soon as something does
    # not add up: an error's red or a warning's amber.
    check_col = column_letters(rep.check_column)
    severities = formulas.check_severities(rep, spec)
    for row, severity in severities.items():
        font, fill = check_marks(severity)
        ws.conditional_formatting.add(f"{check_col}{row}", FormulaRule(formula=[f"LEN({check_col}{row})>0"],
                                                                       fill=fill, font=font))
    for p in rep.placed:
        if p.role == "check" and p.check.kind == "compare":
            ws.conditional_formatting.add(rep.cell(p.check.left), FormulaRule(
                formula=[f'LEN(${check_col}${p.row})>0'], fill=check_marks(severities[p.row])[1]))


def _print_setup(ws, rep: Report, spec: Spec) -> None:
    pr = spec.print
    for i, w in enumerate(pr.widths, start=1):
        ws.column_dimensions[column_letters(i)].width = w
    ws.column_dimensions[column_letters(rep.check_column)].width = pr.check_width
    ws.column_dimensions[column_letters(rep.join_column)].hidden = True
    for run in rep.runs.values():     # a fit column is as wide as the text cells it fits
        ws.column_dimensions[column_letters(run.fit_col)].width = sum(pr.widths[run.col - 1: run.col - 1 + run.cols])
    # The form's heights, and the taller ones check cells need to be read (check_rows)
    for row, pt in sorted({**rep.row_heights, **check_row_heights(rep, spec)}.items()):
        if row not in rep.text_rows:  # (theirs are written without customHeight: template_bytes)
            ws.row_dimensions[row].height = round(pt, 1)
    ws.print_area = f"A1:{column_letters(rep.columns)}{rep.last_row}"
    ps = ws.page_setup
    ps.paperSize = ws.PAPERSIZE_A4
    ps.orientation = "portrait"
    ps.fitToWidth = 1
    ps.fitToHeight = 0
    ps.blackAndWhite = True          # shading marks inputs on screen; the printed form is plain
    ps.firstPageNumber = 1           # each report numbers its own pages, also in a whole-book print
    ps.useFirstPageNumber = True
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    m = ws.page_margins
    m.left, m.right, m.top, m.bottom, m.header, m.footer = 0.6, 0.6, 0.75, 0.75, 0.3, 0.3
    ws.oddFooter.center.text = "第 &P 页"
    ws.oddFooter.center.font = spec.print.font
    ws.sheet_view.showGridLines = False
    ws.row_breaks = RowBreak()
    for row in rep.page_breaks:
        ws.row_breaks.append(Break(id=row))


def _names(wb, ws, rep: Report) -> None:
    sheet_ref = quote_sheet(rep.sheet)
    for f in rep.fields.values():
        col = "".join(ch for ch in f.cell if ch.isalpha())
        row = f.cell[len(col):]
        dn = DefinedName(f.name, attr_text=f"{sheet_ref}!${col}${row}")
        if rep.scope == "workbook":
            wb.defined_names[f.name] = dn
        else:
            ws.defined_names[f.name] = dn
    ws.defined_names[REPORT_MARK] = DefinedName(REPORT_MARK, attr_text=f'"{rep.id}"')


def build_workbook(spec: Spec, password: str | None = None) -> Workbook:
    wb = Workbook()
    styler = Styler(spec.print)
    sheets = {}
    for rep in spec.reports.values():
        ws = wb.active if not sheets else wb.create_sheet(rep.sheet)
        ws.title = rep.sheet
        sheets[rep.id] = ws
        _paint(ws, rep, spec, styler)
        _formulas(ws, rep, spec, styler)
        for f in rep.inputs:
            if f.name in rep.runs:
                ws.add_data_validation(_text_validation(rep, f.name))
            else:
                ws.add_data_validation(_validation(f, spec.year, rep.cell))
        _print_setup(ws, rep, spec)
        _open_text_rows(ws, rep)
        _names(wb, ws, rep)
        protect.apply(ws, password, spec.fingerprint)
    # Hidden bookends around the copied report's sheet: the cross check sums every copy placed
    # between them, and new copies go before the last.
    if spec.copied is not None:
        at = wb.sheetnames.index(spec.copied.sheet)
        first = wb.create_sheet(formulas.FIRST_BOOKEND, index=at)
        last = wb.create_sheet(formulas.LAST_BOOKEND, index=at + 2)
        for ws in (first, last):
            ws.sheet_state = "hidden"
            ws["A1"] = "此表为项目表的边界标记，请勿删除；新增项目表请放在本表与“项目表尾”之间。"
            protect.apply(ws, password, spec.fingerprint)
    wb.defined_names[FINGERPRINT_NAME] = DefinedName(FINGERPRINT_NAME, attr_text=f'"{spec.fingerprint}"')
    # Structure protection keeps sheets from being renamed or deleted by accident. It carries no
    # password on purpose: a department with several projects must be able to switch it off
    # (审阅 → 保护工作簿) to copy the project sheet, then switch it back on.
    wb.security = WorkbookProtection(lockStructure=True)
    wb.properties.creator = spec.bureau
    wb.properties.title = f"{spec.region}{spec.year}年度绩效评价自评报告"
    wb.active = wb.sheetnames.index(next(iter(spec.reports.values())).sheet)   # a report, never a bookend
    return wb


def template_bytes(spec: Spec, password: str | None = None) -> bytes:
    wb = build_workbook(spec, password)
    cached, heights = {}, {}
    for rep in spec.reports.values():
        values, checks = formulas.evaluate(rep, spec, formulas.input_defaults(rep))
        cached[rep.sheet] = formulas.cached_values(rep, spec, values, checks)
        heights[rep.sheet] = {r: rep.row_heights[r] for r in rep.text_rows}
    return workbook_bytes(wb, cached, heights)


def build_template(spec: Spec, out: str | Path, password: str | None = None) -> Path:
    return write_atomic(out, template_bytes(spec, password))
