"""The summary workbook a bureau clerk hands to the director: 汇总 / 问题清单 / 退回意见 / 未报送 /
等次分布 / 与上年比较.

Built from the ledger's latest versions (so a run that skipped every file writes the same
summary). Written with openpyxl, then through the package editor (build/finish.py) so every formula
carries the value Python computed for it: previewers, pandas and WPS's preview show the totals
without recalculating. Every sheet is protected as the template is (filtering and sorting stay
allowed), printed A4 landscape with the header row repeated, numbers stored as numbers.
"""
from __future__ import annotations

import os
from copy import copy
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..a1 import quote_sheet
from ..catalogue import RESULT_COLUMNS, STATUS_LABEL, TRANSIENT, severity_label
from ..files import write_atomic
from .record import Row, detail_of

SUMMARY = "汇总"
FINDINGS = "问题清单"
RETURNS = "退回意见"
MISSING = "未报送"
GRADES = "等次分布"
PREVIOUS = "与上年比较"
HEADER_ROW = 3                  # title in row 1, a line of counts in row 2
FIRST = HEADER_ROW + 1
MONEY = "#,##0.00"


@dataclass(frozen=True)
class Col:
    header: str
    width: float
    fmt: str | None = None
    total: bool = False          # a SUBTOTAL in the totals row


# 汇总: one row per unit and year (the latest version): who, then the figures its spec declares
# (`[summary] figures`: the labels the records carry, in order of appearance), then the scores and
# counts (printed), then where it came from (on screen only).
UNIT_HEAD = [Col("单位", 26), Col("年度", 7, "0"), Col("状态", 9)]
UNIT_SCORES = [Col("综合得分（填报）", 9, "0.##"), Col("综合得分（重算）", 9, "0.##"), Col("得分差", 7, "0.##"),
               Col("等次（填报）", 8), Col("等次（重算）", 8), Col("错误数", 7, "0", True), Col("提示数", 7, "0", True)]
UNIT_SOURCE = [Col("文件", 30), Col("接收时间", 16, "yyyy-mm-dd hh:mm"), Col("版本", 6, "0"), Col("sha256", 20),
               Col("说明", 40)]
# The table of projects: one row per copy of the report copied per project (`copy_figures`).
PROJECT_HEAD = [Col("单位", 26), Col("年度", 7, "0"), Col("项目名称", 26), Col("工作表", 12)]
PROJECT_TAIL = [Col("综合得分（填报）", 9, "0.##"), Col("综合得分（重算）", 9, "0.##"), Col("等次（重算）", 8),
                Col("错误数", 7, "0", True), Col("提示数", 7, "0", True), Col("文件", 30)]


def figure_cols(labels) -> list[Col]:
    return [Col(label, max(12, 2 * len(label) + 1), MONEY, True) for label in labels]


def _labels(figure_lists) -> list[str]:
    """Every figure's label, in order of first appearance (an inbox may mix report kinds)."""
    return list(dict.fromkeys(f["label"] for figures in figure_lists for f in figures))


def _by_label(figures) -> dict:
    return {f["label"]: _dec(f["value"]) for f in figures}


FINDING_COLS = [Col("单位", 24), Col("年度", 7, "0"), Col("文件", 28), Col("位置", 18), Col("代码", 16),
                Col("严重程度", 9), Col("说明", 60), Col("应为", 14), Col("实为", 14), Col("差额", 10, MONEY),
                Col(RESULT_COLUMNS[-1], 40),   # 建议, the hint (提示 names a warning)
                Col("单位核实说明", 40)]          # a unit's explanation of a warning (xltools serve)
RETURN_COLS = [Col("单位", 24), Col("年度", 7, "0"), Col("文件", 28), Col("版本", 6, "0"), Col("错误数", 7, "0"),
               Col("退回意见（可直接复制发送）", 90)]


def _dec(v) -> Decimal | None:
    if v is None or v == "":
        return None
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _number_or_text(v):
    d = _dec(v)
    return d if d is not None else v


def _local_time(iso: str | None):
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso).astimezone().replace(tzinfo=None)
    except ValueError:
        return None


