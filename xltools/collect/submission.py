"""What a submission is, and the pieces every way of receiving one shares: how a file is read
(streamed, for its sha256 and size, never extracted), named (GBK names made readable) and refused
before any check (`refused`, with a catalogue refusal code). intake.py finds the files, zips.py
reads zips, packs.py reads packs."""
from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath

from ..checker import DATA_SUFFIXES
from ..errors import BookError
from ..files import cause
from ..findings import Finding
from ..ooxml.container import MAX_FILE_BYTES

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".et"}   # .xls/.et: the reader says how to re-save
ZIP_SUFFIXES = {".zip"}
# Lock and owner files that Excel, WPS and LibreOffice leave beside an open workbook.
TEMP_PATTERNS = ("~$*", ".~lock.*#", "~*.tmp", ".~*")
# O_NONBLOCK: a FIFO dropped in the inbox must not hang the run (it is refused, as a device or
# socket is).
READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_CHUNK = 1 << 20
_CFB_MAGIC = b"\xd0\xcf\x11\xe0"          # an OLE file: .xls, .et, or an encrypted .xlsx
_SURROGATE = re.compile("[\udc80-\udcff]")


@dataclass
class Submission:
    label: str                    # how the user finds it: a path, or `a.zip/成员.xlsx` (readable)
    name: str                     # the file name alone
    kind: str                     # "workbook", "data", or "refused" (unusable before any check)
    data: bytes = b""             # its bytes, when it came as bytes (an upload); else see origin
    sha256: str = ""              # of the submitted bytes (of the whole pack for a pack)
    size: int = 0
    received: str = ""            # ISO time the file arrived (its modification time)
    link: str | None = None       # absolute path of a loose file: hyperlinks open it
    suffix: str = ""
    findings: list[Finding] = field(default_factory=list)   # from intake (a pack's manifest)
    refused: str | None = None
    message: str = ""
    origin: tuple[str, tuple[int, ...]] | None = None   # (exact path, index of the member in each zip)
    body_sha256: str = ""         # of the bytes to check, when not sha256 (a pack's data file)


@dataclass
class Intake:
    packs: re.Pattern             # the names a pack's folder may have (pack_names)
    submissions: list[Submission] = field(default_factory=list)
    temp_skipped: int = 0         # ~$x.xlsx, .~lock.x#
    other_skipped: int = 0        # PDFs, Word files… beside the workbooks
    # (path, size, mtime_ns, [(label, sha256), …]) of each loose file read whole: what it held
    seen: list[tuple] = field(default_factory=list)


def is_temp(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in TEMP_PATTERNS)


def readable(path: str) -> str:
    """A path (or name) as its writer meant it: each part whose bytes are not UTF-8 (kept by
    os.fsdecode as lone surrogates) read as GB18030, the superset of Chinese Windows' GBK; a
    part that is neither keeps its surrogates (usertext.visible shows them)."""
    if not _SURROGATE.search(path):
        return path
    parts = []
    for part in path.split(os.sep):
        if _SURROGATE.search(part):
            try:
                part = part.encode("utf-8", "surrogateescape").decode("gb18030")
            except UnicodeDecodeError:
                pass
        parts.append(part)
    return os.sep.join(parts)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


class Unusable(BookError):
    """A file or member that cannot be used: (reason, message), the order of container's problems."""

    def __init__(self, reason: str, message: str):
        super().__init__(message, reason)

    def __reduce__(self):
        return type(self), (self.reason, str(self))


def digest(fh, label: str, limit: int = MAX_FILE_BYTES) -> tuple[str, int, bytes]:
    """(sha256, size, first bytes) of what `fh` holds, read in pieces; Unusable beyond `limit`."""
    h, size, head = hashlib.sha256(), 0, b""
    try:
        while piece := fh.read(_CHUNK):
            if not head:
                head = piece[:16]
            h.update(piece)
            size += len(piece)
            if size > limit:
                raise Unusable("too-large", f"{label} 过大（超过 {limit // 2**20} MB），不是报表，已拒绝读取")
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError, RuntimeError) as err:
        if isinstance(err, OSError) and err.errno is not None:
            raise Unusable("unreadable-file", f"{label} 读取失败：{cause(err)}") from None
        raise Unusable("damaged", f"{label} 已损坏：无法解压（校验失败或数据不完整）") from None
    return h.hexdigest(), size, head


def submits(name: str) -> bool:
    """Whether a file of this name is a submission (a workbook, a data file, a zip of them)."""
    return PurePosixPath(name).suffix.lower() in WORKBOOK_SUFFIXES | DATA_SUFFIXES | ZIP_SUFFIXES \
        and not is_temp(PurePosixPath(name).name)


def kind(suffix: str) -> str:
    return "data" if suffix in DATA_SUFFIXES else "workbook"


def refused(label, name, code, message, stamp: str = "", received="") -> Submission:
    """A submission refused before any check; `stamp` (a sha256) identifies it, else its label."""
    return Submission(label, name, "refused", sha256=stamp or sha256_of(label.encode("utf-8", "surrogateescape")),
                      received=received, refused=code, message=message)


def looks_like(suffix: str, head: bytes) -> bool:
    """Whether a member's first bytes can be what its name says (junk otherwise)."""
    if suffix in WORKBOOK_SUFFIXES:
        return head.startswith((b"PK\x03\x04", _CFB_MAGIC))
    if suffix == ".json":
        return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"")
    return bool(head) and b"\0" not in head
