"""Parsing the parts of an .xlsx: XML text, shared strings, styles and worksheet cells.

The two hot parts, sheetData and the shared strings, take a regex fast path over the canonical
form that Excel, WPS, LibreOffice and openpyxl all write; a part the fast path cannot account for
is read again with the C ElementTree (see xlsx/__init__.py for why).
"""
from __future__ import annotations

import datetime as _dt
import re
import xml.etree.ElementTree as ET
from functools import lru_cache

from ..a1 import column_letters, shift_formula, split_a1
from ..memo import Memo, register

# The memos below are keyed by content and bounded (see xltools/memo.py): texts longer than this
# are decoded each time (a narrative is one workbook's own; hashing it costs what decoding does).
MEMO_TEXT_BYTES = 512


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

    def values(self, refs) -> list:
        """The value of the cell at each canonical A1 of `refs` ("C5"): None for a blank or absent
        cell, an ExcelError for an error value. The checker's hot loop: blanks, numbers and
        shared strings are answered from the cell's bytes without building a Cell."""
        chunks = self._chunks
        if chunks is None:
            return [_value_of(self._cells.get(a1)) for a1 in refs]
        try:
            return self._values(chunks, refs)
        except _NotCanonical:
            self._fall_back()
            return [_value_of(self._cells.get(a1)) for a1 in refs]

    def _values(self, chunks: _Chunks, refs) -> list:
        out, pieces, strings = [], chunks._pieces, self._strings
        plan, seen, _ = _plan(chunks, refs)
        for i, (key, opening, at) in enumerate(plan):
            # _Chunks.get, its common case inlined (0.2 ms a workbook): the piece where this
            # layout has the cell, if it is that cell. (A cell decoded before is read again.)
            chunk = pieces[at]           # (one layout, one number of pieces: `at` is in range)
            last = seen[i]
            if last is not None and chunk == last[0]:
                # Byte for byte the cell read here last time (a blank, a 0, a text at the same
                # place in this workbook's shared strings).
                if last[2] is None:
                    out.append(last[1])
                    continue
                if last[2] < len(strings):
                    out.append(strings[last[2]])
                    continue
            if not chunk.startswith(opening):
                chunk = chunks.get(key)
            if chunk is None:
                out.append(None)
                continue
            m = _SIMPLE_REST.match(chunk)
            if m is not None:
                t, v = m.groups()
                try:
                    if t is None or t == b"n":   # a number, or a blank <c .../>
                        value = (int(v) if v.lstrip(b"-").isdigit() else float(v)) if v else None
                        seen[i] = (chunk, value, None)
                        out.append(value)
                        continue
                    if t == b"s" and v:          # (kept as the index: each workbook has its strings)
                        index = int(v)
                        out.append(strings[index])
                        seen[i] = (chunk, None, index)
                        continue
                except (ValueError, IndexError):
                    pass                         # self.get below reports it
            cell = self.get(refs[i])             # anything else, or a damaged cell, the general way
            if self._chunks is None:             # not canonical after all: ElementTree read it all
                return out + [_value_of(self._cells.get(a)) for a in refs[i:]]
            out.append(_value_of(cell))
        return out

    def formula_count(self) -> int:
        """How many cells hold a formula (<f> elements; a shared formula's followers count)."""
        if self._chunks is not None:
            return self._chunks._body.count(b"<f")
        return sum(c.formula is not None for c in self._cells.values())

    def formulas(self, refs) -> list[str | None]:
        """The formula (without "=") of the cell at each canonical A1 of `refs`, or None.

        Workbooks of one template carry the same formula at the same cell: the text last decoded
        there is kept (see _plan), and reused (the same str object) when the bytes are equal."""
        try:
            return self._formulas(refs)
        except _NotCanonical:
            self._fall_back()
            return [None if c is None else c.formula for c in map(self._cells.get, refs)]

    def _formulas(self, refs) -> list[str | None]:
        chunks = self._chunks
        if chunks is None:
            return [None if c is None else c.formula for c in map(self._cells.get, refs)]
        out, pieces = [], chunks._pieces
        plan, _, seen = _plan(chunks, refs)
        for i, (key, opening, at) in enumerate(plan):
            chunk = pieces[at]
            last = seen[i]                     # (bytes, formula, <f> text) read here last time
            if last is not None and chunk == last[0]:
                out.append(last[1])
                continue
            if not chunk.startswith(opening):
                chunk = chunks.get(key)
            start = chunk.find(b"<f") if chunk is not None else -1
            if start < 0:                      # no such cell, or no formula in it
                out.append(None)
                continue
            # The <f> text alone (shared formulas, whose followers have none, never get here).
            gt = chunk.find(b">", start)
            end = chunk.find(b"</f>", gt)
            if gt < 0 or chunk[gt - 1] == 47 or end < 0 or chunk[start + 2] not in b" >":
                # <f/>, or damaged: the general way
                cell = self.get(key.decode())
                if self._chunks is None:
                    return out + [None if c is None else c.formula for c in map(self._cells.get, refs[len(out):])]
                out.append(None if cell is None else cell.formula)
                continue
            raw = chunk[gt + 1:end]            # the same formula with another cached value: reuse
            formula = last[1] if last is not None and raw == last[2] else _xml_text(raw) or None
            seen[i] = (chunk, formula, raw)
            out.append(formula)
        return out

    def styles(self, refs) -> list[int]:
        """The style index (see Book.number_format) of the cell at each canonical A1 of `refs`,
        0 for an absent cell. Read from the cell's opening tag, where the canonical form puts
        s= right after r=; nothing is decoded (the checker asks this of every figure)."""
        chunks, out = self._chunks, []
        for a1 in refs:
            if chunks is not None:
                try:
                    chunk = chunks.get(a1.encode())
                except _NotCanonical:
                    self._fall_back()
                    chunks = None
                else:
                    if chunk is None:
                        out.append(0)
                        continue
                    at = len(a1) + 1
                    if chunk.startswith(b' s="', at):
                        end = chunk.find(b'"', at + 4)
                        digits = chunk[at + 4:end]
                        if digits.isdigit():
                            out.append(int(digits))
                            continue
                    elif b' s="' not in chunk[:chunk.find(b">")]:
                        out.append(0)
                        continue
            cell = self.get(a1)            # s= elsewhere in the tag, or not canonical: the general way
            out.append(0 if cell is None else cell.style)
            chunks = self._chunks
        return out

    def row_marks(self, refs) -> dict[str, tuple[float | None, bool]]:
        """(height in points, hidden) of the row of each cell of `refs` (canonical A1 of cells the
        sheet holds), as the file describes it, by cell; the height None where the sheet's
        default applies. In a canonical sheet a row's tag is read just before its first cell
        (a few hundred bytes looked at a row), else from one scan of the rows."""
        if not refs or self._rows_xml is None:
            return dict.fromkeys(refs, (None, False))
        if self._chunks is not None:
            try:
                tags = [self._chunks.row_tag(ref.encode()) for ref in refs]
            except _NotCanonical:
                tags = [None]
            if None not in tags:
                return {ref: _row_mark(attrs) for ref, attrs in zip(refs, tags)}
        by_row = {int(ref.lstrip(_LETTERS)): ref for ref in refs}
        out = dict.fromkeys(refs, (None, False))
        number = 0
        for m in _ROW_TAG.finditer(self._rows_xml()):
            at = _ROW_R.search(m.group(1))
            number = int(at.group(1)) if at else number + 1     # r is optional: the next row
            if number in by_row:
                out[by_row[number]] = _row_mark(m.group(1))
        return out

    def __repr__(self):
        return f"Sheet({self.name!r}, {len(self.cells)} cells)"


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\b([^>]*)>")
_ROW_R = re.compile(rb'\br\s*=\s*["\'](\d+)["\']')
_ROW_HT = re.compile(rb'\bht\s*=\s*["\']([0-9.]+)["\']')
_ROW_HIDDEN = re.compile(rb'\bhidden\s*=\s*["\'](?:1|true)["\']')