def _col(n: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(n)


def _link(target: str | None, base: Path) -> str | None:
    """A hyperlink target relative to the summary's folder (the folder can move as a whole)."""
    if not target or not os.path.isfile(target):
        return None
    try:
        return os.path.relpath(target, base).replace(os.sep, "/")
    except ValueError:            # another drive on Windows
        return Path(target).as_uri()


class _Writer:
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
        self.title_font = Font(bold=True, size=14)
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.center = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.link_font = Font(color="0563C1", underline="single")
        self.unlocked = Protection(locked=False)
        self.styles: dict = {}            # number format -> the style array of a body cell

    def sheet(self, title: str, heading: str, note: str, width_cols: int):
        ws = self.wb.create_sheet(title)
        ws["A1"] = heading
        ws["A1"].font = self.title_font
        ws["A2"] = note
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(width_cols, 1))
        self.cached[title] = {}
        return ws

    def header(self, ws, row: int, cols: list[Col], first_col: int = 1) -> None:
        for i, c in enumerate(cols):
            cell = ws.cell(row, first_col + i, c.header)
            cell.font, cell.fill, cell.alignment, cell.border = self.head_font, self.head_fill, self.center, self.box
            ws.column_dimensions[_col(first_col + i)].width = max(ws.column_dimensions[_col(first_col + i)].width or 0,
                                                                 c.width)

    def put(self, ws, row: int, col: int, value, c: Col | None = None):
        """A body cell. Unlocked: Excel sorts a range on a protected sheet only if none of its
        cells is locked; headers and totals stay locked (the ledger, not this copy, is the record)."""
        cell = ws.cell(row, col, value)
        if isinstance(value, str) and cell.data_type == "f":
            cell.data_type = "s"     # text that starts with "=" (a unit's name, an explanation) stays text
        fmt = c.fmt if c is not None else None
        style = self.styles.get(fmt)
        if style is None:
            cell.border, cell.protection = self.box, self.unlocked
            if fmt:
                cell.number_format = fmt
            self.styles[fmt] = copy(cell._style)
        else:      # openpyxl looks each style part up by hash on every assignment: 40% of the write
            cell._style = copy(style)
        return cell

    def formula(self, ws, ref: str, formula: str, value, fmt: str | None = None, in_row: bool = False):
        """A formula with its cached value; `in_row`: one of a table's rows (sorted with it)."""
        ws[ref] = formula
        ws[ref].border = self.box
        if in_row:
            ws[ref].protection = self.unlocked
        if fmt:
            ws[ref].number_format = fmt
        self.cached[ws.title][ref] = value

    def table(self, ws, name: str, cols: list[Col], first_row: int, last_row: int) -> None:
        """An Excel table over header + rows: sortable and filterable, banded."""
        from openpyxl.worksheet.table import Table, TableStyleInfo
        if last_row <= first_row:
            return
        t = Table(displayName=name, ref=f"A{first_row}:{_col(len(cols))}{last_row}")
        t.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        ws.add_table(t)

    def finish(self, ws, cols: int, last_row: int, title_rows: str | None = f"{HEADER_ROW}:{HEADER_ROW}") -> None:
        from ..build import protect
        ws.freeze_panes = f"A{FIRST}" if title_rows else None
        if title_rows:
            ws.print_title_rows = title_rows
        if cols:              # 0: no print area (a sheet of charts prints what it holds)
            ws.print_area = f"A1:{_col(cols)}{max(last_row, 2)}"
        ps = ws.page_setup
        ps.paperSize = ws.PAPERSIZE_A4
        ps.orientation = "landscape"
        ps.fitToWidth, ps.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.oddFooter.center.text = "第 &P 页，共 &N 页"
        protect.apply(ws, self.password, f"xltools-collect:{ws.title}")
        ws.protection.autoFilter = False        # False = allowed: sorting and filtering the rows
        ws.protection.sort = False
        ws.protection.formatColumns = False


def write_summary(path, rows: list[dict], findings: dict[int, list[dict]], *, roster=None,
                  grade_labels: list[str] = (), password: str | None = None) -> Path:
    """The summary of the ledger's latest `rows` (with their `findings` by submission id)."""
    from ..build.finish import workbook_bytes
    path = Path(path)
    base = path.resolve().parent
    w = _Writer(password)
    unit_cols = _units_sheet(w, rows, base)
    findings_last = _findings_sheet(w, rows, findings, base)
    _returns_sheet(w, rows, findings)
    _missing_sheet(w, rows, roster)
    _grades_sheet(w, rows, findings, grade_labels, unit_cols, FIRST + len(rows) - 1, findings_last)
    _previous_sheet(w, rows)
    w.wb.active = 0
    # no reader's limits: a province's summary is bigger than any report a unit sends, and only we write it
    return write_atomic(path, workbook_bytes(w.wb, w.cached, limits=False))


