"""Blocks of the spec -> placed cells on the sheet grid, and the fields they carry.

The layout lives in the spec package, not in the builder, so that `xltools spec fields` and the
reader know every field's cell without building a workbook. The builder only paints it.
"""
from __future__ import annotations

import math
import re

from ..a1 import a1
from ..errors import SpecError
from ..units import UNITS
from .layout_scored import ScoredBlocks
from .model import Check, Field, Placed, Report, Run, Table

# The units a spec's field may name: units.py's, and a signature column (left blank for the pen).
SPEC_UNITS = (*UNITS, "signature")

LINE_PT = 14.0        # one line of 10.5 pt 宋体 with leading
TEXT_LINE_PT = 17.0   # one line of the 11.5 pt text font: Noto Serif CJK (LibreOffice's 仿宋) is 1.45 em
ROW_PT = 20.0         # a one-line row with some air
MAX_ROW_PT = 400.0    # Excel caps a row at 409 pt: taller text spans several merged rows
EXCEL_MAX_ROW_PT = 409.0
ROW_CHARS = 700       # characters one row of a long text holds (its validation): at most 20 lines
                      # of the narrower text cell (B–H), 348 pt, below Excel's 409 pt
CLOSE_PT = 4.0        # the thin row that closes a long text's box
BLANK_ROW_PT = 3.0    # a long text's row while blank, but its first: a sliver to type or paste in,
                      # fitted to its text when typed in; low, so a short text prints no blank block


def display_width(text: str) -> float:
    """Width in Excel column units: a CJK or full-width character is a little over two digits wide.
    (Counted by a regex, in C: the checker measures every row of every long text.)"""
    return 1.1 * (2 * len(text) - len(_WIDE.sub("", text)))


_WIDE = re.compile("[\u2e80-\U0010ffff]")


def text_lines(text: str, width_units: float) -> int:
    usable = max(width_units - 1.5, 2)
    return sum(max(1, math.ceil(display_width(part) / usable)) for part in str(text).split("\n"))