def _row_mark(attrs: bytes) -> tuple[float | None, bool]:
    at = attrs.find(b' ht="')            # as every writer puts it; else the general way
    if at >= 0:
        end = attrs.find(b'"', at + 5)
        height = float(attrs[at + 5:end]) if end > at + 5 else None
    else:
        ht = _ROW_HT.search(attrs)
        height = float(ht.group(1)) if ht else None
    if b'hidden="1"' in attrs or b'hidden="true"' in attrs:
        hidden = True
    elif b"hidden" not in attrs or b'hidden="false"' in attrs or b'hidden="0"' in attrs:
        hidden = False
    else:
        hidden = _ROW_HIDDEN.search(attrs) is not None
    return height, hidden or height == 0


# ---------------------------------------------------------------------------------------------
# Number formats

# Built-in formats Excel does not store in styles.xml. 27-36 and 50-58 are East Asian date
# formats (what Chinese Excel and WPS use for 2022年1月1日), 71-81 Thai ones; all are dates.
_BUILTIN_DATE_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59),
                               *range(71, 82)])
_BUILTIN_FORMATS = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%",
    11: "0.00E+00", 12: "# ?/?", 13: "# ??/??", 14: "yyyy/m/d", 15: "d-mmm-yy", 16: "d-mmm",
    17: "mmm-yy", 18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss",
    22: "yyyy/m/d h:mm", 27: 'yyyy"年"m"月"', 28: 'm"月"d"日"', 29: 'm"月"d"日"', 30: "m-d-yy",
    31: 'yyyy"年"m"月"d"日"', 32: 'h"时"mm"分"', 33: 'h"时"mm"分"ss"秒"', 36: 'yyyy"年"m"月"',
    37: "#,##0 ;(#,##0)", 38: "#,##0 ;[Red](#,##0)", 39: "#,##0.00;(#,##0.00)",
    40: "#,##0.00;[Red](#,##0.00)", 45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0", 48: "##0.0E+0",
    49: "@",
}
_FORMAT_NOISE = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|[_*].')