def _counts_note(rows) -> str:
    n = "，".join(f"{word} {sum(r['status'] == k for r in rows)}" for k, word in STATUS_LABEL.items())
    return f"共 {len(rows)} 份（{n}）；每个单位、年度只计最新一版；生成于 {datetime.now().strftime('%Y-%m-%d %H:%M')}"


def _unit_values(r: Row, labels: list[str]) -> list:
    fig = _by_label(detail_of(r)["figures"])
    return [r["unit"] or "（未能识别）", r["year"], STATUS_LABEL[r["status"]], *(fig.get(k) for k in labels),
            _dec(r["score_stated"]), _dec(r["score_computed"]), None, r["grade_stated"], r["grade_computed"],
            r["errors"], r["warnings"], r["file_name"], _local_time(r["received_at"]), r["version"],
            r["sha256"], r["message"] if r["status"] == "refused" else (r["source"] if r["file_name"] != r["source"] else None)]


def _units_sheet(w: _Writer, rows: list[Row], base: Path) -> list[Col]:
    labels = _labels(detail_of(r)["figures"] for r in rows)
    cols = UNIT_HEAD + figure_cols(labels) + UNIT_SCORES + UNIT_SOURCE
    ws = w.sheet(SUMMARY, "绩效自评报告汇总", _counts_note(rows), len(cols))
    w.header(ws, HEADER_ROW, cols)
    ix = {c.header: i + 1 for i, c in enumerate(cols)}
    stated, computed, diff = _col(ix["综合得分（填报）"]), _col(ix["综合得分（重算）"]), _col(ix["得分差"])
    r_no = FIRST - 1
    for r_no, r in enumerate(rows, start=FIRST):
        values = _unit_values(r, labels)
        for i, (c, v) in enumerate(zip(cols, values), start=1):
            if c.header == "得分差":
                a, b = values[ix["综合得分（填报）"] - 1], values[ix["综合得分（重算）"] - 1]
                w.formula(ws, f"{diff}{r_no}", f'=IF(OR({stated}{r_no}="",{computed}{r_no}=""),"",'
                          f'{stated}{r_no}-{computed}{r_no})', "" if a is None or b is None else a - b, c.fmt, in_row=True)
                continue
            cell = w.put(ws, r_no, i, v, c)
            if c.header == "文件":
                target = _link(r.get("link"), base)
                if target:
                    cell.hyperlink = target
                    cell.font = w.link_font
    last = r_no
    w.table(ws, "Units", cols, HEADER_ROW, last)
    total_row = last + 1
    ws.cell(total_row, 1, "合计").font = w.head_font
    _totals(w, ws, cols, rows, total_row, FIRST, last,
            lambda r, h: _unit_values(r, labels)[ix[h] - 1])
    end = _projects_table(w, ws, rows, base, total_row + 3)
    # Printed: the figures up to the counts; file, time, version, hash stay on screen.
    w.finish(ws, len(cols) - len(UNIT_SOURCE), end)
    return cols


def _totals(w, ws, cols, rows, total_row, first, last, value_of) -> None:
    if last < first:              # no rows: a SUBTOTAL here would only refer to itself
        return
    for i, c in enumerate(cols, start=1):
        if not c.total:
            continue
        letter = _col(i)
        total = sum((value_of(r, c.header) or Decimal(0) for r in rows), Decimal(0))
        # SUBTOTAL(109): the total of the rows a filter leaves visible (all of them as written).
        ref_range = f"{letter}{first}:{letter}{max(last, first)}"
        w.formula(ws, f"{letter}{total_row}", f"=SUBTOTAL(109,{ref_range})", total, c.fmt)
        ws[f"{letter}{total_row}"].font = w.head_font


def _project_rows(rows: list[Row]):
    for r in rows:
        for p in detail_of(r)["projects"]:
            yield r, p


