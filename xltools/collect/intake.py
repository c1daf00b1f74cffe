"""Submissions as they arrive: folders, zips (GBK names from Chinese Windows), nested zips, packs.

Everything is read into memory, never extracted to disk (a member name like `../../x` or an
absolute path is only ever a label). Zips are held to the limits and checks of workbooks
(xltools/ooxml/container.py): member count, compression ratio, checked on what the central
directory declares before anything is inflated (zipfile stops inflating a member at its declared
size, so a lying header cannot get past either); a member may be as big as a workbook file, and
all of them together MAX_ZIP_TOTAL_BYTES.

A pack (`xltools pack`): a folder named as a spec's `[pack] name` says (2022: `{年度}_{单位}_绩效自评/`),
loose or zipped, whose manifest.json lists every output with its sha256. The pack is one submission: its data file (or workbook) is
checked, and every output whose bytes do not match the manifest is an error finding.
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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .. import catalogue
from ..errors import XltoolsError
from ..checker import DATA_SUFFIXES
from ..findings import Finding
from ..ooxml.container import MAX_FILE_BYTES, archive_problem, member_problem
from ..pack.run import MANIFEST as PACK_MANIFEST, SUMS

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
_UTF8_FLAG = 0x800

@dataclass
class Submission:
    label: str                    # how the user finds it: a path, or `a.zip/成员.xlsx`
    name: str                     # the file name alone
    kind: str                     # "workbook", "data", or "refused" (unusable before any check)
    data: bytes = b""             # the bytes to check
    sha256: str = ""              # of the submitted bytes (of the whole pack for a pack)
    size: int = 0
    received: str = ""            # ISO time the file arrived (its modification time)
    link: str | None = None       # absolute path of a loose file: hyperlinks open it
    suffix: str = ""
    findings: list[Finding] = field(default_factory=list)   # from intake (a pack's manifest)
    refused: str | None = None
    message: str = ""


@dataclass
class Intake:
    packs: re.Pattern             # the names a pack's folder may have (pack_names)
    submissions: list[Submission] = field(default_factory=list)
    temp_skipped: int = 0         # ~$x.xlsx, .~lock.x#
    other_skipped: int = 0        # PDFs, Word files… beside the workbooks


def pack_names(templates) -> re.Pattern:
    """What a pack's folder is named by the specs' `[pack] name` templates ({year}_{unit}_绩效自评)."""
    fields = {"year": r"\d{4}", "unit": r".+"}
    alternatives = ["".join(re.escape(text) + (fields[name] if name else "")
                            for text, name, _, _ in string.Formatter().parse(t)) for t in dict.fromkeys(templates)]
    return re.compile("|".join(f"(?:{a})" for a in alternatives) or "(?!)")


def is_temp(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in TEMP_PATTERNS)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")


def member_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its writer meant it. Without the UTF-8 flag zipfile decodes cp437;
    Chinese Windows writes GBK there (and some tools UTF-8 without the flag): the raw bytes are
    tried as UTF-8 first (GBK text is almost never valid UTF-8), then as GB18030 (GBK's superset)."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return info.filename


def collect_inputs(paths, exclude=(), packs: re.Pattern | None = None) -> Intake:
    """Every submission under `paths`, in a stable order. A path that does not exist is a
    usage error (raised before anything runs); everything else becomes a submission. `packs`:
    pack_names() of the specs in use (default: those that come with xltools)."""
    if packs is None:
        from ..spec.registry import Registry
        packs = pack_names(s.pack_name for s in Registry.packaged().specs())
    out = Intake(packs)
    excluded: dict[str, set[str]] = {}          # file name -> resolved paths not to read (our outputs)
    for p in exclude:
        real = os.path.realpath(p)
        excluded.setdefault(os.path.basename(real), set()).add(real)
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise XltoolsError(f"输入 {p} 不存在")
        if path.is_dir():
            _walk(path, out, excluded)
        else:
            _file(path, out, excluded)
    return out


def _walk(root: Path, out: Intake, excluded: dict) -> None:
    if _is_pack_dir(root, out.packs):
        out.submissions.append(_pack_dir(root))
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        here = Path(dirpath)
        for d in list(dirnames):
            if _is_pack_dir(here / d, out.packs):
                dirnames.remove(d)
                out.submissions.append(_pack_dir(here / d))
        for name in sorted(filenames):
            _file(here / name, out, excluded)


def _file(path: Path, out: Intake, excluded: dict) -> None:
    name, suffix = path.name, path.suffix.lower()
    # Only a file named like the summary or its ledger can be one of them: resolve just those.
    if name in excluded and os.path.realpath(path) in excluded[name]:
        return
    if is_temp(name):
        out.temp_skipped += 1
        return
    if suffix not in WORKBOOK_SUFFIXES | DATA_SUFFIXES | ZIP_SUFFIXES:
        out.other_skipped += 1
        return
    label = str(path)
    try:
        # One open and one fstat: thousands of files per run. O_NONBLOCK: a FIFO dropped in the
        # inbox must not hang the run (it is refused below, as a device or socket is).
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                out.submissions.append(_refused(label, name, "unreadable-file",
                                                f"文件 {label} 不是普通文件（命名管道、设备或套接字），已拒绝读取"))
                return
            received = datetime.fromtimestamp(st.st_mtime, timezone.utc).isoformat(timespec="seconds")
            if st.st_size > MAX_FILE_BYTES:
                out.submissions.append(_refused(label, name, "too-large", f"文件 {label} 过大（{st.st_size // 2**20} MB），"
                                                "不是报表，已拒绝读取", received=received))
                return
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        out.submissions.append(_refused(label, name, "unreadable-file", f"文件 {label} 无法打开：{err.strerror}"))
        return
    link = os.path.abspath(label)
    if suffix in ZIP_SUFFIXES:
        _zip(label, data, received, out, depth=0, link=link)
        return
    out.submissions.append(Submission(label, name, "data" if suffix in DATA_SUFFIXES else "workbook", data,
                                      _sha(data), len(data), received, link, suffix))


def from_bytes(label: str, data: bytes, received: str, packs: re.Pattern) -> list[Submission]:
    """The submissions in one file received as bytes (a web upload named `label`): a workbook, a
    data file, a zip of them or a pack zip, under the limits a file found on disk gets. `packs`:
    pack_names() of the specs in use."""
    out = Intake(packs)
    name, suffix = Path(label).name, Path(label).suffix.lower()
    if len(data) > MAX_FILE_BYTES:
        out.submissions.append(_refused(label, name, "too-large", f"文件 {label} 过大（{len(data) // 2**20} MB），"
                                        "不是报表，已拒绝读取", data=data, received=received))
    elif suffix in ZIP_SUFFIXES:
        _zip(label, data, received, out, depth=0, link=None)
    elif suffix in WORKBOOK_SUFFIXES | DATA_SUFFIXES:
        out.submissions.append(Submission(label, name, "data" if suffix in DATA_SUFFIXES else "workbook", data,
                                          _sha(data), len(data), received, None, suffix))
    return out.submissions


def _refused(label, name, code, message, data=b"", received="") -> Submission:
    return Submission(label, name, "refused", b"", _sha(data or label.encode()), len(data), received,
                      refused=code, message=message)


def _open_zip(label: str, data: bytes):
    """(ZipFile, infos) or a refusal message: the same central-directory limits as a workbook."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, IndexError,
            OverflowError, NotImplementedError, RuntimeError):
        return None, ("damaged", f"压缩包 {label} 已损坏或不完整，无法打开，请重新打包或重新下载")
    problem = archive_problem(infos, f"压缩包 {label}", MAX_ZIP_TOTAL_BYTES)
    if problem:
        return None, problem
    return archive, infos


