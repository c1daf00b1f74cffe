"""The package editor: every change xltools makes to an .xlsx (.xlsm, .xlam) goes through Package.

Loading a workbook with openpyxl and saving it again drops what openpyxl does not model (parts
Excel or WPS added, extension lists, printer settings) and costs 15-20 times the XML's size in
memory. Here nothing changes but what is edited, and each part is handled the way its size asks:

- workbook.xml, the .rels parts, [Content_Types].xml and styles.xml (kilobytes) are edited as text
  through workbook.py, rels.py and content_types.py, whatever prefixes and flavour they use;
- a worksheet's cells (fill, score, pack's values copy) are edited in memory as text (cells.py):
  the reader admits sheets of at most 2 MB of XML;
- a worksheet's tail after </sheetData> (check --write's marks) is edited while the sheet streams
  through in 1 MB pieces, its cells copied untouched;
- every other member is copied through in 1 MB pieces.

A part in UTF-16 or a declared legacy encoding is written back as UTF-8 under a declaration that
says so, once it is edited. `save` streams the new zip into files.atomic_writer (a complete new
file or none) and, like `to_bytes`, refuses a result beyond the reader's limits (container.py):
whatever xltools writes, `xltools check` reads.
"""
from __future__ import annotations

import codecs
import io
import itertools
import re
import struct
import zipfile
import zlib
from pathlib import Path

from ..errors import BookError, OutputError
from . import content_types, rels
from .cells import SheetXml
from .container import FIXED_TIME, MAX_FILE_BYTES, package_problem, part_cap
from .ns import CONTENT_TYPES, WORKSHEET_TYPE
from .workbook import copy_local_names, flavour, insert_sheet, remove_sheet, sheet_entries
from .xmltext import Doctype, as_utf8_declaration, decode, encode, encoding_of

CHUNK = 1 << 20
_SHEET_DATA_END = re.compile(rb"</((?:\w+:)?)sheetData\s*>|<((?:\w+:)?)sheetData\s*/>")
_SHEET_DATA_START = re.compile(rb"<((?:\w+:)?)sheetData[\s/>]")
_TAB_SELECTED = re.compile(r"""\stabSelected\s*=\s*["'](?:1|true)["']""")
_DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError, IndexError,
            OverflowError, NotImplementedError, RuntimeError, struct.error)


