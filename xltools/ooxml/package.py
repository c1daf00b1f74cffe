"""Edit an .xlsx package by streaming it: the marks and the 校验结果 sheet, in bounded memory.

Loading a workbook with openpyxl to add a sheet costs 15-20 times the size of its XML (a 38 MB sheet
took 618 MB and 25 s) and drops what openpyxl does not model. Here every member is copied through
in 1 MB pieces; a worksheet that gets marks is copied as far as </sheetData> untouched and only its
tail (conditional formats, validations, print settings: kilobytes) is edited as text; the small
parts (workbook, rels, content types, styles) are edited as text. Nothing but what we add or take
away changes. The result is written beside the output and renamed over it (never half a file).
"""
from __future__ import annotations

import codecs
import os
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import unescape

from ..errors import BookError
from ..write import marks

CHUNK = 1 << 20
_SHEET_DATA_END = re.compile(rb"</((?:\w+:)?)sheetData\s*>|<((?:\w+:)?)sheetData\s*/>")
_OFFICE_DOCUMENT = re.compile(r'<(?:\w+:)?Relationship\b[^>]*Type="[^"]*/officeDocument"[^>]*/>')


def _part_path(base_part: str, target: str) -> str:
    if target.startswith("/"):
        return target[1:]
    folder = base_part.rsplit("/", 1)[0] + "/" if "/" in base_part else ""
    return os.path.normpath(folder + target).replace("\\", "/")


def _rels_of(part: str) -> str:
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"


def _attr(element: str, name: str) -> str | None:
    m = re.search(r'(?:^|\s)' + name + r'="([^"]*)"', element)
    return m.group(1) if m else None