def is_date_format(code: str) -> bool:
    """True when a custom number format shows a date or time.

    Looks for y, m, d, h or s outside "quoted text", [brackets] (colours, conditions, locales,
    but note [h] elapsed hours still leave ":mm" outside) and \\-escaped or _/* padded characters.
    """
    return any(ch in "ymdhs" for ch in _FORMAT_NOISE.sub("", code).lower())


def excel_date(serial: float, date1904: bool = False) -> _dt.datetime:
    """A date serial as Excel means it (1900 system with its phantom 1900-02-29, or 1904)."""
    if date1904:
        base = _dt.datetime(1904, 1, 1)
    elif serial >= 61:
        base = _dt.datetime(1899, 12, 30)
    elif 0 <= serial < 60:
        base = _dt.datetime(1899, 12, 31)
    else:
        raise ValueError(f"Excel serial {serial!r} is not a real date")
    if serial < 0:
        raise ValueError(f"Excel serial {serial!r} is not a real date")
    return base + _dt.timedelta(days=serial)


# ---------------------------------------------------------------------------------------------
# XML text

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>")
_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _xml_texts(items: list[bytes]) -> list[str]:
    """Raw element texts (no "<" inside) as the XML parser would return them.

    Texts with "&" are unescaped by expat in one call for the whole part: per-reference Python
    callbacks cost ~1.5 ms on an openpyxl-written sheet, where every Chinese character is a
    &#NNNNN; reference. The part has passed the DTD check, so only the predefined entities and
    character references can occur; anything else is a ParseError.
    """
    out = [b.decode("utf-8") for b in items]
    marked = [i for i, b in enumerate(items) if b"&" in b]
    if marked:
        root = ET.fromstring(b"<x><y>" + b"</y><y>".join([items[i] for i in marked]) + b"</y></x>")
        for i, y in zip(marked, root):
            out[i] = y.text or ""
    return out


