"""A worksheet's cells: found by splitting sheetData once (chunks.py) and decoded when read (the
canonical form that Excel, WPS, LibreOffice and openpyxl all write), or read with the C
ElementTree when a cell is not in that form (see xlsx/__init__.py for why).
"""
from __future__ import annotations

import operator
import re
import xml.etree.ElementTree as ET

from ..a1 import column_letters, is_cell_ref, shift_formula, split_a1
from ..memo import register
from .chunks import FORMULA_OPEN, Cells, Chunks, NotCanonical, plan_of
from .rows import row_mark, scan_row_marks
from .parts import _Malformed, _formula_attrs, _namespace, _rich_text_etree, _t_bytes, _unescape_ooxml, _xml_text


class Cell:
    """One cell as stored in the file.

    value    cached value; an error is a str like "#REF!"
    formula  without "="; a shared-formula follower gets its own text
    style    index into the workbook's cellXfs (see Book.number_format)
    is_date  the style's number format shows a date/time: value is a serial
    is_error value is an Excel error such as "#DIV/0!"
    """

    __slots__ = ("value", "formula", "style", "_date", "is_error")

    def __init__(self, value=None, formula=None, style=0, is_date=False, is_error=False):
        self.value, self.formula, self.style, self.is_error = value, formula, style, is_error
        self._date = is_date      # a bool, or the book's date-style lookup: styles.xml is parsed
                                  # only when someone asks (the checker never does)

    @property
    def is_date(self) -> bool:
        if callable(self._date):
            self._date = self.style in self._date()
        return self._date

    @is_date.setter
    def is_date(self, value: bool):
        self._date = value

    def _key(self):
        return (self.value, self.formula, self.style, self.is_date, self.is_error)

    def __eq__(self, other):
        return isinstance(other, Cell) and self._key() == other._key()

    __hash__ = None

    def __repr__(self):
        return (f"Cell(value={self.value!r}, formula={self.formula!r}, style={self.style}, "
                f"is_date={self.is_date}, is_error={self.is_error})")


class ExcelError(str):
    """A cell's error value ("#DIV/0!", "#REF!"…) as Sheet.values gives it: text by its type
    apart from what a person typed."""




def _value_of(cell: Cell | None):
    if cell is None:
        return None
    return ExcelError(cell.value) if cell.is_error else cell.value


