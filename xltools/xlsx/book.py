"""Opening an .xlsx safely and reading its workbook part: sheets, defined names, parts."""
from __future__ import annotations

import errno
import io
import os
import xml.etree.ElementTree as ET
import zipfile
import zlib
from struct import error as struct_error

from ..a1 import split_cell_ref
from ..errors import BookError
from ..files import read_regular
from ..ooxml.container import MAX_FILE_BYTES, MAX_SHEET_XML_BYTES, one_line, package_problem, part_cap
from ..ooxml.rels import rels_path, resolve
from ..ooxml.workbook import sheet_entries
from ..memo import Memo
from .parts import (_defined_names_fast, _DoctypeFound, _Malformed, _namespace, _parse_shared_strings, _parse_styles,
                    _prepare_xml)
from .inflate import TooBig, deflated_pieces, inflate_until, without_empty_rows
from .chunks import index_sheet
from .sheet import BadCell, Cell, Sheet, _cells_fast, _decode_cell, _parse_sheet_etree



_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


# ---------------------------------------------------------------------------------------------
# The book


def _names_by_scope(names: tuple, sheets: tuple) -> dict[tuple[str | None, str], str]:
    """{(sheet or None, name): text}; localSheetId is a position in <sheets>."""
    return {(None if scope is None else sheets[scope], name): text for scope, name, text in names}


# Small parts (rels, the workbook part) parsed once per content, keyed by their bytes: the
# workbooks of one template repeat them byte for byte. The results are shared: read only.
_PARSED = Memo("workbook parts", max_entries=64, max_bytes=6 << 20)


def _memo(key, compute, weight):
    """compute() once per key; weight(result) estimates the bytes the entry holds."""
    hit = _PARSED.get(key)
    if hit is None:
        hit = compute()
        _PARSED.put(key, hit, weight(hit))
    return hit


def _workbook_layout(data: bytes, rels: dict, with_names: bool):
    """(sheet names, sheet name -> (kind, part), date1904, defined names if `with_names`)."""
    root = ET.fromstring(data)      # (well-formed, or the part is refused as damaged)
    ns = _namespace(root)
    sheets, parts = [], {}
    for entry in sheet_entries(data.decode("utf-8")):
        sheets.append(entry.name)
        parts[entry.name] = rels.get(entry.rid)
    pr = root.find(ns + "workbookPr")
    date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
    names = tuple((None if dn.get("localSheetId") is None else int(dn.get("localSheetId")),
                   dn.get("name"), dn.text or "") for dn in root.iter(ns + "definedName")) if with_names else None
    return tuple(sheets), parts, date1904, names


def _too_big(name: str, size: int, cap: int) -> str:
    return (f"的部件 {name} 解压后 {size / 2**20:.1f} MB，超过上限 {cap // 2**20} MB（报表的工作表约 0.1 MB），"
            "可能粘贴了大量与报表无关的内容；请删除多余内容后重新保存")