class Layout(ScoredBlocks):
    """Lays out one report's blocks; `where` names the spec place for error messages; `scoring`,
    the spec's scoring rules (the budget table's score follows its cap)."""
    row_pt = ROW_PT

    def __init__(self, report: Report, widths: list[float], computed: set[tuple[str, str]],
                 fmt: dict, where: str, scoring=None):
        self.r = report
        self.widths = widths
        report.columns = len(widths)
        self.computed = computed      # (table, column) pairs that a rule computes
        self.fmt = fmt
        self.where = where
        self.scoring = scoring
        self.row = 1
        self.fit_cols: dict[tuple[int, int], int] = {}   # (col, cols) of a text cell -> its fit column

    # -- helpers ---------------------------------------------------------------------------
    def fail(self, place: str, msg: str):
        raise SpecError(f"{self.where}.{place}：{msg}")

    def width(self, col: int, cols: int) -> float:
        return sum(self.widths[col - 1: col - 1 + cols])

    def put(self, **kw) -> Placed:
        p = Placed(**kw)
        self.r.placed.append(p)
        return p

    def height(self, row: int, pt: float):
        self.r.row_heights[row] = max(self.r.row_heights.get(row, 0), min(pt, MAX_ROW_PT))

    def lines_of(self, text: str, col: int, cols: int = 1) -> float:
        """Points the text takes in the body font at the width of these columns."""
        return text_lines(text, self.width(col, cols)) * LINE_PT

    def fit(self, row: int, col: int, cols: int, text: str, rows: int = 1, min_pt: float = ROW_PT):
        need = text_lines(text, self.width(col, cols)) * LINE_PT + 6
        self.height(row, max(min_pt, need / rows))

    def add_field(self, place: str, name: str, **kw) -> Field:
        if not isinstance(name, str) or not name.isascii() or not name.replace("_", "a").isalnum() \
                or not name[0].isalpha():
            self.fail(place, f"字段名 {name!r} 须为以字母开头的 ASCII 字母、数字、下划线")
        if name in self.r.fields:
            self.fail(place, f"字段名 {name} 重复")
        if kw["unit"] not in SPEC_UNITS and kw["unit"] != "rate":       # rate: computed only (执行率)
            self.fail(place, f"单位 unit = {kw['unit']!r} 不可用，应为 {'、'.join(SPEC_UNITS)} 之一")
        f = Field(name=name, report=self.r.id, **kw)
        self.r.fields[name] = f
        return f

    def place_field(self, f: Field, row: int, col: int, rows: int = 1, cols: int = 1, **kw) -> Placed:
        f.cell = a1(row, col)
        return self.put(row=row, col=col, rows=rows, cols=cols, field=f.name,
                        role="computed" if f.kind == "computed" else "input", **kw)

    def check_at(self, row: int, check: Check):
        self.put(row=row, col=self.r.check_column, role="check", check=check, border=False)

    # -- blocks ----------------------------------------------------------------------------
    def run(self, blocks: list[dict]):
        for i, b in enumerate(blocks):
            place = f"blocks[{i}]"
            kind = b.get("kind")
            handler = getattr(self, f"block_{kind}", None)
            if handler is None:
                self.fail(place, f"未知的块类型 kind={kind!r}")
            if b.get("break_before"):
                self.r.page_breaks.append(self.row - 1)
            try:
                handler(b, place)
            except KeyError as e:
                self.fail(place, f"缺少键 {e.args[0]}")
        self.r.last_row = self.row - 1

    def block_title(self, b, place):
        for line in b["lines"]:
            self.put(row=self.row, col=1, cols=self.r.columns, role="title", text=line.format(**self.fmt), border=False)
            self.height(self.row, 36)
            self.row += 1
        if "subtitle" in b:         # a line under the title in the body font: （2022年度）
            self.put(row=self.row, col=1, cols=self.r.columns, role="subtitle", text=b["subtitle"].format(**self.fmt),
                     border=False)
            self.height(self.row, 22)
            self.row += 1
        self.height(self.row, b.get("gap", 60))   # air between the title and the cover lines
        self.row += 1

    def block_issuer(self, b, place):
        self.height(self.row, 80)
        self.row += 1
        self.put(row=self.row, col=1, cols=self.r.columns, role="issuer", text=b["text"].format(**self.fmt), border=False)
        self.height(self.row, 28)
        self.r.page_breaks.append(self.row)   # the cover is a page of its own, as in the seed
        self.row += 1

    def block_section(self, b, place):
        self.put(row=self.row, col=1, cols=self.r.columns, role="section", text=b["text"])
        self.height(self.row, 24)
        self.row += 1

    def block_row(self, b, place):
        col = 1
        border = b.get("border", False)
        for j, c in enumerate(b["cells"]):
            span = c.get("span", 1)
            if "field" in c:
                choices = c.get("choices", [])
                if not isinstance(choices, list) or not all(isinstance(x, str) and x for x in choices):
                    self.fail(f"{place}.cells[{j}].choices", "应为选项文字的列表，如 [\"项目实施过程评价\", \"项目完成结果评价\"]")
                f = self.add_field(f"{place}.cells[{j}]", c["field"], label=c["label"], unit=c["unit"],
                                   required=c.get("required", False), default=c.get("default"),
                                   choices=tuple(choices))
                self.place_field(f, self.row, col, cols=span, border=border or None)
                self.height(self.row, 24)
            else:
                self.put(row=self.row, col=col, cols=span, role="label", text=c["text"],
                         align=c.get("align"), border=border)
                self.fit(self.row, col, span, c["text"])
            col += span
        if col - 1 > self.r.columns:
            self.fail(place, f"本行共 {col - 1} 列，超过 {self.r.columns} 列")
        self.row += 1

    def text_run(self, f: Field, col: int, cols: int, rows: int, label: str | None):
        """A long text as a run of rows (see model.Run): `rows` rows, every one visible, the first
        a line tall (or as tall as the label beside it) and the others a sliver while blank (the
        programs fit each to its text), then a thin row that closes the box (the rows have side
        borders only: one box, not a table). The label is a cell of the first row, not merged
        down: the programs fit the first row to it too."""
        if rows < 1:
            self.fail(f.name, f"rows={rows} 应至少为 1")
        first = self.row
        f.cell = a1(first, self.r.join_column)
        fit_col = self.fit_cols.setdefault((col, cols), self.r.fit_column + len(self.fit_cols))
        first_pt = ROW_PT
        if label:
            self.put(row=first, col=1, role="label", text=label, border=False)
            first_pt = max(first_pt, text_lines(label, self.width(1, 1)) * LINE_PT + 6)
        run = Run(f.name, col, cols, first, rows, first + rows, fit_col, first_pt)
        self.r.runs[f.name] = run
        for r in run.row_numbers:
            self.r.row_heights[r] = first_pt if r == first else BLANK_ROW_PT
            self.put(row=r, col=col, cols=cols, role="text", field=f.name, align="top", border=False)
            self.put(row=r, col=fit_col, role="fit", field=f.name, border=False)
        self.put(row=first, col=self.r.join_column, role="join", field=f.name, border=False)
        self.r.row_heights[run.close] = CLOSE_PT
        self.put(row=run.close, col=1, cols=self.r.columns, role="close", border=False)
        self.row = run.close + 1

    def block_longtext(self, b, place):
        name = b["field"]
        rows = b.get("rows", 1)
        b.known("shown")            # form version 1's: its rows after those were hidden (its workbooks are read by name)
        if "section" in b:
            self.block_section({"text": b["section"]}, place)
            f = self.add_field(place, name, label=b["section"].split("、", 1)[-1], unit="text",
                               required=b.get("required", False))
            self.text_run(f, 1, self.r.columns, rows, None)
        else:
            f = self.add_field(place, name, label=b["label"], unit="text", required=b.get("required", False))
            self.text_run(f, 2, self.r.columns - 1, rows, b["label"])

    def block_goals(self, b, place):
        (h1, h2), (f1, f2) = b["headers"], b["fields"]
        start = self.row
        self.put(row=start, col=2, cols=4, role="header", text=h1)
        self.put(row=start, col=6, cols=3, role="header", text=h2)
        self.height(start, ROW_PT)
        self.row += 1
        label = b["label"]
        fa = self.add_field(place, f1, label=f"{label}·{h1.replace(' ', '')}", unit="text", required=True)
        fb = self.add_field(place, f2, label=f"{label}·{h2.replace(' ', '')}", unit="text", required=True)
        self.place_field(fa, self.row, 2, cols=4, align="top")
        self.place_field(fb, self.row, 6, cols=3, align="top")
        self.height(self.row, b["lines"] * LINE_PT + 8)
        self.put(row=start, col=1, rows=2, role="label", text=label)
        self.row += 1

    def spans_ok(self, place: str, spans: list[int]):
        if sum(spans) != self.r.columns:
            self.fail(place, f"各列跨度之和为 {sum(spans)}，应为 {self.r.columns}")

    def header_rows(self, header: list[list[dict]], place: str):
        """HTML-table placement: each cell takes the next free column of its row."""
        taken: set[tuple[int, int]] = set()
        for i, cells in enumerate(header):
            col = 1
            for c in cells:
                while (i, col) in taken:
                    col += 1
                rows, cols = c.get("rows", 1), c.get("span", 1)
                self.put(row=self.row + i, col=col, rows=rows, cols=cols, role="header", text=c["text"])
                for dr in range(rows):
                    for dc in range(cols):
                        taken.add((i + dr, col + dc))
                self.fit(self.row + i, col, cols, c["text"], rows=rows)
                col += cols
        if any(c > self.r.columns for _, c in taken):
            self.fail(f"{place}.header", f"表头超过 {self.r.columns} 列")
        self.row += len(header)

    def block_table(self, b, place):
        tid = b["id"]
        n = b["rows"]
        cols = b["columns"]
        self.spans_ok(f"{place}.columns", [c.get("span", 1) for c in cols])
        keys = [str(i) for i in range(1, n + 1)]
        total = b.get("total_row")
        table = Table(tid, [c["id"] for c in cols], keys + (["total"] if total else []), "total" if total else None,
                      b.get("caption", ""))
        self.r.tables[tid] = table
        if b.get("caption"):
            self.put(row=self.row, col=1, cols=self.r.columns, role="caption", text=b["caption"])
            self.height(self.row, 22)
            self.row += 1
        self.header_rows(b["header"], place)
        for key in table.rows:
            col = 1
            for j, c in enumerate(cols):
                span = c.get("span", 1)
                unit = c["unit"]
                is_total = key == "total"
                if unit == "signature":
                    c.known("label")            # names the column in the spec only: the cell is left blank
                    self.put(row=self.row, col=col, cols=span, role="blank")
                elif is_total and j == 0 and unit == "text":
                    self.put(row=self.row, col=col, cols=span, role="header", text=total)
                elif is_total and unit not in ("万元", "元", "人"):
                    self.put(row=self.row, col=col, cols=span, role="blank")
                else:
                    kind = "computed" if is_total or (tid, c["id"]) in self.computed or "same_as" in c else "input"
                    row_label = "合计" if is_total else f"第{key}行"
                    f = self.add_field(f"{place}.columns[{j}]", table.name(c["id"], key),
                                       label=f"{c['label']}（{row_label}）",
                                       unit=unit, kind=kind, table=tid, column=c["id"], row=key,
                                       note=c.get("note", ""))
                    self.place_field(f, self.row, col, cols=span)
                col += span
            self.height(self.row, ROW_PT)
            self.row += 1

    def block_matrix(self, b, place):
        """Rows are sources, columns are measures; printed as label/value pairs like the seed."""
        tid = b["id"]
        labels = b["row_labels"]
        cols = b["columns"]
        if len(cols) * 2 != self.r.columns:
            self.fail(place, f"矩阵须有 {self.r.columns // 2} 列")
        keys = list(labels)
        total = b.get("total_row")
        table = Table(tid, [c["id"] for c in cols], [k for k in keys if k != total] + ([total] if total else []),
                      total, matrix=True)
        self.r.tables[tid] = table
        for key in keys:
            for j, c in enumerate(cols):
                col = 2 * j + 1
                text = c["label"] if key == total else labels[key]
                self.put(row=self.row, col=col, role="header" if key == total else "label", text=text)
                self.fit(self.row, col, 1, text)
                kind = "computed" if key == total or (tid, c["id"]) in self.computed else "input"
                clabel = c["label"].replace("\n", "")
                f = self.add_field(f"{place}.columns[{j}]", table.name(c["id"], key),
                                   label=f"{clabel}·{'合计' if key == total else labels[key].removeprefix('其中：')}",
                                   unit=c["unit"], kind=kind, table=tid, column=c["id"], row=key)
                self.place_field(f, self.row, col + 1)
            self.row += 1

    def block_signoff(self, b, place):
        top = self.row
        self.put(row=self.row, col=1, cols=self.r.columns, role="label", text=b["label"], border=False, align="left")
        self.height(self.row, ROW_PT)
        self.row += 1
        f = self.add_field(place, b["field"], label=b["label"].rstrip("："), unit="text")
        self.place_field(f, self.row, 1, cols=self.r.columns, align="top", border=False)
        self.height(self.row, 3 * LINE_PT + 8)
        self.row += 1
        if b.get("signer"):
            self.put(row=self.row, col=4, cols=5, role="signer", text=b["signer"], border=False)
            self.height(self.row, ROW_PT)
            self.row += 1
        self.put(row=self.row, col=5, cols=4, role="date", text="年      月      日", border=False)
        self.height(self.row, ROW_PT)
        self.row += 1
        self.put(row=top, col=1, rows=self.row - top, cols=self.r.columns, role="box", border=True)


