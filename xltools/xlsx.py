"""A small, fast, read-only .xlsx reader for checking filled-in report workbooks.

It reads what the checker needs and nothing else: sheet names, defined names, and for each sheet
the cells' cached values, formulas (shared formulas expanded), style index and whether the style
is a date format. For a file that is not a usable workbook, `open_book` and `Book.sheet` raise one
BookError whose message is one line of Simplified Chinese naming the file; nothing else escapes.

Safety. The file is read once into memory (it is never opened for writing) and the zip central
directory is checked (member count, sizes, compression ratio) before any member is inflated. Every
XML part is brought to UTF-8 and refused if it contains a DTD: Excel, WPS and LibreOffice never
write one, and without a DTD no entity can be declared, so billion-laughs and external-entity
attacks have nothing to work with. Both parsers below only ever see DTD-free UTF-8, and we never
expand an entity ourselves: texts with "&" go through expat.

Speed. defusedxml's ElementTree uses the pure-Python parser (slow); lxml is not a dependency and
its per-element Python proxies cost as much as ElementTree's Elements. The C ElementTree builds an
Element for every run property in LibreOffice's rich-text shared strings (2.7 ms for a 100 KB
sharedStrings.xml), so the two hot parts, sheetData and the shared strings, take a regex fast path
over the canonical form that Excel, WPS, LibreOffice and openpyxl all write. The fast path must
account for every <c>/<si> tag in the part; when it cannot (a namespace prefix, a comment, CDATA,
pretty-printing, single-quoted attributes...), the part is read again with the C ElementTree, which
handles any well-formed XML. Small parts (workbook, rels, styles) always use ElementTree.
"""

from __future__ import annotations

import datetime as _dt
import errno
import io
import os
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from functools import lru_cache
from struct import error as struct_error

from .a1 import MAX_COL, MAX_ROW, column_letters, column_number, shift_formula, split_a1, split_cell_ref  # noqa: F401
from .errors import BookError

# Report workbooks are tens of kilobytes; these limits only stop hostile or broken files.
MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_MEMBER_BYTES = 50 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 10_000
# XML deflates 5-30x; a sheet of thousands of identical empty styled cells may reach ~150x.
# Zip bombs reach 1000x. The ratio is only judged for members big enough to matter.
MAX_RATIO = 200
RATIO_FLOOR_BYTES = 1024 * 1024


_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"


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


class Sheet:
    """One worksheet's cells keyed by A1 ("C5", no $), in file order.

    A sheet in canonical form is only scanned when read; each cell is decoded when first asked
    for (`get`), since a checker reads a third of the cells of a report sheet.
    """

    __slots__ = ("name", "_cells", "_raw", "_build")

    def __init__(self, name: str, cells: dict[str, Cell] | None = None, raw=None, build=None):
        self.name = name
        self._cells = cells if cells is not None else {}
        self._raw, self._build = raw, build      # raw: {b"C5": regex groups}, decoded by build()

    @property
    def cells(self) -> dict[str, Cell]:
        if self._raw is not None:
            for key in self._raw:
                self.get(key.decode())
            ordered = {key.decode(): self._cells[key.decode()] for key in self._raw}
            self._cells, self._raw = ordered, None
        return self._cells

    def get(self, a1: str) -> Cell | None:
        """The cell at `a1` ("C5", "$C$5" or "c5"), or None when the file has no such cell."""
        cell = self._cells.get(a1)
        if cell is None and ("$" in a1 or not a1.isupper()):
            a1 = a1.replace("$", "").upper()
            cell = self._cells.get(a1)
        if cell is None and self._raw is not None:
            groups = self._raw.get(a1.encode())
            if groups is not None:
                cell = self._cells[a1] = self._build(groups)
        return cell

    def __repr__(self):
        return f"Sheet({self.name!r}, {len(self.cells)} cells)"


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


