"""Blocks of the spec -> placed cells on the sheet grid, and the fields they carry.

The layout lives in the spec package, not in the builder, so that `xltools spec fields` and the
reader know every field's cell without building a workbook. The builder only paints it.
"""
from __future__ import annotations

import math
from decimal import Decimal

from .. import catalogue
from ..a1 import a1
from ..errors import SpecError
from .model import (CHECK_COLUMN, JOIN_COLUMN, PRINT_COLUMNS, Check, Field, Indicator, IndicatorTable, Placed,
                    Report, Run, Table)

LINE_PT = 14.0        # one line of 10.5 pt 宋体 with leading
TEXT_LINE_PT = 17.0   # one line of the 11.5 pt text font: Noto Serif CJK (LibreOffice's 仿宋) is 1.45 em
ROW_PT = 20.0         # a one-line row with some air
MAX_ROW_PT = 400.0    # Excel caps a row at 409 pt: taller text spans several merged rows
ROW_CHARS = 500       # characters one row of a long text holds (its validation); fits by construction
CLOSE_PT = 4.0        # the thin row that closes a long text's box


def display_width(text: str) -> float:
    """Width in Excel column units: a CJK or full-width character is a little over two digits wide."""
    return sum(2.2 if ord(ch) > 0x2E7F else 1.1 for ch in text)


def text_lines(text: str, width_units: float) -> int:
    usable = max(width_units - 1.5, 2)
    return sum(max(1, math.ceil(display_width(part) / usable)) for part in str(text).split("\n"))