_XML_REF = re.compile(rb"&(?:(amp|lt|gt|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));")
_PREDEFINED = {b"amp": "&", b"lt": "<", b"gt": ">", b"quot": '"', b"apos": "'"}


# Replaced in this order, &amp; last: the "&" it gives back is then never read as a reference.
_COMMON_REFS = ((b"&#10;", b"\n"), (b"&#13;", b"\r"), (b"&#9;", b"\t"), (b"&quot;", b'"'), (b"&apos;", b"'"),
                (b"&lt;", b"<"), (b"&gt;", b">"))


def _xml_text(raw: bytes) -> str:
    """One element text as the XML parser returns it: short ones (formulas, labels, names,
    which recur across one template's workbooks) remembered, at most 2048 of them."""
    return _xml_text_memo(raw) if len(raw) <= MEMO_TEXT_BYTES else _unescape_xml(raw)


def _unescape_xml(raw: bytes) -> str:
    """One element text as the XML parser returns it.

    The part passed the DTD check, so only the five predefined entities and character
    references can occur; anything else goes to the parser, which reports it. The common ones
    (LibreOffice writes every line break as &#10;) are plain replacements.
    """
    if b"&" not in raw:
        return raw.decode("utf-8")
    text = raw
    for ref, char in _COMMON_REFS:
        if ref in text:
            text = text.replace(ref, char)
    if text.count(b"&") == text.count(b"&amp;"):
        return text.replace(b"&amp;", b"&").decode("utf-8")
    if raw.count(b"&") != len(_XML_REF.findall(raw)):
        return _xml_texts([raw])[0]
    return _XML_REF.sub(lambda m: (_PREDEFINED[m.group(1)] if m.group(1) else chr(
        int(m.group(2)) if m.group(2) else int(m.group(3), 16))).encode("utf-8"), raw).decode("utf-8")


_xml_text_memo = lru_cache(maxsize=2048)(_unescape_xml)
register("xml texts", lambda: (_xml_text_memo.cache_info().currsize, None), _xml_text_memo.cache_clear)

_DEFINED_NAME = re.compile(rb'<definedName((?: \w+="[^"]*")*)>([^<]*)</definedName>')
_NAME_ATTR = re.compile(rb' name="([^"]*)"')
_LOCAL_SHEET = re.compile(rb' localSheetId="([0-9]+)"')


# Workbooks of one template share their names block byte for byte, also when the rest of the
# workbook part differs (the sheet that was active when it was saved).
_NAMES = Memo("defined names", max_entries=8, max_bytes=2 << 20)


def _defined_names_fast(block: bytes) -> tuple[tuple[int | None, str, str], ...] | None:
    """(localSheetId, name, text) of each <definedName>, or None if not in canonical form."""
    hit = _NAMES.get(block)
    if hit is None:
        hit = _parse_defined_names(block)
        if hit is not None:     # held: the block, and per name three strings and a tuple
            _NAMES.put(block, hit, len(block) + 200 * len(hit))
    return hit


def _parse_defined_names(block: bytes) -> tuple[tuple[int | None, str, str], ...] | None:
    if not _plain(block):
        return None
    found = _DEFINED_NAME.findall(block)
    if len(found) != block.count(b"<definedName"):
        return None
    out = []
    for attrs, text in found:
        name, local = _NAME_ATTR.search(attrs), _LOCAL_SHEET.search(attrs)
        if name is None:
            return None
        out.append((int(local.group(1)) if local else None, _xml_text(name.group(1)), _xml_text(text)))
    return tuple(out)


def _unescape_ooxml(text: str) -> str:
    """Shared/inline strings carry control characters as _xHHHH_ (Excel writes _x000D_ for CR)."""
    if "_x" not in text:
        return text
    return _OOXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _formula_attrs(raw: bytes) -> dict[str, str] | None:
    """<f> attributes when they matter (t="shared"/"array"); their values never hold entities."""
    if b' t="' not in raw:
        return None
    return {k: a or b for k, a, b in _ATTR.findall(raw.decode())}