@lru_cache(maxsize=4096)   # formula texts recur in every workbook of one template
def _xml_text(raw: bytes) -> str:
    """One element text as the XML parser returns it (one cell decoded on demand).

    The part passed the DTD check, so only the five predefined entities and character
    references can occur; anything else goes to the parser, which reports it.
    """
    if b"&" not in raw:
        return raw.decode("utf-8")
    if raw.count(b"&") != len(_XML_REF.findall(raw)):
        return _xml_texts([raw])[0]
    if b"&#" not in raw:
        return (raw.replace(b"&quot;", b'"').replace(b"&apos;", b"'").replace(b"&lt;", b"<")
                .replace(b"&gt;", b">").replace(b"&amp;", b"&").decode("utf-8"))
    return _XML_REF.sub(lambda m: (_PREDEFINED[m.group(1)] if m.group(1) else chr(
        int(m.group(2)) if m.group(2) else int(m.group(3), 16))).encode("utf-8"), raw).decode("utf-8")


_DEFINED_NAME = re.compile(rb'<definedName((?: \w+="[^"]*")*)>([^<]*)</definedName>')
_NAME_ATTR = re.compile(rb' name="([^"]*)"')
_LOCAL_SHEET = re.compile(rb' localSheetId="([0-9]+)"')


@lru_cache(maxsize=64)     # workbooks of one template share their names block byte for byte
def _defined_names_fast(block: bytes) -> tuple[tuple[int | None, str, str], ...] | None:
    """(localSheetId, name, text) of each <definedName>, or None if not in canonical form."""
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
    if _has_tag_start(data, b"!") and (b"<!DOCTYPE" in data or b"<!ENTITY" in data):
        raise _DoctypeFound
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data


def _has_tag_start(data: bytes, mark: bytes) -> bool:
    """Whether b"<" + mark occurs. Searching the rare byte first uses memchr: 100x faster than
    a two-byte search in XML, where "<" is everywhere (0.1 ms per 100 KB otherwise)."""
    i = data.find(mark)
    while i >= 0:
        if i and data[i - 1] == 60:  # "<"
            return True
        i = data.find(mark, i + 1)
    return False


def _plain(data: bytes) -> bool:
    """No comment, CDATA or processing instruction: the regex fast paths may read the part."""
    return not _has_tag_start(data, b"!") and not _has_tag_start(data, b"?")


# ---------------------------------------------------------------------------------------------
# Shared strings


_SI_TAG = re.compile(rb"<si[\s/>]")
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


def _parse_shared_strings(data: bytes) -> list[str]:
    """One string per <si>. Rich text is flattened by whole-part replacements (drop phonetic
    guides, run properties and run tags, then join adjacent <t>s) so that one findall reads
    every string: ~10x faster than building Elements for LibreOffice's per-run fonts."""
    if _plain(data) and b":si" not in data:  # a prefixed x:si would escape the tag count
        flat = data
        if b"<rPh" in flat or b"<phoneticPr" in flat:
            flat = _PHONETIC.sub(b"", flat)
        if b"<r>" in flat:
            flat = _remove_blocks(flat, b"<rPr>", b"</rPr>").replace(b"<rPr/>", b"")
            for glue in (b"<r>", b"</r>", b"</t><t>", b'</t><t xml:space="preserve">', b"<t/>"):
                flat = flat.replace(glue, b"")
        found = _SI_SIMPLE.findall(flat)
        if len(found) == len(_SI_TAG.findall(data)):
            return _Strings(found)
    return _parse_shared_strings_etree(data)


class _Strings:
    """The shared-strings table, each string decoded when a cell first asks for it (a checker
    reads a fraction of them; the long narratives are among those it does read)."""

    __slots__ = ("_raw", "_done")

    def __init__(self, raw: list[bytes]):
        self._raw, self._done = raw, {}

    def __len__(self) -> int:
        return len(self._raw)

    def __getitem__(self, i: int) -> str:
        text = self._done.get(i)
        if text is None:
            text = self._done[i] = _unescape_ooxml(_xml_text(self._raw[i]))
        return text

    def __iter__(self):
        return (self[i] for i in range(len(self._raw)))

    def __eq__(self, other):
        return list(self) == list(other)


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