def label_height(text: str, width_units: float) -> float:
    """Points a label takes in the body font at this width (a merged label's rows need as much)."""
    return text_lines(text, width_units) * LINE_PT + 6


def row_height(text: str, width_units: float, line_pt: float = TEXT_LINE_PT) -> float:
    """A row tall enough for `text` in the long-text font at this width (at most MAX_ROW_PT)."""
    return min(MAX_ROW_PT, max(ROW_PT, text_lines(text, width_units) * line_pt + 8))


_SENTENCE_END = "。；！？;!?"


def _pieces(paragraph: str) -> list[str]:
    """A paragraph in pieces of at most ROW_CHARS characters, cut after a sentence where one ends
    in the second half of the piece (so that no quoted amount is cut in two)."""
    out = []
    while len(paragraph) > ROW_CHARS:
        head = paragraph[:ROW_CHARS]
        cut = max(head.rfind(ch) for ch in _SENTENCE_END) + 1
        if cut < ROW_CHARS // 2:
            cut = ROW_CHARS
        out.append(paragraph[:cut])
        paragraph = paragraph[cut:]
    out.append(paragraph)
    return out


def run_rows(text: str, run: Run) -> list[str] | None:
    """A long text -> the texts of its rows: one paragraph per row, a long paragraph in pieces;
    when that takes more rows than the run has, consecutive pieces share a row (joined by a line
    break) up to ROW_CHARS. None if even that does not fit (the text is too long for the form).
    Joining the rows with line breaks gives the text back (less blank lines, plus a break where
    a paragraph longer than a row was cut)."""
    pieces = [p for para in str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
              if para.strip() for p in _pieces(para)]
    if len(pieces) <= run.rows:
        return pieces
    rows: list[str] = []
    for p in pieces:
        if rows and len(rows[-1]) + 1 + len(p) <= ROW_CHARS:
            rows[-1] += "\n" + p
        else:
            rows.append(p)
    return rows if len(rows) <= run.rows else None


