"""A worksheet's sheetData split once on `<c r=` into each cell's bytes (Chunks), and what is
learnt of a sheet layout to read it again from the next workbook of the same template: where
each cell falls in the split (Layout), how one list of refs is read there (Plan), the pieces its
workbooks repeat byte for byte (Repeated). sheet.py decodes the cells these pieces hold."""
from __future__ import annotations

import operator
import re
from itertools import compress, islice

from ..a1 import CELL_REF
from ..memo import Memo
from .parts import _main_namespace_prefixed, _mentions, _plain

# Every cell opens `<c r="A1"` in the canonical form that Excel, WPS, LibreOffice and openpyxl
# write; a `<c` tag without it (a tab, no r=, a reference no cell has) captures b"" and sends the
# sheet to ElementTree, which says what is wrong.
_CELL_OPEN = re.compile(rb'<c(?: r="(' + CELL_REF.encode() + rb')"|[\s/>])')
# The split point: five bytes, as bytes.split searches a separator of six or more with the two-way
# algorithm, prepared again for every piece (a fifth slower on a report sheet).
_CELL_SPLIT = b"<c r="
# A formula element in a canonical sheet (no comment or CDATA: _plain), with or without attributes.
FORMULA_OPEN = re.compile(rb"<f[\s>/]")


class NotCanonical(Exception):
    """A cell the regex paths cannot account for: the sheet is read with ElementTree instead."""


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
    list of refs read, where the tag of a cell's row was found (Chunks.row_tags), and the pieces
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
        self.formulas = len(FORMULA_OPEN.findall(b"".join(self.pieces)))
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


class Chunks:
    """Each cell's bytes by its ref (b"C5" -> b'"C5" s="3"><v>1</v></c>...'), from one C-level
    split of sheetData on `<c r=`.

    Workbooks of one template write the same cells in the same order, so where each ref falls in
    the split is learnt once per layout (one findall over the whole sheet) and afterwards only
    verified: the piece found there must begin with that ref. A miss indexes this sheet in full,
    which also proves every <c> tag canonical (else NotCanonical), every ref a cell's and no
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
        full, which raises NotCanonical for a reference that is no cell's or is written twice
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
                        + len(FORMULA_OPEN.findall(self._data, self._start, head))
                        + len(FORMULA_OPEN.findall(self._data, tail, self._end)))
        order = layout.order
        if self._full is None:
            if order and all(map(bytes.startswith, islice(pieces, 1, None), order)):
                self._learn()
            else:
                self.full()
        return len(FORMULA_OPEN.findall(self._data, self._start, self._end))

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
                raise NotCanonical
            full = dict(zip(refs, self._pieces[1:]))
            if len(full) != len(refs):
                raise NotCanonical     # a cell twice: the parser names it
            self._full = full
            learnt = _Layout({ref: i for i, ref in enumerate(refs, 1)})
            _LAYOUTS.put(self._layout_of(), learnt, learnt.weight())
        return self._full


def plan_of(chunks: Chunks, refs) -> _Plan:
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


def index_sheet(data: bytes) -> Chunks | None:
    """The cells of a worksheet part as Chunks, or None when the part is not in canonical
    form. Cells are only decoded when read: the checker reads half the cells of a report
    sheet, most of them blank."""
    start = data.find(b"<sheetData>")
    if start < 0:
        return Chunks(b"") if b"<sheetData/>" in data else None
    # A part read as far as </sheetData> (Book.read_part) ends with it.
    end = len(data) - 12 if data.endswith(b"</sheetData>") else data.find(b"</sheetData>", start)
    if end < start:
        return None  # broken; let the parser say where
    if not _plain(data, start, end) or _mentions(data, b"xmlns", start, end) or _main_namespace_prefixed(data, start):
        return None   # the cells' namespace bound to a prefix: x:c would escape the tag count
    return Chunks(data, start, end)