_CELL_TAG = re.compile(rb"<c[\s/>]")
# The canonical cell: attributes r, s, t in that order (others after them), then <f>, <v>, <is>.
_FAST_CELL = re.compile(
    rb'<c r="([A-Z]{1,3}[0-9]{1,7})"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?(?: (?![st]=)[\w:]+="[^"]*")*'
    rb'(?:/>|>(?:<f((?: [\w:]+="[^"]*")*) ?(?:/>|>([^<]*)</f>))?'
    rb'(?:<v(?: [\w:]+="[^"]*")*>([^<]*)</v>|<v ?/>)?'
    rb'(?:<is><t(?: xml:space="preserve")?>([^<]*)</t></is>|<is>(.*?)</is>)?</c>)',
    re.S,
)
_BOOLEANS = {"1": True, "0": False, "true": True, "false": False}


def _value(t: str, v: str | None, inline: str | None, shared_strings: list[str]):
    """(value, is_error) of a cell from its type attribute and raw <v>/<is> text."""
    if t == "n":
        if v is None:
            return None, False
        return (int(v) if v.lstrip("-").isdigit() else float(v)), False
    if t == "s":
        return (None if v is None else shared_strings[int(v)]), False
    if t == "str":
        return (v or ""), False
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


def _scan_sheet_fast(data: bytes) -> list[tuple] | None:
    """The regex groups of every cell in canonical form, or None when the part is not."""
    start = data.find(b"<sheetData>")
    if start < 0:
        return [] if b"<sheetData/>" in data else None
    end = data.find(b"</sheetData>", start)
    if end < 0:
        return None  # broken; let the parser say where
    body = data[start:end]
    if not _plain(body) or b":c" in body:  # a prefixed x:c would escape the tag count
        return None
    found = _FAST_CELL.findall(body)
    if len(found) != len(_CELL_TAG.findall(body)):
        return None
    return found


def _decode_cell(groups: tuple, shared_strings, dates) -> Cell:
    """One cell from its regex groups (see _FAST_CELL)."""
    _, s, t, fattrs, ftext, v, inline, rich_inline = groups
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
            cell.value = _unescape_ooxml(plain) if rich else plain
    return cell


def _cells_fast(found: list[tuple], shared_strings, dates) -> dict[str, Cell]:
    """Every cell decoded at once: needed where shared formulas tie cells together."""
    cells = {groups[0].decode(): _decode_cell(groups, shared_strings, dates) for groups in found}
    shared = [(groups[0].decode(), _formula_attrs(groups[3])) for groups in found
              if groups[3] and b' t="shared"' in groups[3]]
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


# ---------------------------------------------------------------------------------------------
# The book


def _part_path(base_part: str, target: str) -> str:
    """A relationship target resolved against the folder of the part that holds it."""
    if target.startswith("/"):
        return target[1:]
    folder = base_part.rsplit("/", 1)[0] + "/" if "/" in base_part else ""
    return os.path.normpath(folder + target).replace("\\", "/")


_BY_SCOPE: dict[tuple[int, tuple], tuple] = {}


def _names_by_scope(names: tuple, sheets: tuple) -> dict[tuple[str | None, str], str]:
    """{(sheet or None, name): text}; localSheetId is a position in <sheets>. Shared (read-only)
    between workbooks whose names block and sheets are the same objects/values."""
    key = (id(names), sheets)
    hit = _BY_SCOPE.get(key)
    if hit is not None and hit[0] is names:
        return hit[1]
    out = {(None if scope is None else sheets[scope], name): text for scope, name, text in names}
    if len(_BY_SCOPE) > 64:
        _BY_SCOPE.clear()
    _BY_SCOPE[key] = (names, out)
    return out


