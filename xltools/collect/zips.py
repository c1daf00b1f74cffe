"""Zips of submissions: read where they lie (a member is never extracted), held to the limits and
checks of workbooks (xltools/ooxml/container.py) on what the central directory declares before
anything is inflated (zipfile stops inflating a member at its declared size, so a lying header
cannot get past either). A member may be as big as a workbook file, and all of them together
MAX_ZIP_TOTAL_BYTES. A zip is recognised by what it holds: a workbook named .zip is a workbook;
a pack in a zip is one submission (packs.py); a zip of thousands of junk members is one row."""
from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import PurePosixPath

from ..files import cause
from ..ooxml.container import MAX_FILE_BYTES, archive_problem, member_problem
from .packs import MAX_MANIFEST_BYTES, MAX_PACK_BYTES, PACK_EXTRAS, PACK_MANIFEST, pack_submission, read_manifest
from .submission import (ZIP_SUFFIXES, Intake, Submission, Unusable, digest, is_temp, kind, looks_like, refused,
                         sha256_of, submits)

# What a zip of submissions may hold in all, inflated (each member is also held to the workbook
# limits); a province's season fits many times over.
MAX_ZIP_TOTAL_BYTES = 2 * 1024 ** 3
# Members of one zip refused before any check (not a workbook's format, empty, over a limit)
# beyond which they are one row for the zip.
MAX_REFUSED_MEMBERS = 20
_UTF8_FLAG = 0x800


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



