"""The summary workbook a bureau clerk forwards to the director: 汇总 / 项目支出汇总 / 问题清单 /
退回意见 / 未报送 / 等次分布 /
与上年比较.

Built from the ledger's latest versions (so a run that skipped every file writes the same
summary), read from it 500 rows at a time (Season: a province's season is never held whole).
Written with openpyxl through sheets.SheetWriter, row by row to disk (every text a string cell,
never a formula), then streamed through the package editor (build/finish.py) so every formula
carries the value Python computed for it: previewers, pandas and WPS's preview show the totals
without recalculating. Codes are shown by their catalogue titles (the code stays in a narrow last
column, for filtering and counting); each table has its own sheet and widths; every sheet is
protected as the template is (filtering and sorting stay allowed), printed A4 landscape, numbers
stored as numbers.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from functools import cached_property
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..a1 import quote_sheet
from ..catalogue import STATUS_LABEL, TRANSIENT, code_title, severity_label
from .letters import place, reports_by_sheet, return_text, spec_of, without_path
from .record import Row, detail_of, local_time
from .roster import compare
from .sheets import FIRST, HEADER_ROW, MONEY, Col, Sheet, SheetWriter, column, height

SUMMARY = "汇总"
PROJECTS = "项目支出汇总"
FINDINGS = "问题清单"
RETURNS = "退回意见"
MISSING = "未报送"
GRADES = "等次分布"
PREVIOUS = "与上年比较"
CHUNK = 500                    # rows read from the ledger at a time
SCORE = None                   # scores as they are: 97.5, 98 (Excel's "0.##" would show "98.")
UNIDENTIFIED = "（未能识别）"
GRADE_COLUMN = "重算等次"             # what 等次分布 counts

# 汇总: one row per unit and year (the latest version): who, then the figures its spec declares
# (`[summary] figures`: the labels the records carry, in order of appearance), then the scores and
# counts (printed); then where it came from (on screen only).
UNIT_HEAD = [Col("单位", 22, wrap=True), Col("年度", 6, "0"), Col("状态", 8)]
UNIT_SCORES = [Col("填报得分", 9, SCORE), Col("重算得分", 9, SCORE), Col("填报等次", 9),
               Col("重算等次", 9), Col("错误数", 7, "0", True), Col("提示数", 7, "0", True)]
# A hyperlink's cell is not wrapped: LibreOffice does not wrap a cell that holds a link.
UNIT_SOURCE = [Col("说明", 40, wrap=True), Col("文件", 36), Col("接收时间", 16, "yyyy-mm-dd hh:mm"),
               Col("版本", 6, "0"), Col("sha256", 20)]
# 项目支出汇总: one row per copy of the report copied per project (`copy_figures`).
PROJECT_HEAD = [Col("单位", 22, wrap=True), Col("项目名称", 24, wrap=True), Col("年度", 6, "0")]
PROJECT_TAIL = [Col("填报得分", 9, SCORE), Col("重算得分", 9, SCORE), Col("重算等次", 9),
                Col("错误数", 7, "0", True), Col("提示数", 7, "0", True)]
PROJECT_SOURCE = [Col("工作表", 14, wrap=True), Col("文件", 36)]
# 问题清单: printed up to 单位核实说明 (a unit's explanation of a warning, xltools serve); on screen
# the file, the cell as a link that opens it there, and the code (counted by 等次分布).
FINDING_COLS = [Col("单位", 14, wrap=True), Col("年度", 6, "0"), Col("位置", 20, wrap=True), Col("问题", 14, wrap=True),
                Col("级别", 9), Col("说明", 40, wrap=True), Col("应为", 11, wrap=True), Col("实为", 11, wrap=True),
                Col("建议", 20, wrap=True), Col("单位核实说明", 20, wrap=True), Col("文件", 30, wrap=True),
                Col("单元格", 22), Col("代码", 14)]
FINDINGS_PRINTED = 10
RETURN_COLS = [Col("单位", 18, wrap=True), Col("年度", 6, "0"), Col("版本", 6, "0"), Col("错误数", 7, "0"),
               Col("退回意见（可直接复制发送）", 80, wrap=True), Col("文件", 24, wrap=True)]
MISSING_COLS = [Col("单位", 30, wrap=True), Col("年度", 8, "0"), Col("情况", 16), Col("文件", 30, wrap=True)]


def figure_cols(labels) -> list[Col]:
    return [Col(label, max(12, 2 * len(label) + 2), MONEY, True) for label in labels]


def _labels(figure_lists) -> list[str]:
    """Every figure's label, in order of first appearance (an inbox may mix report kinds)."""
    return list(dict.fromkeys(f["label"] for figures in figure_lists for f in figures))