class Package:
    """The members of a zip, some replaced, some streamed through a tail edit, some added."""

    def __init__(self, source, label: str):
        self.label = label
        try:
            self.zip = zipfile.ZipFile(source)
            self.infos = {i.filename: i for i in self.zip.infolist()}   # the last of duplicate names wins, as zipfile reads
        except (OSError, zipfile.BadZipFile) as err:
            raise BookError(f"文件 {label} 无法打开：{err}") from None
        self.replaced: dict[str, bytes] = {}
        self.tails: dict[str, object] = {}
        self.removed: set[str] = set()
        rels = self.text("_rels/.rels")[1] if "_rels/.rels" in self.infos else ""
        m = _OFFICE_DOCUMENT.search(rels)
        self.workbook_part = _part_path("", _attr(m.group(0), "Target")) if m else "xl/workbook.xml"
        self.workbook_rels = _rels_of(self.workbook_part)

    # -- small parts as text
    def read(self, name: str) -> bytes:
        if name in self.replaced:
            return self.replaced[name]
        info = self.infos.get(name)
        if info is None:
            raise BookError(f"文件 {self.label} 缺少部件 {name}")
        return self.zip.read(info)

    def text(self, name: str) -> tuple[str, str]:
        return marks.decode_part(self.read(name))

    def set_text(self, name: str, prefix: str, text: str) -> None:
        data = marks.encode_part(prefix, text)
        if name in self.infos and name not in self.replaced and data == self.zip.read(self.infos[name]):
            return
        self.replaced[name] = data

    def add(self, name: str, data: bytes) -> None:
        self.removed.discard(name)
        self.replaced[name] = data

    def remove(self, name: str) -> None:
        self.replaced.pop(name, None)
        self.removed.add(name)

    def edit_tail(self, name: str, edit) -> None:
        """Stream the worksheet `name`, applying edit(prefix, tail_text) -> tail_text after its cells."""
        previous = self.tails.get(name)
        self.tails[name] = edit if previous is None else (lambda p, t, a=previous, b=edit: b(p, a(p, t)))

    # -- the workbook's sheets
    def sheets(self) -> list[tuple[str, str]]:
        """(sheet name, part) in workbook order."""
        _, wb = self.text(self.workbook_part)
        _, rels = self.text(self.workbook_rels)
        targets = {}
        for m in re.finditer(r"<(?:\w+:)?Relationship\b[^>]*/>", rels):
            rid, target = _attr(m.group(0), "Id"), _attr(m.group(0), "Target")
            if rid and target:
                targets[rid] = _part_path(self.workbook_part, unescape(target))
        out = []
        for m in re.finditer(r"<(?:\w+:)?sheet\b[^>]*?/>", wb):
            name = _attr(m.group(0), "name")
            rid = re.search(r'\s\w+:id="([^"]*)"', m.group(0))
            if name is None or rid is None:
                continue
            out.append((unescape(name, {"&quot;": '"', "&apos;": "'"}), targets.get(rid.group(1), "")))
        return out

    def rel_target(self, rid: str) -> str | None:
        _, rels = self.text(self.workbook_rels)
        for m in re.finditer(r"<(?:\w+:)?Relationship\b[^>]*/>", rels):
            if _attr(m.group(0), "Id") == rid:
                target = _attr(m.group(0), "Target")
                return _part_path(self.workbook_part, unescape(target)) if target else None
        return None

    # -- writing
    def save(self, out, inputs=()) -> Path:
        """Stream the package into a temp file beside `out`, then rename it over `out`: the same
        rules as files.write_atomic (regular files only, never an input, mode kept, one Chinese
        line for any failure, no temp left behind), without holding the new file in memory."""
        from .. import files
        label = str(out)
        target = files.check_output(out, inputs=inputs)
        try:
            existing = os.stat(target)
        except OSError:
            existing = None
        folder = target.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise files._unwritable(label, f"无法创建文件夹 {folder}：{files.cause(err)}") from None
        files.clear_stale_temps(folder)
        tmp = folder / f"{files.TEMP_PREFIX}{os.getpid()}-{os.urandom(4).hex()}{files.TEMP_SUFFIX}"
        try:
            with files._signals_raise():
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    self._write_zip(fh)
                    fh.flush()
                    os.fchmod(fh.fileno(), files._new_mode(existing))
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise files._unwritable(label, files.cause(err)) from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, UnicodeError, KeyError,
                IndexError, AttributeError, NotImplementedError, RuntimeError) as err:
            tmp.unlink(missing_ok=True)
            raise BookError(f"文件 {self.label} 已损坏或结构无法识别，未写出副本（{type(err).__name__}）") from None
        except BaseException as err:
            tmp.unlink(missing_ok=True)
            if isinstance(err, files._Signalled):
                files._die_of(err.signum)
            raise
        return Path(out)

    def _write_zip(self, fh) -> None:
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as dst:
            for name, info in self.infos.items():
                if name in self.removed:
                    continue
                zi = zipfile.ZipInfo(name, info.date_time)
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr = info.external_attr
                with dst.open(zi, "w") as w:
                    if name in self.replaced:
                        w.write(self.replaced[name])
                    elif name in self.tails:
                        for piece in self._tail_stream(info, self.tails[name]):
                            w.write(piece)
                    else:
                        with self.zip.open(info) as r:
                            while piece := r.read(CHUNK):
                                w.write(piece)
            for name, data in self.replaced.items():
                if name not in self.infos and name not in self.removed:
                    zi = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
                    zi.compress_type = zipfile.ZIP_DEFLATED
                    zi.external_attr = 0o600 << 16
                    dst.writestr(zi, data)

    def _utf8_pieces(self, info):
        """The member in pieces of UTF-8: UTF-16 or a declared legacy encoding is transcoded as it
        streams, and the declaration changed to say UTF-8."""
        with self.zip.open(info) as r:
            first = r.read(CHUNK)
            enc = None
            if first[:2] in (b"\xff\xfe", b"\xfe\xff"):
                enc = "utf-16"
            elif first[:2] == b"<\x00":
                enc = "utf-16-le"
            elif first[:2] == b"\x00<":
                enc = "utf-16-be"
            else:
                m = re.match(rb'\s*<\?xml[^>]*encoding\s*=\s*["\']([^"\']+)["\']', first[:200])
                if m and m.group(1).lower().replace(b"-", b"").replace(b"_", b"") != b"utf8":
                    enc = m.group(1).decode("ascii")
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
            text = marks._as_utf8_declaration(decoder.decode(first).lstrip("\ufeff"))
            yield text.encode("utf-8")
            while piece := r.read(CHUNK):
                yield decoder.decode(piece).encode("utf-8")
            yield decoder.decode(b"", final=True).encode("utf-8")

    def _tail_stream(self, info, edit):
        buf = b""
        pieces = self._utf8_pieces(info)
        for piece in pieces:
            buf += piece
            m = _SHEET_DATA_END.search(buf)
            if m:
                yield buf[:m.end()]
                rest = [buf[m.end():], *pieces]
                prefix = (m.group(1) or m.group(2) or b"").decode("ascii")
                yield edit(prefix, b"".join(rest).decode("utf-8")).encode("utf-8")
                return
            keep = 64               # a closing tag split across two pieces is found on the next one
            if len(buf) > keep:
                yield buf[:-keep]
                buf = buf[-keep:]
        raise BookError(f"文件 {self.label} 的工作表部件 {info.filename} 不完整（没有 sheetData），无法加标记")