class Package:
    """A package's members, some edited, some added or removed; `save` or `to_bytes` writes it.

    `source`: the file's bytes, or its path (read as every input is: files.read_regular).
    `limits`: held to what the reader accepts, in and out; False for a workbook only we write and
    no one checks (collect's summary of a province's thousands of units)."""

    def __init__(self, source, label: str | None = None, limits: bool = True):
        if isinstance(source, (bytes, bytearray)):
            data, self.label = bytes(source), label or "工作簿"
        else:
            from ..xlsx.book import read_file
            data, self.label = read_file(source), label or str(source)
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except _DAMAGED:
            raise BookError(f"文件 {self.label} 已损坏或不完整（压缩包结构无法读取），请重新保存或重新下载",
                            "damaged") from None
        self.limits = limits
        problem = package_problem(infos, f"文件 {self.label}") if limits else None
        if problem:
            raise BookError(problem[1], problem[0])
        self.infos = {i.filename: i for i in infos}   # the last of duplicate names wins, as zipfile reads
        self._lower = {name.lower(): name for name in self.infos}
        self._texts: dict[str, tuple[str, str]] = {}  # part -> (BOM, text) of the parts read as text
        self._edited: set[str] = set()                # ... of which these changed
        self._added: dict[str, bytes] = {}            # new members, and members replaced whole
        self._removed: set[str] = set()
        self._cells: dict[str, tuple[str, str, SheetXml]] = {}   # sheet name -> (part, BOM, cells)
        self._tails: dict[str, object] = {}           # part -> edit(prefix, tail text) -> tail text
        self._heads: dict[str, object] = {}           # part -> edit(prefix, head text) -> head text
        self._streamed: dict[str, SheetXml] = {}      # part -> cells edited as the part streams
        root = [r for r in self.relationships("") if r.kind == "officeDocument" and not r.external]
        main = root[0].target if root else "xl/workbook.xml"
        self.workbook_part = self.member(main) or main

    # -- members -------------------------------------------------------------------------------
    def member(self, part: str) -> str | None:
        """The stored name of a part (part names are case-insensitive), None when there is none."""
        if part in self._added or part in self._edited:
            name = part
        else:
            name = part if part in self.infos else self._lower.get(part.lower())
        return None if name is None or name in self._removed else name

    def read(self, part: str) -> bytes:
        """A part's bytes as last added or set as text (a sheet's cell edits and tail edits are
        applied when the package is written)."""
        name = self.member(part)
        if name is None:
            raise BookError(f"文件 {self.label} 缺少部件 {part}")
        if name in self._added:
            return self._added[name]
        if name in self._edited:
            return encode(*self._texts[name])
        info = self.infos[name]
        if self.limits and info.file_size > part_cap(name):
            raise BookError(f"文件 {self.label} 的部件 {name} 解压后 {info.file_size / 2**20:.1f} MB，"
                            f"超过上限 {part_cap(name) // 2**20} MB", "too-large")
        try:
            return self.zip.read(info)
        except _DAMAGED:
            raise BookError(f"文件 {self.label} 已损坏：部件 {name} 无法解压（校验失败或数据不完整）") from None

    def text(self, part: str) -> str:
        """A small part as text (see xmltext.decode)."""
        name = self.member(part) or part
        if name not in self._texts:
            data = self.read(name)
            try:
                self._texts[name] = decode(data)
            except Doctype:
                raise BookError(f"文件 {self.label} 的部件 {name} 含有 XML 文档类型声明（DTD/实体），已拒绝改写",
                                "entity-attack") from None
            except (UnicodeError, LookupError):
                raise self.unsupported(f"部件 {name}") from None
        return self._texts[name][1]

    def set_text(self, part: str, text: str) -> None:
        name = self.member(part) or part
        if text == self.text(name):
            return
        self._texts[name] = (self._texts[name][0], text)
        self._edited.add(name)
        self._added.pop(name, None)

    def add(self, part: str, data: bytes) -> None:
        """A new member, or a member's whole new content."""
        name = self.member(part) or part
        self._removed.discard(name)
        self._texts.pop(name, None)
        self._edited.discard(name)
        self._added[name] = data

    def remove(self, part: str) -> None:
        name = self.member(part)
        if name is not None:
            self._added.pop(name, None)
            self._edited.discard(name)
            self._removed.add(name)

    def unsupported(self, what: str) -> BookError:
        return BookError(f"文件 {self.label} 的{what}格式特殊，无法改写；请在 Excel 或 WPS 中打开后重新保存再试")

    def _parsed(self, what: str, parse):
        try:
            return parse()
        except (ValueError, IndexError, KeyError):
            raise self.unsupported(what) from None

    def edit(self, part: str, change) -> None:
        """A small part's text made change(text); a structure the change cannot find (a part no
        writer we know of makes) is one Chinese line."""
        self.set_text(part, self._parsed(f"部件 {part}", lambda: change(self.text(part))))

    # -- relationships and content types -----------------------------------------------------------
    def relationships(self, part: str) -> list[rels.Relationship]:
        path = rels.rels_path(part)
        if self.member(path) is None:
            return []
        return self._parsed(f"部件 {path}", lambda: rels.parse(self.text(path), part))

    def related(self, part: str, kind: str) -> list[str]:
        """The members `part` relates to by relationships of `kind` ("styles", "worksheet"...)."""
        found = (self.member(r.target) for r in self.relationships(part) if r.kind == kind and not r.external)
        return [name for name in found if name is not None]

    def add_relationship(self, part: str, type_: str, target: str, wanted_id: str = "rId") -> str:
        """A new relationship of `part` to `target`; returns its Id."""
        path = rels.rels_path(part)
        existing = self.relationships(part)
        rid = rels.new_id(existing, wanted_id)
        self.edit(path, lambda text: rels.add(text, part, rid, type_, target))
        return rid

    def remove_relationships(self, part: str, ids) -> None:
        path = rels.rels_path(part)
        if self.member(path) is not None:
            self.edit(path, lambda text: rels.remove(text, rels.parse(text, part), set(ids)))

    def drop_related(self, part: str, kind: str) -> None:
        """Every relationship of `part` of `kind` gone, with the parts it points at."""
        found = [r for r in self.relationships(part) if r.kind == kind]
        self.remove_relationships(part, [r.id for r in found])
        targets = [self.member(r.target) for r in found if not r.external and self.member(r.target)]
        if targets:
            self.edit(CONTENT_TYPES, lambda text: content_types.remove_overrides(text, targets))
        for target in targets:
            self.remove(target)

    def set_content_type(self, part: str, type_: str) -> None:
        self.edit(CONTENT_TYPES, lambda text: content_types.set_override(text, part, type_))

    def content_type(self, part: str) -> str | None:
        return self._parsed(f"部件 {CONTENT_TYPES}", lambda: content_types.content_type(self.text(CONTENT_TYPES), part))

    # -- the workbook's sheets --------------------------------------------------------------------
    def _sheets(self) -> list[tuple[str, rels.Relationship | None]]:
        targets = {r.id: r for r in self.relationships(self.workbook_part) if not r.external}
        entries = self._parsed(f"部件 {self.workbook_part}", lambda: sheet_entries(self.text(self.workbook_part)))
        return [(e.name, targets.get(e.rid)) for e in entries]

    def sheets(self) -> list[tuple[str, str | None]]:
        """(name, part) of every sheet in workbook order; part None when the file lacks it."""
        return [(name, self.member(rel.target) if rel else None) for name, rel in self._sheets()]

    def worksheets(self) -> list[tuple[str, str]]:
        """(name, part) of the worksheets whose part the file has (chart sheets have no cells)."""
        return [(name, self.member(rel.target)) for name, rel in self._sheets()
                if rel is not None and rel.kind == "worksheet" and self.member(rel.target)]

    def worksheet_part(self, name: str) -> str:
        """The member holding a worksheet's cells."""
        part = dict(self.worksheets()).get(name)
        if part is None:
            raise BookError(f"文件 {self.label} 中没有名为「{name}」的工作表")
        return part

    def sheet(self, name: str) -> SheetXml:
        """A worksheet's cells, to edit (kept in memory until the package is written)."""
        if name not in self._cells:
            part = self.worksheet_part(name)
            text = self.text(part)
            try:
                self._cells[name] = (part, self._texts[part][0], SheetXml(text))
            except ValueError:
                raise self.unsupported(f"工作表「{name}」（部件 {part}）") from None
        return self._cells[name][2]

    def rows(self, name: str) -> SheetXml:
        """A worksheet's cells, to edit as its part streams when the package is written: a sheet
        of any size (collect's summary), held one piece at a time. Not with `sheet` or a head or
        tail edit of the same sheet."""
        part = self.worksheet_part(name)
        if part not in self._streamed:
            try:
                self._streamed[part] = SheetXml(self.head(part))
            except ValueError:
                raise self.unsupported(f"工作表「{name}」（部件 {part}）") from None
        return self._streamed[part]

    def edit_tail(self, part: str, edit) -> None:
        """Stream the worksheet `part`, applying edit(prefix, tail text) -> tail text to what
        follows its cells (several edits apply in turn)."""
        previous = self._tails.get(part)
        self._tails[part] = edit if previous is None else (lambda p, t, a=previous, b=edit: b(p, a(p, t)))

    def edit_head(self, part: str, edit) -> None:
        """Stream the worksheet `part`, applying edit(prefix, head text) -> head text to what
        precedes its cells (its sheet views, columns…); several edits apply in turn."""
        previous = self._heads.get(part)
        self._heads[part] = edit if previous is None else (lambda p, t, a=previous, b=edit: b(p, a(p, t)))

    def head(self, part: str) -> str:
        """What precedes a worksheet's cells, as text (read up to <sheetData>, not the whole part)."""
        name = self.member(part)
        if name is None or name in self._added or name in self._edited:
            text = self.text(part)
            m = _SHEET_DATA_START.search(text.encode("utf-8"))
            return text.encode("utf-8")[:m.start()].decode("utf-8") if m else text
        buf = b""
        for piece in self._utf8_pieces(self.infos[name]):
            buf += piece
            m = _SHEET_DATA_START.search(buf)
            if m:
                return buf[:m.start()].decode("utf-8")
        raise BookError(f"文件 {self.label} 的工作表部件 {name} 不完整（没有 sheetData），无法编辑")

    def add_sheet(self, name: str, data: bytes, at: int | None = None, part: str | None = None,
                  rel_id: str = "rId") -> str:
        """A new worksheet `name` holding the part XML `data`, at position `at` (default: last):
        its entry in workbook.xml, its relationship and its content type. Returns its part."""
        part = part or self._free_sheet_part("xl/worksheets/sheet1.xml")
        wb = self.text(self.workbook_part)
        count = len(self._sheets())
        rid = self.add_relationship(self.workbook_part, flavour(wb).rel_type("worksheet"), part, rel_id)
        self.edit(self.workbook_part, lambda text: insert_sheet(text, count if at is None else at, name, rid))
        self.set_content_type(part, WORKSHEET_TYPE)
        self.add(part, data)
        return part

    def remove_sheet(self, name: str) -> None:
        """A sheet gone: its entry and its own defined names, its relationship, content type, part
        and the part's relationships."""
        sheets = self._sheets()
        index = self._position([s for s, _ in sheets], name)
        rel = sheets[index][1]
        self.edit(self.workbook_part, lambda text: remove_sheet(text, index))
        self._cells.pop(name, None)
        if rel is None:
            return
        self.remove_relationships(self.workbook_part, [rel.id])
        part = self.member(rel.target)
        if part is not None:
            self.edit(CONTENT_TYPES, lambda text: content_types.remove_overrides(text, [part]))
            self.remove(part)
            self.remove(rels.rels_path(part))
            self._tails.pop(part, None)
            self._heads.pop(part, None)
            self._streamed.pop(part, None)

    def clone_sheet(self, source: str, new_name: str, before: str | None = None) -> str:
        """Copy a sheet as Excel's Move or Copy does: the same cells, styles, validation,
        protection and print setup, and its own copy of the sheet-scoped defined names. The copy
        goes before `before` (default: right after `source`). Call it before editing `source`:
        the copy takes the part as stored. Returns the new part."""
        names = [s for s, _ in self._sheets()]
        if new_name in names:
            raise BookError(f"文件 {self.label} 中已有名为「{new_name}」的工作表")
        src_index = self._position(names, source)
        at = self._position(names, before) if before else src_index + 1
        src_part = self.worksheet_part(source)
        text = _TAB_SELECTED.sub("", self.text(src_part))
        part = self._free_sheet_part(src_part)
        self.add_sheet(new_name, encode(self._texts[src_part][0], text), at=at, part=part)
        src_rels = rels.rels_path(src_part)
        if self.member(src_rels) is not None:
            self.add(rels.rels_path(part), self.read(src_rels))
        moved = src_index + 1 if src_index >= at else src_index
        self.edit(self.workbook_part, lambda text: copy_local_names(text, moved, at, source, new_name))
        return part

    def _position(self, names: list[str], name: str) -> int:
        if name not in names:
            raise BookError(f"文件 {self.label} 中没有名为「{name}」的工作表")
        return names.index(name)

    def _free_sheet_part(self, like: str) -> str:
        folder = like.rpartition("/")[0]
        numbers = [int(n) for n in re.findall(r"sheet(\d+)\.xml", " ".join([*self.infos, *self._added]))]
        n = max(numbers, default=0) + 1
        while self.member(f"{folder}/sheet{n}.xml") is not None or f"{folder}/sheet{n}.xml".lower() in self._lower:
            n += 1
        return f"{folder}/sheet{n}.xml"

    # -- writing ----------------------------------------------------------------------------------
    def save(self, out, inputs=(), reproducible: bool = False) -> Path:
        """Write the package to `out` (never one of `inputs`): all of it, or nothing
        (`reproducible`: as to_bytes)."""
        from ..files import atomic_writer
        with atomic_writer(out, inputs) as fh:
            self._write(fh, str(out), reproducible)
        return Path(out)

    def to_bytes(self, reproducible: bool = False) -> bytes:
        """The package's bytes; `reproducible`: every member dated container.FIXED_TIME with the
        same permissions, so that the same content gives the same bytes (the template)."""
        out = io.BytesIO()
        self._write(out, self.label, reproducible)
        return out.getvalue()

    def _contents(self) -> dict[str, bytes]:
        """Members written from memory: added, replaced, edited as text or as cells."""
        out = {name: encode(*self._texts[name]) for name in self._edited}
        out.update(self._added)
        for part, bom, cells in self._cells.values():
            out[part] = encode(bom, cells.render())
        return {name: data for name, data in out.items() if name not in self._removed}

    def _write(self, fh, label: str, reproducible: bool = False) -> None:
        contents = self._contents()
        try:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as dst:
                for name, info in self.infos.items():
                    if name in self._removed:
                        continue
                    zi = zipfile.ZipInfo(name, FIXED_TIME if reproducible else info.date_time)
                    zi.compress_type = zipfile.ZIP_STORED if info.compress_type == zipfile.ZIP_STORED else zipfile.ZIP_DEFLATED
                    zi.external_attr = 0o600 << 16 if reproducible else info.external_attr
                    with dst.open(zi, "w") as w:
                        if name in contents:
                            w.write(contents[name])
                        elif name in self._streamed:
                            decoder = codecs.getincrementaldecoder("utf-8")()
                            text = (decoder.decode(piece) for piece in self._utf8_pieces(info))
                            for piece in self._streamed[name].stream(text):
                                w.write(piece.encode("utf-8"))
                        elif name in self._tails or name in self._heads:
                            for piece in self._sheet_stream(info, self._heads.get(name), self._tails.get(name)):
                                w.write(piece)
                        else:
                            with self.zip.open(info) as r:
                                while piece := r.read(CHUNK):
                                    w.write(piece)
                for name, data in contents.items():
                    if name not in self.infos:
                        zi = zipfile.ZipInfo(name, FIXED_TIME)
                        zi.compress_type = zipfile.ZIP_DEFLATED
                        zi.external_attr = 0o600 << 16
                        dst.writestr(zi, data)
        except (BookError, OutputError):
            raise
        except OSError:
            raise                  # the output's own failure: atomic_writer says which
        except (*_DAMAGED, UnicodeError, KeyError, AttributeError) as err:
            raise BookError(f"文件 {self.label} 已损坏或结构无法识别，未写出（{type(err).__name__}）") from None
        self._refuse_beyond_limits(dst.infolist(), fh.tell(), label)

    def _refuse_beyond_limits(self, infos, size: int, label: str) -> None:
        if not self.limits:
            return
        problem = None
        if size > MAX_FILE_BYTES:
            problem = f"{size // 2**20} MB，上限 {MAX_FILE_BYTES // 2**20} MB"
        else:
            found = package_problem(infos, "工作簿")
            too_big = [i for i in infos if i.file_size > part_cap(i.filename)]
            if found:
                problem = found[1]
            elif too_big:
                problem = (f"部件 {too_big[0].filename} 解压后 {too_big[0].file_size / 2**20:.1f} MB，"
                           f"上限 {part_cap(too_big[0].filename) // 2**20} MB")
        if problem:
            raise OutputError(f"无法写入 {label}：生成的工作簿超出了 xltools check 能读取的范围（{problem}），"
                              "请减少内容；未写入任何文件")

    def _utf8_pieces(self, info):
        """The member in pieces of UTF-8: UTF-16 or a declared legacy encoding is transcoded as it
        streams, and the declaration changed to say UTF-8."""
        with self.zip.open(info) as r:
            first = r.read(CHUNK)
            enc = encoding_of(first)
            if enc is None:
                piece = first
                while piece:
                    yield piece
                    piece = r.read(CHUNK)
                return
            try:
                decoder = codecs.getincrementaldecoder(enc)()
            except LookupError:
                raise BookError(f"文件 {self.label} 的部件 {info.filename} 的文字编码 {enc} 无法识别") from None
            yield as_utf8_declaration(decoder.decode(first).lstrip("\ufeff")).encode("utf-8")
            while piece := r.read(CHUNK):
                yield decoder.decode(piece).encode("utf-8")
            yield decoder.decode(b"", final=True).encode("utf-8")

    def _sheet_stream(self, info, head_edit, tail_edit):
        """The worksheet streamed through: what precedes <sheetData> edited by head_edit, what
        follows its cells by tail_edit (either may be None), the cells copied as they are."""
        buf = b""
        pieces = self._utf8_pieces(info)
        if head_edit is not None:
            for piece in pieces:
                buf += piece
                m = _SHEET_DATA_START.search(buf)
                if m:
                    prefix = m.group(1).decode("ascii")
                    buf = head_edit(prefix, buf[:m.start()].decode("utf-8")).encode("utf-8") + buf[m.start():]
                    break
            else:
                raise BookError(f"文件 {self.label} 的工作表部件 {info.filename} 不完整（没有 sheetData），无法编辑")
        if tail_edit is None:
            yield buf
            yield from pieces
            return
        start, buf = buf, b""
        for piece in itertools.chain([start], pieces):
            buf += piece
            m = _SHEET_DATA_END.search(buf)
            if m:
                yield buf[:m.end()]
                rest = [buf[m.end():], *pieces]
                prefix = (m.group(1) or m.group(2) or b"").decode("ascii")
                yield tail_edit(prefix, b"".join(rest).decode("utf-8")).encode("utf-8")
                return
            keep = 64               # a closing tag split across two pieces is found on the next one
            if len(buf) > keep:
                yield buf[:-keep]
                buf = buf[-keep:]
        raise BookError(f"文件 {self.label} 的工作表部件 {info.filename} 不完整（没有 sheetData），无法编辑")