def _by_label(figures) -> dict:
    return {f["label"]: _dec(f["value"]) for f in figures}


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


def _link(target: str | None, base: Path) -> str | None:
    """A hyperlink target relative to the summary's folder (the folder can move as a whole); none
    for a name a link cannot carry (control characters, undecodable bytes)."""
    if not target or not os.path.isfile(target) or any(ord(ch) < 32 or 0xD800 <= ord(ch) < 0xE000 for ch in target):
        return None
    try:
        return os.path.relpath(target, base).replace(os.sep, "/")
    except ValueError:            # another drive on Windows
        return Path(target).as_uri()


class Season:
    """What every sheet is written from: the ledger's latest submissions, read a chunk of rows at
    a time with their findings (a province's season is never held whole), the specs that read
    them (by fingerprint), and the bureau that signs."""

    def __init__(self, ledger, heads: list[dict], specs, base: Path, explanations=None):
        self.ledger, self.base, self.explanations = ledger, base, explanations or {}
        # units in the ledger's order, the files no one could read after them (Ledger.latest_heads)
        self.heads = sorted(heads, key=lambda h: h["unit"] is None)
        self.specs = list(specs)

    def rows(self, findings: bool = False) -> Iterator[tuple[Row, list[dict]]]:
        """(row, its findings, each with the unit's explanation: read if `findings`) for every
        head, in order."""
        for k in range(0, len(self.heads), CHUNK):
            ids = [h["id"] for h in self.heads[k:k + CHUNK]]
            found = self.ledger.findings_of(ids) if findings else {}
            for sid, items in found.items():
                for f in items:
                    f["explanation"] = self.explanations.get((sid, f["position"]))
            for r in self.ledger.rows_of(ids):
                yield r, found.get(r["id"], [])

    @cached_property
    def bureau(self) -> str | None:
        bureaus = [b for b in (detail_of(r)["bureau"] for r, _ in self.rows()) if b] or [s.bureau for s in self.specs]
        return max(set(bureaus), key=bureaus.count) if bureaus else None

    def spec_of(self, r: Row):
        return spec_of(r, self.specs)

    @staticmethod
    def items(r: Row, found: list[dict]) -> list[dict]:
        """A row's findings; an unusable file's refusal as one."""
        if r["status"] == "refused":
            return [{"code": r["refused"], "severity": "error", "sheet": "", "cell": "",
                     "message": without_path(r["message"], r)}]
        return found

    def title(self, code: str) -> str:
        return code_title(code, self.specs)


def write_summary(path, ledger, heads: list[dict], *, explanations=None, roster=None,
                  grade_labels: list[str] = (), password: str | None = None, specs=()) -> Path:
    """The summary of the ledger's latest submissions (`heads`: Ledger.latest_heads), their
    findings with the units' `explanations` ({(submission id, position): text}); `specs`: those
    the rows were read with (the places of findings in words, the rules' titles)."""
    from ..build.finish import save_workbook
    path = Path(path)
    season = Season(ledger, heads, specs, path.resolve().parent, explanations)
    w = SheetWriter(password)
    unit_cols = _units_sheet(w, season)
    _projects_sheet(w, season)
    findings_last = _findings_sheet(w, season)
    _returns_sheet(w, season)
    _missing_sheet(w, season, roster)
    _grades_sheet(w, season, grade_labels, unit_cols, FIRST + len(heads) - 1, findings_last)
    _previous_sheet(w, season)
    w.wb.active = 0
    # no reader's limits: a province's summary is bigger than any report a unit sends, and only we write it
    return save_workbook(w.wb, w.cached, path, limits=False)


def _counts_note(rows) -> str:
    n = "，".join(f"{word} {sum(r['status'] == k for r in rows)}" for k, word in STATUS_LABEL.items())
    return f"共 {len(rows)} 份（{n}）；每个单位、年度只计最新一版；生成于 {datetime.now().strftime('%Y-%m-%d %H:%M')}"


def _years(rows) -> str:
    years = sorted({r["year"] for r in rows if r["year"]})
    return "、".join(map(str, years)) + "年度" if years else ""


def _unit_values(r: Row, labels: list[str]) -> list:
    fig = _by_label(detail_of(r)["figures"])
    note = without_path(r["message"], r) if r["status"] == "refused" else None
    return [r["unit"] or UNIDENTIFIED, r["year"], STATUS_LABEL[r["status"]], *(fig.get(k) for k in labels),
            _dec(r["score_stated"]), _dec(r["score_computed"]), r["grade_stated"], r["grade_computed"],
            r["errors"], r["warnings"], note, r["file_name"], local_time(r["received_at"]), r["version"], r["sha256"]]


