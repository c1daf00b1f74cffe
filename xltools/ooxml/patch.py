"""Write cells into an existing .xlsx by editing only those cells' XML.

`fill` and `score` both write through here. Loading and re-saving a workbook with openpyxl would
drop what it does not model (parts Excel or WPS added, extension lists, printer settings); a
workbook someone handed in must come back with nothing changed but the cells we were asked to
write. Every other zip member is copied byte for byte.

Values: Decimal/int/float -> number; str -> inline string (no shared-strings table to rewrite);
date -> serial number; None -> the cell keeps its style and loses its value. Formula cells keep
their formula; `cached()` replaces only the cached result.

Any workbook the reader accepts can be patched: sheets are found through the reader's own
relationships (xlsx/book.py), a part in UTF-16 or another declared encoding is edited as text and
written back as UTF-8 (with a declaration saying so), and a sheet whose SpreadsheetML elements
carry a prefix (`<x:c>`, as some .NET writers do) is edited with that prefix. What the patcher
writes must be readable by the checker: `save` refuses a result beyond the reader's limits.
"""
from __future__ import annotations

import copy
import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape, unescape

from ..errors import BookError, OutputError
from ..files import write_atomic
from . import rel_ns
from ..a1 import a1, split_a1
from ..xlsx import open_book
from ..xlsx.book import _check_central_directory
from ..xlsx.parts import _DoctypeFound, _prepare_xml

_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_MAIN_NS = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main", "http://purl.oclc.org/ooxml/spreadsheetml/main")
_ROOT = re.compile(r"<(?:([\w.-]+):)?worksheet\b")
_ROW_NUMBER = re.compile(r"""\br\s*=\s*["'](\d+)["']""")
_UTF8_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_EPOCH = date(1899, 12, 30)
# Control characters XML 1.0 cannot carry (Word's \x0b line break pasted into a cell, say).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


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
    text = _XML_ILLEGAL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", str(value))   # as Excel escapes them
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f'<{p}c r="{ref}"{style} t="inlineStr"><{p}is><{p}t{space}>{escape(text)}</{p}t></{p}is></{p}c>'


def cached_xml(ref: str, attrs: dict, inner: str, value, p: str = "") -> str:
    """The same formula cell with a new cached result."""
    style = f' s="{attrs["s"]}"' if "s" in attrs else ""
    f = re.search(rf"<{p}f\b.*?(?:</{p}f>|/>)", inner or "", re.S)
    formula = f.group(0) if f else ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return f'<{p}c r="{ref}"{style}>{formula}<{p}v>{_number(value)}</{p}v></{p}c>'
    text = _XML_ILLEGAL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", str(value or ""))
    return f'<{p}c r="{ref}"{style} t="str">{formula}<{p}v>{escape(text)}</{p}v></{p}c>'


def _prefix(xml: str) -> str:
    """The prefix of the SpreadsheetML elements of a worksheet part: "" or e.g. "x:"."""
    m = _ROOT.search(xml)
    if m is None or m.group(1) is None:
        return ""
    declared = re.search(rf"""xmlns:{re.escape(m.group(1))}\s*=\s*["']([^"']*)["']""", xml)
    if declared is None or declared.group(1) not in _MAIN_NS:
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

    def render(self) -> str:
        if not self.edits and not self.heights and not self.hidden:
            return self.xml
        p = self.p
        data = re.search(rf"<{p}sheetData\b[^>]*?(/?)>", self.xml)
        if data is None:
            raise ValueError("no sheetData")
        if data.group(1):   # <sheetData/>: an empty sheet
            head, body, tail = self.xml[:data.start()] + f"<{p}sheetData>", "", f"</{p}sheetData>" + self.xml[data.end():]
        else:
            end = self.xml.index(f"</{p}sheetData>", data.end())
            head, body, tail = self.xml[:data.end()], self.xml[data.end():end], self.xml[end:]
        pending: dict[int, dict[int, tuple[str, object]]] = {}
        for (r, c), edit in self.edits.items():
            pending.setdefault(r, {})[c] = edit
        rows_out, r = [], 0
        for m in self._row.finditer(body):
            number = _ROW_NUMBER.search(m.group(1))
            r = int(number.group(1)) if number else r + 1       # r is optional: the next row
            if r not in pending and r not in self.heights and r not in self.hidden:
                rows_out.append((r, m.group(0)))     # untouched: as stored (most rows of a sheet)
                continue
            attrs = _attrs(m.group(1))
            attrs["r"] = str(r)
            rows_out.append((r, self._row_xml(r, attrs, m.group(2) or "", pending.pop(r, {}))))
        for r in sorted(set(pending) | ((set(self.heights) | set(self.hidden)) - {r for r, _ in rows_out})):
            rows_out.append((r, self._row_xml(r, {"r": str(r)}, "", pending.pop(r, {}))))
        rows_out.sort(key=lambda t: t[0])
        return head + "".join(x for _, x in rows_out) + tail

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