class Sheet:
    """One worksheet's cells keyed by A1 ("C5", no $), in file order.

    A sheet in canonical form arrives as an index of each cell's bytes (see index_sheet) and a
    cell is decoded when first asked for. Should a cell turn out not to be canonical, `slow`
    parses the whole sheet with ElementTree and the answers come from there.
    """

    __slots__ = ("name", "_cells", "_chunks", "_decode", "_slow", "_strings", "_rows_xml")

    def __init__(self, name: str, cells: dict[str, Cell] | None = None, chunks=None, decode=None, slow=None,
                 strings=(), rows_xml=None):
        self.name = name
        self._cells = cells if cells is not None else {}
        self._chunks, self._decode, self._slow = chunks, decode, slow   # Chunks; bytes -> Cell | None
        self._strings = strings
        self._rows_xml = rows_xml       # () -> the sheetData bytes, for row_marks (None: no rows)

    def _fall_back(self) -> None:
        self._cells, self._chunks = self._slow(), None

    def _not_canonical(self) -> None:
        """A batch read met a cell it cannot account for: read the sheet the slow way (unless the
        general way, cell by cell, did so already)."""
        if self._chunks is not None:
            self._fall_back()

    @property
    def cells(self) -> dict[str, Cell]:
        if self._chunks is not None:
            out = {}
            try:
                for key, chunk in self._chunks.full().items():
                    a1 = key.decode()
                    cell = self._cells.get(a1) or self._decode(chunk)
                    if cell is None:
                        raise NotCanonical
                    out[a1] = cell
            except NotCanonical:
                self._fall_back()
                return self._cells
            self._cells, self._chunks = out, None
        return self._cells

    def get(self, a1: str) -> Cell | None:
        """The cell at `a1` ("C5", "$C$5" or "c5"), or None when the file has no such cell."""
        cell = self._cells.get(a1)
        if cell is None and ("$" in a1 or not a1.isupper()):
            a1 = a1.replace("$", "").upper()
            cell = self._cells.get(a1)
        if cell is None and self._chunks is not None:
            try:
                chunk = self._chunks.get(a1.encode())
                if chunk is not None:
                    cell = self._decode(chunk)
                    if cell is None:
                        raise NotCanonical
                    self._cells[a1] = cell
            except NotCanonical:
                self._fall_back()
                return self._cells.get(a1)
        return cell

    def values(self, refs, formulas: list[int] | None = None) -> list:
        """The value of the cell at each canonical A1 of `refs` ("C5"): None for a blank or absent
        cell, an ExcelError for an error value. `formulas`, when given, gets the position in
        `refs` of each cell that holds a formula. The checker's hot loop: blanks, numbers and
        shared strings are answered from the cell's bytes without building a Cell."""
        chunks, found = self._chunks, len(formulas) if formulas is not None else 0
        if chunks is not None:
            try:
                return self._values(chunks, refs, formulas)
            except NotCanonical:
                self._not_canonical()
                if formulas is not None:
                    del formulas[found:]
        cells = [self._cells.get(a1) for a1 in refs]
        if formulas is not None:
            formulas.extend(i for i, c in enumerate(cells) if c is not None and c.formula is not None)
        return [_value_of(c) for c in cells]

    def _values(self, chunks: Chunks, refs, formulas: list[int] | None) -> list:
        out, strings, read = [], self._strings, _CELLS_READ
        plan = plan_of(chunks, refs)
        picked = plan.pick(chunks._pieces)
        # Each piece opens with its ref where the layout has it (else each is looked up below).
        placed = all(map(operator.le, plan.openings, picked)) and all(map(operator.lt, picked, plan.beyond))
        for i, chunk in enumerate(picked):
            if not placed and not chunk.startswith(plan.openings[i]):
                chunk = chunks.get(plan.keys[i])         # not where the layout has it
                if chunk is None:
                    out.append(None)
                    continue
            hit = read.get(chunk) or _read_value(chunk, plan.heads, i)   # these bytes read before, or now
            if hit is not None:
                value, text, formula = hit
                if not text:
                    out.append(value)
                elif value < len(strings):
                    out.append(strings[value])      # (each workbook has its own shared strings)
                else:
                    hit = None                      # the general way reports it
            if hit is None:                         # anything else, or a damaged cell: the general way
                cell = self.get(refs[i])
                if self._chunks is None:            # not canonical after all: ElementTree read it all
                    raise NotCanonical
                out.append(_value_of(cell))
                formula = cell is not None and cell.formula is not None
            if formula and formulas is not None:
                formulas.append(i)
        return out

    def formulas(self, refs) -> list[str | None]:
        """The formula (without "=") of the cell at each canonical A1 of `refs`, or None.

        Workbooks of one template carry the same formula at the same cell: the text last decoded
        there is kept (see plan_of), and reused (the same str object) when the bytes up to the end
        of the formula are equal."""
        if self._chunks is not None:
            try:
                return self._formulas(self._chunks, refs)
            except NotCanonical:
                self._not_canonical()
        return [None if c is None else c.formula for c in map(self._cells.get, refs)]

    def _formulas(self, chunks: Chunks, refs) -> list[str | None]:
        out = []
        plan = plan_of(chunks, refs)
        seen = plan.formulas
        for i, chunk in enumerate(plan.pick(chunks._pieces)):
            last = seen[i]                     # (bytes, bytes up to </f> or None, formula) read here last time
            if last is not None and (chunk == last[0] or last[1] is not None and chunk.startswith(last[1])):
                out.append(last[2])
                continue
            if not chunk.startswith(plan.openings[i]):
                chunk = chunks.get(plan.keys[i])
            start = chunk.find(b"<f") if chunk is not None else -1
            if start < 0:                      # no such cell, or no formula in it
                out.append(None)
                if chunk is not None:
                    seen[i] = (chunk, None, None)
                continue
            # The <f> text alone (shared formulas, whose followers have none, never get here).
            gt = chunk.find(b">", start)
            end = chunk.find(b"</f>", gt)
            if gt < 0 or chunk[gt - 1] == 47 or end < 0 or chunk[start + 2] not in b" >" or b"<" in chunk[gt + 1:end]:
                # <f/>, or damaged: the general way
                cell = self.get(refs[i])
                if self._chunks is None:
                    raise NotCanonical
                out.append(None if cell is None else cell.formula)
                continue
            formula = _xml_text(chunk[gt + 1:end]) or None
            seen[i] = (chunk, chunk[:end + 4], formula)
            out.append(formula)
        return out

    def styles(self, refs) -> list[int]:
        """The style index (see Book.number_format) of the cell at each canonical A1 of `refs`,
        0 for an absent cell. Read from the cell's opening tag, where the canonical form puts
        s= right after r=; nothing is decoded (the checker asks this of every figure)."""
        if self._chunks is not None:
            try:
                return self._styles(self._chunks, refs)
            except NotCanonical:
                self._not_canonical()
        return [0 if c is None else c.style for c in map(self._cells.get, refs)]

    def _styles(self, chunks: Chunks, refs) -> list[int]:
        out = []
        plan = plan_of(chunks, refs)
        seen = plan.styles
        for i, chunk in enumerate(plan.pick(chunks._pieces)):
            last = seen[i]                     # (the tag up to its s= attribute's end, style)
            if last is not None and chunk.startswith(last[0]):
                out.append(last[1])
                continue
            opening = plan.openings[i]
            if not chunk.startswith(opening):
                chunk = chunks.get(plan.keys[i])
                if chunk is None:
                    out.append(0)
                    continue
            at = len(opening)
            if chunk.startswith(b' s="', at):
                end = chunk.find(b'"', at + 4)
                digits = chunk[at + 4:end]
                if digits.isdigit():
                    out.append(int(digits))
                    seen[i] = (chunk[:end + 1], out[-1])
                    continue
            elif b' s="' not in chunk[:chunk.find(b">")]:
                out.append(0)
                continue
            cell = self.get(refs[i])           # s= elsewhere in the tag, or not canonical: the general way
            if self._chunks is None:
                raise NotCanonical
            out.append(0 if cell is None else cell.style)
        return out

    def formula_count(self, refs: Cells | None = None) -> int:
        """How many cells hold a formula (<f> elements; a shared formula's followers count): in the
        sheet, from one regex scan of the cells' bytes (its literal '<f' is searched for in C: half
        the cost of bytes.count here), or among the cells at the canonical A1 of `refs`, from
        their bytes where the layout has them; else from the decoded cells."""
        chunks = self._chunks
        if chunks is not None and refs is None:
            try:
                return chunks.formula_count()   # every cell verified (the cells never read included)
            except NotCanonical:
                self._not_canonical()
        if chunks is not None:
            plan = plan_of(chunks, refs)
            picked = plan.pick(chunks._pieces)
            if all(map(bytes.startswith, picked, plan.openings)):
                return len(list(filter(None, map(FORMULA_OPEN.search, picked))))
        cells = self.cells.values() if refs is None else map(self.get, refs)
        return sum(c is not None and c.formula is not None for c in cells)

    def row_marks(self, refs) -> dict[str, tuple[float | None, bool]]:
        """(height in points, hidden) of the row of each cell of `refs` (canonical A1 of cells the
        sheet holds), as the file describes it, by cell; the height None where the sheet's
        default applies. In a canonical sheet a row's tag is read just before its first cell
        (a few hundred bytes looked at a row), else from one scan of the rows."""
        if not refs or self._rows_xml is None:
            return dict.fromkeys(refs, (None, False))
        if self._chunks is not None:
            try:
                tags = self._chunks.row_tags(refs)
            except NotCanonical:
                tags = [None]
            if None not in tags:
                return dict(zip(refs, map(row_mark, tags)))
        return scan_row_marks(self._rows_xml(), refs)

    def __repr__(self):
        return f"Sheet({self.name!r}, {len(self.cells)} cells)"


