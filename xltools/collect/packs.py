"""Packs (`xltools pack`) as they come back: a folder, or a folder in a zip (zips.py), holding
manifest.json that lists every output with its sha256, named as a spec's `[pack] name` says (2022:
`{年度}_{单位}_绩效自评/`) or saying it was made by xltools pack. Zips made by real tools are read
alike: backslashes in member names (PowerShell 5), no top folder, other files beside the pack. A
pack is one submission: its data file (or workbook) is checked, and every output whose bytes do
not match the manifest is an error finding. A pack is held to the limits of a zip."""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import string
from pathlib import PurePosixPath

from .. import catalogue
from ..files import cause
from ..ooxml.container import MAX_FILE_BYTES, MAX_TOTAL_BYTES
from ..pack.run import GENERATOR, MANIFEST as PACK_MANIFEST, SUMS
from .submission import READ_FLAGS, Intake, Submission, Unusable, digest, iso, kind, readable, refused, submits

PACK_EXTRAS = {PACK_MANIFEST, SUMS}
# The catalogue codes of a received pack checked against its manifest (pack_submission).
CODES = ("pack-missing", "pack-hash", "pack-unlisted")
# A pack is one unit's report: its PDFs, a workbook and a data file (a few MB); folder or zip,
# it may hold no more than a workbook's zip.
MAX_PACK_BYTES = MAX_TOTAL_BYTES
MAX_MANIFEST_BYTES = 4 * 1024 ** 2


def pack_names(templates) -> re.Pattern:
    """What a pack's folder is named by the specs' `[pack] name` templates ({year}_{unit}_绩效自评)."""
    fields = {"year": r"\d{4}", "unit": r".+"}
    alternatives = ["".join(re.escape(text) + (fields[name] if name else "")
                            for text, name, _, _ in string.Formatter().parse(t)) for t in dict.fromkeys(templates)]
    return re.compile("|".join(f"(?:{a})" for a in alternatives) or "(?!)")



def manifest_entries(doc) -> dict[str, str]:
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
            sha = item.get("sha256") or item.get("hash") or ""
            if isinstance(path, str) and path and isinstance(sha, str):
                entries[path.replace("\\", "/")] = sha.split(":", 1)[-1].lower()
    return entries


def read_manifest(body: bytes, folder_name: str, packs: re.Pattern) -> dict[str, str] | None:
    """The entries of a pack's manifest, or None when it is no pack's: a pack's manifest lists
    its files, and its folder is named as a pack or the manifest says xltools pack made it."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    entries = manifest_entries(doc)
    if not entries:
        return None
    ours = isinstance(doc, dict) and doc.get("generator") == GENERATOR
    return entries if ours or packs.fullmatch(folder_name) else None


def pack_dir_entries(path: str, packs: re.Pattern) -> dict[str, str] | None:
    """The entries of the pack in folder `path` (it holds manifest.json), or None when the
    manifest is no pack's. A folder named as a pack whose manifest cannot be read is a pack (it
    is refused, with the reason): {}."""
    try:
        with open(os.path.join(path, PACK_MANIFEST), "rb") as fh:
            body = fh.read(MAX_MANIFEST_BYTES + 1)
    except (OSError, ValueError):
        body = b""
    entries = read_manifest(body, readable(os.path.basename(path)), packs) \
        if len(body) <= MAX_MANIFEST_BYTES else None
    if entries is None and packs.fullmatch(readable(os.path.basename(path))):
        return {}
    return entries


def pack_dir(root: str, entries: dict, out: Intake) -> None:
    """A pack folder: each file its manifest lists hashed (a file that cannot be read is its own
    row), held to a zip's limits; files beside them that are no submission are named as unlisted."""
    label = readable(root)
    files, where, unlisted, unreadable = {}, {}, [], set()

    def refuse(path, rel, message):
        unreadable.add(rel)
        out.submissions.append(refused(readable(path), readable(os.path.basename(path)), "unreadable-file", message))

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
        elif not submits(rel) and os.path.isfile(os.path.join(root, n)):
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
        out.submissions.append(refused(label, os.path.basename(label), "too-large",
                                        f"报送包 {label} 过大（其中的文件共 {sum(sizes) // 2**20} MB，超过上限 "
                                        f"{MAX_PACK_BYTES // 2**20} MB），已拒绝读取"))
        return
    received = ""
    for path, rel in listed:
        try:
            fd = os.open(path, READ_FLAGS)
        except OSError as err:
            refuse(path, rel, f"文件 {readable(path)} 无法打开：{cause(err)}")
            continue
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                refuse(path, rel, f"文件 {readable(path)} 不是普通文件（命名管道、设备或套接字），已拒绝读取")
                continue
            try:
                files[rel] = digest(fh, readable(path), MAX_FILE_BYTES)[:2]
            except Unusable as err:
                refuse(path, rel, str(err))
                continue
        if rel == PACK_MANIFEST:
            received = iso(st.st_mtime)
        where[rel] = (path, ())
    sub = pack_submission(label, os.path.basename(label), files, where, entries, unlisted, received, unreadable)
    if sub.kind == "workbook" and sub.origin:
        sub.link = os.path.abspath(sub.origin[0])
    out.submissions.append(sub)


def pack_submission(label: str, name: str, files: dict[str, tuple[str, int]], where: dict, entries,
                     unlisted, received: str, unreadable=()) -> Submission:
    """The pack as one submission: its data file (or workbook) to check, the manifest's
    findings beside it. `files`: rel -> (sha256, size) of what the manifest lists (and the
    manifest); `where`: rel -> origin; `unlisted`: other files in the pack that are no
    submission of their own; `unreadable`: listed files that are rows of their own."""
    whole = hashlib.sha256()
    for rel in sorted(files):
        whole.update(rel.encode("utf-8", "surrogateescape") + b"\0" + bytes.fromhex(files[rel][0]))
    stamp = whole.hexdigest()
    if not entries:
        return refused(label, name, "pack-manifest",
                        f"报送包 {label} 的 {PACK_MANIFEST} 缺失或无法读取（不是 xltools pack 生成的报送包）",
                        stamp=stamp, received=received)
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
        return refused(label, name, "pack-empty", f"报送包 {label} 中没有可校验的数据文件或工作簿",
                        stamp=stamp, received=received)
    suffix = PurePosixPath(chosen).suffix.lower()
    sha, size = files[chosen]
    return Submission(f"{label}/{chosen}", PurePosixPath(chosen).name, kind(suffix), sha256=stamp, size=size,
                      received=received, suffix=suffix, findings=findings, origin=where[chosen], body_sha256=sha)