class Workbook:
    """A workbook's bytes with pending cell edits; `save()` writes the result atomically."""

    def __init__(self, data: bytes, label: str = "工作簿"):
        self.data = data
        self.label = label
        book = open_book(label, data)       # the reader's checks, and its way to the sheets
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.parts = {n: part for n in book.sheets if (part := book.worksheet_part(n)) is not None}
        self.sheets: dict[str, SheetXml] = {}
        self.replaced: dict[str, bytes] = {}
        self.removed: set[str] = set()

    def _unsupported(self, what: str) -> BookError:
        return BookError(f"文件 {self.label} 的{what}格式特殊，无法改写；请在 Excel 或 WPS 中打开后重新保存再试")

    def sheet(self, name: str) -> SheetXml:
        if name not in self.sheets:
            if name not in self.parts:
                raise BookError(f"文件 {self.label} 中没有名为「{name}」的工作表")
            part = self.parts[name]
            try:
                self.sheets[name] = SheetXml(_text(self.part(part)))
            except _DoctypeFound:
                raise BookError(f"文件 {self.label} 的部件 {part} 含有 XML 文档类型声明（DTD/实体），已拒绝改写") from None
            except (UnicodeError, ValueError, LookupError):
                raise self._unsupported(f"工作表「{name}」（部件 {part}）") from None
        return self.sheets[name]

    def replace_part(self, name: str, data: bytes) -> None:
        self.replaced[name] = data

    def remove_part(self, name: str) -> None:
        """Leave a member out of the saved package (the caller drops its relationship)."""
        self.removed.add(name)

    def part(self, name: str) -> bytes:
        return self.replaced.get(name) or self.zip.read(name)

    def clone_sheet(self, source: str, new_name: str, before: str | None = None) -> None:
        """Copy a sheet the way Excel's Move or Copy does: same cells, styles, validation,
        protection and print setup, and its own copy of the sheet-scoped defined names.

        The copy goes before `before` (default: right after `source`). Call it before editing
        `source`: the copy takes the part as stored.
        """
        wb = self.part("xl/workbook.xml").decode("utf-8")
        rels = self.part("xl/_rels/workbook.xml.rels").decode("utf-8")
        types = self.part("[Content_Types].xml").decode("utf-8")
        if "<sheets>" not in wb or "</Relationships>" not in rels or "</Types>" not in types:
            raise self._unsupported("工作簿部件（xl/workbook.xml）")   # only our own template is cloned
        sheets = re.findall(r"<sheet\b[^>]*?/>", wb)
        names = [unescape(re.search(r'name="([^"]*)"', s).group(1), {"&quot;": '"', "&apos;": "'"}) for s in sheets]
        src_index = names.index(source)
        at = names.index(before) if before else src_index + 1
        src_part = self.parts[source]
        numbers = [int(n) for n in re.findall(r"sheet(\d+)\.xml", " ".join(self.parts.values()))]
        part = f"xl/worksheets/sheet{max(numbers) + 1}.xml"
        rid = "rId%d" % (max(int(n) for n in re.findall(r'Id="rId(\d+)"', rels)) + 1)
        sheet_id = max(int(n) for n in re.findall(r'sheetId="(\d+)"', wb)) + 1
        new_sheet = (f'<sheet xmlns:r="{rel_ns(wb)}" name="{escape(new_name, {chr(34): "&quot;"})}" '
                     f'sheetId="{sheet_id}" state="visible" r:id="{rid}"/>')
        sheets_xml = "".join(sheets[:at] + [new_sheet] + sheets[at:])
        wb = re.sub(r"<sheets>.*?</sheets>", lambda m: f"<sheets>{sheets_xml}</sheets>", wb, flags=re.S)

        def shift(m):
            k = int(m.group(2))
            return f'{m.group(1)}localSheetId="{k + 1 if k >= at else k}"'
        src_names = [m.group(0) for m in re.finditer(
            rf'<definedName\b[^>]*localSheetId="{src_index}"[^>]*>.*?</definedName>', wb, re.S)]
        wb = re.sub(r'(<definedName\b[^>]*?)localSheetId="(\d+)"', shift, wb)
        quoted_src = "'" + source.replace("'", "''") + "'"
        quoted_new = "'" + new_name.replace("'", "''") + "'"
        copies = "".join(n.replace(f'localSheetId="{src_index}"', f'localSheetId="{at}"')
                         .replace(escape(quoted_src), escape(quoted_new)).replace(quoted_src, quoted_new)
                         for n in src_names)
        wb = wb.replace("</definedNames>", copies + "</definedNames>", 1)
        rels = rels.replace("</Relationships>",
                            f'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                            f'relationships/worksheet" Target="/{part}" Id="{rid}"/></Relationships>')
        types = types.replace("</Types>",
                              f'<Override PartName="/{part}" ContentType="application/vnd.openxmlformats-'
                              f'officedocument.spreadsheetml.worksheet+xml"/></Types>')
        data = self.part(src_part).decode("utf-8").replace(' tabSelected="1"', "")
        self.replace_part(part, data.encode("utf-8"))
        src_rels = src_part.replace("worksheets/", "worksheets/_rels/") + ".rels"
        if src_rels in self.zip.namelist():
            self.replace_part(part.replace("worksheets/", "worksheets/_rels/") + ".rels", self.part(src_rels))
        self.replace_part("xl/workbook.xml", wb.encode("utf-8"))
        self.replace_part("xl/_rels/workbook.xml.rels", rels.encode("utf-8"))
        self.replace_part("[Content_Types].xml", types.encode("utf-8"))
        self.parts[new_name] = part

    def to_bytes(self) -> bytes:
        changed = dict(self.replaced)
        changed.update({self.parts[n]: s.render().encode("utf-8") for n, s in self.sheets.items()})
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            names = {i.filename for i in self.zip.infolist()}
            for info in self.zip.infolist():
                if info.filename in self.removed:
                    continue
                if info.filename in changed:
                    zi = zipfile.ZipInfo(info.filename, info.date_time)
                    zi.compress_type = zipfile.ZIP_DEFLATED
                    zi.external_attr = info.external_attr
                    dst.writestr(zi, changed[info.filename])
                else:   # a copy: writestr() moves the ZipInfo's offsets, and we may save again
                    dst.writestr(copy.copy(info), self.zip.read(info.filename))
            for name, data in changed.items():
                if name not in names:
                    zi = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
                    zi.compress_type = zipfile.ZIP_DEFLATED
                    zi.external_attr = 0o600 << 16
                    dst.writestr(zi, data)
        return out.getvalue()

    def save(self, path) -> Path:
        data = self.to_bytes()
        label = str(path)

        def beyond(text: str, reason: str | None = None) -> OutputError:
            return OutputError(f"无法写入 {label}：生成的工作簿超出了 xltools check 能读取的范围（{text}），"
                               "请减少内容；未写入任何文件")
        from ..xlsx.book import MAX_FILE_BYTES
        if len(data) > MAX_FILE_BYTES:
            raise beyond(f"{len(data) // 2**20} MB，上限 {MAX_FILE_BYTES // 2**20} MB")
        _check_central_directory(zipfile.ZipFile(io.BytesIO(data)).infolist(), beyond)
        return write_atomic(path, data)


def _text(data: bytes) -> str:
    """A part as text. UTF-8 without a declaration of another encoding is kept as it is; any
    other encoding (UTF-16 with its BOM, a declared GB2312...) is transcoded, to be written back
    as UTF-8 under a declaration that says so."""
    head = data[:200].lower()
    if not data.startswith((b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")) and (
            b"encoding" not in head or re.search(rb"""encoding\s*=\s*["']utf-?8["']""", head)):
        return data.decode("utf-8")
    return _UTF8_DECL + _prepare_xml(data).decode("utf-8")