class Book:
    """An opened workbook. Parts are parsed on first use and cached; nothing is written."""

    def __init__(self, label: str, archive: zipfile.ZipFile):
        self.label = label
        self._zip = archive
        self._members = {i.filename: i for i in archive.infolist()}
        self._members_lower = {k.lower(): v for k, v in self._members.items()}
        self._sheet_cache: dict[str, Sheet] = {}
        self._shared_strings: list[str] | None = None
        self._styles: tuple[list[str], frozenset[int]] | None = None
        self._load_workbook()

    def __repr__(self):
        return f"Book({self.label!r}, sheets={self.sheets!r})"

    # -- parts -----------------------------------------------------------------------------

    def _error(self, text: str) -> BookError:
        return BookError(f"文件 {self.label} {text}")

    def _info(self, name: str) -> zipfile.ZipInfo | None:
        name = name.lstrip("/")
        # OPC part names are case-insensitive; a few tools write xl/SharedStrings.xml.
        return self._members.get(name) or self._members_lower.get(name.lower())

    def has_part(self, name: str) -> bool:
        return self._info(name) is not None

    def read_part(self, name: str) -> bytes:
        """A zip member's bytes (sizes were checked when the book was opened)."""
        info = self._info(name)
        if info is None:
            raise self._error(f"缺少部件 {name}，不是完整的 Excel 工作簿（.xlsx）")
        try:
            with self._zip.open(info) as member:
                data = member.read(MAX_MEMBER_BYTES + 1)
        except NotImplementedError:
            raise self._error(f"的部件 {name} 使用了不支持的压缩方式，请在 Excel 中重新保存") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError,
                OverflowError, struct_error) as err:
            raise self._error(f"已损坏：部件 {name} 无法解压（校验失败或数据不完整）") from err
        if len(data) > MAX_MEMBER_BYTES:
            raise self._error(f"可疑，已拒绝读取：部件 {name} 解压后超过 {MAX_MEMBER_BYTES // 2**20} MB")
        return data

    def _xml(self, name: str) -> bytes:
        try:
            return _prepare_xml(self.read_part(name))
        except _DoctypeFound:
            raise self._error(f"的部件 {name} 含有 XML 文档类型声明（DTD/实体），"
                              "Excel 不会写出这种内容，可能是恶意构造的文件，已拒绝读取") from None
        except (ValueError, UnicodeError) as err:
            raise self._error(f"已损坏：部件 {name} 的文字编码无法识别") from err

    def _parse(self, name: str, parse):
        """Run `parse` on a part; any failure becomes a BookError naming the part."""
        data = self._xml(name)
        try:
            return parse(data)
        except ET.ParseError as err:
            line, col = err.position
            raise self._error(f"已损坏：部件 {name} 不是有效的 XML（第 {line} 行第 {col} 列）") from None
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, UnicodeError,
                OverflowError, RecursionError) as err:
            # Our own findings are Chinese; Python's messages stay in the chained cause.
            detail = f"（{err}）" if isinstance(err, _Malformed) else ""
            raise self._error(f"已损坏：部件 {name} 的内容无法读取{detail}") from err

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """rId -> (relationship type's last word, target part path) for one part's .rels."""
        folder, _, leaf = part.rpartition("/")
        rels_name = f"{folder}/_rels/{leaf}.rels" if folder else f"_rels/{leaf}.rels"
        if not self.has_part(rels_name):
            return {}

        def parse(data):
            out = {}
            for rel in ET.fromstring(data):
                if rel.get("TargetMode") == "External" or not rel.get("Target"):
                    continue
                kind = rel.get("Type", "").rsplit("/", 1)[-1]
                out[rel.get("Id")] = (kind, _part_path(part, rel.get("Target")))
            return out

        return self._parse(rels_name, parse)

    # -- workbook --------------------------------------------------------------------------

    def _load_workbook(self) -> None:
        root_rels = self._relationships("") if self.has_part("_rels/.rels") else {}
        main = next((t for k, t in root_rels.values() if k == "officeDocument"), "xl/workbook.xml")
        if not self.has_part(main):
            hint = ""
            if self.has_part("content.xml") and self.has_part("mimetype"):
                hint = "这是 OpenDocument 表格（.ods），请在 WPS、Excel 或 LibreOffice 中另存为 .xlsx"
            elif self.has_part("word/document.xml"):
                hint = "这是 Word 文档"
            raise self._error(f"不是 Excel 工作簿（.xlsx）：缺少 {main}。{hint}".rstrip("。"))
        self._main = main
        rels = self._relationships(main)
        self._parts = {kind: target for kind, target in rels.values()
                       if kind in ("sharedStrings", "styles")}
        self._parse(main, lambda data: self._read_workbook_xml(data, rels))

    def _read_workbook_xml(self, data: bytes, rels) -> None:
        # The names block is nine tenths of workbook.xml here: read it by regex (cached across
        # workbooks of one template) and leave the small rest to ElementTree.
        names = None
        start, end = data.find(b"<definedNames>"), data.find(b"</definedNames>")
        if 0 <= start < end:
            block = data[start + len(b"<definedNames>"):end]
            names = _defined_names_fast(block)
            if names is not None:
                data = data[:start] + data[end + len(b"</definedNames>"):]
        root = ET.fromstring(data)
        ns = _namespace(root)
        self.sheets: list[str] = []
        self._sheet_parts: dict[str, tuple[str, str] | None] = {}
        for sheet in root.iter(ns + "sheet"):
            rid = sheet.get(f"{{{_REL_NS}}}id") or sheet.get(f"{{{_STRICT_REL_NS}}}id")
            self.sheets.append(sheet.get("name"))
            self._sheet_parts[sheet.get("name")] = rels.get(rid)
        pr = root.find(ns + "workbookPr")
        self.date1904: bool = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
        if names is None:
            names = tuple((None if dn.get("localSheetId") is None else int(dn.get("localSheetId")),
                           dn.get("name"), dn.text or "") for dn in root.iter(ns + "definedName"))
        self.names_source = names   # the same object for every workbook of one template (cached)
        self.defined_names: dict[tuple[str | None, str], str] = _names_by_scope(names, tuple(self.sheets))
        self._names_folded: dict | None = None

    # -- names -----------------------------------------------------------------------------

    def defined_name(self, name: str, scope: str | None = None) -> str | None:
        """A name's formula text as Excel resolves it on sheet `scope`: that sheet's own name
        first, then the workbook-level one. Names compare case-insensitively, as in Excel."""
        for key in ((scope, name), (None, name)) if scope is not None else ((None, name),):
            if key in self.defined_names:
                return self.defined_names[key]
            if self._names_folded is None:
                self._names_folded = {(s, n.casefold()): v for (s, n), v in self.defined_names.items()}
            folded = self._names_folded.get((key[0], key[1].casefold()))
            if folded is not None:
                return folded
        return None

    def name_cell(self, name: str, scope: str | None = None) -> tuple[str, str] | None:
        """(sheet, "C5") for a name that points at exactly one cell on a sheet; else None."""
        text = self.defined_name(name, scope)
        ref = split_cell_ref(text) if text is not None else None
        return ref if ref is not None and ref[0] is not None else None

    # -- sheets and styles -----------------------------------------------------------------

    def _decode(self, part: str, groups, strings, dates) -> Cell:
        """A lazily decoded cell; a damaged one is the same BookError as when parsing eagerly."""
        try:
            return _decode_cell(groups, strings, dates)
        except ET.ParseError:
            raise self._error(f"已损坏：部件 {part} 不是有效的 XML") from None
        except (ValueError, KeyError, IndexError, TypeError, UnicodeError, OverflowError) as err:
            detail = f"（{err}）" if isinstance(err, _Malformed) else ""
            raise self._error(f"已损坏：部件 {part} 的内容无法读取{detail}") from err

    def _strings(self) -> list[str]:
        if self._shared_strings is None:
            sst = self._parts.get("sharedStrings")
            self._shared_strings = self._parse(sst, _parse_shared_strings) if sst and self.has_part(sst) else []
        return self._shared_strings

    def _formats(self) -> tuple[list[str], frozenset[int]]:
        if self._styles is None:
            styles = self._parts.get("styles")
            self._styles = self._parse(styles, _parse_styles) if styles and self.has_part(styles) \
                else ([], frozenset())
        return self._styles

    def _date_styles(self) -> frozenset[int]:
        return self._formats()[1]

    def number_format(self, style: int) -> str:
        """The number format code of a cell style index ("General" when unknown)."""
        formats = self._formats()[0]
        return formats[style] if 0 <= style < len(formats) else "General"

    def sheet(self, name: str) -> Sheet:
        """The named sheet, parsed on first use. Chart sheets and the like have no cells."""
        cached = self._sheet_cache.get(name)
        if cached is not None:
            return cached
        if name not in self._sheet_parts:
            raise self._error(f"中没有名为「{name}」的工作表（现有：{'、'.join(self.sheets)}）")
        target = self._sheet_parts[name]
        if target is None or not self.has_part(target[1]):
            raise self._error(f"已损坏：工作表「{name}」的内容缺失")
        sheet = Sheet(name)
        if target[0] == "worksheet":
            strings, dates = self._strings(), self._date_styles

            def parse(data):
                found = _scan_sheet_fast(data)
                if found is None:
                    return Sheet(name, _parse_sheet_etree(data, strings, dates))
                if b' t="shared"' in data and any(groups[3] and b' t="shared"' in groups[3] for groups in found):
                    return Sheet(name, _cells_fast(found, strings, dates))
                return Sheet(name, raw={groups[0]: groups for groups in found},
                             build=lambda groups: self._decode(target[1], groups, strings, dates))

            sheet = self._parse(target[1], parse)
        self._sheet_cache[name] = sheet
        return sheet