# ---------------------------------------------------------------------------------------------
# A cell's bytes decoded

# The rest of a canonical cell after `<c r=`: attributes r, s, t in that order (others after
# them), then <f>, <v>, <is>. Groups: ref, s, t, <f> attributes, formula, <v>, inline, rich inline.
_CELL_REST = re.compile(
    rb'"([A-Z]{1,3}[0-9]{1,7})"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?(?: (?![st]=)[\w:]+="[^"]*")*'
    rb'(?: ?/>|>(?:<f((?: [\w:]+="[^"]*")*) ?(?:/>|>([^<]*)</f>))?'
    rb'(?:<v(?: [\w:]+="[^"]*")*>([^<]*)</v>|<v ?/>)?'
    rb'(?:<is><t(?: xml:space="preserve")?>([^<]*)</t></is>|<is>(.*?)</is>)?</c>)',
    re.S,
)
# The checker's common cases, in one match: a blank cell, `<c r="D31" s="15"/>` (or ` />`, as
# ElementTree writes it: openpyxl, the template; groups None),
# or a plain <v> with an optional formula before it (groups t, <f>, v).
_SIMPLE_REST = re.compile(rb'"[A-Z]{1,3}[0-9]{1,7}"(?: s="[0-9]+")?(?: t="([a-z]+)")?(?: (?![st]=)[\w:]+="[^"]*")*'
                          rb'(?: ?/>|>(<f(?: [\w:]+="[^"]*")*>[^<]*</f>)?<v>([^<]*)</v></c>)')

