"""Parsing the parts of an .xlsx but the worksheets (sheet.py): XML text, defined names, shared
strings, styles, number formats.

The shared strings take a regex fast path over the canonical form that Excel, WPS, LibreOffice
and openpyxl all write; a part the fast path cannot account for is read again with the C
ElementTree (see xlsx/__init__.py for why).
"""
from __future__ import annotations

import datetime as _dt
import re
import xml.etree.ElementTree as ET
from functools import lru_cache

from ..memo import Memo, register

# The memos below are keyed by content and bounded (see xltools/memo.py): texts longer than this
# are decoded each time (a narrative is one workbook's own; hashing it costs what decoding does).
MEMO_TEXT_BYTES = 512


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


def _prepare_xml(data: bytes, keep_utf8_declaration: bool = False) -> bytes:
    """The part as UTF-8 without BOM or XML declaration (so both parsers read UTF-8), line ends
    folded as XML requires. Raises _DoctypeFound for any DTD. `keep_utf8_declaration`: a
    declaration of UTF-8 stays (both parsers read it; cutting it copies a whole sheet)."""
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
            elif not keep_utf8_declaration:
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


def _has_tag_start(data: bytes, mark: bytes, start: int = 0, end: int | None = None) -> bool:
    """Whether b"<" + mark occurs in data[start:end]. Searching the rare byte first uses memchr:
    100x faster than a two-byte search in XML, where "<" is everywhere (0.1 ms per 100 KB
    otherwise)."""
    i = data.find(mark, start, end)
    while i >= 0:
        if i and data[i - 1] == 60:  # "<"
            return True
        i = data.find(mark, i + 1, end)
    return False


def _after_declaration(data: bytes) -> int:
    """Where the part begins after its XML declaration (0 without one)."""
    decl = _XML_DECL.match(data)
    return decl.end() if decl else 0


# The main namespace's name, as an attribute value ends with it (transitional or strict).
_MAIN_NS_NAME = re.compile(rb'spreadsheetml/(?:2006/)?main["\']')


def _main_namespace_prefixed(data: bytes, end: int | None = None) -> bool:
    """Whether data[:end] binds the main namespace to a prefix (xmlns:x="…spreadsheetml/main"):
    the regex fast paths would not see its x:c, x:si tags. Found from the namespace's name, rare,
    then the name of the attribute whose value ends with it (a regex over the whole part, or
    over a worksheet's root tag with its six declarations, costs ten times more)."""
    at = data.find(b"spreadsheetml/", 0, end)
    while at >= 0:
        if _MAIN_NS_NAME.match(data, at):
            quote = max(data.rfind(b'"', 0, at), data.rfind(b"'", 0, at))   # (a value holds no quote)
            name_end = data.rfind(b"=", 0, quote)
            while name_end > 0 and data[name_end - 1] in b" \t\r\n":
                name_end -= 1
            name = max(data.rfind(space, 0, name_end) for space in (b" ", b"\t", b"\r", b"\n")) + 1
            if data.startswith(b"xmlns:", name, name_end):
                return True
        at = data.find(b"spreadsheetml/", at + 1, end)
    return False


def _mentions(data: bytes, word: bytes, start: int = 0, end: int | None = None) -> bool:
    """Whether `word` occurs in data[start:end], found from its first byte with memchr: ten times
    faster than searching for the word where that byte is rare (b"x" in a sheet's cells, but in
    Excel's x14ac row attribute); past 64 false starts, the plain search."""
    first = word[:1]
    at = data.find(first, start, end)
    for _ in range(64):
        if at < 0:
            return False
        if data.startswith(word, at, end):
            return True
        at = data.find(first, at + 1, end)
    return data.find(word, at, end) >= 0


def _plain(data: bytes, start: int = 0, end: int | None = None) -> bool:
    """No comment, CDATA or processing instruction in data[start:end]: the regex fast paths may
    read it."""
    return not _has_tag_start(data, b"!", start, end) and not _has_tag_start(data, b"?", start, end)


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


# Each shared string as one plain <t>: the tag before each text as LibreOffice writes them all,
# and as Excel writes those without rich text or edge spaces.
_PLAIN_SI_OPENINGS = (b'<si><t xml:space="preserve">', b"<si><t>")


def _plain_strings(data: bytes) -> list[bytes] | None:
    """The raw texts of the shared strings when every <si> holds one plain <t> written alike: the
    part cut at the tags between them (a regex tests every byte of the texts: twice the cost).
    None for any other form (rich text, an empty <t/>, both openings in one part)."""
    start, end = data.find(b"<si"), data.rfind(b"</t></si>")
    opening = next((o for o in _PLAIN_SI_OPENINGS if data.startswith(o, start)), None) if start >= 0 else None
    if opening is None or end < start or data.find(b"<si", end) >= 0:
        return None
    texts = data[start + len(opening):end].split(b"</t></si>" + opening)
    return None if b"<" in b"".join(texts) else texts     # another tag: not this form


def _parse_shared_strings(data: bytes) -> list[str]:
    """One string per <si>. Rich text is flattened by whole-part replacements (drop phonetic
    guides, run properties and run tags, then join adjacent <t>s) so that one findall reads
    every string: ~10x faster than building Elements for LibreOffice's per-run fonts."""
    if _plain(data, _after_declaration(data)) and not _main_namespace_prefixed(data):   # (a prefixed x:si
        # would escape the count)
        found = _plain_strings(data)
        tags = len(found) if found is not None else data.count(b"<si")
        if found is None:
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
            return [_unescape_ooxml(t) for t in texts] if _mentions(data, b"_x") else texts
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