def run_layout(text: str | None, run: Run, widths: list[float]) -> tuple[list[str], dict[int, float]]:
    """(row texts, the height of every row of the run) that show `text` whole: a used row as tall
    as its text (the first at least as tall as the label beside it), an unused one a sliver, as
    in the blank form (a blank text: no rows). A text too long for the run raises ValueError with
    the number of characters the run holds."""
    if text is None or not str(text).strip():
        return [], {}
    rows = run_rows(text, run)
    if rows is None:
        raise ValueError(run.rows * ROW_CHARS)
    width = sum(widths[run.col - 1: run.col - 1 + run.cols])
    heights = {r: row_height(rows[k], width) if k < len(rows) else BLANK_ROW_PT for k, r in enumerate(run.row_numbers)}
    heights[run.first] = max(heights[run.first], run.first_pt)
    return rows, heights


def least_height(text: str, width_units: float) -> float:
    """The least height any of Excel, WPS and LibreOffice shows `text` whole in, at this width: a
    row lower than this cuts the text in each of them. Measured in LibreOffice's window: 55
    Chinese characters and their punctuation fill one line of the 95-unit text cell (display_width
    counts 2.2 units a character, for a row that surely holds its text: 1.3 times that), and a
    line takes 15.7 to 17.4 pt; Excel's 仿宋 takes about 14.4 pt. The checker asks this of every
    row of every long text: a character of three or more bytes in UTF-8 counts as wide here
    (display_width's rule, give or take a quotation mark), counted by the encoder in C."""
    usable = max(width_units * 1.3 - 1.5, 2)
    lines = 0
    for part in text.split("\n"):
        units = 1.1 * (len(part) + (len(part.encode("utf-8")) - len(part)) // 2)
        lines += max(1, math.ceil(units / usable))
    return lines * LEAST_LINE_PT


LEAST_LINE_PT = 13.5   # 11.5 pt CJK text, single spacing, the tightest of the three programs


def fitted_heights(rep: Report, widths: list[float], texts: dict[str, str]) -> dict[int, float]:
    """Row heights that show `texts` (field name -> text) whole; long-text runs aside (run_layout).

    Excel and WPS do not grow merged or wrapped rows by themselves when a file is opened, so the
    rows must be tall enough in the file for long text to print whole.
    """
    out: dict[int, float] = {}
    for p in rep.placed:
        if p.field not in texts or not texts[p.field] or p.field in rep.runs:
            continue
        line = TEXT_LINE_PT if p.align == "top" else LINE_PT
        need = text_lines(texts[p.field], sum(widths[p.col - 1: p.col - 1 + p.cols])) * line + 8
        have = sum(rep.row_heights.get(r, ROW_PT) for r in range(p.row, p.row + p.rows))
        if need > have or (p.align == "top" and p.rows > 1):
            need = max(need, p.rows * ROW_PT)
            for r in range(p.row, p.row + p.rows):
                out[r] = min(MAX_ROW_PT, max(out.get(r, 0), need / p.rows))
    return out