def _namespace(root) -> str:
    return root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""


class _Malformed(ValueError):
    """Structure the reader needs is missing; becomes a BookError naming the part."""


class _DoctypeFound(Exception):
    pass


def _prepare_xml(data: bytes) -> bytes:
    """The part as UTF-8 without BOM or XML declaration (so both parsers read UTF-8), line ends
    folded as XML requires. Raises _DoctypeFound for any DTD."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    encoding = {b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16", b"<\x00": "utf-16-le",
                b"\x00<": "utf-16-be"}.get(data[:2])
    if encoding is None:
        decl = _XML_DECL.match(data)
        if decl:
            m = _DECL_ENCODING.search(decl.group(0))
            if m and m.group(1).lower().replace(b"-", b"").replace(b"_", b"") != b"utf8":
                encoding = m.group(1).decode("ascii")
            else:
                data = data[decl.end():]
    if encoding:
        # Transcode (a Chinese generator may declare GB2312) so the DTD check below sees the text.
        try:
            text = data.decode(encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {encoding}") from None
        data = _XML_DECL.sub(b"", text.encode("utf-8"), count=1)
    if _has_dtd(data):
        raise _DoctypeFound
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data


def _has_dtd(data: bytes) -> bool:
    """Whether the part has a DTD, the only place entities can be declared. XML allows a
    DOCTYPE only in the prolog, before the root element (anywhere else expat refuses the part),
    so only the prolog is searched, past comments and processing instructions: searching all of
    workbook.xml, where every defined name has a "!", cost 0.07 ms."""
    i = data.find(b"<")
    while i >= 0:
        if data.startswith(b"<!--", i):
            end = data.find(b"-->", i + 4)
        elif data.startswith(b"<?", i):
            end = data.find(b"?>", i + 2)
        else:
            return data.startswith(b"<!", i)   # <!DOCTYPE, or junk that is refused the same way
        if end < 0:
            return False                       # unterminated: the parser says where
        i = data.find(b"<", end + 2)
    return False


def _has_tag_start(data: bytes, mark: bytes) -> bool:
    """Whether b"<" + mark occurs. Searching the rare byte first uses memchr: 100x faster than
    a two-byte search in XML, where "<" is everywhere (0.1 ms per 100 KB otherwise)."""
    i = data.find(mark)
    while i >= 0:
        if i and data[i - 1] == 60:  # "<"
            return True
        i = data.find(mark, i + 1)
    return False


# The main namespace bound to a prefix (x:c, x:si): the regex fast paths would not see the tags.
_MAIN_NS_PREFIXED = re.compile(rb'xmlns:[\w.-]+\s*=\s*["\'][^"\']*spreadsheetml/(?:2006/)?main["\']')


def _plain(data: bytes) -> bool:
    """No comment, CDATA or processing instruction: the regex fast paths may read the part."""
    return not _has_tag_start(data, b"!") and not _has_tag_start(data, b"?")


# ---------------------------------------------------------------------------------------------
# Shared strings


_T_TEXT = re.compile(rb"<t(?:\s[^>]*)?>([^<]*)</t>")
_PHONETIC = re.compile(rb"<rPh[\s>].*?</rPh>|<phoneticPr[^>]*/>", re.S)
_SI_SIMPLE = re.compile(rb"<si>(?:<t(?: [^>]*)?>([^<]*)</t>)?</si>")


def _remove_blocks(data: bytes, start: bytes, end: bytes) -> bytes:
    """Every start...end block removed, one bytes.replace per distinct block: LibreOffice
    repeats the same few run-property blocks hundreds of times, and memmem beats re.sub 10x."""
    for _ in range(64):
        i = data.find(start)
        if i < 0:
            break
        j = data.find(end, i)
        if j < 0:
            break  # malformed: the <si> count decides
        data = data.replace(data[i:j + len(end)], b"")
    return data


def _t_bytes(body: bytes) -> bytes:
    """Concatenated raw <t> texts of an <is> body, leaving out phonetic guides (<rPh>)."""
    if b"<rPh" in body:
        body = _PHONETIC.sub(b"", body)
    return b"".join(_T_TEXT.findall(body))


# Shared strings' raw bytes -> text, for the short ones: the template's labels recur in every
# workbook. A plain dict (looked up in the reader's tightest loop), emptied when full: at most
# 4096 entries of at most MEMO_TEXT_BYTES, ~2 MB.
_TEXTS: dict[bytes, str] = {}
register("shared strings", lambda: (len(_TEXTS), sum(len(b) * 2 + 120 for b in _TEXTS)), _TEXTS.clear)


def _text_of(b: bytes) -> str:
    text = b.decode("utf-8") if b"&" not in b else _xml_text(b)
    if len(b) <= MEMO_TEXT_BYTES:
        _TEXTS[b] = text
    return text


def _parse_shared_strings(data: bytes) -> list[str]:
    """One string per <si>. Rich text is flattened by whole-part replacements (drop phonetic
    guides, run properties and run tags, then join adjacent <t>s) so that one findall reads
    every string: ~10x faster than building Elements for LibreOffice's per-run fonts."""
    if _plain(data) and not _MAIN_NS_PREFIXED.search(data):   # a prefixed x:si would escape the count
        tags = data.count(b"<si")
        found = _SI_SIMPLE.findall(data)
        if len(found) != tags:           # rich text or phonetic guides: flatten, then read again
            flat = data
            if b"<rPh" in flat or b"<phoneticPr" in flat:
                flat = _PHONETIC.sub(b"", flat)
            if b"<r>" in flat:
                flat = _remove_blocks(flat, b"<rPr>", b"</rPr>").replace(b"<rPr/>", b"")
                for glue in (b"<r>", b"</r>", b"</t><t>", b'</t><t xml:space="preserve">', b"<t/>"):
                    flat = flat.replace(glue, b"")
            found = _SI_SIMPLE.findall(flat)
        if len(found) == tags:
            # All decoded now: a checker reads nearly all. (_xml_text, not one expat call for the
            # texts with "&": that costs 0.1 ms for the twenty a narrative-heavy table has.) The
            # template's own labels recur in every workbook: decoded once, looked up after.
            if len(_TEXTS) > 4096:
                _TEXTS.clear()
            texts = [_TEXTS.get(b) or _text_of(b) for b in found]
            return [_unescape_ooxml(t) for t in texts] if b"_x" in data else texts
    return _parse_shared_strings_etree(data)


