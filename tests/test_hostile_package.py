"""Zips Excel calls damaged, refused as damaged: two members of one name, member names an unpacking
program would write outside its folder (../, an absolute path, a drive letter, backslashes), a
symbolic link. Driven as a bureau clerk runs them (`check`, `score`), and through the API a
collector or an upload uses (bytes): exit 2, one Chinese line naming the file and the member, the
input untouched, nothing written. A zip as Excel and other honest programs write it (directory
entries included) still reads.
"""
from __future__ import annotations

import stat
import warnings
import zipfile
from pathlib import Path

import pytest

from helpers import CJK, SEED, run_cli, sha256, zip_members
import xltools
from xltools.write.fill import fill
from xltools.spec import load_spec

SPEC = load_spec()


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return fill(SEED, tmp_path_factory.mktemp("good") / "good.xlsx", SPEC).path


def _write(path: Path, members: list[tuple]) -> Path:
    """A zip of (name or ZipInfo, bytes) in order, duplicates kept (zipfile warns, and writes them)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, data in members:
            if isinstance(name, zipfile.ZipInfo):
                name.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(name, data)
    return path


def _symlink(name: str) -> zipfile.ZipInfo:
    """What `zip -y` writes for a symbolic link: a Unix entry whose mode says S_IFLNK and whose
    data is the link's target."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def _sheet(members: dict) -> str:
    return next(n for n in members if n.startswith("xl/worksheets/sheet"))


# name -> (what to add to the good workbook's members, a word of the message)
def hostile(members: dict) -> dict[str, tuple[list, str]]:
    sheet = _sheet(members)
    xml = members[sheet]
    other = xml.replace(b"</sheetData>", b'<row r="999"><c r="A999" t="inlineStr"><is><t>x</t></is></c></row></sheetData>')
    assert other != xml
    return {
        # the second copy of the department's sheet, other contents: which one a reader takes depends on the reader
        "same-name": ([(sheet, other)], sheet),
        # OPC part names are equal when equal ignoring ASCII case
        "same-name-other-case": ([(sheet.upper(), xml)], sheet.upper()),
        "dot-dot": ([("../../evil.xml", b"<x/>")], "../../evil.xml"),
        "dot-dot-inside": ([("xl/../../evil.xml", b"<x/>")], "xl/../../evil.xml"),
        "absolute": ([("/etc/cron.d/evil", b"* * * * * root true\n")], "/etc/cron.d/evil"),
        "drive-letter": ([("C:/Windows/evil.xml", b"<x/>")], "C:/Windows/evil.xml"),
        "backslashes": ([("..\\..\\evil.xml", b"<x/>")], "反斜杠"),
        "line-break": ([("xl/a\n../../evil.xml", b"<x/>")], "xl/a\\x0a../../evil.xml"),
        "symlink": ([(_symlink("xl/media/image1.png"), b"/etc/passwd")], "符号链接"),
        "symlink-over-a-part": (None, "符号链接"),      # the sheet itself is the link (built below)
    }


def build(good: Path, tmp: Path, case: str) -> Path:
    members = zip_members(good)
    added, _ = hostile(members)[case]
    if added is None:
        sheet = _sheet(members)
        listed = [(_symlink(n) if n == sheet else n, d) for n, d in members.items()]
    else:
        listed = list(members.items()) + added
    return _write(tmp / f"{case}.xlsx", listed)


CASES = ["same-name", "same-name-other-case", "dot-dot", "dot-dot-inside", "absolute", "drive-letter",
         "backslashes", "line-break", "symlink", "symlink-over-a-part"]


def one_line(done, path: Path) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0] and CJK.search(lines[0]) and "损坏" in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("case", CASES)
def test_check_and_score_refuse_it_as_damaged_with_one_line(case, good, tmp_path):
    path = build(good, tmp_path, case)
    word = hostile(zip_members(good))[case][1]
    before = sha256(path)
    line = one_line(run_cli("check", path), path)
    assert word in line, line
    out = tmp_path / "scored.xlsx"
    one_line(run_cli("score", path, "-o", out), path)
    one_line(run_cli("score", path, "--in-place"), path)
    assert sha256(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]      # nothing written, no temp file left


@pytest.mark.parametrize("case", CASES)
def test_the_api_refuses_it_as_damaged_from_the_path_and_from_the_bytes(case, good, tmp_path):
    path = build(good, tmp_path, case)
    by_path = xltools.check(path, SPEC)
    by_bytes = xltools.check(path.read_bytes(), SPEC, name=path.name)
    assert (by_path.ok, by_path.refused, by_path.findings) == (False, "damaged", [])
    assert (by_bytes.refused, by_bytes.message) == ("damaged", by_path.message.replace(str(path), path.name))
    assert "\n" not in by_path.message


def test_a_zip_as_honest_programs_write_it_still_reads(good, tmp_path):
    """Directory entries (what `zip -r` of an unpacked folder writes), members in another order,
    stored instead of deflated: nothing Excel refuses, so nothing we refuse."""
    members = zip_members(good)
    folders = sorted({n.rsplit("/", 1)[0] + "/" for n in members if "/" in n})
    listed = [(f, b"") for f in folders] + sorted(members.items(), reverse=True)
    path = tmp_path / "folders.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in listed:
            z.writestr(name, data)
    assert xltools.check(path, SPEC).flat() == xltools.check(good, SPEC).flat()
    assert xltools.check(path, SPEC).refused is None