def _units_sheet(w: SheetWriter, season: Season) -> list[Col]:
    rows = season.heads
    labels = _labels(detail_of(r)["figures"] for r, _ in season.rows())
    cols = UNIT_HEAD + figure_cols(labels) + UNIT_SCORES + UNIT_SOURCE
    printed = len(cols) - len(UNIT_SOURCE)
    sheet = w.sheet(SUMMARY, f"{_years(rows)}绩效自评报告汇总", _counts_note(rows), cols, printed)
    file_col = [c.header for c in cols].index("文件") + 1
    sums = _Sums(cols)
    last = FIRST - 1
    for last, (r, _) in enumerate(season.rows(), start=FIRST):
        values = _unit_values(r, labels)
        w.row(sheet, last, cols, values, {file_col: _link(r.get("link"), season.base)})
        sums.add(values)
    w.table(sheet, "Units", cols, HEADER_ROW, last)
    _totals(w, sheet, sums, last + 1, FIRST, last)
    w.finish(sheet, last + 1)
    return cols


class _Sums:
    """The totals of the columns that have one, added up as the rows are written."""

    def __init__(self, cols: list[Col]):
        self.cols = cols
        self.sums = {i: Decimal(0) for i, c in enumerate(cols, start=1) if c.total}

    def add(self, values: list) -> None:
        for i in self.sums:
            self.sums[i] += values[i - 1] or Decimal(0)


def _totals(w: SheetWriter, sheet: Sheet, sums: _Sums, total_row: int, first: int, last: int) -> None:
    label = w.text(sheet.ws, "合计")
    label.font = w.head_font
    cells = [label]
    if last >= first:             # no rows: a SUBTOTAL here would only refer to itself
        cells += [None] * (len(sums.cols) - 1)
        for i, total in sums.sums.items():
            letter = column(i)
            # SUBTOTAL(109): the total of the rows a filter leaves visible (all of them as written).
            cells[i - 1] = w.formula(sheet, f"{letter}{total_row}", f"=SUBTOTAL(109,{letter}{first}:{letter}{last})",
                                     total, sums.cols[i - 1].fmt)
            cells[i - 1].font = w.head_font
    sheet.write(total_row, cells)


def _projects_sheet(w: SheetWriter, season: Season) -> None:
    def pairs():                  # read twice (the columns, then the rows) rather than held: 20,000 copies a season
        return ((r, p) for r, _ in season.rows() for p in detail_of(r)["projects"])

    labels = _labels(p["figures"] for _, p in pairs())
    cols = PROJECT_HEAD + figure_cols(labels) + PROJECT_TAIL + PROJECT_SOURCE
    printed = len(cols) - len(PROJECT_SOURCE)
    sheet = w.sheet(PROJECTS, f"{_years(season.heads)}项目支出汇总", "每张项目自评表一行；金额单位：万元", cols, printed,
                    freeze="C4")

    def values(r, p):
        fig = _by_label(p["figures"])
        return [r["unit"] or UNIDENTIFIED, p.get("name"), r["year"], *(fig.get(k) for k in labels),
                _dec(p.get("score_stated")), _dec(p.get("score_computed")), p.get("grade_computed"),
                p.get("errors", 0), p.get("warnings", 0), p.get("sheet"), r["file_name"]]

    sums = _Sums(cols)
    last = FIRST - 1
    for last, (r, p) in enumerate(pairs(), start=FIRST):
        row = values(r, p)
        w.row(sheet, last, cols, row, {len(cols): _link(r.get("link"), season.base)})
        sums.add(row)
    w.table(sheet, "Projects", cols, HEADER_ROW, last)
    _totals(w, sheet, sums, last + 1, FIRST, last)
    w.finish(sheet, last + 1)