def _rich_text_etree(elem, ns: str) -> str:
    parts = []
    for child in elem:
        if child.tag == ns + "t":
            parts.append(child.text or "")
        elif child.tag == ns + "r":
            for t in child.iter(ns + "t"):
                parts.append(t.text or "")
    return _unescape_ooxml("".join(parts))


def _parse_shared_strings_etree(data: bytes) -> list[str]:
    root = ET.fromstring(data)
    ns = _namespace(root)
    return [_rich_text_etree(si, ns) for si in root.iter(ns + "si")]


# ---------------------------------------------------------------------------------------------
# Styles


def _parse_styles(data: bytes | None) -> tuple[list[str], frozenset[int]]:
    """Number format code of each cellXfs entry, and which entries show dates."""
    if data is None:
        return [], frozenset()
    root = ET.fromstring(data)
    ns = _namespace(root)
    num_fmts = root.find(ns + "numFmts")  # not root.iter: <dxfs> (conditional formats) has its own
    custom = {int(f.get("numFmtId", "0")): f.get("formatCode", "")
              for f in (() if num_fmts is None else num_fmts)}
    xfs = root.find(ns + "cellXfs")
    formats, dates = [], set()
    for i, xf in enumerate(() if xfs is None else xfs):
        fid = int(xf.get("numFmtId", "0"))
        code = custom.get(fid)
        if code is None:
            code = _BUILTIN_FORMATS.get(fid, "yyyy/m/d" if fid in _BUILTIN_DATE_IDS else "General")
            if fid in _BUILTIN_DATE_IDS:
                dates.add(i)
        elif is_date_format(code):
            dates.add(i)
        formats.append(code)
    return formats, frozenset(dates)


