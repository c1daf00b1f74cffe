"""A worksheet's cells: found by splitting sheetData once and decoded when read (the canonical
form that Excel, WPS, LibreOffice and openpyxl all write), or read with the C ElementTree when a
cell is not in that form (see xlsx/__init__.py for why).
"""
from __future__ import annotations

import operator
import re
from itertools import compress, islice
import xml.etree.ElementTree as ET

from ..a1 import CELL_REF, column_letters, is_cell_ref, shift_formula, split_a1
from ..memo import Memo, register
from .rows import row_mark, scan_row_marks
from .parts import (_Malformed, _main_namespace_prefixed, _mentions, _formula_attrs, _namespace, _plain, _rich_text_etree, _t_bytes,
                    _unescape_ooxml, _xml_text)


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

    A sheet in canonical form arrives as an index of each cell's bytes (see _index_sheet) and a
    cell is decoded when first asked for. Should a cell turn out not to be canonical, `slow`
    parses the whole sheet with ElementTree and the answers come from there.
    """

    __slots__ = ("name", "_cells", "_chunks", "_decode", "_slow", "_strings", "_rows_xml")

    def __init__(self, name: str, cells: dict[str, Cell] | None = None, chunks=None, decode=None, slow=None,
                 strings=(), rows_xml=None):
        self.name = name
        self._cells = cells if cells is not None else {}
        self._chunks, self._decode, self._slow = chunks, decode, slow   # _Chunks; bytes -> Cell | None
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
                        raise _NotCanonical
                    out[a1] = cell
            except _NotCanonical:
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
                        raise _NotCanonical
                    self._cells[a1] = cell
            except _NotCanonical:
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
            except _NotCanonical:
                self._not_canonical()
                if formulas is not None:
                    del formulas[found:]
        cells = [self._cells.get(a1) for a1 in refs]
        if formulas is not None:
            formulas.extend(i for i, c in enumerate(cells) if c is not None and c.formula is not None)
        return [_value_of(c) for c in cells]

    def _values(self, chunks: _Chunks, refs, formulas: list[int] | None) -> list:
        out, strings, read = [], self._strings, _CELLS_READ
        plan = _plan(chunks, refs)
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
                    raise _NotCanonical
                out.append(_value_of(cell))
                formula = cell is not None and cell.formula is not None
            if formula and formulas is not None:
                formulas.append(i)
        return out

    def formulas(self, refs) -> list[str | None]:
        """The formula (without "=") of the cell at each canonical A1 of `refs`, or None.

        Workbooks of one template carry the same formula at the same cell: the text last decoded
        there is kept (see _plan), and reused (the same str object) when the bytes up to the end
        of the formula are equal."""
        if self._chunks is not None:
            try:
                return self._formulas(self._chunks, refs)
            except _NotCanonical:
                self._not_canonical()
        return [None if c is None else c.formula for c in map(self._cells.get, refs)]

    def _formulas(self, chunks: _Chunks, refs) -> list[str | None]:
        out = []
        plan = _plan(chunks, refs)
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
                    raise _NotCanonical
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
            except _NotCanonical:
                self._not_canonical()
        return [0 if c is None else c.style for c in map(self._cells.get, refs)]

    def _styles(self, chunks: _Chunks, refs) -> list[int]:
        out = []
        plan = _plan(chunks, refs)
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
                raise _NotCanonical
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
            except _NotCanonical:
                self._not_canonical()
        if chunks is not None:
            plan = _plan(chunks, refs)
            picked = plan.pick(chunks._pieces)
            if all(map(bytes.startswith, picked, plan.openings)):
                return len(list(filter(None, map(_FORMULA_OPEN.search, picked))))
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
            except _NotCanonical:
                tags = [None]
            if None not in tags:
                return dict(zip(refs, map(row_mark, tags)))
        return scan_row_marks(self._rows_xml(), refs)

    def __repr__(self):
        return f"Sheet({self.name!r}, {len(self.cells)} cells)"


# ---------------------------------------------------------------------------------------------
# Worksheets

# Every cell opens `<c r="A1"` in the canonical form that Excel, WPS, LibreOffice and openpyxl
# write; a `<c` tag without it (a tab, no r=, a reference no cell has) captures b"" and sends the
# sheet to ElementTree, which says what is wrong.
_CELL_OPEN = re.compile(rb'<c(?: r="(' + CELL_REF.encode() + rb')"|[\s/>])')
# The split point: five bytes, as bytes.split searches a separator of six or more with the two-way
# algorithm, prepared again for every piece (a fifth slower on a report sheet).
_CELL_SPLIT = b"<c r="
# A formula element in a canonical sheet (no comment or CDATA: _plain), with or without attributes.
_FORMULA_OPEN = re.compile(rb"<f[\s>/]")
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


class _NotCanonical(Exception):
    """A cell the regex paths cannot account for: the sheet is read with ElementTree instead."""


class BadCell(_Malformed):
    """A cell Excel calls damage: its reference is no cell's, or a cell is written twice (which
    value counts is not defined). Book names the sheet and the cell."""

    def __init__(self, ref: str, twice: bool):
        super().__init__(ref)
        self.ref, self.twice = ref, twice


class Cells(tuple):
    """Canonical A1 refs ("C5") that are read together, as a tuple whose hash is worked out
    once: it keys the reading plan of a layout by content, as cheaply as an identity would."""

    def __new__(cls, refs=()):
        self = super().__new__(cls, refs)
        self._hash = tuple.__hash__(self)
        return self

    def __hash__(self):
        return self._hash

    def __reduce__(self):
        return Cells, (tuple(self),)


class _Plan:
    """How one list of refs is read from one sheet layout: each ref's key (b"C5"), its opening
    (b'"C5"', what its piece of the split begins with), a getter of the pieces where the layout
    has them, and what Sheet.formulas and .styles last read at each (the bytes up to the end of
    its formula, its style attribute). Position 0, the text before the first cell, stands for
    "not known here": it never opens like a cell."""

    __slots__ = ("keys", "openings", "beyond", "pick", "heads", "formulas", "styles")

    def __init__(self, refs, where: dict[bytes, int]):
        self.keys = [a1.encode() for a1 in refs]
        self.openings = [b'"' + key + b'"' for key in self.keys]
        self.beyond = [opening[:-1] + b"#" for opening in self.openings]     # see _Repeated
        at = [where.get(key, 0) for key in self.keys]
        self.pick = operator.itemgetter(*at) if len(at) > 1 else lambda pieces: tuple(pieces[i] for i in at)
        self.heads: list = [None] * len(at)
        self.formulas: list = [None] * len(at)
        self.styles: list = [None] * len(at)

    def weight(self) -> int:
        """Bytes held, roughly: per ref its key, opening and their bound, and what was last read
        there (a cell's bytes and their head, a style attribute)."""
        return 500 * len(self.keys)


class _Layout:
    """Where each ref falls in the split of one sheet layout, the plans made over it, one per
    list of refs read, where the tag of a cell's row was found (_Chunks.row_tags), and the pieces
    its workbooks repeat byte for byte (_Repeated, learnt from the first two sound ones)."""

    __slots__ = ("where", "order", "plans", "rows", "first", "repeated")

    def __init__(self, where: dict[bytes, int]):
        self.where, self.plans = where, {}
        self.order = tuple(b'"' + ref + b'"' for ref in where)    # what each piece opens with
        self.rows: dict[str, tuple[int, bytes]] = {}
        self.first: list[bytes] | None = None          # the pieces of the first sound workbook
        self.repeated: _Repeated | None = None

    def weight(self) -> int:
        return (150 * len(self.where) + 150 * len(self.rows) + sum(plan.weight() for plan in self.plans.values())
                + (sum(map(len, self.first)) if self.first is not None else 0)
                + (self.repeated.weight if self.repeated is not None else 0))


class _Repeated:
    """The pieces of a layout that its workbooks repeat byte for byte (its blank cells: two in
    three), kept from a sound workbook, so verified already, with the <f> elements they
    hold; the others are verified one by one. Equal tuples are compared in one C-level loop,
    without a call per piece.

    A piece opens with '"C5"' when it sorts between that and '"C5#' (the same bytes up to the
    closing quote, '#' right after it): two comparisons a piece, each a fast call, cost a
    fifth less than bytes.startswith (its arguments are parsed from a tuple)."""

    __slots__ = ("same", "pieces", "formulas", "rest", "openings", "beyond", "weight")

    def __init__(self, pieces: list[bytes], same: list[int], order: tuple[bytes, ...]):
        rest = sorted(set(range(1, len(pieces) - 1)).difference(same))
        self.same, self.rest = _picker(same), _picker(rest)
        self.pieces = self.same(pieces)
        self.formulas = len(_FORMULA_OPEN.findall(b"".join(self.pieces)))
        self.openings = tuple(order[i - 1] for i in rest)
        self.beyond = tuple(opening[:-1] + b"#" for opening in self.openings)
        self.weight = sum(map(len, self.pieces)) + 80 * len(pieces)

    def verified(self, pieces: list[bytes]) -> tuple[bytes, ...] | None:
        """The pieces not repeated, when each opens with its reference."""
        rest = self.rest(pieces)
        if all(map(operator.le, self.openings, rest)) and all(map(operator.lt, rest, self.beyond)):
            return rest
        return None


def _picker(at: list[int]):
    """A tuple of the items at `at`, picked in C (itemgetter gives a bare item for one index)."""
    return operator.itemgetter(*at) if len(at) > 1 else lambda items: tuple(items[i] for i in at)


# Sheet layouts by (number of cells, the first one's ref): the same for every workbook of one
# template and number of filled rows.
_LAYOUTS = Memo("sheet layouts", max_entries=64, max_bytes=8 << 20)


class _Chunks:
    """Each cell's bytes by its ref (b"C5" -> b'"C5" s="3"><v>1</v></c>...'), from one C-level
    split of sheetData on `<c r=`.

    Workbooks of one template write the same cells in the same order, so where each ref falls in
    the split is learnt once per layout (one findall over the whole sheet) and afterwards only
    verified: the piece found there must begin with that ref. A miss indexes this sheet in full,
    which also proves every <c> tag canonical (else _NotCanonical), every ref a cell's and no
    cell written twice (else ElementTree says which: BadCell).
    The cells never read are verified once a sheet, with the count of its formulas (formula_count:
    the pieces a sound workbook of the layout repeated are compared as one tuple), so a reference
    that is no cell's or one written twice in place of another cell is refused also in a process
    that learnt the layout from a sound workbook."""

    __slots__ = ("_data", "_start", "_end", "_pieces", "_where", "_full", "_full_index", "_layout", "_layout_key")

    def __init__(self, data: bytes, start: int = 0, end: int | None = None):
        # sheetData is data[start:end]; the whole is split (a slice would copy it): the first
        # piece holds what comes before the first cell, the last what follows the last one.
        self._data, self._start, self._end = data, start, len(data) if end is None else end
        self._pieces = data.split(_CELL_SPLIT)
        key = self._layout_of()
        layout = _LAYOUTS.get(key)
        # An unknown layout: positions learnt below serve the next workbook; plans over the
        # empty one serve this one only (key None: not stored).
        self._layout, self._layout_key = (layout, key) if layout is not None else (_Layout({}), None)
        self._where = self._layout.where
        self._full: dict[bytes, bytes] | None = None
        self._full_index: dict[bytes, int] | None = None

    def _layout_of(self) -> tuple[int, bytes]:
        """A layout's key: how many cells, and the first one's ref (not its value or style: the
        first cell of a project sheet is a label whose shared-string index differs from workbook
        to workbook)."""
        first = self._pieces[1] if len(self._pieces) > 1 else b""
        return len(self._pieces), first[:first.find(b'"', 1) + 1]

    def get(self, key: bytes) -> bytes | None:
        if self._full is None:
            i = self._where.get(key)
            if i is not None:
                piece = self._pieces[i]
                if piece.startswith(b'"' + key + b'"'):
                    return piece
            elif self._where and self._data.find(b'<c r="' + key + b'"', self._start, self._end) < 0:
                return None      # not in this layout, nor in this sheet (a cell inside a merge)
        return self.full().get(key)

    def row_tags(self, refs) -> list[bytes | None]:
        """The attributes of the <row r="N" …> tag of each cell's row (canonical A1 of `refs`):
        at the end of the piece before the row's first cell, which is the cell or one of the few
        before it in its row; None when the cell is not in the sheet or the tag is not found so.
        The piece that held a row's tag is remembered for the layout and looked at first (a
        `<row r="N"` tag is row N's wherever it is found)."""
        pieces, known, out = self._pieces, self._layout.rows, []
        learnt = len(known)
        for ref in refs:
            hit = known.get(ref)
            if hit is not None:
                piece = pieces[hit[0]]
                start = piece.rfind(hit[1], -512)
                if start >= 0:
                    end = piece.find(b">", start)
                    out.append(piece[start + len(hit[1]):end] if end > 0 else None)
                    continue
            out.append(self._row_tag(ref, known))
        if len(known) > learnt and self._layout_key is not None:     # re-weighed with what it learnt
            _LAYOUTS.put(self._layout_key, self._layout, self._layout.weight())
        return out

    def _row_tag(self, ref: str, known: dict[str, tuple[int, bytes]]) -> bytes | None:
        key = ref.encode()
        at = self._where.get(key) if self._full is None else None
        if at is None or not self._pieces[at].startswith(b'"' + key + b'"'):
            at = self._index().get(key)        # not where this layout has it: index the sheet
        row = b'<row r="' + key.lstrip(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ") + b'"'
        for before in range(at - 1, max(at - 4, -1), -1) if at else ():
            piece = self._pieces[before]
            start = piece.rfind(row, -512)
            if start >= 0:
                end = piece.find(b">", start)
                if end > 0 and len(known) < 1024:
                    known[ref] = (before, row)
                return piece[start + len(row):end] if end > 0 else None
        return None

    def formula_count(self) -> int:
        """How many <f> elements sheetData holds, once every cell is verified where the layout has
        it (each piece opens with its reference, in the layout's order), else the sheet indexed in
        full, which raises _NotCanonical for a reference that is no cell's or is written twice
        (the parser names it). A piece equal to the one a sound workbook had there (_Repeated) is
        verified, and its <f> elements counted, already: only the others are looked at, their <f>
        counted by bytes.count (a third cheaper than the regex; a rich inline text's <family>
        would count too, which only sends the sheet to the stray formulas' reading)."""
        pieces, layout = self._pieces, self._layout
        repeated = layout.repeated
        head, tail = len(pieces[0]), len(self._data) - len(pieces[-1])
        if self._full is None and repeated is not None and self._start < head:
            if repeated.same(pieces) != repeated.pieces:
                repeated = self._learn()
            rest = repeated.verified(pieces) if repeated is not None else None
            if rest is not None and pieces[-1].startswith(layout.order[-1]):
                return (repeated.formulas + b"".join(rest).count(b"<f")
                        + len(_FORMULA_OPEN.findall(self._data, self._start, head))
                        + len(_FORMULA_OPEN.findall(self._data, tail, self._end)))
        order = layout.order
        if self._full is None:
            if order and all(map(bytes.startswith, islice(pieces, 1, None), order)):
                self._learn()
            else:
                self.full()
        return len(_FORMULA_OPEN.findall(self._data, self._start, self._end))

    def _learn(self) -> _Repeated | None:
        """What this sheet's pieces tell of its layout's repeated ones: the first sound sheet's are
        kept, and the pieces equal in the second (blank cells only: an input left blank in both
        is the rare exception) become the layout's _Repeated; a repeated piece this sheet differs
        in, where it opens with its reference, is repeated no longer (None: one does not)."""
        layout, pieces = self._layout, self._pieces
        if self._layout_key is None or len(pieces) < 4:
            return None
        repeated = layout.repeated
        if repeated is not None:
            where = repeated.same(range(len(pieces)))
            equal = list(map(operator.eq, repeated.same(pieces), repeated.pieces))
            at = list(compress(where, equal))
            if not all(pieces[i].startswith(layout.order[i - 1]) for i in compress(where, map(operator.not_, equal))):
                return None
        elif layout.first is None:
            layout.first = pieces
            _LAYOUTS.put(self._layout_key, layout, layout.weight())
            return None
        else:
            at = [i for i, same in enumerate(map(operator.eq, pieces, layout.first))
                  if same and 0 < i < len(pieces) - 1 and b"</c>" not in pieces[i]]
        layout.repeated, layout.first = _Repeated(pieces, at, layout.order) if at else None, None
        _LAYOUTS.put(self._layout_key, layout, layout.weight())
        return layout.repeated

    def _index(self) -> dict[bytes, int]:
        """Where each cell's piece is in the split, from indexing the whole sheet."""
        self.full()
        if self._full_index is None:
            self._full_index = {ref: i for i, ref in enumerate(self._full, 1)}
        return self._full_index

    def full(self) -> dict[bytes, bytes]:
        if self._full is None:
            refs = _CELL_OPEN.findall(self._data, self._start, self._end)
            if len(self._pieces) != len(refs) + 1 or b"" in refs:
                raise _NotCanonical
            full = dict(zip(refs, self._pieces[1:]))
            if len(full) != len(refs):
                raise _NotCanonical     # a cell twice: the parser names it
            self._full = full
            learnt = _Layout({ref: i for i, ref in enumerate(refs, 1)})
            _LAYOUTS.put(self._layout_of(), learnt, learnt.weight())
        return self._full


def _plan(chunks: _Chunks, refs) -> _Plan:
    """The plan of reading `refs` from this sheet's layout: worked out once per layout and list
    of refs (Cells) read, as the same refs are read from every workbook of a template."""
    layout = chunks._layout
    cached = type(refs) is Cells      # a list: planned for this call only
    hit = layout.plans.get(refs) if cached else None
    if hit is not None:
        return hit
    plan = _Plan(refs, layout.where)
    if cached:
        if len(layout.plans) >= 16:
            layout.plans.clear()
        layout.plans[refs] = plan
        if chunks._layout_key is not None:        # re-weighed with its new plan
            _LAYOUTS.put(chunks._layout_key, layout, layout.weight())
    return plan


def _index_sheet(data: bytes) -> _Chunks | None:
    """The cells of a worksheet part as _Chunks, or None when the part is not in canonical
    form. Cells are only decoded when read: the checker reads half the cells of a report
    sheet, most of them blank."""
    start = data.find(b"<sheetData>")
    if start < 0:
        return _Chunks(b"") if b"<sheetData/>" in data else None
    # A part read as far as </sheetData> (Book.read_part) ends with it.
    end = len(data) - 12 if data.endswith(b"</sheetData>") else data.find(b"</sheetData>", start)
    if end < start:
        return None  # broken; let the parser say where
    if not _plain(data, start, end) or _mentions(data, b"xmlns", start, end) or _main_namespace_prefixed(data, start):
        return None   # the cells' namespace bound to a prefix: x:c would escape the tag count
    return _Chunks(data, start, end)



def _decode_cell(chunk: bytes, shared_strings, dates) -> tuple[Cell, bytes | None] | None:
    """One cell from its bytes (see _index_sheet) and its <f> attributes; None when the cell is
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


def _cells_fast(chunks: _Chunks, shared_strings, dates) -> dict[str, Cell] | None:
    """Every cell decoded at once (needed where shared formulas tie cells together); None when
    one is not in canonical form."""
    cells, shared = {}, []
    try:
        index = chunks.full()
    except _NotCanonical:
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