# What Sheet.values read from a cell's bytes (its piece of the split: the reference is part of the
# key), whichever workbook they came from: (value, whether it is a shared string's index, whether
# the cell holds a formula). Workbooks of one template repeat most of these bytes (every blank
# cell, many figures); a shared string's text is looked up in each workbook's own strings. A plain
# dict (looked up once a cell read), emptied when full: at most 8192 entries, ~1.5 MB.
_CELLS_READ: dict[bytes, tuple] = {}
register("cells read", lambda: (len(_CELLS_READ), sum(len(k) + 150 for k in _CELLS_READ)), _CELLS_READ.clear)


def _read_value(chunk: bytes, heads: list, i: int) -> tuple | None:
    """(value, is a shared string's index, holds a formula) of a cell in the checker's common
    forms (a blank, a number, a shared string, a formula's text result), kept in _CELLS_READ;
    None for any other (the general way reads it). heads[i]: how the cell read at this place
    last time began, up to its value (bytes, their length, how its value reads, formula): a cell
    beginning alike is read from there without the regex (a figure that changed, another string)."""
    head = heads[i]
    if head is not None and chunk[:head[1]] == head[0]:
        end = chunk.find(b"</v></c>", head[1])
        parse = head[2]
        try:
            hit = (parse(chunk[head[1]:end]), parse is _index, head[3]) if end > 0 else None
        except ValueError:
            hit = None                                  # the general way reports it
    else:
        m = _SIMPLE_REST.match(chunk)
        if m is None:
            return None
        t, f, v = m.groups()
        parse = None if v is None else _number if t is None or t == b"n" else _index if t == b"s" else \
            _str_value if t == b"str" else None     # (a formula's text result)
        try:
            if v is None:                               # a blank <c .../>
                hit = (None, False, False) if t is None or t == b"n" else None
            else:
                hit = None if parse is None else (parse(v), parse is _index, f is not None)
        except ValueError:
            hit = None                                  # the general way reports it
        if hit is not None and parse is not None:
            at = m.start(3)
            heads[i] = (chunk[:at], at, parse, f is not None)
    if hit is not None:
        if len(_CELLS_READ) >= 8192:
            _CELLS_READ.clear()
        _CELLS_READ[chunk] = hit
    return hit