# -- the two operations ---------------------------------------------------------------------------
def clear(pkg: Package) -> None:
    """Take away our marks and our 校验结果 sheet (nothing else)."""
    prefix, wb = pkg.text(pkg.workbook_part)
    rprefix, rels = pkg.text(pkg.workbook_rels)
    tprefix, types = pkg.text("[Content_Types].xml")
    wb, rels, types, part = marks.remove_result_sheet(wb, rels, types, pkg.rel_target)
    if part:
        pkg.remove(part)
        if _rels_of(part) in pkg.infos:
            pkg.remove(_rels_of(part))
    pkg.set_text(pkg.workbook_part, prefix, wb)
    pkg.set_text(pkg.workbook_rels, rprefix, rels)
    pkg.set_text("[Content_Types].xml", tprefix, types)
    for name, part in pkg.sheets():
        if part in pkg.infos and part not in pkg.removed:
            pkg.edit_tail(part, lambda p, tail: marks.remove_marks_from_tail(tail))
    styles = _styles_part(pkg)
    if styles:
        sprefix, text = pkg.text(styles)
        pkg.set_text(styles, sprefix, marks.remove_dxfs(text))


def mark(pkg: Package, mp: marks.MarkPlan) -> None:
    """Add the 校验结果 sheet and the marks of `mp` (call clear() first: one set of marks at a time)."""
    prefix, wb = pkg.text(pkg.workbook_part)
    rprefix, rels = pkg.text(pkg.workbook_rels)
    tprefix, types = pkg.text("[Content_Types].xml")
    # clear() may have edited these already: work on the edited text
    wb, rels, types = marks.add_result_sheet(wb, rels, types)
    pkg.set_text(pkg.workbook_part, prefix, wb)
    pkg.set_text(pkg.workbook_rels, rprefix, rels)
    pkg.set_text("[Content_Types].xml", tprefix, types)
    pkg.add(marks.RESULT_PART, marks.result_sheet_xml(mp).encode("utf-8"))
    if not mp.cells:
        return
    styles = _styles_part(pkg)
    if styles is None:
        raise BookError(f"文件 {pkg.label} 缺少样式部件（styles.xml），无法在单元格上加标记")
    sprefix, text = pkg.text(styles)
    text, dxf_ids = marks.add_dxfs(text)
    pkg.set_text(styles, sprefix, text)
    parts = dict(pkg.sheets())
    for sheet, cells in mp.cells.items():
        part = parts.get(sheet)
        if part and part in pkg.infos:
            pkg.edit_tail(part, lambda p, tail, cells=cells: marks.add_marks_to_tail(tail, p, cells, dxf_ids))


def _styles_part(pkg: Package) -> str | None:
    _, rels = pkg.text(pkg.workbook_rels)
    for m in re.finditer(r"<(?:\w+:)?Relationship\b[^>]*/>", rels):
        if (_attr(m.group(0), "Type") or "").endswith("/styles"):
            target = _attr(m.group(0), "Target")
            part = _part_path(pkg.workbook_part, unescape(target or ""))
            return part if part in pkg.infos else None
    return None


def write_marked(src, out, mp: marks.MarkPlan, label: str | None = None, in_place: bool = False) -> Path:
    """A copy of `src` at `out` with our earlier marks replaced by those of `mp` (`in_place`:
    `out` is `src`, replaced as a whole once the new file is complete)."""
    pkg = Package(src, label or str(src))
    try:
        clear(pkg)
        mark(pkg, mp)
    except (KeyError, ValueError, IndexError, AttributeError, UnicodeError, zipfile.BadZipFile) as err:
        raise BookError(f"文件 {pkg.label} 的结构无法识别，无法写出带校验结果的副本（{type(err).__name__}）") from None
    return pkg.save(out, inputs=() if in_place else (src,))


def write_cleared(src, out, label: str | None = None) -> Path:
    pkg = Package(src, label or str(src))
    try:
        clear(pkg)
    except (KeyError, ValueError, IndexError, AttributeError, UnicodeError, zipfile.BadZipFile) as err:
        raise BookError(f"文件 {pkg.label} 的结构无法识别，无法清除标记（{type(err).__name__}）") from None
    return pkg.save(out)