# ---------------------------------------------------------------------------------------------
# Worksheets

# Every cell opens `<c r="A1"` in the canonical form that Excel, WPS, LibreOffice and openpyxl
# write; a `<c` tag without it (a tab, no r=, lower-case ref) captures b"" and sends the sheet to
# ElementTree.
_CELL_OPEN = re.compile(rb'<c(?: r="([A-Z]{1,3}[0-9]{1,7})"|[\s/>])')
_CELL_START = b'<c r="'
# The rest of a canonical cell after `<c r="`: attributes r, s, t in that order (others after
# them), then <f>, <v>, <is>. Groups: ref, s, t, <f> attributes, formula, <v>, inline, rich inline.
_CELL_REST = re.compile(
    rb'([A-Z]{1,3}[0-9]{1,7})"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?(?: (?![st]=)[\w:]+="[^"]*")*'
    rb'(?:/>|>(?:<f((?: [\w:]+="[^"]*")*) ?(?:/>|>([^<]*)</f>))?'
    rb'(?:<v(?: [\w:]+="[^"]*")*>([^<]*)</v>|<v ?/>)?'
    rb'(?:<is><t(?: xml:space="preserve")?>([^<]*)</t></is>|<is>(.*?)</is>)?</c>)',
    re.S,
)
# The checker's common cases, in one match: a blank cell, `<c r="D31" s="15"/>` (groups None),
# or a plain <v> with an optional formula before it (groups t, v).
_SIMPLE_REST = re.compile(rb'[A-Z]{1,3}[0-9]{1,7}"(?: s="[0-9]+")?(?: t="([a-z]+)")?(?: (?![st]=)[\w:]+="[^"]*")*'
                          rb'(?:/>|>(?:<f(?: [\w:]+="[^"]*")*>[^<]*</f>)?<v>([^<]*)</v></c>)')
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


class _Layout:
    """Where each ref falls in the split of one sheet layout, and the plans made over it (see
    _plan), one per list of refs read."""

    __slots__ = ("where", "plans")

    def __init__(self, where: dict[bytes, int]):
        self.where, self.plans = where, {}

    def weight(self) -> int:
        """Bytes held, roughly: per ref a key and a position; per planned ref its key, opening
        and what was last read there (a cell's bytes, twice)."""
        return 100 * len(self.where) + sum(600 * len(plan[0]) for plan in self.plans.values())


# Sheet layouts by (number of cells, how the first begins): the same for every workbook of one
# template and number of filled rows.
_LAYOUTS = Memo("sheet layouts", max_entries=64, max_bytes=8 << 20)