def _projects_table(w, ws, rows, base, start: int) -> int:
    pairs = list(_project_rows(rows))
    labels = _labels(p["figures"] for _, p in pairs)
    cols = PROJECT_HEAD + figure_cols(labels) + PROJECT_TAIL
    ws.cell(start - 1, 1, "项目支出汇总（每张项目表一行）").font = w.title_font
    w.header(ws, start, cols)
    r_no = start

    def values(r, p):
        fig = _by_label(p["figures"])
        return [r["unit"], r["year"], p.get("name"), p.get("sheet"), *(fig.get(k) for k in labels),
                _dec(p.get("score_stated")), _dec(p.get("score_computed")),
                p.get("grade_computed"), p.get("errors", 0), p.get("warnings", 0), r["file_name"]]

    for r_no, (r, p) in enumerate(pairs, start=start + 1):
        for i, (c, v) in enumerate(zip(cols, values(r, p)), start=1):
            cell = w.put(ws, r_no, i, v, c)
            if c.header == "文件" and _link(r.get("link"), base):
                cell.hyperlink = _link(r.get("link"), base)
                cell.font = w.link_font
    w.table(ws, "Projects", cols, start, r_no)
    total_row = r_no + 1
    ws.cell(total_row, 1, "合计").font = w.head_font
    ix = {c.header: i for i, c in enumerate(cols)}
    _totals(w, ws, cols, pairs, total_row, start + 1, r_no, lambda rp, h: values(*rp)[ix[h]])
    return total_row


def _location(f: dict) -> str:
    return f"{f['sheet']}!{f['cell']}" if f.get("sheet") and f.get("cell") else f.get("cell") or f.get("sheet") or ""


def _findings_sheet(w: _Writer, rows, findings, base: Path) -> int:
    cols = FINDING_COLS
    ws = w.sheet(FINDINGS, "问题清单", "每条发现一行；点击“位置”打开报送的工作簿并定位到该单元格（文件在本机可访问时）", len(cols))
    w.header(ws, HEADER_ROW, cols)
    r_no = FIRST - 1
    for r in rows:
        items = findings.get(r["id"], [])
        if r["status"] == "refused":
            items = [{"code": r["refused"], "severity": "error", "sheet": "", "cell": "", "message": r["message"]}]
        target = _link(r.get("link"), base)
        at_cell = target is not None and target.lower().endswith((".xlsx", ".xlsm"))   # not a data file
        for f in items:
            r_no += 1
            values = [r["unit"] or "（未能识别）", r["year"], r["file_name"], _location(f), f["code"],
                      STATUS_LABEL["refused"] if r["status"] == "refused" else severity_label(f["severity"]),
                      f["message"], _number_or_text(f.get("expected")), _number_or_text(f.get("actual")),
                      _dec(f.get("difference")), f.get("hint") or None, f.get("explanation") or None]
            for i, (c, v) in enumerate(zip(cols, values), start=1):
                cell = w.put(ws, r_no, i, v, c)
                if c.header == "说明":
                    cell.alignment = w.wrap
            if at_cell and f.get("sheet") and f.get("cell"):
                from openpyxl.worksheet.hyperlink import Hyperlink
                cell = ws.cell(r_no, 4)
                cell.hyperlink = Hyperlink(ref=cell.coordinate, target=target,
                                           location=f"{quote_sheet(f['sheet'])}!{f['cell']}")
                cell.font = w.link_font
    w.table(ws, "Findings", cols, HEADER_ROW, r_no)
    w.finish(ws, len(cols), r_no)
    return r_no


def return_text(r: dict, items: list[dict]) -> str:
    """The text sent back to a unit: who, which report, each item to correct, a deadline to fill in."""
    bureau = detail_of(r)["bureau"] or "财政局"
    if r["status"] == "refused":
        return (f"报送单位：\n你单位报送的文件“{r['file_name']}”无法使用：{r['message']}\n"
                f"请于____年__月__日前用本年度模板重新填报后报送。\n{bureau}")
    errors = [f for f in items if f["severity"] == "error"]
    lines = [f"{r['unit']}：",
             f"你单位报送的{r['year']}年度绩效自评报告（文件“{r['file_name']}”，第 {r['version']} 版）经审核，"
             f"有以下 {len(errors)} 处需要更正："]
    for n, f in enumerate(errors, start=1):
        where = _location(f)
        hint = f"（{f['hint']}）" if f.get("hint") else ""
        lines.append(f"{n}. {where + '：' if where else ''}{f['message']}{hint}")
    lines += ["请于____年__月__日前更正后重新报送。", bureau]
    return "\n".join(lines)