class Book:
    """An opened workbook. Parts are parsed on first use and cached; nothing is written."""

    def __init__(self, label: str, archive: zipfile.ZipFile, data: bytes = b""):
        self.label = label
        self._zip = archive
        self._data = data          # the file's bytes, when open_book has them
        self._members = {i.filename: i for i in archive.infolist()}
        self._members_lower = {k.lower(): v for k, v in self._members.items()}
        self._sheet_cache: dict[str, Sheet] = {}
        self._shared_strings: list[str] | None = None
        self._styles: tuple[list[str], frozenset[int]] | None = None
        self._load_workbook()
        self._check_sheet_parts()

    def __repr__(self):
        return f"Book({self.label!r}, sheets={self.sheets!r})"

    # -- parts -----------------------------------------------------------------------------

    def _error(self, text: str, reason: str = "damaged") -> BookError:
        return BookError(f"文件 {self.label} {one_line(text)}", reason)

    def _info(self, name: str) -> zipfile.ZipInfo | None:
        name = name.lstrip("/")
        # OPC part names are case-insensitive; a few tools write xl/SharedStrings.xml.
        return self._members.get(name) or self._members_lower.get(name.lower())

    def has_part(self, name: str) -> bool:
        return self._info(name) is not None

    def part_names(self) -> list[str]:
        """Every member of the package, as stored."""
        return list(self._members)

    def external_targets(self, rels_part: str) -> list[tuple[str, str]]:
        """(relationship type's last word, target) of every TargetMode="External" relationship of
        a .rels part (none in a workbook the template made)."""
        def read():
            data = self.read_part(rels_part)
            if b"External" not in data:
                return []
            return self._parse(rels_part, lambda data: [
                (rel.get("Type", "").rsplit("/", 1)[-1], rel.get("Target", ""))
                for rel in ET.fromstring(data) if rel.get("TargetMode") == "External"])

        stored = self._stored(rels_part)      # the template's .rels, byte for byte: read once
        return read() if stored is None else _memo(("external", rels_part, stored), read,
                                                   lambda hit: 64 + sum(len(k) + len(t) for k, t in hit))

    def read_part(self, name: str, until: bytes | None = None) -> bytes:
        """A zip member's bytes (sizes were checked when the book was opened), inflated straight
        from the stored bytes with the size and CRC checked as zipfile would. With `until`, only
        as far as its end: a worksheet's cells come before its
        conditional formats and validations, two thirds of the part. (Such a read cannot check
        the CRC, which covers the whole member; a damaged deflate stream is still an error.)"""
        info = self._info(name)
        if info is None:
            raise self._error(f"缺少部件 {name}，不是完整的 Excel 工作簿（.xlsx）")
        stored = self._stored(name)
        cap = part_cap(name)
        if info.file_size > cap and cap != MAX_SHEET_XML_BYTES:
            raise self._error(_too_big(name, info.file_size, cap), "too-large")
        try:
            if info.file_size > cap:       # a worksheet: streamed, its empty rows dropped
                data = self._sparse(info, stored, until, cap)
            elif stored is not None and stored[0] == zipfile.ZIP_DEFLATED:
                limit = min(info.file_size, cap + 1)
                if until is not None:
                    data = inflate_until(stored[1], until, limit)
                else:        # as zipfile reads it, without its Python layers: size and CRC checked
                    data = zlib.decompressobj(-15).decompress(stored[1], limit + 1)
                    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
                        raise zipfile.BadZipFile(f"{name}: size or CRC")
            else:
                with self._zip.open(info) as member:
                    data = member.read(cap + 1)
        except TooBig as err:
            raise self._error(_too_big(name, max(err.size, info.file_size), cap), "too-large") from None
        except NotImplementedError:
            raise self._error(f"的部件 {name} 使用了不支持的压缩方式，请在 Excel 中重新保存") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError,
                OverflowError, struct_error) as err:
            raise self._error(f"已损坏：部件 {name} 无法解压（校验失败或数据不完整）") from err
        if len(data) > cap:
            raise self._error(_too_big(name, len(data), cap), "too-large")
        return data

    def _sparse(self, info: zipfile.ZipInfo, stored, until: bytes | None, cap: int) -> bytes:
        """A worksheet bigger than the cap, streamed with its empty rows dropped (inflate.py):
        what remains, or TooBig. Read whole, its size and CRC are checked as zipfile would."""
        if stored is not None and stored[0] == zipfile.ZIP_DEFLATED:
            data, size, crc = without_empty_rows(deflated_pieces(stored[1]), until, cap, info.file_size)
        else:
            with self._zip.open(info) as member:
                data, size, crc = without_empty_rows(iter(lambda: member.read(1 << 16), b""), until, cap,
                                                     info.file_size)
        if until is None and (size != info.file_size or crc != info.CRC):
            raise zipfile.BadZipFile(f"{info.filename}: size or CRC")
        return data

    def _xml(self, name: str, until: bytes | None = None) -> bytes:
        try:
            return _prepare_xml(self.read_part(name, until), keep_utf8_declaration=True)
        except _DoctypeFound:
            raise self._error(f"的部件 {name} 含有 XML 文档类型声明（DTD/实体），"
                              "Excel 不会写出这种内容，可能是恶意构造的文件，已拒绝读取", "entity-attack") from None
        except (ValueError, UnicodeError) as err:
            raise self._error(f"已损坏：部件 {name} 的文字编码无法识别") from err

    def _parse(self, name: str, parse, until: bytes | None = None, sheet: str | None = None):
        """Run `parse` on a part (or its beginning, see read_part); any failure becomes a
        BookError naming the part (a damaged cell: the sheet and the cell)."""
        data = self._xml(name, until)
        return self._reading(name, parse, data, sheet=sheet)

    def _reading(self, name: str, parse, *args, sheet: str | None = None):
        """parse(*args), any failure a BookError naming the part (or the sheet's cell)."""
        try:
            return parse(*args)
        except BadCell as err:
            what = f"的单元格 {err.ref} 写了两次" if err.twice else f"中有位置无效的单元格（“{err.ref}”）"
            raise self._error(f"已损坏：工作表「{sheet or name}」{what}，Excel 打开时会报告文件损坏；"
                              "请在 Excel 中打开（按提示修复）、核对后另存，再重新提交") from None
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
        rels_name = rels_path(part)
        if not self.has_part(rels_name):
            return {}

        def parse(data):
            out = {}
            for rel in ET.fromstring(data):
                if rel.get("TargetMode") == "External" or not rel.get("Target"):
                    continue
                kind = rel.get("Type", "").rsplit("/", 1)[-1]
                out[rel.get("Id")] = (kind, resolve(part, rel.get("Target")))
            return out

        return self._parse(rels_name, lambda data: _memo(("rels", part, data), lambda: parse(data),
                                                         lambda rels: 2 * len(data) + 300 * len(rels)))

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
            raise self._error(f"不是 Excel 工作簿（.xlsx）：缺少 {main}。{hint}".rstrip("。"), "not-xlsx")
        self._main = main
        key = (self._stored(main), self._stored(rels_path(main)))
        if None in key:
            self._read_workbook(main)
        else:       # workbooks of one template: the same stored bytes, read once (see _stored)
            def read():
                self._read_workbook(main)
                return (self._parts, tuple(self.sheets), self._sheet_parts, self.date1904, self.names_source,
                        self.defined_names, self.derived)

            def weight(parsed) -> int:   # the key's bytes; per name its tuple, strings, dict entry
                return len(key[0][1]) + len(key[1][1]) + 500 * len(parsed[4])

            (self._parts, sheets, self._sheet_parts, self.date1904, self.names_source, self.defined_names,
             self.derived) = _memo(("book", main, key), read, weight)
            self.sheets = list(sheets)
            self._names_folded = None

    def _read_workbook(self, main: str) -> None:
        rels = self._relationships(main)
        self._parts = {kind: target for kind, target in rels.values()
                       if kind in ("sharedStrings", "styles")}
        self._parse(main, lambda data: self._read_workbook_xml(data, rels))

    def _stored(self, name: str) -> tuple | None:
        """A member as stored in the zip (method and compressed bytes; the local header is
        skipped), or None. Equal stored bytes inflate to equal parts, so they key what was
        parsed from them (zipfile's CRC check then runs only the first time)."""
        info = self._info(name)
        if info is None or not self._data:
            return None
        at = info.header_offset
        head = self._data[at:at + 30]
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            return None
        start = at + 30 + int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little")
        return info.compress_type, self._data[start:start + info.compress_size]

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
        sheets, self._sheet_parts, self.date1904, names_etree = _workbook_layout(data, rels, names is None)
        self.sheets: list[str] = list(sheets)
        names = names if names is not None else names_etree
        self.names_source = names   # the same object for every workbook of one template (cached)
        self.defined_names: dict[tuple[str | None, str], str] = _names_by_scope(names, sheets)
        self._names_folded: dict | None = None
        # What callers work out from the workbook part alone (read/workbook.py: where each field is),
        # shared by every workbook whose part has the same bytes, for as long as it is memoised.
        self.derived: dict = {}

    def _check_sheet_parts(self) -> None:
        """Every sheet's part is in the file: a sheet whose relationship points nowhere would
        otherwise read as an empty sheet (Excel calls such a file damaged and repairs it by
        dropping content). Per workbook, never memoised: the zips of one template differ."""
        for name in self.sheets:
            target = self._sheet_parts.get(name)
            if target is None or not self.has_part(target[1]):
                where = f"（缺少部件 {target[1]}）" if target is not None else "（工作簿关系中没有它）"
                raise self._error(f"已损坏：工作表「{name}」的内容缺失{where}")

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

    def _decode(self, part: str, chunk: bytes, strings, dates) -> Cell | None:
        """A lazily decoded cell; a damaged one is the same BookError as when parsing eagerly.
        None for a cell not in canonical form, and for one of a shared formula: its followers'
        formulas are worked out from the master's, with every cell of the sheet decoded."""
        try:
            decoded = _decode_cell(chunk, strings, dates)
        except ET.ParseError:
            raise self._error(f"已损坏：部件 {part} 不是有效的 XML") from None
        except (ValueError, KeyError, IndexError, TypeError, UnicodeError, OverflowError) as err:
            detail = f"（{err}）" if isinstance(err, _Malformed) else ""
            raise self._error(f"已损坏：部件 {part} 的内容无法读取{detail}") from err
        return None if decoded is None or decoded[1] and b' t="shared"' in decoded[1] else decoded[0]

    def _strings(self) -> list[str]:
        if self._shared_strings is None:
            sst = self._parts.get("sharedStrings")
            self._shared_strings = self._parse(sst, _parse_shared_strings) if sst and self.has_part(sst) else []
        return self._shared_strings

    def _formats(self) -> tuple[list[str], frozenset[int]]:
        if self._styles is None:
            styles = self._parts.get("styles")
            if not styles or not self.has_part(styles):
                self._styles = ([], frozenset())
            else:       # the same stored bytes in every workbook of one template: parsed once
                stored = self._stored(styles)
                parse = lambda: self._parse(styles, _parse_styles)    # noqa: E731
                # weight: the parsed formats (text of each, ~64 bytes) and the key's stored bytes
                weight = lambda parsed: 64 * len(parsed[0]) + sum(len(x) for x in stored if isinstance(x, bytes))  # noqa: E731
                self._styles = parse() if stored is None else _memo(("styles", styles, stored), parse, weight)
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
            raise self._error(f"中没有名为「{name}」的工作表（现有：{'、'.join(self.sheets)}）", "sheet-missing")
        target = self._sheet_parts[name]
        if target is None or not self.has_part(target[1]):
            raise self._error(f"已损坏：工作表「{name}」的内容缺失")
        sheet = Sheet(name)
        if target[0] == "worksheet":
            part, strings, dates = target[1], self._strings(), self._date_styles

            def etree() -> dict[str, Cell]:   # ElementTree, over the whole part
                return self._parse(part, lambda data: _parse_sheet_etree(data, strings, dates), sheet=name)

            def rows_again() -> bytes:        # (checked when the cells were parsed)
                return self._xml(part, until=b"</sheetData>")

            def fast(data: bytes) -> Sheet | None:
                chunks = index_sheet(data)
                if chunks is None:
                    return None

                def slow() -> dict[str, Cell]:    # every cell decoded (shared formulas), else ElementTree
                    return self._reading(part, _cells_fast, chunks, strings, dates, sheet=name) or etree()

                return Sheet(name, chunks=chunks, decode=lambda chunk: self._decode(part, chunk, strings, dates),
                             slow=slow, strings=strings, rows_xml=lambda: data)

            sheet = self._parse(part, fast, until=b"</sheetData>")
            if sheet is None:
                sheet = Sheet(name, etree(), rows_xml=rows_again)
        self._sheet_cache[name] = sheet
        return sheet