def _number(v: bytes) -> int | float:
    """A cell's number as written: digits read as an int (exact, as Excel shows up to 15 digits)."""
    return int(v) if v.isdigit() or v[:1] == b"-" and v[1:].isdigit() else float(v)


def _str_value(v: bytes) -> str:
    """A formula's text result as written in <v> (markup inside is not a plain value), its _xHHHH_
    escapes undone as in every string (ST_Xstring)."""
    if b"<" in v:
        raise ValueError("markup in a value")
    return _unescape_ooxml(_xml_text(v)) if b"_x" in v else _xml_text(v)


# Shared-string indexes as written (b"12" -> 12): the same few hundred in every workbook.
_INDEXES: dict[bytes, int] = {}
register("string indexes", lambda: (len(_INDEXES), 100 * len(_INDEXES)), _INDEXES.clear)


def _index(v: bytes) -> int:
    index = _INDEXES.get(v)
    if index is None:
        if not v.isdigit():
            raise ValueError(f"string index {v!r}")
        index = int(v)
        if len(_INDEXES) < 4096:
            _INDEXES[v] = index
    return index


_BOOLEANS = {"1": True, "0": False, "true": True, "false": False}


def _value(t: str, v: str | None, inline: str | None, shared_strings: list[str]):
    """(value, is_error) of a cell from its type attribute and raw <v>/<is> text."""
    if t == "n":
        if v is None:
            return None, False
        return (int(v) if v.lstrip("-").isdigit() else float(v)), False
    if t == "s":
        return (None if v is None else shared_strings[int(v)]), False
    if t == "str":          # a formula's text result: escaped as every string (ST_Xstring)
        return (_unescape_ooxml(v) if v else ""), False
    if t == "inlineStr":
        return (inline if inline is not None else v or ""), False
    if t == "b":
        return (None if v is None else _BOOLEANS[v]), False
    if t == "e":
        return v, v is not None
    if t == "d":  # ISO 8601 text, written by a few tools instead of a serial
        return v, False
    raise _Malformed(f"unknown cell type t={t!r}")


def _expand_shared(cells: dict[str, Cell], shared: list[tuple[str, dict]]) -> None:
    """Give each follower of a shared formula (<f t="shared" si="n"/>) its own formula text:
    the master's (the cell whose <f> has ref= and text) shifted by the distance between them."""
    masters = {}
    for a1, attrs in shared:
        if cells[a1].formula and "ref" in attrs:
            masters.setdefault(attrs.get("si"), (split_a1(a1), cells[a1].formula))
    for a1, attrs in shared:
        if not cells[a1].formula:
            if attrs.get("si") not in masters:
                raise _Malformed(f"{a1} 的共享公式 si={attrs.get('si')} 找不到主公式")
            (row0, col0), base = masters[attrs.get("si")]
            row, col = split_a1(a1)
            cells[a1].formula = shift_formula(base, row - row0, col - col0)


class BadCell(_Malformed):
    """A cell Excel calls damage: its reference is no cell's, or a cell is written twice (which
    value counts is not defined). Book names the sheet and the cell."""

    def __init__(self, ref: str, twice: bool):
        super().__init__(ref)
        self.ref, self.twice = ref, twice


