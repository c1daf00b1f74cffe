"""The zip container: the limits a file someone sent is held to, the member names and kinds
Excel calls damaged, and the fixed member time.

The limits are judged on what the central directory declares, before anything is inflated;
zipfile stops inflating a member at its declared size, so a lying header cannot get past. The
reader (xlsx/book.py) refuses a workbook beyond them, collect's intake a zip of submissions
(with its own member and total budget), and the editor refuses to write a package beyond them:
whatever xltools writes, `xltools check` can read.
"""
from __future__ import annotations

import re
import stat

# Report workbooks are tens of kilobytes; these limits only stop hostile or broken files.
MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_MEMBER_BYTES = 50 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 10_000
# XML deflates 5-30x; a sheet of thousands of identical empty styled cells may reach ~150x.
# Zip bombs reach 1000x. The ratio is only judged for members big enough to matter.
MAX_RATIO = 200
RATIO_FLOOR_BYTES = 1024 * 1024
# The XML parts the reader parses cost up to ~60 times their size in memory when they are not in
# the canonical form (ElementTree builds every element). Keeping every check and `--write` under
# 200 MB takes these caps; a report sheet is ~0.1 MB, its shared strings a few hundred KB.
MAX_SHEET_XML_BYTES = 2 * 1024 * 1024
MAX_XML_PART_BYTES = 8 * 1024 * 1024

# Member times of the zips xltools makes reproducibly (the template, pack's zip, new parts): the
# earliest time a zip can hold, so that the same content gives the same bytes.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def part_cap(name: str) -> int:
    """The most a part may inflate to for the reader to parse it."""
    lower = name.lower()
    if "worksheets/" in lower and lower.endswith(".xml"):
        return MAX_SHEET_XML_BYTES
    return MAX_XML_PART_BYTES if lower.endswith((".xml", ".rels")) else MAX_MEMBER_BYTES


def member_problem(info, where: str, max_bytes: int | None = None) -> tuple[str, str] | None:
    """(reason, one Chinese line) when a member may not be inflated: encrypted, bigger than
    `max_bytes` (default MAX_MEMBER_BYTES) or compressed like a zip bomb. `where`: how the user
    finds the member ("文件 a.xlsx 的成员 xl/x.xml", "a.zip/b.xlsx")."""
    max_bytes = MAX_MEMBER_BYTES if max_bytes is None else max_bytes
    if info.flag_bits & 0x1:
        return "encrypted", f"{where} 已加密（设置了密码），无法读取"
    if info.file_size > max_bytes:
        return "zip-bomb", (f"{where} 可疑，已拒绝读取：解压后 {info.file_size // 2**20} MB，"
                            f"超过上限 {max_bytes // 2**20} MB")
    if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        return "zip-bomb", (f"{where} 可疑，已拒绝读取：压缩比 {info.file_size // max(info.compress_size, 1)}:1 "
                            "异常（疑似“压缩炸弹”）")
    return None


def archive_problem(infos, where: str, max_total: int | None = None) -> tuple[str, str] | None:
    """(reason, one Chinese line) when a zip as a whole may not be opened: too many members, or
    more bytes in all than `max_total` (default MAX_TOTAL_BYTES)."""
    max_total = MAX_TOTAL_BYTES if max_total is None else max_total
    if len(infos) > MAX_MEMBERS:
        return "zip-bomb", f"{where} 可疑，已拒绝读取：压缩包有 {len(infos)} 个成员"
    total = sum(i.file_size for i in infos)
    if total > max_total:
        return "zip-bomb", f"{where} 可疑，已拒绝读取：解压后共 {total // 2**20} MB，超过上限 {max_total // 2**20} MB"
    return None


def package_problem(infos, where: str) -> tuple[str, str] | None:
    """The first problem of a workbook's zip (see the two above, and the names below), or None."""
    if len(infos) > MAX_MEMBERS:
        return archive_problem(infos, where)
    seen = set()
    for info in infos:
        problem = name_problem(info, where, seen) or \
            member_problem(info, f"{where} 的成员 {one_line(info.filename)}")
        if problem:
            return problem
    return archive_problem(infos, where)


# A Unix entry keeps its mode in the high 16 bits of external_attr, the file type in the top 4:
# stat.S_ISLNK(external_attr >> 16) without the call.
_LINK = stat.S_IFLNK >> 12
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def name_problem(info, where: str, seen: set) -> tuple[str, str] | None:
    """("damaged", one Chinese line) for a member Excel calls damaged and unpacking programs
    misread, else None (`seen`: the names so far, lowered). Of two members of one name (OPC part
    names are equal ignoring ASCII case) programs read different ones; a symbolic link (S_IFLNK in
    the Unix mode) is no part at all."""
    name = info.orig_filename
    why = _not_a_part_name(name)
    if why:
        return "damaged", f"{where} 已损坏：压缩包成员名 {one_line(name)} {why}，不是 Excel 会写出的部件名，已拒绝读取"
    if info.external_attr >> 28 == _LINK:
        return "damaged", f"{where} 已损坏：压缩包成员 {one_line(name)} 是符号链接，Excel 不会写出这种文件，已拒绝读取"
    key = info.filename.lower()
    if key in seen:
        return "damaged", (f"{where} 已损坏：压缩包中有两个名为 {one_line(name)} 的成员（Excel 会报告文件损坏，"
                           "不同程序读到的可能是不同的内容），已拒绝读取")
    seen.add(key)
    return None


def _not_a_part_name(name: str) -> str | None:
    """Why a member's name is no part name, or None. OPC part names (ECMA-376 Part 2, 9.1.1.1)
    are relative URIs with forward slashes and no empty, "." or ".." segments: `../../x`, `/x`,
    `C:x` or `a\\b` would be written outside the folder a program unpacks into. A directory entry
    (a name ending in /) is harmless and left alone."""
    if "\0" in name:
        return "含有空字符"              # zipfile reads the name up to it: not the name stored
    if "\\" in name:
        return "含有反斜杠"
    if name[:1] == "/":
        return "是绝对路径"
    if name[1:2] == ":" and name[:1].isascii() and name[:1].isalpha():
        return "带有盘符"
    odd = "//" in name or "/." in name or name[:1] == "."      # (the common names need no split)
    if odd and any(seg in ("", ".", "..") for seg in name.rstrip("/").split("/")):
        return "含有 ..、. 或空的路径段"
    return None


def one_line(text: str) -> str:
    """A message naming parts as the file spells them, kept on one line: a member name or a
    relationship target may hold a line break or other control characters."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
