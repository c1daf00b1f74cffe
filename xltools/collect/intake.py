"""Submissions as they arrive: folders, files, zips (zips.py), packs (packs.py), uploads.

Nothing is extracted to disk (a member name like `../../x` or an absolute path is only ever a
label), and nothing is held: intake reads each file and member once, streaming, for its sha256
and size, and remembers where it is (`Submission.origin`: a file's path and the index of the
member in each zip around it). Whoever checks it reads it again from there (run.py, worker.py).
A loose file the ledger knows unchanged (path, size, modification time) is not read again.

A file name's bytes that are not UTF-8 (GBK, as `unzip` on Linux leaves the names of a zip from
Chinese Windows) are read as GB18030 for the label; the exact path stays in `origin` and `link`.
A file that cannot be read, wherever it is (a folder, a pack), is a submission of its own,
refused with the reason.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import PurePosixPath

from ..checker import DATA_SUFFIXES
from ..errors import BookError, XltoolsError
from ..files import cause
from ..ooxml.container import MAX_FILE_BYTES
from .packs import PACK_EXTRAS, PACK_MANIFEST, pack_dir, pack_dir_entries, pack_names
from .submission import (READ_FLAGS, WORKBOOK_SUFFIXES, ZIP_SUFFIXES, Intake, Submission, Unusable, digest, is_temp,
                         iso, kind, readable, refused, sha256_of)
from .zips import read_member, zip_submissions


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
            pack_dir(f[1], f[2], out)
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
        found.append(refused(label, os.path.basename(label), "unreadable-file",
                              f"文件夹 {label} 无法读取：{cause(err)}，其中的文件未能收取"))

    for here, dirnames, filenames in os.walk(root, onerror=unreadable):
        dirnames.sort()
        claimed: set[str] = set()
        entries = pack_dir_entries(here, out.packs) if PACK_MANIFEST in filenames else None
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
        found.append(refused(label, readable(name), "unreadable-file", f"文件 {label} 无法打开：{cause(err)}"))
        return
    except ValueError:                        # a NUL byte in the name
        label = readable(path)
        found.append(refused(label, readable(name), "unreadable-file", f"文件 {label} 无法打开：文件名无效"))
        return
    found.append(("file", path, st))


def _file(path: str, st, out: Intake) -> None:
    label, name = readable(path), readable(os.path.basename(path))
    suffix = os.path.splitext(name)[1].lower()
    start = len(out.submissions)
    received = iso(st.st_mtime)
    link = os.path.abspath(path)
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError as err:
        out.submissions.append(refused(label, name, "unreadable-file", f"文件 {label} 无法打开：{cause(err)}"))
        return
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            out.submissions.append(refused(label, name, "unreadable-file",
                                            f"文件 {label} 不是普通文件（命名管道、设备或套接字），已拒绝读取"))
            return
        if st.st_size > MAX_FILE_BYTES:
            out.submissions.append(refused(label, name, "too-large", f"文件 {label} 过大（{st.st_size // 2**20} MB），"
                                            "不是报表，已拒绝读取", received=received))
            return
        try:
            if suffix in ZIP_SUFFIXES:
                zip_submissions(label, fh, received, out, (path, ()), link)
            else:
                sha, size, _ = digest(fh, label)
                out.submissions.append(Submission(label, name, kind(suffix), sha256=sha, size=size, received=received,
                                                  link=link, suffix=suffix, origin=(path, ())))
        except Unusable as err:
            del out.submissions[start:]
            out.submissions.append(refused(label, name, err.reason, str(err), received=received))
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
        out.submissions.append(refused(label, name, "too-large", f"文件 {label} 过大（{len(data) // 2**20} MB），"
                                        "不是报表，已拒绝读取", stamp=sha256_of(data), received=received))
    elif suffix in ZIP_SUFFIXES:
        zip_submissions(label, data, received, out, ("", ()), None)
    elif suffix in WORKBOOK_SUFFIXES | DATA_SUFFIXES:
        out.submissions.append(Submission(label, name, kind(suffix), data, sha256_of(data), len(data), received, None,
                                          suffix))
    subs = out.submissions
    if len(subs) == 1 and subs[0].kind != "refused" and not subs[0].data:
        try:          # a member (a workbook named .zip is the upload itself)
            subs[0].data = read_member(data, subs[0].origin[1], subs[0].label) if subs[0].origin[1] else data
        except BookError as err:
            subs[0] = refused(subs[0].label, subs[0].name, err.reason, str(err), received=received)
    return subs