def _returns_sheet(w: _Writer, rows, findings) -> None:
    cols = RETURN_COLS
    ws = w.sheet(RETURNS, "退回意见", "有错误或无法使用的报送，每份一段退回意见；截止日期请填写后发送", len(cols))
    w.header(ws, HEADER_ROW, cols)
    r_no = FIRST - 1
    for r in rows:
        if r["status"] == "ok" or r["refused"] in TRANSIENT:    # the bureau's limit: nothing to return
            continue
        r_no += 1
        text = return_text(r, findings.get(r["id"], []))
        values = [r["unit"] or "（未能识别）", r["year"], r["file_name"], r["version"], r["errors"] or None, text]
        for i, (c, v) in enumerate(zip(cols, values), start=1):
            w.put(ws, r_no, i, v, c).alignment = w.wrap
        # No program fits a row to wrapped text on its own: ~44 CJK characters to a line of the
        # 90-wide column, 15 pt a line (at most Excel's 409 pt).
        lines = sum(-(-max(len(line), 1) // 44) for line in text.split("\n"))
        ws.row_dimensions[r_no].height = min(409, 15 * lines + 4)
    w.table(ws, "Returns", cols, HEADER_ROW, r_no)
    w.finish(ws, len(cols), r_no)


def _missing_sheet(w: _Writer, rows, roster) -> None:
    ws = w.sheet(MISSING, "未报送单位", "按单位名单（--roster）核对：名单中尚未报送的单位，以及不在名单中的报送单位", 4)
    cols = [Col("单位", 30), Col("年度", 8, "0"), Col("情况", 30), Col("文件", 30)]
    w.header(ws, HEADER_ROW, cols)
    r_no = FIRST - 1
    if roster is None:
        ws.cell(FIRST, 1, "未提供单位名单（运行时加 --roster 单位名单.xlsx 或 .csv），无法列出未报送单位")
        w.finish(ws, len(cols), FIRST)
        return
    # A roster without a 年度 column is the season's: the year most submissions are of (a late
    # report of last year among them does not move it).
    years = [r["year"] for r in rows if r["unit"] and r["year"]]
    season_year = max(set(years), key=lambda y: (years.count(y), y)) if years else None
    submitted = {(r["unit"], r["year"]) for r in rows if r["unit"]}
    on_roster = set()
    for unit, year in roster:
        year = year or season_year
        on_roster.add(unit)
        if (unit, year) not in submitted:
            r_no += 1
            for i, (c, v) in enumerate(zip(cols, [unit, year, "未报送", None]), start=1):
                w.put(ws, r_no, i, v, c)
    for r in rows:
        if r["unit"] and r["unit"] not in on_roster:
            r_no += 1
            for i, (c, v) in enumerate(zip(cols, [r["unit"], r["year"], "不在单位名单中", r["file_name"]]), start=1):
                w.put(ws, r_no, i, v, c)
    w.table(ws, "Missing", cols, HEADER_ROW, r_no)
    w.finish(ws, len(cols), r_no)


def _grades_sheet(w: _Writer, rows, findings, grade_labels, unit_cols: list[Col], units_last: int,
                  findings_last: int) -> None:
    from openpyxl.chart import BarChart, Reference
    ws = w.sheet(GRADES, "等次分布与问题代码", "份数由公式按“汇总”“问题清单”统计", 5)
    w.header(ws, HEADER_ROW, [Col("等次（重算）", 14), Col("份数", 8)])
    labels = list(dict.fromkeys([*grade_labels, *(r["grade_computed"] for r in rows if r["grade_computed"])]))
    grade_col = _col(next(i for i, c in enumerate(unit_cols, 1) if c.header == "等次（重算）"))
    grade_range = f"{quote_sheet(SUMMARY)}!${grade_col}${FIRST}:${grade_col}${max(units_last, FIRST)}"
    for k, label in enumerate(labels, start=FIRST):
        w.put(ws, k, 1, label)
        w.formula(ws, f"B{k}", f'=COUNTIF({grade_range},A{k})', sum(r["grade_computed"] == label for r in rows), "0")
    g_last = FIRST + len(labels) - 1
    chart = BarChart()
    chart.type, chart.title, chart.legend = "col", "综合得分等次分布（份）", None
    chart.add_data(Reference(ws, min_col=2, min_row=HEADER_ROW, max_row=max(g_last, FIRST)), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=FIRST, max_row=max(g_last, FIRST)))
    chart.width, chart.height = 14, 7.5
    ws.add_chart(chart, "G3")

    counts: dict[str, int] = {}
    for r in rows:
        codes = [r["refused"]] if r["status"] == "refused" else [f["code"] for f in findings.get(r["id"], [])]
        for code in codes:
            counts[code] = counts.get(code, 0) + 1
    w.header(ws, HEADER_ROW, [Col("问题代码", 18), Col("条数", 8)], first_col=4)
    code_col = _col(next(i for i, c in enumerate(FINDING_COLS, 1) if c.header == "代码"))
    code_range = f"{quote_sheet(FINDINGS)}!${code_col}${FIRST}:${code_col}${max(findings_last, FIRST)}"
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    for k, (code, n) in enumerate(ordered, start=FIRST):
        w.put(ws, k, 4, code)
        w.formula(ws, f"E{k}", f'=COUNTIF({code_range},D{k})', n, "0")
    c_last = FIRST + len(ordered) - 1
    chart = BarChart()
    chart.type, chart.title, chart.legend = "bar", "问题代码条数", None
    chart.add_data(Reference(ws, min_col=5, min_row=HEADER_ROW, max_row=max(c_last, FIRST)), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=4, min_row=FIRST, max_row=max(c_last, FIRST)))
    chart.width, chart.height = 14, max(7.5, 0.6 * len(ordered) + 2)
    ws.add_chart(chart, "G20")
    w.finish(ws, 0, max(g_last, c_last, FIRST))


