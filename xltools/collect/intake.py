"""Submissions as they arrive: folders, zips (GBK names from Chinese Windows), nested zips, packs.

Nothing is extracted to disk (a member name like `../../x` or an absolute path is only ever a
label), and nothing is held: intake reads each file and member once, streaming, for its sha256
and size, and remembers where it is (`Submission.origin`: a file's path and the index of the
member in each zip around it). Whoever checks it reads it again from there (run.py, worker.py).
Zips are held to the limits and checks of workbooks (xltools/ooxml/container.py): member count,
compression ratio, checked on what the central directory declares before anything is inflated
(zipfile stops inflating a member at its declared size, so a lying header cannot get past
either); a member may be as big as a workbook file, and all of them together
MAX_ZIP_TOTAL_BYTES. A zip is recognised by what it holds: a workbook named .zip is a workbook.

A file name's bytes that are not UTF-8 (GBK, as `unzip` on Linux leaves the names of a zip from
Chinese Windows) are read as GB18030 for the label; the exact path stays in `origin` and `link`.
A file that cannot be read, wherever it is (a folder, a pack), is a submission of its own,
refused with the reason.

A pack (`xltools pack`): a folder, or a folder in a zip, holding manifest.json that lists every
output with its sha256 — named as a spec's `[pack] name` says (2022: `{年度}_{单位}_绩效自评/`) or
saying it was made by xltools pack. Zips made by real tools are read alike: backslashes in member
names (PowerShell 5), no top folder, other files beside the pack. The pack is one submission:
its data file (or workbook) is checked, and every output whose bytes do not match the manifest is
an error finding. A pack folder is held to the limits of a zip.

A zip with more than MAX_REFUSED_MEMBERS members that are not workbooks at all (empty, not a
workbook's format, over a limit) is one refused row, not thousands.
"""
from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import re
import stat
import string
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath

from .. import catalogue
from ..checker import DATA_SUFFIXES
from ..errors import BookError, XltoolsError
from ..files import cause
from ..findings import Finding
from ..ooxml.container import MAX_FILE_BYTES, MAX_TOTAL_BYTES, archive_problem, member_problem
from ..pack.run import GENERATOR, MANIFEST as PACK_MANIFEST, SUMS

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".et"}   # .xls/.et: the reader says how to re-save
ZIP_SUFFIXES = {".zip"}
# Lock and owner files that Excel, WPS and LibreOffice leave beside an open workbook.
TEMP_PATTERNS = ("~$*", ".~lock.*#", "~*.tmp", ".~*")
PACK_EXTRAS = {PACK_MANIFEST, SUMS}
# The catalogue codes of a received pack checked against its manifest (_pack_submission).
CODES = ("pack-missing", "pack-hash", "pack-unlisted")
# What a zip of submissions may hold in all, inflated (each member is also held to the workbook
# limits); a province's season fits many times over.
MAX_ZIP_TOTAL_BYTES = 2 * 1024 ** 3
# A pack is one unit's report: its PDFs, a workbook and a data file (a few MB); folder or zip,
# it may hold no more than a workbook's zip.
MAX_PACK_BYTES = MAX_TOTAL_BYTES
MAX_MANIFEST_BYTES = 4 * 1024 ** 2
# Members of one zip refused before any check (not a workbook's format, empty, over a limit)
# beyond which they are one row for the zip.
MAX_REFUSED_MEMBERS = 20
_CHUNK = 1 << 20
_UTF8_FLAG = 0x800
_CFB_MAGIC = b"\xd0\xcf\x11\xe0"          # an OLE file: .xls, .et, or an encrypted .xlsx
_SURROGATE = re.compile("[\udc80-\udcff]")
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


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