class _Chunks:
    """Each cell's bytes by its ref (b"C5" -> b'C5" s="3"><v>1</v></c>...'), from one C-level
    split of sheetData on `<c r="`.

    Workbooks of one template write the same cells in the same order, so where each ref falls in
    the split is learnt once per layout (one findall over the whole sheet) and afterwards only
    verified: the piece found there must begin with that ref. A miss indexes this sheet in full,
    which also proves every <c> tag canonical (else _NotCanonical)."""

    __slots__ = ("_body", "_pieces", "_where", "_full", "_full_index", "_layout", "_layout_key")

    def __init__(self, body: bytes):
        self._body, self._pieces = body, body.split(_CELL_START)
        key = (len(self._pieces), self._pieces[1][:24] if len(self._pieces) > 1 else b"")
        layout = _LAYOUTS.get(key)
        # An unknown layout: positions learnt below serve the next workbook; plans over the
        # empty one serve this one only (key None: not stored).
        self._layout, self._layout_key = (layout, key) if layout is not None else (_Layout({}), None)
        self._where = self._layout.where
        self._full: dict[bytes, bytes] | None = None
        self._full_index: dict[bytes, int] | None = None

    def get(self, key: bytes) -> bytes | None:
        if self._full is None:
            i = self._where.get(key)
            if i is not None:
                piece = self._pieces[i]
                if piece.startswith(key) and piece.startswith(b'"', len(key)):
                    return piece
            elif self._where and _CELL_START + key + b'"' not in self._body:
                return None      # not in this layout, nor in this sheet (a cell inside a merge)
        return self.full().get(key)

    def row_tag(self, key: bytes) -> bytes | None:
        """The attributes of the <row r="N" …> tag of cell `key`'s row: at the end of the bytes
        before the row's first cell, which is `key` or one of the few cells before it in its row;
        None when the cell is not in the sheet or the tag is not found so."""
        at = self._where.get(key) if self._full is None else None
        if at is None or not (self._pieces[at].startswith(key) and self._pieces[at].startswith(b'"', len(key))):
            at = self._index().get(key)        # not where this layout has it: index the sheet
        row = b'<row r="' + key.lstrip(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ") + b'"'
        for before in range(at - 1, max(at - 4, -1), -1) if at else ():
            piece = self._pieces[before]
            start = piece.rfind(row, max(len(piece) - 512, 0))
            if start >= 0:
                end = piece.find(b">", start)
                return piece[start + len(row):end] if end > 0 else None
        return None

    def _index(self) -> dict[bytes, int]:
        """Where each cell's piece is in the split, from indexing the whole sheet."""
        self.full()
        if self._full_index is None:
            self._full_index = {ref: i for i, ref in enumerate(self._full, 1)}
        return self._full_index

    def full(self) -> dict[bytes, bytes]:
        if self._full is None:
            refs = _CELL_OPEN.findall(self._body)
            if len(self._pieces) != len(refs) + 1 or b"" in refs:
                raise _NotCanonical
            self._full = dict(zip(refs, self._pieces[1:]))
            if len(self._full) != len(refs):
                raise _NotCanonical     # a ref twice: let the parser decide
            learnt = _Layout({ref: i for i, ref in enumerate(refs, 1)})
            key = (len(self._pieces), self._pieces[1][:24] if len(self._pieces) > 1 else b"")
            _LAYOUTS.put(key, learnt, learnt.weight())
        return self._full


def _plan(chunks: _Chunks, refs) -> tuple[list[tuple[bytes, bytes, int]], list, list]:
    """(key, opening, position) of each ref in a layout, and beside them what Sheet.values and
    Sheet.formulas last read there, its bytes first (a cell with the same bytes reads the same):
    the same refs are read from every workbook of a template, so this is worked out once per
    layout and list of refs.
    Position 0, the text before the first cell, stands for "not known here": it never opens like
    a cell."""
    layout = chunks._layout
    cached = type(refs) is Cells      # a list: planned for this call only
    hit = layout.plans.get(refs) if cached else None
    if hit is not None:
        return hit
    where = layout.where
    keys = [a1.encode() for a1 in refs]
    plan = [(key, key + b'"', where.get(key, 0)) for key in keys], [None] * len(keys), [None] * len(keys)
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
    end = data.find(b"</sheetData>", start)
    if end < 0:
        return None  # broken; let the parser say where
    body = data[start:end]
    if not _plain(body) or b"xmlns" in body or _MAIN_NS_PREFIXED.search(data, 0, start):
        return None   # the cells' namespace bound to a prefix: x:c would escape the tag count
    return _Chunks(body)


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
            if ref:
                a1, col_no = ref.replace("$", "").upper(), -1
            else:  # Excel always writes r=; some generators leave it out and mean "next cell"
                col_no = (split_a1(a1)[1] if col_no < 0 else col_no) + 1
                a1 = column_letters(col_no) + str(row_no)
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
        value, is_error = _value(t, v, inline, shared_strings)
        cells[a1] = Cell(value, ftext, style, dates, is_error)
        if fattrs is not None and fattrs.get("t") == "shared":
            shared.append((a1, fattrs))
    _expand_shared(cells, shared)
    return cells