PREVIOUS_COLS = [Col("单位", 26), Col("年度", 7, "0"), Col("数字", 16), Col("本年数", 14, MONEY), Col("上年数", 14, MONEY),
                 Col("增减额", 14, MONEY), Col("增减率（%）", 11, "0.00")]


def _previous_sheet(w: _Writer, rows) -> None:
    """Each unit's main figures beside its previous year's (the ledger's latest version of it)."""
    cols = PREVIOUS_COLS
    ws = w.sheet(PREVIOUS, "与上年比较", "每个单位本年报送的主要数字与其上年报送的（台账中上年最新一版）；增减率 =（本年 − 上年）÷ 上年",
                 len(cols))
    w.header(ws, HEADER_ROW, cols)
    r_no = FIRST - 1
    for r in rows:
        for f in detail_of(r)["previous"]:
            now, then = _dec(f.get("value")), _dec(f.get("previous"))
            r_no += 1
            values = [r["unit"], r["year"], f["label"], now, then,
                      None if now is None or then is None else now - then, _dec(f.get("change"))]
            for i, (c, v) in enumerate(zip(cols, values), start=1):
                w.put(ws, r_no, i, v, c)
    if r_no < FIRST:
        ws.cell(FIRST, 1, "台账中没有这些单位上一年度的报送，无从比较")
    w.table(ws, "Previous", cols, HEADER_ROW, r_no)
    w.finish(ws, len(cols), max(r_no, FIRST))


def read_roster(path) -> list[tuple[str, int | None]]:
    """单位名单 (.xlsx or .csv): the column headed 单位/单位名称 (else the first), and 年度 if present."""
    from ..errors import XltoolsError
    path = Path(path)
    try:
        if path.suffix.lower() == ".csv":
            import csv
            raw = path.read_bytes()
            for enc in ("utf-8-sig", "gb18030"):        # Excel on Chinese Windows saves CSV as GBK
                try:
                    text = raw.decode(enc)
                    break
                except UnicodeDecodeError:
                    continue
            table = [row for row in csv.reader(text.splitlines())]
        elif path.suffix.lower() in (".xlsx", ".xlsm"):
            from openpyxl import load_workbook
            wb = load_workbook(path, read_only=True, data_only=True)
            table = [["" if v is None else str(v) for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
            wb.close()
        else:
            raise XltoolsError(f"单位名单 {path} 应为 .xlsx 或 .csv 文件")
    except OSError as err:
        raise XltoolsError(f"单位名单 {path} 无法打开：{err.strerror}") from None
    except XltoolsError:
        raise
    except Exception as err:
        raise XltoolsError(f"单位名单 {path} 无法读取（{type(err).__name__}）") from None
    table = [[c.strip() for c in row] for row in table if any(c.strip() for c in row)]
    if not table:
        raise XltoolsError(f"单位名单 {path} 是空的")
    head = table[0]
    unit_col = next((i for i, h in enumerate(head) if h in ("单位", "单位名称", "部门(单位)名称", "部门（单位）名称", "部门")), None)
    year_col = next((i for i, h in enumerate(head) if h in ("年度", "年份")), None)
    body = table[1:] if unit_col is not None else table
    unit_col = unit_col or 0
    out = []
    for row in body:
        unit = row[unit_col] if unit_col < len(row) else ""
        year = row[year_col] if year_col is not None and year_col < len(row) else ""
        if unit:
            out.append((unit, int(year) if year.isdigit() else None))
    return out