def _read_member(archive, info, label: str) -> bytes | tuple[str, str]:
    try:
        with archive.open(info) as fh:
            return fh.read(MAX_FILE_BYTES + 1)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError):
        return "damaged", f"{label} 已损坏：无法解压（校验失败或数据不完整）"


def _zip(label: str, data: bytes, received: str, out: Intake, depth: int, link: str | None) -> None:
    archive, infos = _open_zip(label, data)
    if archive is None:
        out.submissions.append(_refused(label, Path(label).name, *infos, data=data, received=received))
        return
    named = [(member_name(i), i) for i in infos if not i.is_dir()]
    pack_root = _pack_root([n for n, _ in named], out.packs)
    if pack_root is not None:
        out.submissions.append(_pack(label, data, received, dict(named), pack_root, archive))
        return
    for name, info in named:
        leaf = name.replace("\\", "/").rsplit("/", 1)[-1]
        suffix = Path(leaf).suffix.lower()
        if is_temp(leaf) or "__MACOSX/" in name:
            out.temp_skipped += 1
            continue
        if suffix not in WORKBOOK_SUFFIXES | DATA_SUFFIXES | ZIP_SUFFIXES:
            out.other_skipped += 1
            continue
        inner = f"{label}/{name}"
        problem = member_problem(info, inner, MAX_FILE_BYTES)
        if problem is None and suffix in ZIP_SUFFIXES and depth >= 1:
            problem = ("nested-zip", f"{inner} 是压缩包中压缩包里的压缩包，只解开一层嵌套，请直接提交其中的工作簿")
        body = None if problem else _read_member(archive, info, inner)
        if isinstance(body, tuple):
            problem = body
        if problem:
            stamp = f"{inner}\0{info.CRC}\0{info.file_size}".encode()   # identifies it without inflating it
            out.submissions.append(_refused(inner, leaf, *problem, data=stamp, received=received))
            continue
        if suffix in ZIP_SUFFIXES:
            _zip(inner, body, received, out, depth + 1, None)
            continue
        out.submissions.append(Submission(inner, leaf, "data" if suffix in DATA_SUFFIXES else "workbook", body,
                                          _sha(body), len(body), received, None, suffix))