# ---------------------------------------------------------------------------------------------
# Opening


def open_book(path: str | os.PathLike) -> Book:
    """Open an .xlsx/.xlsm for reading. Raises BookError (Chinese, names the file) when the file
    cannot be used: empty, not a workbook, .xls, encrypted, truncated, oversized or a zip bomb,
    missing parts, DTDs, malformed XML."""
    label = os.fspath(path)
    label = label.decode(errors="replace") if isinstance(label, bytes) else label

    def fail(text: str) -> BookError:
        return BookError(f"文件 {label} {text}")

    try:
        size = os.stat(path).st_size
        if size > MAX_FILE_BYTES:
            raise fail(f"过大（{size // 2**20} MB），不是报表工作簿，已拒绝读取")
        with open(path, "rb") as fh:  # read-only; the whole file, so no handle stays open
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        reason = {errno.ENOENT: "文件不存在", errno.EACCES: "没有读取权限",
                  errno.EISDIR: "这是一个文件夹"}.get(err.errno, "读取失败")
        raise fail(f"无法打开：{reason}") from err
    if not data:
        raise fail("是空文件（0 字节），不是 Excel 工作簿（.xlsx）")
    if data.startswith(_CFB_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise fail("设置了打开密码（已加密），无法读取：请在 Excel 或 WPS 中取消密码后重新保存为 .xlsx")
        raise fail("是旧版 Excel 97-2003 工作簿（.xls）或 WPS 表格（.et），不是 .xlsx："
                   "请在 Excel 或 WPS 中“另存为”Excel 工作簿（.xlsx）后再提交")
    if not data.startswith(b"PK"):
        head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        kind = ("它是网页或 XML 文本（常见于系统导出的“假 .xls”），请用 Excel 打开后另存为 .xlsx"
                if head.startswith(b"<") else "它是 PDF 文件" if head.startswith(b"%pdf")
                else "内容无法识别")
        raise fail(f"不是 Excel 工作簿（.xlsx）：{kind}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, IndexError,
            OverflowError, struct_error, NotImplementedError, RuntimeError) as err:
        raise fail("已损坏或不完整（压缩包结构无法读取），请重新保存或重新下载") from err
    _check_central_directory(infos, fail)
    return Book(label, archive)


def _check_central_directory(infos, fail) -> None:
    """Refuse zip bombs by what the central directory declares, before inflating anything.
    zipfile stops inflating a member at its declared size, so a lying header cannot get past."""
    if len(infos) > MAX_MEMBERS:
        raise fail(f"可疑，已拒绝读取：压缩包有 {len(infos)} 个成员")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise fail(f"的压缩包成员 {info.filename} 已加密，无法读取")
        if info.file_size > MAX_MEMBER_BYTES:
            raise fail(f"可疑，已拒绝读取：成员 {info.filename} 解压后 {info.file_size // 2**20} MB，"
                       f"超过上限 {MAX_MEMBER_BYTES // 2**20} MB")
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise fail(f"可疑，已拒绝读取：成员 {info.filename} 压缩比 "
                       f"{info.file_size // max(info.compress_size, 1)}:1 异常（疑似“压缩炸弹”）")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise fail(f"可疑，已拒绝读取：解压后共 {total // 2**20} MB，超过上限 {MAX_TOTAL_BYTES // 2**20} MB")