def _findings_sheet(w: SheetWriter, season: Season) -> int:
    from openpyxl.worksheet.hyperlink import Hyperlink
    cols = FINDING_COLS
    sheet = w.sheet(FINDINGS, "问题清单", "每条问题一行，每个单位的错误在前；点击右侧“单元格”列打开报送的工作簿并定位到该单元格（文件在本机可访问时）",
                 cols, FINDINGS_PRINTED)
    r_no = FIRST - 1
    for r, found in season.rows(findings=True):
        items = sorted(season.items(r, found), key=lambda f: f["severity"] != "error")
        target = _link(r.get("link"), season.base)
        at_cell = target is not None and target.lower().endswith((".xlsx", ".xlsm"))   # not a data file
        reports = reports_by_sheet(season.spec_of(r), r)
        for f in items:
            r_no += 1
            level = STATUS_LABEL["refused"] if r["status"] == "refused" else severity_label(f["severity"])
            ref = f"{f['sheet']}!{f['cell']}" if f.get("sheet") and f.get("cell") else None
            values = [r["unit"] or UNIDENTIFIED, r["year"], place(f, reports), season.title(f["code"]), level,
                      f["message"], _number_or_text(f.get("expected")), _number_or_text(f.get("actual")),
                      f.get("hint") or None, f.get("explanation") or None, r["file_name"], ref, f["code"]]
            link = Hyperlink(ref="", target=target, location=f"{quote_sheet(f['sheet'])}!{f['cell']}") \
                if at_cell and ref else None
            w.row(sheet, r_no, cols, values, {len(cols) - 1: link})
    w.table(sheet, "Findings", cols, HEADER_ROW, r_no)
    w.finish(sheet, r_no)
    return r_no


def _returns_sheet(w: SheetWriter, season: Season) -> None:
    cols = RETURN_COLS
    text_width = cols[4].width
    sheet = w.sheet(RETURNS, "退回意见", "有错误或无法使用的报送，每份一段退回意见；填上截止日期即可发送", cols, len(cols) - 1)
    r_no = FIRST - 1
    for r, found in season.rows(findings=True):
        if r["status"] == "ok" or r["refused"] in TRANSIENT:    # the bureau's limit: nothing to return
            continue
        text = return_text(r, found, spec=season.spec_of(r), bureau=season.bureau)
        head = [r["unit"] or UNIDENTIFIED, r["year"], r["version"], r["errors"] or None]
        # A row is at most 409 pt: a longer letter goes on in the rows below it.
        for k, part in enumerate(_pieces(text, text_width)):
            r_no += 1
            w.row(sheet, r_no, cols, (head if k == 0 else [head[0] + "（续）", *head[1:]]) + [part, r["file_name"]])
    w.table(sheet, "Returns", cols, HEADER_ROW, r_no)
    w.finish(sheet, r_no)


def _pieces(text: str, width: float) -> list[str]:
    """The letter in pieces that each fit one row."""
    pieces, current = [], []
    for line in text.split("\n"):
        if current and height([("\n".join([*current, line]), width)]) >= 409:
            pieces.append("\n".join(current))
            current = []
        current.append(line)
    return pieces + ["\n".join(current)]


def _missing_sheet(w: SheetWriter, season: Season, roster) -> None:
    cols = MISSING_COLS
    if roster is None:
        sheet = w.sheet(MISSING, "未报送单位", "未提供单位名单，无法列出尚未报送的单位；提供名单后再汇总即可列出", cols)
        w.finish(sheet, HEADER_ROW)
        return
    sheet = w.sheet(MISSING, "未报送单位", "按单位名单核对：名单中尚未报送的单位，以及不在名单中的报送单位", cols)
    missing, unlisted = compare(season.heads, roster)
    r_no = FIRST - 1
    for unit, year in missing:
        r_no += 1
        w.row(sheet, r_no, cols, [unit, year, "未报送", None])
    for r in unlisted:
        r_no += 1
        w.row(sheet, r_no, cols, [r["unit"], r["year"], "不在单位名单中", r["file_name"]])
    w.table(sheet, "Missing", cols, HEADER_ROW, r_no)
    w.finish(sheet, r_no)


def short_title(title: str, at_most: int = 28) -> str:
    """A title short enough to label a chart's bar: without its bracketed remark, cut with "…"."""
    head = title.split("（")[0].strip() or title
    return head if len(head) <= at_most else head[:at_most - 1] + "…"