# -- packs ------------------------------------------------------------------------------------

def _is_pack_dir(path: Path, packs: re.Pattern) -> bool:
    return packs.fullmatch(path.name) is not None and (path / PACK_MANIFEST).is_file()


def _pack_root(names: list[str], packs: re.Pattern) -> str | None:
    """The pack folder when a zip holds exactly one folder named as a pack, with a manifest."""
    roots = {n.split("/", 1)[0] for n in names}
    if len(roots) == 1:
        root = roots.pop()
        if packs.fullmatch(root) and f"{root}/{PACK_MANIFEST}" in names:
            return root
    return None


def _pack_dir(root: Path) -> Submission:
    files = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.stat().st_size <= MAX_FILE_BYTES:
            files[p.relative_to(root).as_posix()] = p.read_bytes()
    whole = hashlib.sha256()
    for rel, body in files.items():
        whole.update(rel.encode() + b"\0" + hashlib.sha256(body).digest())
    sub = _pack_submission(str(root), root.name, files, whole.hexdigest(), _mtime(root / PACK_MANIFEST))
    if sub.kind == "workbook" and sub.suffix in WORKBOOK_SUFFIXES:
        sub.link = str((root / sub.name).resolve())
    return sub


def _pack(label, data, received, named: dict, root: str, archive) -> Submission:
    files = {}
    for name, info in named.items():
        rel = name[len(root) + 1:]
        problem = member_problem(info, f"{label}/{name}", MAX_FILE_BYTES)
        body = _read_member(archive, info, f"{label}/{name}") if problem is None else problem
        if isinstance(body, tuple):
            return _refused(label, Path(label).name, *body, data=data, received=received)
        files[rel] = body
    return _pack_submission(label, Path(label).name, files, _sha(data), received)


def _manifest_entries(doc) -> dict[str, str]:
    """{path: sha256} from a manifest: a list of outputs under "files", "outputs" or "resources",
    each with a path ("path"/"name") and a hash ("sha256", or "hash" as "sha256:…")."""
    entries = {}
    for key in ("files", "outputs", "resources"):
        items = doc.get(key) if isinstance(doc, dict) else None
        if isinstance(items, dict):
            items = [{"path": k, **(v if isinstance(v, dict) else {"sha256": v})} for k, v in items.items()]
        for item in items or []:
            if not isinstance(item, dict):
                continue
            path = item.get("path") or item.get("name")
            digest = item.get("sha256") or item.get("hash") or ""
            if path and isinstance(digest, str):
                entries[str(path)] = digest.split(":", 1)[-1].lower()
    return entries


def _pack_submission(label: str, name: str, files: dict[str, bytes], digest: str, received: str) -> Submission:
    try:
        manifest = json.loads(files[PACK_MANIFEST].decode("utf-8-sig"))
        entries = _manifest_entries(manifest)
    except (KeyError, UnicodeDecodeError, json.JSONDecodeError):
        entries = None
    if not entries:
        return _refused(label, name, "pack-manifest", f"报送包 {label} 的 {PACK_MANIFEST} 缺失或无法读取（不是 xltools pack 生成的报送包）",
                        data=digest.encode(), received=received)
    findings = []
    for rel, want in entries.items():
        body = files.get(rel)
        if body is None:
            findings.append(catalogue.finding("pack-missing", "", rel, file=rel))
        elif hashlib.sha256(body).hexdigest() != want:
            findings.append(catalogue.finding("pack-hash", "", rel, expected=want, actual=hashlib.sha256(body).hexdigest(),
                                              file=rel, manifest=PACK_MANIFEST))
    for rel in files:
        if rel not in entries and rel not in PACK_EXTRAS:
            findings.append(catalogue.finding("pack-unlisted", "", rel, file=rel))
    # The data file checks exactly as the workbook would (pack writes it in fill's format).
    chosen = next((r for r in entries if r.lower().endswith(".json") and r in files), None) \
        or next((r for r in entries if r.lower().endswith((".xlsx", ".xlsm")) and r in files), None)
    if chosen is None:
        return _refused(label, name, "pack-empty", f"报送包 {label} 中没有可校验的数据文件或工作簿",
                        data=digest.encode(), received=received)
    body = files[chosen]
    suffix = Path(chosen).suffix.lower()
    return Submission(f"{label}/{chosen}", chosen, "data" if suffix in DATA_SUFFIXES else "workbook", body,
                      digest, len(body), received, None, suffix, findings)