def pack_names(templates) -> re.Pattern:
    """What a pack's folder is named by the specs' `[pack] name` templates ({year}_{unit}_绩效自评)."""
    fields = {"year": r"\d{4}", "unit": r".+"}
    alternatives = ["".join(re.escape(text) + (fields[name] if name else "")
                            for text, name, _, _ in string.Formatter().parse(t)) for t in dict.fromkeys(templates)]
    return re.compile("|".join(f"(?:{a})" for a in alternatives) or "(?!)")


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


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def member_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its writer meant it, with / between folders (PowerShell 5 writes \\).
    Without the UTF-8 flag zipfile decodes cp437; Chinese Windows writes GBK there (and some tools
    UTF-8 without the flag): the raw bytes are tried as UTF-8 first (GBK text is almost never
    valid UTF-8), then as GB18030 (GBK's superset)."""
    name = info.filename
    if not info.flag_bits & _UTF8_FLAG:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            raw = None
        for enc in ("utf-8", "gb18030") if raw is not None else ():
            try:
                name = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
    return name.replace("\\", "/")


def collect_inputs(paths, exclude=(), packs: re.Pattern | None = None, seen=None) -> Intake:
    """Every submission under `paths`, in a stable order. A path that does not exist is a
    usage error (raised before anything runs); everything else becomes a submission. `packs`:
    pack_names() of the specs in use (default: those that come with xltools). `seen`: a function
    [(path, size, mtime_ns)] -> {path: [(label, sha256), …]} of the loose files known unchanged
    (the ledger's memory): those are not read again."""
    if packs is None:
        from ..spec.registry import Registry
        packs = pack_names(s.pack_name for s in Registry.packaged().specs())
    out = Intake(packs)
    excluded: dict[str, set[str]] = {}          # file name -> resolved paths not to read (our outputs)
    for p in exclude:
        real = os.path.realpath(p)
        excluded.setdefault(os.path.basename(real), set()).add(real)
    found: list = []                            # ("file", path, stat) / ("pack", path) / Submission
    for p in paths:
        path = os.fspath(p)
        if not os.path.lexists(path):
            raise XltoolsError(f"输入 {readable(path)} 不存在")
        if os.path.isdir(path):
            _walk(path, out, excluded, found)
        else:
            _listed(path, out, excluded, found)
    files = [(f[1], f[2].st_size, f[2].st_mtime_ns) for f in found
             if isinstance(f, tuple) and f[0] == "file" and stat.S_ISREG(f[2].st_mode)]
    known = seen(files) if seen and files else {}
    for f in found:
        if isinstance(f, Submission):
            out.submissions.append(f)
        elif f[0] == "pack":
            _pack_dir(f[1], f[2], out)
        elif f[1] in known:
            for label, sha in known[f[1]]:
                out.submissions.append(Submission(label, PurePosixPath(label).name, "known", sha256=sha))
        else:
            _file(f[1], f[2], out)
    return out


def _walk(root: str, out: Intake, excluded: dict, found: list) -> None:
    def unreadable(err: OSError):
        where = err.filename or root
        label = readable(os.fspath(where))
        found.append(_refused(label, os.path.basename(label), "unreadable-file",
                              f"文件夹 {label} 无法读取：{cause(err)}，其中的文件未能收取"))

    for here, dirnames, filenames in os.walk(root, onerror=unreadable):
        dirnames.sort()
        claimed: set[str] = set()
        entries = _pack_dir_entries(here, out.packs) if PACK_MANIFEST in filenames else None
        if entries is not None:
            claimed = {rel for rel in (*entries, *PACK_EXTRAS) if "/" not in rel}
            found.append(("pack", here, entries))
        for name in sorted(filenames):
            if readable(name) not in claimed:
                _listed(os.path.join(here, name), out, excluded, found, in_pack=entries is not None)


def _listed(path: str, out: Intake, excluded: dict, found: list, in_pack: bool = False) -> None:
    """One file found: skipped, refused, or kept to read (after the ledger's memory is asked).
    `in_pack`: beside a pack's files, not listed by its manifest (the pack names what is not
    a submission of its own)."""
    name = os.path.basename(path)
    suffix = os.path.splitext(name)[1].lower()
    # Only a file named like the summary or its ledger can be one of them: resolve just those.
    if name in excluded and os.path.realpath(path) in excluded[name]:
        return
    if is_temp(name):
        out.temp_skipped += 1
        return
    if suffix not in WORKBOOK_SUFFIXES | DATA_SUFFIXES | ZIP_SUFFIXES:
        out.other_skipped += not in_pack
        return
    try:
        st = os.stat(path)
    except OSError as err:
        label = readable(path)
        found.append(_refused(label, readable(name), "unreadable-file", f"文件 {label} 无法打开：{cause(err)}"))
        return
    except ValueError:                        # a NUL byte in the name
        label = readable(path)
        found.append(_refused(label, readable(name), "unreadable-file", f"文件 {label} 无法打开：文件名无效"))
        return
    found.append(("file", path, st))


def _file(path: str, st, out: Intake) -> None:
    label, name = readable(path), readable(os.path.basename(path))
    suffix = os.path.splitext(name)[1].lower()
    start = len(out.submissions)
    received = _iso(st.st_mtime)
    link = os.path.abspath(path)
    try:
        # O_NONBLOCK: a FIFO dropped in the inbox must not hang the run (it is refused below, as
        # a device or socket is).
        fd = os.open(path, _READ_FLAGS)
    except OSError as err:
        out.submissions.append(_refused(label, name, "unreadable-file", f"文件 {label} 无法打开：{cause(err)}"))
        return
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            out.submissions.append(_refused(label, name, "unreadable-file",
                                            f"文件 {label} 不是普通文件（命名管道、设备或套接字），已拒绝读取"))
            return
        if st.st_size > MAX_FILE_BYTES:
            out.submissions.append(_refused(label, name, "too-large", f"文件 {label} 过大（{st.st_size // 2**20} MB），"
                                            "不是报表，已拒绝读取", received=received))
            return
        try:
            if suffix in ZIP_SUFFIXES:
                _zip(label, fh, received, out, (path, ()), link)
            else:
                sha, size, _ = _digest(fh, label)
                out.submissions.append(Submission(label, name, _kind(suffix), sha256=sha, size=size, received=received,
                                                  link=link, suffix=suffix, origin=(path, ())))
        except _Unusable as err:
            del out.submissions[start:]
            out.submissions.append(_refused(label, name, err.reason, str(err), received=received))
            return
    out.seen.append((path, st.st_size, st.st_mtime_ns,
                     [(s.label, s.sha256) for s in out.submissions[start:]]))


def from_bytes(label: str, data: bytes, received: str, packs: re.Pattern) -> list[Submission]:
    """The submissions in one file received as bytes (a web upload named `label`): a workbook, a
    data file, a zip of them or a pack zip, under the limits a file found on disk gets. `packs`:
    pack_names() of the specs in use. An upload is one submission: its bytes (`data`) are read
    when it is the only one."""
    out = Intake(packs)
    name, suffix = PurePosixPath(label).name, PurePosixPath(label).suffix.lower()
    if len(data) > MAX_FILE_BYTES:
        out.submissions.append(_refused(label, name, "too-large", f"文件 {label} 过大（{len(data) // 2**20} MB），"
                                        "不是报表，已拒绝读取", stamp=_sha(data), received=received))
    elif suffix in ZIP_SUFFIXES:
        _zip(label, data, received, out, ("", ()), None)
    elif suffix in WORKBOOK_SUFFIXES | DATA_SUFFIXES:
        out.submissions.append(Submission(label, name, _kind(suffix), data, _sha(data), len(data), received, None,
                                          suffix))
    subs = out.submissions
    if len(subs) == 1 and subs[0].kind != "refused" and not subs[0].data:
        try:          # a member (a workbook named .zip is the upload itself)
            subs[0].data = read_member(data, subs[0].origin[1], subs[0].label) if subs[0].origin[1] else data
        except BookError as err:
            subs[0] = _refused(subs[0].label, subs[0].name, err.reason, str(err), received=received)
    return subs


class _Unusable(BookError):
    """A file or member that cannot be used: (reason, message), the order of container's problems."""

    def __init__(self, reason: str, message: str):
        super().__init__(message, reason)

    def __reduce__(self):
        return type(self), (self.reason, str(self))


def _digest(fh, label: str, limit: int = MAX_FILE_BYTES) -> tuple[str, int, bytes]:
    """(sha256, size, first bytes) of what `fh` holds, read in pieces; _Unusable beyond `limit`."""
    h, size, head = hashlib.sha256(), 0, b""
    try:
        while piece := fh.read(_CHUNK):
            if not head:
                head = piece[:16]
            h.update(piece)
            size += len(piece)
            if size > limit:
                raise _Unusable("too-large", f"{label} 过大（超过 {limit // 2**20} MB），不是报表，已拒绝读取")
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError, RuntimeError) as err:
        if isinstance(err, OSError) and err.errno is not None:
            raise _Unusable("unreadable-file", f"{label} 读取失败：{cause(err)}") from None
        raise _Unusable("damaged", f"{label} 已损坏：无法解压（校验失败或数据不完整）") from None
    return h.hexdigest(), size, head