class Layout:
    """Lays out one report's blocks; `where` names the spec place for error messages."""

    def __init__(self, report: Report, widths: list[float], computed: set[tuple[str, str]],
                 fmt: dict, where: str):
        self.r = report
        self.widths = widths
        self.computed = computed      # (table, column) pairs that a rule computes
        self.fmt = fmt
        self.where = where
        self.row = 1

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

    def fit(self, row: int, col: int, cols: int, text: str, rows: int = 1, min_pt: float = ROW_PT):
        need = text_lines(text, self.width(col, cols)) * LINE_PT + 6
        self.height(row, max(min_pt, need / rows))

    def add_field(self, place: str, name: str, **kw) -> Field:
        if not isinstance(name, str) or not name.isascii() or not name.replace("_", "a").isalnum() \
                or not name[0].isalpha():
            self.fail(place, f"字段名 {name!r} 须为以字母开头的 ASCII 字母、数字、下划线")
        if name in self.r.fields:
            self.fail(place, f"字段名 {name} 重复")
        f = Field(name=name, report=self.r.id, **kw)
        self.r.fields[name] = f
        return f

    def place_field(self, f: Field, row: int, col: int, rows: int = 1, cols: int = 1, **kw) -> Placed:
        f.cell = a1(row, col)
        return self.put(row=row, col=col, rows=rows, cols=cols, field=f.name,
                        role="computed" if f.kind == "computed" else "input", **kw)

    def check_at(self, row: int, check: Check):
        self.put(row=row, col=CHECK_COLUMN, role="check", check=check, border=False)

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
            self.put(row=self.row, col=1, cols=PRINT_COLUMNS, role="title", text=line.format(**self.fmt), border=False)
            self.height(self.row, 36)
            self.row += 1
        self.height(self.row, 60)   # air between the title and the cover lines
        self.row += 1

    def block_issuer(self, b, place):
        self.height(self.row, 80)
        self.row += 1
        self.put(row=self.row, col=1, cols=PRINT_COLUMNS, role="issuer", text=b["text"].format(**self.fmt), border=False)
        self.height(self.row, 28)
        self.r.page_breaks.append(self.row)   # the cover is a page of its own, as in the seed
        self.row += 1

    def block_section(self, b, place):
        self.put(row=self.row, col=1, cols=PRINT_COLUMNS, role="section", text=b["text"])
        self.height(self.row, 24)
        self.row += 1

    def block_row(self, b, place):
        col = 1
        border = b.get("border", False)
        for j, c in enumerate(b["cells"]):
            span = c.get("span", 1)
            if "field" in c:
                f = self.add_field(f"{place}.cells[{j}]", c["field"], label=c["label"], unit=c["unit"],
                                   required=c.get("required", False), default=c.get("default"),
                                   choices=tuple(c.get("choices", ())))
                self.place_field(f, self.row, col, cols=span, border=border or None)
                self.height(self.row, 24)
            else:
                self.put(row=self.row, col=col, cols=span, role="label", text=c["text"],
                         align=c.get("align"), border=border)
                self.fit(self.row, col, span, c["text"])
            col += span
        if col - 1 > PRINT_COLUMNS:
            self.fail(place, f"本行共 {col - 1} 列，超过 {PRINT_COLUMNS} 列")
        self.row += 1

    def text_run(self, f: Field, col: int, cols: int, shown: int, rows: int, label: str | None):
        """A long text as a run of rows (see model.Run): `shown` rows visible in the blank form,
        each tall enough for ROW_CHARS characters, then hidden reserve rows up to `rows`, then a
        thin row that closes the box (the rows have side borders only: one box, not a table)."""
        if not 1 <= shown <= rows:
            self.fail(f.name, f"rows={rows}、shown={shown} 应满足 1 ≤ shown ≤ rows")
        first = self.row
        f.cell = a1(first, JOIN_COLUMN)
        run = Run(f.name, col, cols, first, rows, shown, first + rows)
        self.r.runs[f.name] = run
        capacity = row_height("字" * ROW_CHARS, self.width(col, cols))
        for k in range(rows):
            self.r.row_heights[first + k] = capacity
            if k >= shown:
                self.r.hidden_rows.add(first + k)
            self.put(row=first + k, col=col, cols=cols, role="text", field=f.name, align="top", border=False)
        self.put(row=first, col=JOIN_COLUMN, role="join", field=f.name, border=False)
        self.r.row_heights[run.close] = CLOSE_PT
        self.put(row=run.close, col=1, cols=PRINT_COLUMNS, role="close", border=False)
        if label:
            self.put(row=first, col=1, rows=rows, role="label", text=label)
        self.row = run.close + 1

    def block_longtext(self, b, place):
        name = b["field"]
        shown, rows = b.get("shown", 1), b.get("rows", 1)
        if "section" in b:
            self.block_section({"text": b["section"]}, place)
            f = self.add_field(place, name, label=b["section"].split("、", 1)[-1], unit="text",
                               required=b.get("required", False))
            self.text_run(f, 1, PRINT_COLUMNS, shown, rows, None)
        else:
            f = self.add_field(place, name, label=b["label"], unit="text", required=b.get("required", False))
            self.text_run(f, 2, PRINT_COLUMNS - 1, shown, rows, b["label"])

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
        if sum(spans) != PRINT_COLUMNS:
            self.fail(place, f"各列跨度之和为 {sum(spans)}，应为 {PRINT_COLUMNS}")

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
        if any(c > PRINT_COLUMNS for _, c in taken):
            self.fail(f"{place}.header", f"表头超过 {PRINT_COLUMNS} 列")
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
            self.put(row=self.row, col=1, cols=PRINT_COLUMNS, role="caption", text=b["caption"])
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
        if len(cols) * 2 != PRINT_COLUMNS:
            self.fail(place, f"矩阵须有 {PRINT_COLUMNS // 2} 列")
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

    def block_indicators(self, b, place):
        tid = b["id"]
        inds: list[Indicator] = []
        for g, group in enumerate(b["groups"]):
            for k, it in enumerate(group["indicators"]):
                try:
                    weight = Decimal(str(it["weight"]))
                except Exception:
                    self.fail(f"{place}.groups[{g}].indicators[{k}]", f"分值 {it.get('weight')!r} 不是数字")
                inds.append(Indicator(group["level1"], group["level2"], it["name"], weight,
                                      it.get("lower_is_better", False)))
        if not inds:
            self.fail(place, "指标表没有指标")
        total = sum(i.weight for i in inds)
        if total != 100:
            self.fail(place, f"指标分值合计为 {total}，应为 100")
        labels = b["column_labels"]
        table = IndicatorTable(tid, inds, b["score_field"], b["grade_field"], labels)
        self.r.indicator_tables.append(table)

        top = self.row
        header = b["header"]
        spans = [2] + [1] * 5 if len(header) == 6 else [1] * 7
        col = 2
        for text, span in zip(header, spans):
            self.put(row=self.row, col=col, cols=span, role="header", text=text)
            self.fit(self.row, col, span, text)
            col += span
        weight_names = table.names("weight")
        weights = catalogue.entry("weight-sum")
        self.check_at(self.row, Check(weights.code, "weights", tuple(weight_names), "=", Decimal(100),
                                      weights.title, weights.severity, unit="score"))
        self.row += 1
        first = self.row

        def merge_runs(col: int, key):
            start = 0
            while start < len(inds):
                end = start
                while end + 1 < len(inds) and key(inds[end + 1]) == key(inds[start]):
                    end += 1
                text = (inds[start].group1 if col == 2 else inds[start].group2)
                self.put(row=first + start, col=col, rows=end - start + 1, role="label", text=text)
                start = end + 1

        merge_runs(2, lambda i: i.group1)
        merge_runs(3, lambda i: (i.group1, i.group2))
        for i, ind in enumerate(inds, start=1):
            r = self.row
            mk = lambda column, unit, **kw: self.place_field(  # noqa: E731
                self.add_field(f"{place}.indicators[{i - 1}]", f"{tid}_{column}_{i}",
                               label=f"{ind.name.splitlines()[0]}·{labels[column]}", unit=unit,
                               table=tid, column=column, row=str(i), **kw),
                r, {"name": 4, "target": 5, "actual": 6, "weight": 7, "score": 8}[column])
            mk("name", "text", default=ind.name)
            mk("target", "text")
            mk("actual", "text")
            mk("weight", "score", default=ind.weight, required=True)
            mk("score", "score", lower_is_better=ind.lower_is_better)
            self.fit(r, 4, 1, ind.name)
            in_range = catalogue.entry("score-range")
            self.check_at(r, Check(in_range.code, "score-range", f"{tid}_score_{i}", "<=", f"{tid}_weight_{i}",
                                   in_range.title, in_range.severity, unit="score"))
            self.row += 1
        # the level-1 texts are long: make sure their merged cells are tall enough
        for col, key in ((2, "group1"), (3, "group2")):
            for ind_text in {getattr(i, key) for i in inds}:
                rows = [first + k for k, i in enumerate(inds) if getattr(i, key) == ind_text]
                need = text_lines(ind_text, self.width(col, 1)) * LINE_PT + 6
                have = sum(self.r.row_heights.get(r, ROW_PT) for r in rows)
                if need > have:
                    for r in rows:
                        self.height(r, self.r.row_heights.get(r, ROW_PT) + (need - have) / len(rows))
        self.put(row=top, col=1, rows=self.row - top, role="label", text=b["label"])
        for name, label in ((b["score_field"], b["score_label"]), (b["grade_field"], b["grade_label"])):
            self.put(row=self.row, col=1, cols=3, role="header", text=label)
            f = self.add_field(place, name, label=label, unit="score" if name == b["score_field"] else "text",
                               kind="computed")
            self.place_field(f, self.row, 4, cols=5)
            self.height(self.row, 24)
            self.row += 1

    def block_signoff(self, b, place):
        top = self.row
        self.put(row=self.row, col=1, cols=PRINT_COLUMNS, role="label", text=b["label"], border=False, align="left")
        self.height(self.row, ROW_PT)
        self.row += 1
        f = self.add_field(place, b["field"], label=b["label"].rstrip("："), unit="text")
        self.place_field(f, self.row, 1, cols=PRINT_COLUMNS, align="top", border=False)
        self.height(self.row, 3 * LINE_PT + 8)
        self.row += 1
        if b.get("signer"):
            self.put(row=self.row, col=4, cols=5, role="signer", text=b["signer"], border=False)
            self.height(self.row, ROW_PT)
            self.row += 1
        self.put(row=self.row, col=5, cols=4, role="date", text="年      月      日", border=False)
        self.height(self.row, ROW_PT)
        self.row += 1
        self.put(row=top, col=1, rows=self.row - top, cols=PRINT_COLUMNS, role="box", border=True)


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


def run_layout(text: str | None, run: Run, widths: list[float]) -> tuple[list[str], dict[int, float], set[int]]:
    """(row texts, row heights, hidden rows) that show `text` whole: used rows fit their text,
    unused rows are hidden (a blank text keeps the blank form's rows). DataError-free: a text
    too long for the run raises ValueError with the number of characters it holds."""
    if text is None or not str(text).strip():
        return [], {}, set()
    rows = run_rows(text, run)
    if rows is None:
        raise ValueError(run.rows * ROW_CHARS)
    width = sum(widths[run.col - 1: run.col - 1 + run.cols])
    heights = {run.first + k: row_height(t, width) for k, t in enumerate(rows)}
    hidden = set(run.row_numbers[len(rows):])
    return rows, heights, hidden


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
