"""Cells and rows of one worksheet part, edited in place as text: what fill, score and pack write.

Values: Decimal/int/float -> number; str -> inline string (no shared-strings table to rewrite;
never a formula, whatever its first character: usertext.cell_text); date -> serial number; None -> the cell keeps
its style and loses its value. Formula cells keep their formula; `cached()` replaces only the
cached result. A sheet whose SpreadsheetML elements carry a prefix (`<x:c>`, as some .NET writers
do) is edited with that prefix. Rows and cells not edited stay byte for byte.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from ..a1 import a1, split_a1
from ..usertext import cell_text
from .ns import MAIN_NAMESPACES
from .xmltext import escape

_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ROOT = re.compile(r"<(?:([\w.-]+):)?worksheet\b")
_ROW_NUMBER = re.compile(r"""\br\s*=\s*["'](\d+)["']""")
_EPOCH = date(1899, 12, 30)
def _number(value) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, Decimal):
        text = format(value, "f")
    else:
        text = repr(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _attrs(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR.finditer(text)}


def value_xml(ref: str, attrs: dict, value, p: str = "") -> str:
    """A plain (non-formula) cell holding `value`, keeping the cell's style. `p`: the prefix of
    the SpreadsheetML elements in this part ("" or "x:")."""
    style = f' s="{attrs["s"]}"' if "s" in attrs else ""
    if value is None or value == "":
        return f'<{p}c r="{ref}"{style}/>'
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f'<{p}c r="{ref}"{style}><{p}v>{(value - _EPOCH).days}</{p}v></{p}c>'
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return f'<{p}c r="{ref}"{style}><{p}v>{_number(value)}</{p}v></{p}c>'
    text = cell_text(value)
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f'<{p}c r="{ref}"{style} t="inlineStr"><{p}is><{p}t{space}>{escape(text)}</{p}t></{p}is></{p}c>'


def cached_xml(ref: str, attrs: dict, inner: str, value, p: str = "") -> str:
    """The same formula cell with a new cached result."""
    style = f' s="{attrs["s"]}"' if "s" in attrs else ""
    f = re.search(rf"<{p}f\b.*?(?:</{p}f>|/>)", inner or "", re.S)
    formula = f.group(0) if f else ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return f'<{p}c r="{ref}"{style}>{formula}<{p}v>{_number(value)}</{p}v></{p}c>'
    text = cell_text(value or "")
    return f'<{p}c r="{ref}"{style} t="str">{formula}<{p}v>{escape(text)}</{p}v></{p}c>'


def _prefix(xml: str) -> str:
    """The prefix of the SpreadsheetML elements of a worksheet part: "" or e.g. "x:"."""
    m = _ROOT.search(xml)
    if m is None or m.group(1) is None:
        return ""
    declared = re.search(rf"""xmlns:{re.escape(m.group(1))}\s*=\s*["']([^"']*)["']""", xml)
    if declared is None or declared.group(1) not in MAIN_NAMESPACES:
        raise ValueError(f"prefix {m.group(1)} is not SpreadsheetML")
    return m.group(1) + ":"


class SheetXml:
    """Cells and rows of one worksheet part, edited in place as text."""

    def __init__(self, xml: str):
        self.xml = xml
        self.p = p = _prefix(xml)
        self._cell = re.compile(rf"<{p}c\b([^>]*?)(?:/>|>(.*?)</{p}c>)", re.S)
        self._row = re.compile(rf"<{p}row\b([^>]*?)(?:/>|>(.*?)</{p}row>)", re.S)
        self.edits: dict[tuple[int, int], tuple[str, object]] = {}
        self.heights: dict[int, tuple[float, bool]] = {}
        self.hidden: dict[int, bool] = {}

    def set(self, ref: str, value) -> None:
        self.edits[split_a1(ref)] = ("value", value)

    def cached(self, ref: str, value) -> None:
        self.edits[split_a1(ref)] = ("cached", value)

    def row_height(self, row: int, points: float, custom: bool = True) -> None:
        """`custom`: marked as set by hand (customHeight), which Excel and LibreOffice then keep;
        unmarked, they fit the row again when it is typed into."""
        self.heights[row] = (points, custom)

    def row_hidden(self, row: int, hidden: bool) -> None:
        self.hidden[row] = hidden

    def commit(self) -> None:
        """Apply the pending edits to `xml` (so that it can be edited further as text)."""
        self.xml = self.render()
        self.edits.clear()
        self.heights.clear()
        self.hidden.clear()

    def render(self) -> str:
        if not self.edits and not self.heights and not self.hidden:
            return self.xml
        return "".join(self.stream([self.xml]))

    def stream(self, pieces):
        """The part from `pieces` of its text with the pending edits applied, one piece at a time:
        each row as it passes (a row the part lacks goes in before the first row after it), so
        that a sheet of any size is edited holding one piece and one row (Package.rows)."""
        p = self.p
        data = re.compile(rf"<{p}sheetData\b[^>]*?(/?)>")
        data_end = f"</{p}sheetData>"
        pending: dict[int, dict[int, tuple[str, object]]] = {}
        for (r, c), edit in self.edits.items():
            pending.setdefault(r, {})[c] = edit
        missing = sorted(set(pending) | set(self.heights) | set(self.hidden), reverse=True)
        buf, among, r = "", None, 0     # among: None before the rows, True among them, False after

        def new_rows(below: int | None) -> str:
            """The edited rows the part lacks, numbered below `below` (None: all that are left)."""
            out = []
            while missing and (below is None or missing[-1] < below):
                n = missing.pop()
                out.append(self._row_xml(n, {"r": str(n)}, "", pending.pop(n, {})))
            return "".join(out)

        for piece in pieces:
            buf += piece
            out = []
            if among is None:
                m = data.search(buf)
                if m is None:
                    continue
                if m.group(1):          # <sheetData/>: an empty sheet
                    out.append(buf[:m.start()] + f"<{p}sheetData>")
                    buf = data_end + buf[m.end():]
                else:
                    out.append(buf[:m.end()])
                    buf = buf[m.end():]
                among = True
            if among:
                end = buf.find(data_end)
                rows = buf if end < 0 else buf[:end]
                at = 0
                for m in self._row.finditer(rows):     # complete rows only: a cut row does not match
                    number = _ROW_NUMBER.search(m.group(1))
                    r = int(number.group(1)) if number else r + 1       # r is optional: the next row
                    out.append(rows[at:m.start()] + new_rows(r))
                    if r in missing:
                        missing.remove(r)
                        attrs = _attrs(m.group(1))
                        attrs["r"] = str(r)
                        out.append(self._row_xml(r, attrs, m.group(2) or "", pending.pop(r, {})))
                    else:
                        out.append(m.group(0))      # untouched: as stored (most rows of a sheet)
                    at = m.end()
                if end < 0:
                    buf = buf[at:]
                else:
                    out.append(rows[at:] + new_rows(None))
                    buf, among = buf[end:], False
            if among is False:
                out.append(buf)
                buf = ""
            yield "".join(out)
        if among is not False:
            raise ValueError("no sheetData" if among is None else "sheetData not closed")

    def _row_xml(self, r: int, attrs: dict, inner: str, edits: dict) -> str:
        p = self.p
        cells, c = [], 0
        for m in self._cell.finditer(inner):
            cattrs = _attrs(m.group(1))
            c = split_a1(cattrs["r"])[1] if "r" in cattrs else c + 1   # r is optional: the next column
            ref = a1(r, c)
            kind_value = edits.pop(c, None)
            if kind_value is None:
                cells.append((c, m.group(0)))
            elif kind_value[0] == "value":
                cells.append((c, value_xml(ref, cattrs, kind_value[1], p)))
            else:
                cells.append((c, cached_xml(ref, cattrs, m.group(2), kind_value[1], p)))
        for c, (kind, value) in edits.items():
            cells.append((c, value_xml(a1(r, c), {}, value, p)))
        cells.sort(key=lambda t: t[0])
        if r in self.heights:
            points, custom = self.heights[r]
            attrs = {k: v for k, v in attrs.items() if k != "customHeight"}
            attrs["ht"] = f"{points:.1f}"
            if custom:
                attrs["customHeight"] = "1"
        if r in self.hidden:
            attrs = {k: v for k, v in attrs.items() if k != "hidden"}
            if self.hidden[r]:
                attrs["hidden"] = "1"
        attr_text = "".join(f' {k}="{v}"' for k, v in attrs.items() if k != "spans")
        body = "".join(x for _, x in cells)
        return f"<{p}row{attr_text}>{body}</{p}row>" if body else f"<{p}row{attr_text}/>"