def _submits(name: str) -> bool:
    """Whether a file of this name is a submission (a workbook, a data file, a zip of them)."""
    return PurePosixPath(name).suffix.lower() in WORKBOOK_SUFFIXES | DATA_SUFFIXES | ZIP_SUFFIXES \
        and not is_temp(PurePosixPath(name).name)


def _kind(suffix: str) -> str:
    return "data" if suffix in DATA_SUFFIXES else "workbook"


def _refused(label, name, code, message, stamp: str = "", received="") -> Submission:
    """A submission refused before any check; `stamp` (a sha256) identifies it, else its label."""
    return Submission(label, name, "refused", sha256=stamp or _sha(label.encode("utf-8", "surrogateescape")),
                      received=received, refused=code, message=message)


def _looks_like(suffix: str, head: bytes) -> bool:
    """Whether a member's first bytes can be what its name says (junk otherwise)."""
    if suffix in WORKBOOK_SUFFIXES:
        return head.startswith((b"PK\x03\x04", _CFB_MAGIC))
    if suffix == ".json":
        return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"")
    return bool(head) and b"\0" not in head


# -- zips -------------------------------------------------------------------------------------

def _open_zip(label: str, source):
    """(ZipFile, infos) or raises _Unusable: the same central-directory limits as a workbook."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, IndexError,
            OverflowError, NotImplementedError, RuntimeError):
        raise _Unusable("damaged", f"压缩包 {label} 已损坏或不完整，无法打开，请重新打包或重新下载") from None
    problem = archive_problem(infos, f"压缩包 {label}", MAX_ZIP_TOTAL_BYTES)
    if problem:
        raise _Unusable(*problem)
    return archive, infos


def _whole_sha(source) -> str:
    if isinstance(source, bytes):
        return _sha(source)
    source.seek(0)
    return _digest(source, "", limit=1 << 62)[0]


def _zip(label: str, source, received: str, out: Intake, origin: tuple, link: str | None) -> None:
    """The submissions in a zip: `source` its file (seekable) or bytes (a member of another zip),
    `origin` where it is."""
    try:
        archive, infos = _open_zip(label, source)
    except _Unusable as err:
        out.submissions.append(_refused(label, PurePosixPath(label).name, err.reason, str(err),
                                        stamp=_whole_sha(source), received=received))
        return
    names = [member_name(i) for i in infos]
    if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
        # a workbook someone named .zip (or saved without its suffix): checked as the workbook it is
        whole = _whole_sha(source)
        size = source.seek(0, 2) if not isinstance(source, bytes) else len(source)
        out.submissions.append(Submission(label, PurePosixPath(label).name, "workbook", sha256=whole, size=size,
                                          received=received, suffix=".xlsx", origin=origin))
        return
    members = [(k, name, info) for k, (name, info) in enumerate(zip(names, infos)) if not info.is_dir()]
    claimed: set[int] = set()
    packs = _manifests(archive, members, PurePosixPath(label).stem, out.packs)
    for root, entries in packs:
        prefix = root + "/" if root else ""
        inside, unlisted = [], []
        for k, n, i in members:
            if k in claimed or not n.startswith(prefix):
                continue
            rel = n[len(prefix):]
            if rel in entries or rel in PACK_EXTRAS:
                inside.append((k, rel, i))
            elif not _submits(rel):
                unlisted.append(rel)
        claimed.update(k for k, _, _ in inside)
        where = f"{label}/{root}" if root and len(packs) > 1 else label   # a zip of one pack is that pack
        out.submissions.append(_zip_pack(where, PurePosixPath(where).name, archive, inside, entries, unlisted,
                                         received, origin))
    junk: list[Submission] = []
    for k, name, info in members:
        if k in claimed:
            continue
        leaf = name.rsplit("/", 1)[-1]
        suffix = PurePosixPath(leaf).suffix.lower()
        if is_temp(leaf) or name.startswith("__MACOSX/") or "/__MACOSX/" in name:
            out.temp_skipped += 1
            continue
        if not _submits(leaf):
            out.other_skipped += not any(not r or name.startswith(r + "/") for r, _ in packs)
            continue
        inner = f"{label}/{name}"
        here = (origin[0], (*origin[1], k))
        problem = member_problem(info, inner, MAX_FILE_BYTES)
        if problem is None and suffix in ZIP_SUFFIXES and len(origin[1]) >= 1:
            problem = ("nested-zip", f"{inner} 是压缩包中压缩包里的压缩包，只解开一层嵌套，请直接提交其中的工作簿")
        stamp = _sha(f"{inner}\0{info.CRC}\0{info.file_size}".encode("utf-8", "surrogateescape"))
        if problem:                               # identified without inflating it
            junk.append(_refused(inner, leaf, *problem, stamp=stamp, received=received))
            continue
        try:
            if suffix in ZIP_SUFFIXES:
                body = _member_bytes(archive, info, inner)
                _zip(inner, body, received, out, here, None)
                continue
            with archive.open(info) as fh:
                sha, size, head = _digest(fh, inner)
        except _Unusable as err:
            junk.append(_refused(inner, leaf, err.reason, str(err), stamp=stamp, received=received))
            continue
        sub = Submission(inner, leaf, _kind(suffix), sha256=sha, size=size, received=received, suffix=suffix,
                         origin=here)
        (out.submissions if _looks_like(suffix, head) else junk).append(sub)
    if len(junk) <= MAX_REFUSED_MEMBERS:
        out.submissions.extend(junk)
        return
    shown = "、".join(s.name for s in junk[:3])
    out.submissions.append(_refused(
        label, PurePosixPath(label).name, "junk-members",
        f"压缩包 {label} 中有 {len(junk)} 个成员不是工作簿或数据文件（为空、格式不符、损坏或可疑，如 {shown}），"
        "合为这一行，未逐个收取；请只打包要报送的工作簿",
        stamp=_sha("\0".join(["junk", label, *(s.sha256 for s in junk)]).encode("utf-8", "surrogateescape")),
        received=received))


def _member_bytes(archive, info, label: str) -> bytes:
    try:
        with archive.open(info) as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError):
        raise _Unusable("damaged", f"{label} 已损坏：无法解压（校验失败或数据不完整）") from None
    if len(data) > MAX_FILE_BYTES:
        raise _Unusable("too-large", f"{label} 过大（超过 {MAX_FILE_BYTES // 2**20} MB），不是报表，已拒绝读取")
    return data


def read_member(path: str | bytes, members: tuple[int, ...], label: str, opened: dict | None = None) -> bytes:
    """The bytes of the member at `members` (an index in each zip, outermost first) of the zip
    file at `path` (or the zip's bytes), under the limits intake held it to; _Unusable if it
    cannot be read now. `opened`: a cache of the last zip opened (run.py reads members in order)."""
    opened = {} if opened is None else opened
    key = (path if isinstance(path, str) else id(path), members[:-1])
    if opened.get("key") != key:
        for held in opened.pop("files", ()):
            held.close()
        opened.clear()
        try:
            fh = open(path, "rb") if isinstance(path, str) else io.BytesIO(path)
        except OSError as err:
            raise _Unusable("unreadable-file", f"{label} 读取失败：{cause(err)}") from None
        files, archive = [fh], None
        try:
            archive, _ = _open_zip(label, fh)
            for k in members[:-1]:
                archive, _ = _open_zip(label, _member_bytes(archive, archive.infolist()[k], label))
        except BaseException:
            fh.close()
            raise
        opened.update(key=key, files=files, archive=archive)
    archive = opened["archive"]
    info = archive.infolist()[members[-1]]
    problem = member_problem(info, label, MAX_FILE_BYTES)
    if problem:
        raise _Unusable(*problem)
    return _member_bytes(archive, info, label)


# -- packs ------------------------------------------------------------------------------------

def _manifest_entries(doc) -> dict[str, str]:
    """{path: sha256} from a manifest: a list of outputs under "files", "outputs" or "resources",
    each with a path ("path"/"name") and a hash ("sha256", or "hash" as "sha256:…")."""
    entries = {}
    for key in ("files", "outputs", "resources"):
        items = doc.get(key) if isinstance(doc, dict) else None
        if isinstance(items, dict):
            items = [{"path": k, **(v if isinstance(v, dict) else {"sha256": v})} for k, v in items.items()]
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            path = item.get("path") or item.get("name")
            digest = item.get("sha256") or item.get("hash") or ""
            if isinstance(path, str) and path and isinstance(digest, str):
                entries[path.replace("\\", "/")] = digest.split(":", 1)[-1].lower()
    return entries


def _read_manifest(body: bytes, folder_name: str, packs: re.Pattern) -> dict[str, str] | None:
    """The entries of a pack's manifest, or None when it is no pack's: a pack's manifest lists
    its files, and its folder is named as a pack or the manifest says xltools pack made it."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    entries = _manifest_entries(doc)
    if not entries:
        return None
    ours = isinstance(doc, dict) and doc.get("generator") == GENERATOR
    return entries if ours or packs.fullmatch(folder_name) else None


def _pack_dir_entries(path: str, packs: re.Pattern) -> dict[str, str] | None:
    """The entries of the pack in folder `path` (it holds manifest.json), or None when the
    manifest is no pack's. A folder named as a pack whose manifest cannot be read is a pack (it
    is refused, with the reason): {}."""
    try:
        with open(os.path.join(path, PACK_MANIFEST), "rb") as fh:
            body = fh.read(MAX_MANIFEST_BYTES + 1)
    except (OSError, ValueError):
        body = b""
    entries = _read_manifest(body, readable(os.path.basename(path)), packs) \
        if len(body) <= MAX_MANIFEST_BYTES else None
    if entries is None and packs.fullmatch(readable(os.path.basename(path))):
        return {}
    return entries


def _manifests(archive, members, zip_stem: str, packs: re.Pattern):
    """(root, entries) of every pack in a zip, outermost first: the folder of each manifest.json
    that is a pack's ("" when the pack's files are the zip's top level, named by the zip)."""
    found = []
    for k, name, info in members:
        root, _, leaf = name.rpartition("/")
        if leaf != PACK_MANIFEST or info.file_size > MAX_MANIFEST_BYTES or member_problem(info, name):
            continue
        try:
            body = _member_bytes(archive, info, name)
        except _Unusable:
            continue
        entries = _read_manifest(body, root.rsplit("/", 1)[-1] if root else zip_stem, packs)
        if entries is not None:
            found.append((root, entries))
    found.sort(key=lambda f: f[0].count("/") if f[0] else -1)
    out = []
    for root, entries in found:                   # a pack inside another pack is one of its files
        if not any(not r or root.startswith(r + "/") for r, _ in out):
            out.append((root, entries))
    return out


def _zip_pack(label, name, archive, members, entries, unlisted, received, origin) -> Submission:
    """A pack in a zip: `members` (index, path in the pack, info) of what its manifest lists."""
    files, where = {}, {}
    total = sum(info.file_size for _, _, info in members)
    if total > MAX_PACK_BYTES:
        return _refused(label, name, "too-large", f"报送包 {label} 过大（解压后共 {total // 2**20} MB，"
                        f"超过上限 {MAX_PACK_BYTES // 2**20} MB），已拒绝读取", received=received)
    for k, rel, info in members:
        problem = member_problem(info, f"{label}/{rel}", MAX_FILE_BYTES)
        try:
            if problem:
                raise _Unusable(*problem)
            with archive.open(info) as fh:
                files[rel] = _digest(fh, f"{label}/{rel}")[:2]
        except _Unusable as err:
            return _refused(label, name, err.reason, str(err), received=received,
                            stamp=_sha(f"{label}\0{err}".encode("utf-8", "surrogateescape")))
        where[rel] = (origin[0], (*origin[1], k))
    return _pack_submission(label, name, files, where, entries, unlisted, received)


def _pack_dir(root: str, entries: dict, out: Intake) -> None:
    """A pack folder: each file its manifest lists hashed (a file that cannot be read is its own
    row), held to a zip's limits; files beside them that are no submission are named as unlisted."""
    label = readable(root)
    files, where, unlisted, unreadable = {}, {}, [], set()

    def refuse(path, rel, message):
        unreadable.add(rel)
        out.submissions.append(_refused(readable(path), readable(os.path.basename(path)), "unreadable-file", message))

    try:
        names = sorted(os.listdir(root))
    except OSError as err:
        names = []
        refuse(root, "", f"文件夹 {label} 无法读取：{cause(err)}")
    listed = []
    for n in names:
        rel = readable(n)
        if rel in entries or rel in PACK_EXTRAS:
            listed.append((os.path.join(root, n), rel))
        elif not _submits(rel) and os.path.isfile(os.path.join(root, n)):
            unlisted.append(rel)
    listed += [(os.path.join(root, *rel.split("/")), rel) for rel in entries
               if "/" in rel and os.path.lexists(os.path.join(root, *rel.split("/")))]
    sizes = []
    for path, rel in listed:
        try:
            sizes.append(os.stat(path).st_size)
        except (OSError, ValueError):
            sizes.append(0)
    if sum(sizes) > MAX_PACK_BYTES or any(size > MAX_FILE_BYTES for size in sizes):
        out.submissions.append(_refused(label, os.path.basename(label), "too-large",
                                        f"报送包 {label} 过大（其中的文件共 {sum(sizes) // 2**20} MB，超过上限 "
                                        f"{MAX_PACK_BYTES // 2**20} MB），已拒绝读取"))
        return
    received = ""
    for path, rel in listed:
        try:
            fd = os.open(path, _READ_FLAGS)
        except OSError as err:
            refuse(path, rel, f"文件 {readable(path)} 无法打开：{cause(err)}")
            continue
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                refuse(path, rel, f"文件 {readable(path)} 不是普通文件（命名管道、设备或套接字），已拒绝读取")
                continue
            try:
                files[rel] = _digest(fh, readable(path), MAX_FILE_BYTES)[:2]
            except _Unusable as err:
                refuse(path, rel, str(err))
                continue
        if rel == PACK_MANIFEST:
            received = _iso(st.st_mtime)
        where[rel] = (path, ())
    sub = _pack_submission(label, os.path.basename(label), files, where, entries, unlisted, received, unreadable)
    if sub.kind == "workbook" and sub.origin:
        sub.link = os.path.abspath(sub.origin[0])
    out.submissions.append(sub)


def _pack_submission(label: str, name: str, files: dict[str, tuple[str, int]], where: dict, entries,
                     unlisted, received: str, unreadable=()) -> Submission:
    """The pack as one submission: its data file (or workbook) to check, the manifest's
    findings beside it. `files`: rel -> (sha256, size) of what the manifest lists (and the
    manifest); `where`: rel -> origin; `unlisted`: other files in the pack that are no
    submission of their own; `unreadable`: listed files that are rows of their own."""
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode("utf-8", "surrogateescape") + b"\0" + bytes.fromhex(files[rel][0]))
    digest = digest.hexdigest()
    if not entries:
        return _refused(label, name, "pack-manifest",
                        f"报送包 {label} 的 {PACK_MANIFEST} 缺失或无法读取（不是 xltools pack 生成的报送包）",
                        stamp=digest, received=received)
    findings = []
    for rel, want in entries.items():
        got = files.get(rel)
        if got is None:
            if rel not in unreadable:                # unreadable: its own row says so
                findings.append(catalogue.finding("pack-missing", "", rel, file=rel))
        elif got[0] != want:
            findings.append(catalogue.finding("pack-hash", "", rel, expected=want, actual=got[0],
                                              file=rel, manifest=PACK_MANIFEST))
    for rel in unlisted:
        findings.append(catalogue.finding("pack-unlisted", "", rel, file=rel))
    # The data file checks exactly as the workbook would (pack writes it in fill's format).
    chosen = next((r for r in entries if r.lower().endswith(".json") and r in files), None) \
        or next((r for r in entries if r.lower().endswith((".xlsx", ".xlsm")) and r in files), None)
    if chosen is None:
        return _refused(label, name, "pack-empty", f"报送包 {label} 中没有可校验的数据文件或工作簿",
                        stamp=digest, received=received)
    suffix = PurePosixPath(chosen).suffix.lower()
    sha, size = files[chosen]
    return Submission(f"{label}/{chosen}", PurePosixPath(chosen).name, _kind(suffix), sha256=digest, size=size,
                      received=received, suffix=suffix, findings=findings, origin=where[chosen], body_sha256=sha)