def _decode_cell(chunk: bytes, shared_strings, dates) -> tuple[Cell, bytes | None] | None:
    """One cell from its bytes (see index_sheet) and its <f> attributes; None when the cell is
    not in canonical form."""
    m = _CELL_REST.match(chunk)
    if m is None:
        return None
    _, s, t, fattrs, ftext, v, inline, rich_inline = m.groups(b"")
    style = int(s) if s else 0
    cell = Cell(None, None, style, dates)
    if ftext:
        cell.formula = _xml_text(ftext)
    if not t or t == b"n":  # the common cases first, without decoding
        if v:
            cell.value = int(v) if v.lstrip(b"-").isdigit() else float(v)
    elif t == b"s" and v:
        cell.value = shared_strings[int(v)]
    else:
        rich = t == b"inlineStr"
        text = (_t_bytes(rich_inline) if rich_inline else inline) if rich else v
        cell.value, cell.is_error = _value(t.decode(), v.decode() or None,
                                           _unescape_ooxml(text.decode()), shared_strings)
        if b"&" in text:
            plain = _xml_text(text)
            cell.value = _unescape_ooxml(plain) if rich or t == b"str" else plain
    return cell, fattrs


def _cells_fast(chunks: Chunks, shared_strings, dates) -> dict[str, Cell] | None:
    """Every cell decoded at once (needed where shared formulas tie cells together); None when
    one is not in canonical form."""
    cells, shared = {}, []
    try:
        index = chunks.full()
    except NotCanonical:
        return None
    for ref, chunk in index.items():
        decoded = _decode_cell(chunk, shared_strings, dates)
        if decoded is None:
            return None
        a1 = ref.decode()
        cells[a1], fattrs = decoded
        if fattrs and b' t="shared"' in fattrs:
            shared.append((a1, _formula_attrs(fattrs)))
    _expand_shared(cells, shared)
    return cells


def _raw_etree(sheet_data, ns: str):
    row_no = 0
    for row in sheet_data:
        if row.tag != ns + "row":
            continue
        row_no = int(row.get("r") or row_no + 1)
        col_no = 0  # -1: the previous cell named itself, parse its column only if needed
        for c in row:
            if c.tag != ns + "c":
                continue
            ref = c.get("r")
            if ref is not None:
                if not is_cell_ref(ref):
                    raise BadCell(ref, twice=False)
                a1, col_no = ref, -1
            else:  # Excel always writes r=; some generators leave it out and mean "next cell"
                col_no = (split_a1(a1)[1] if col_no < 0 else col_no) + 1
                a1 = column_letters(col_no) + str(row_no)
                if not is_cell_ref(a1):         # past the last column or row
                    raise BadCell(a1, twice=False)
            t = c.get("t") or "n"
            f, v, inline = c.find(ns + "f"), c.find(ns + "v"), c.find(ns + "is")
            yield (
                a1,
                int(c.get("s") or 0),
                t,
                dict(f.attrib) if f is not None and "t" in f.attrib else None,
                (f.text or None) if f is not None else None,
                (v.text or None) if v is not None else None,
                (_rich_text_etree(inline, ns) if inline is not None else "") if t == "inlineStr" else None,
            )


def _parse_sheet_etree(data: bytes, shared_strings, dates) -> dict[str, Cell]:
    root = ET.fromstring(data)
    ns = _namespace(root)
    sheet_data = root.find(ns + "sheetData")
    cells: dict[str, Cell] = {}
    shared = []
    for a1, style, t, fattrs, ftext, v, inline in _raw_etree(sheet_data if sheet_data is not None else (), ns):
        if a1 in cells:
            raise BadCell(a1, twice=True)
        value, is_error = _value(t, v, inline, shared_strings)
        cells[a1] = Cell(value, ftext, style, dates, is_error)
        if fattrs is not None and fattrs.get("t") == "shared":
            shared.append((a1, fattrs))
    _expand_shared(cells, shared)
    return cells