def _grades_sheet(w: SheetWriter, season: Season, grade_labels, unit_cols: list[Col], units_last: int,
                  findings_last: int) -> None:
    """On one landscape page: the grades (重算), each counted by a formula over 汇总, and the
    problems by title, counted over 问题清单's codes, each table beside its chart."""
    from openpyxl.chart import BarChart, Reference
    rows = season.heads
    cols = [Col(GRADE_COLUMN, 30, wrap=True), Col("份数", 7), Col("代码", 16)]
    first_chart_col, chart_cols = 4, 7              # the charts fill columns E..K
    sheet = w.sheet(GRADES, "等次分布与问题", "份数与条数由公式按“汇总”“问题清单”统计；问题的全称见“问题清单”", cols[:2],
                    first_chart_col + chart_cols, freeze=None, fit_height=1,
                    widths={3: cols[2].width, **{first_chart_col + 1 + i: 12 for i in range(chart_cols)}})
    ws = sheet.ws
    labels = list(dict.fromkeys([*grade_labels, *(r["grade_computed"] for r in rows if r["grade_computed"])]))
    grade_col = column(next(i for i, c in enumerate(unit_cols, 1) if c.header == GRADE_COLUMN))
    grade_range = f"{quote_sheet(SUMMARY)}!${grade_col}${FIRST}:${grade_col}${max(units_last, FIRST)}"
    for k, label in enumerate(labels, start=FIRST):
        sheet.write(k, [w.put(ws, label), w.formula(sheet, f"B{k}", f'=COUNTIF({grade_range},A{k})',
                                                    sum(r["grade_computed"] == label for r in rows), "0")])
    g_last = max(FIRST + len(labels) - 1, FIRST)

    counts: dict[str, int] = {}
    for r, found in season.rows(findings=True):
        for f in season.items(r, found):
            counts[f["code"]] = counts.get(f["code"], 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    # The problems' table starts below the grades' chart (the charts fill the cells E..K beside
    # their tables: two-cell anchors keep them inside the printed range whatever the heights).
    p_head = max(g_last + 3, HEADER_ROW + 16)
    w.header(sheet, p_head, [Col("问题", 30), Col("条数", 7), Col("代码", 16)])
    code_col = column(next(i for i, c in enumerate(FINDING_COLS, 1) if c.header == "代码"))
    code_range = f"{quote_sheet(FINDINGS)}!${code_col}${FIRST}:${code_col}${max(findings_last, FIRST)}"
    for k, (code, n) in enumerate(ordered, start=p_head + 1):
        title = short_title(season.title(code))
        sheet.write(k, [w.put(ws, title, cols[0]), w.formula(sheet, f"B{k}", f'=COUNTIF({code_range},C{k})', n, "0"),
                        w.put(ws, code)], height([(title, cols[0].width)]))
    p_last = max(p_head + len(ordered), p_head + 1)
    last = max(p_last, p_head + 14)
    chart = BarChart()
    chart.type, chart.title, chart.legend = "col", "综合得分等次分布（份）", None
    chart.add_data(Reference(ws, min_col=2, min_row=HEADER_ROW, max_row=g_last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=FIRST, max_row=g_last))
    ws.add_chart(chart, _cells_anchor(first_chart_col, HEADER_ROW - 1, first_chart_col + chart_cols, p_head - 2))
    chart = BarChart()
    chart.type, chart.title, chart.legend = "bar", "问题条数", None
    chart.add_data(Reference(ws, min_col=2, min_row=p_head, max_row=p_last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=p_head + 1, max_row=p_last))
    chart.y_axis.majorGridlines = None
    ws.add_chart(chart, _cells_anchor(first_chart_col, p_head - 1, first_chart_col + chart_cols, last))
    w.finish(sheet, last)


def _cells_anchor(col0: int, row0: int, col1: int, row1: int):
    """A drawing anchored from cell (col0, row0) to (col1, row1), 0-based, corners included."""
    from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
    return TwoCellAnchor(_from=AnchorMarker(col=col0, row=row0), to=AnchorMarker(col=col1, row=row1))


PREVIOUS_COLS = [Col("单位", 26), Col("年度", 7, "0"), Col("数字", 16), Col("本年数", 14, MONEY), Col("上年数", 14, MONEY),
                 Col("增减额", 14, MONEY), Col("增减率（%）", 11, "0.00")]


def _previous_sheet(w: SheetWriter, season: Season) -> None:
    """Each unit's main figures beside its previous year's (the ledger's latest version of it)."""
    cols = PREVIOUS_COLS
    sheet = w.sheet(PREVIOUS, "与上年比较", "每个单位本年报送的主要数字与其上年报送的（台账中上年最新一版）；增减率 =（本年 − 上年）÷ 上年",
                    cols)
    r_no = FIRST - 1
    for r, _ in season.rows():
        for f in detail_of(r)["previous"]:
            now, then = _dec(f.get("value")), _dec(f.get("previous"))
            r_no += 1
            w.row(sheet, r_no, cols, [r["unit"], r["year"], f["label"], now, then,
                                      None if now is None or then is None else now - then, _dec(f.get("change"))])
    if r_no < FIRST:
        sheet.write(FIRST, [w.text(sheet.ws, "台账中没有这些单位上一年度的报送，无从比较")])
    w.table(sheet, "Previous", cols, HEADER_ROW, r_no)
    w.finish(sheet, max(r_no, FIRST))