# ---------------------------------------------------------------------------------------------
# Opening


def read_file(path: str | os.PathLike) -> bytes:
    """A workbook file's bytes, read-only and whole (no handle stays open), size-guarded; a FIFO,
    device or folder is refused before it is opened (see files.read_regular)."""
    return read_regular(path, MAX_FILE_BYTES, BookError, too_large="不是报表工作簿，已拒绝读取",
                        reasons=_READ_REASONS)


_READ_REASONS = {errno.ENOENT: "文件不存在", errno.EACCES: "没有读取权限", errno.EISDIR: "这是一个文件夹"}


def open_book(path: str | os.PathLike, data: bytes | None = None) -> Book:
    """Open an .xlsx/.xlsm for reading. Raises BookError (Chinese, names the file) when the file
    cannot be used: empty, not a workbook, .xls, encrypted, truncated, oversized or a zip bomb,
    missing parts, DTDs, malformed XML. `data`: the file's bytes when the caller has read them
    already (path then only names the file in messages)."""
    label = os.fspath(path)
    label = label.decode(errors="replace") if isinstance(label, bytes) else label

    def fail(text: str, reason: str) -> BookError:
        return BookError(f"文件 {label} {one_line(text)}", reason)

    if data is None:
        data = read_file(path)
    if len(data) > MAX_FILE_BYTES:
        raise fail(f"过大（{len(data) // 2**20} MB），不是报表工作簿，已拒绝读取", "too-large")
    if not data:
        raise fail("是空文件（0 字节），不是 Excel 工作簿（.xlsx）", "empty")
    if data.startswith(_CFB_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise fail("设置了打开密码（已加密），无法读取：请在 Excel 或 WPS 中取消密码后重新保存为 .xlsx", "encrypted")
        raise fail("是旧版 Excel 97-2003 工作簿（.xls）或 WPS 表格（.et），不是 .xlsx："
                   "请在 Excel 或 WPS 中“另存为”Excel 工作簿（.xlsx）后再提交", "old-xls")
    if not data.startswith(b"PK"):
        head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        kind = ("它是网页或 XML 文本（常见于系统导出的“假 .xls”），请用 Excel 打开后另存为 .xlsx"
                if head.startswith(b"<") else "它是 PDF 文件" if head.startswith(b"%pdf")
                else "内容无法识别")
        raise fail(f"不是 Excel 工作簿（.xlsx）：{kind}", "not-xlsx")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, IndexError,
            OverflowError, struct_error, NotImplementedError, RuntimeError) as err:
        raise fail("已损坏或不完整（压缩包结构无法读取），请重新保存或重新下载", "damaged") from err
    problem = package_problem(infos, f"文件 {label}")
    if problem:
        raise BookError(problem[1], problem[0])
    return Book(label, archive, data)