def open_zip(label: str, source):
    """(ZipFile, infos) or raises Unusable: the same central-directory limits as a workbook."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, IndexError,
            OverflowError, NotImplementedError, RuntimeError):
        raise Unusable("damaged", f"压缩包 {label} 已损坏或不完整，无法打开，请重新打包或重新下载") from None
    problem = archive_problem(infos, f"压缩包 {label}", MAX_ZIP_TOTAL_BYTES)
    if problem:
        raise Unusable(*problem)
    return archive, infos


def whole_sha(source) -> str:
    if isinstance(source, bytes):
        return sha256_of(source)
    source.seek(0)
    return digest(source, "", limit=1 << 62)[0]


def zip_submissions(label: str, source, received: str, out: Intake, origin: tuple, link: str | None) -> None:
    """The submissions in a zip: `source` its file (seekable) or bytes (a member of another zip),
    `origin` where it is."""
    try:
        archive, infos = open_zip(label, source)
    except Unusable as err:
        out.submissions.append(refused(label, PurePosixPath(label).name, err.reason, str(err),
                                        stamp=whole_sha(source), received=received))
        return
    names = [member_name(i) for i in infos]
    if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
        # a workbook someone named .zip (or saved without its suffix): checked as the workbook it is
        whole = whole_sha(source)
        size = source.seek(0, 2) if not isinstance(source, bytes) else len(source)
        out.submissions.append(Submission(label, PurePosixPath(label).name, "workbook", sha256=whole, size=size,
                                          received=received, suffix=".xlsx", origin=origin))
        return
    members = [(k, name, info) for k, (name, info) in enumerate(zip(names, infos)) if not info.is_dir()]
    claimed: set[int] = set()
    packs = manifests(archive, members, PurePosixPath(label).stem, out.packs)
    for root, entries in packs:
        prefix = root + "/" if root else ""
        inside, unlisted = [], []
        for k, n, i in members:
            if k in claimed or not n.startswith(prefix):
                continue
            rel = n[len(prefix):]
            if rel in entries or rel in PACK_EXTRAS:
                inside.append((k, rel, i))
            elif not submits(rel):
                unlisted.append(rel)
        claimed.update(k for k, _, _ in inside)
        where = f"{label}/{root}" if root and len(packs) > 1 else label   # a zip of one pack is that pack
        out.submissions.append(zip_pack(where, PurePosixPath(where).name, archive, inside, entries, unlisted,
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
        if not submits(leaf):
            out.other_skipped += not any(not r or name.startswith(r + "/") for r, _ in packs)
            continue
        inner = f"{label}/{name}"
        here = (origin[0], (*origin[1], k))
        problem = member_problem(info, inner, MAX_FILE_BYTES)
        if problem is None and suffix in ZIP_SUFFIXES and len(origin[1]) >= 1:
            problem = ("nested-zip", f"{inner} 是压缩包中压缩包里的压缩包，只解开一层嵌套，请直接提交其中的工作簿")
        stamp = sha256_of(f"{inner}\0{info.CRC}\0{info.file_size}".encode("utf-8", "surrogateescape"))
        if problem:                               # identified without inflating it
            junk.append(refused(inner, leaf, *problem, stamp=stamp, received=received))
            continue
        try:
            if suffix in ZIP_SUFFIXES:
                body = member_bytes(archive, info, inner)
                zip_submissions(inner, body, received, out, here, None)
                continue
            with archive.open(info) as fh:
                sha, size, head = digest(fh, inner)
        except Unusable as err:
            junk.append(refused(inner, leaf, err.reason, str(err), stamp=stamp, received=received))
            continue
        sub = Submission(inner, leaf, kind(suffix), sha256=sha, size=size, received=received, suffix=suffix,
                         origin=here)
        (out.submissions if looks_like(suffix, head) else junk).append(sub)
    if len(junk) <= MAX_REFUSED_MEMBERS:
        out.submissions.extend(junk)
        return
    shown = "、".join(s.name for s in junk[:3])
    out.submissions.append(refused(
        label, PurePosixPath(label).name, "junk-members",
        f"压缩包 {label} 中有 {len(junk)} 个成员不是工作簿或数据文件（为空、格式不符、损坏或可疑，如 {shown}），"
        "合为这一行，未逐个收取；请只打包要报送的工作簿",
        stamp=sha256_of("\0".join(["junk", label, *(s.sha256 for s in junk)]).encode("utf-8", "surrogateescape")),
        received=received))


def member_bytes(archive, info, label: str) -> bytes:
    try:
        with archive.open(info) as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError):
        raise Unusable("damaged", f"{label} 已损坏：无法解压（校验失败或数据不完整）") from None
    if len(data) > MAX_FILE_BYTES:
        raise Unusable("too-large", f"{label} 过大（超过 {MAX_FILE_BYTES // 2**20} MB），不是报表，已拒绝读取")
    return data


def read_member(path: str | bytes, members: tuple[int, ...], label: str, opened: dict | None = None) -> bytes:
    """The bytes of the member at `members` (an index in each zip, outermost first) of the zip
    file at `path` (or the zip's bytes), under the limits intake held it to; Unusable if it
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
            raise Unusable("unreadable-file", f"{label} 读取失败：{cause(err)}") from None
        files, archive = [fh], None
        try:
            archive, _ = open_zip(label, fh)
            for k in members[:-1]:
                archive, _ = open_zip(label, member_bytes(archive, archive.infolist()[k], label))
        except BaseException:
            fh.close()
            raise
        opened.update(key=key, files=files, archive=archive)
    archive = opened["archive"]
    info = archive.infolist()[members[-1]]
    problem = member_problem(info, label, MAX_FILE_BYTES)
    if problem:
        raise Unusable(*problem)
    return member_bytes(archive, info, label)


def manifests(archive, members, zip_stem: str, packs: re.Pattern):
    """(root, entries) of every pack in a zip, outermost first: the folder of each manifest.json
    that is a pack's ("" when the pack's files are the zip's top level, named by the zip)."""
    found = []
    for k, name, info in members:
        root, _, leaf = name.rpartition("/")
        if leaf != PACK_MANIFEST or info.file_size > MAX_MANIFEST_BYTES or member_problem(info, name):
            continue
        try:
            body = member_bytes(archive, info, name)
        except Unusable:
            continue
        entries = read_manifest(body, root.rsplit("/", 1)[-1] if root else zip_stem, packs)
        if entries is not None:
            found.append((root, entries))
    found.sort(key=lambda f: f[0].count("/") if f[0] else -1)
    out = []
    for root, entries in found:                   # a pack inside another pack is one of its files
        if not any(not r or root.startswith(r + "/") for r, _ in out):
            out.append((root, entries))
    return out


def zip_pack(label, name, archive, members, entries, unlisted, received, origin) -> Submission:
    """A pack in a zip: `members` (index, path in the pack, info) of what its manifest lists."""
    files, where = {}, {}
    total = sum(info.file_size for _, _, info in members)
    if total > MAX_PACK_BYTES:
        return refused(label, name, "too-large", f"报送包 {label} 过大（解压后共 {total // 2**20} MB，"
                        f"超过上限 {MAX_PACK_BYTES // 2**20} MB），已拒绝读取", received=received)
    for k, rel, info in members:
        problem = member_problem(info, f"{label}/{rel}", MAX_FILE_BYTES)
        try:
            if problem:
                raise Unusable(*problem)
            with archive.open(info) as fh:
                files[rel] = digest(fh, f"{label}/{rel}")[:2]
        except Unusable as err:
            return refused(label, name, err.reason, str(err), received=received,
                            stamp=sha256_of(f"{label}\0{err}".encode("utf-8", "surrogateescape")))
        where[rel] = (origin[0], (*origin[1], k))
    return pack_submission(label, name, files, where, entries, unlisted, received)
