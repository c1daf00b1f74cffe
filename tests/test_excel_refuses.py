"""What Excel refuses, we refuse; what Excel opens, we read (issue 19, the cells of a sheet).

- A cell written twice (two <c r="B12">) or a cell whose reference is no cell's (r="B012",
  "12B", "XFE12"...) makes Excel report the file as damaged: `xltools check` refuses it with
  exit 2 and one Chinese line naming the file, the sheet and the cell, leaving the file as it was.
- A sheet whose 600,000 rows all carry a format and a height ("select all rows, set the height":
  38 MB of XML around the report's cells) opens in Excel: it is read, streamed, with the findings
  of the same workbook without those rows, and its peak memory stays under 200 MB.

Memory is measured as in test_bad_input.py: a wrapper process whose only child is `xltools`.
"""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

import xltools
from helpers import CJK, SEED, run_measured, sha256, sheet_parts, zip_members, rezip
from xltools.a1 import column_letters, split_a1
from xltools.spec import load_spec
from xltools.write.fill import fill

SPEC = load_spec()
DEPT = SPEC.reports["dept"]
INPUT = DEPT.fields["staff_quota"].cell                # a figure the checker reads
_row, _col = split_a1(INPUT)
LABEL = column_letters(_col - 1) + str(_row)            # the label beside it, which it never reads
PEAK_LIMIT_KB = 200 * 1024
ROWS = 600_000


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return fill(SEED, tmp_path_factory.mktemp("good") / "good.xlsx", SPEC).path


def _cell(xml: bytes, ref: str) -> re.Match:
    m = re.search(rb'<c r="' + ref.encode() + rb'"(?:[^>]*/>|[^>]*>.*?</c>)', xml, re.S)
    assert m, ref
    return m


def _edited(good: Path, path: Path, edit) -> Path:
    """The good workbook with its department sheet's XML passed through edit(xml)."""
    members = zip_members(good)
    part = sheet_parts(good)[DEPT.sheet]
    members[part] = edit(members[part])
    return rezip(members, path)


def twice(xml: bytes, ref: str, value: bytes | None) -> bytes:
    """`ref` written a second time right after itself, with another value (or the same cell)."""
    m = _cell(xml, ref)
    again = m.group(0) if value is None else re.sub(rb"<v>[^<]*</v>", b"<v>" + value + b"</v>", m.group(0))
    assert value is None or again != m.group(0)
    return xml[:m.end()] + again + xml[m.end():]


def renamed(xml: bytes, ref: str, new: str) -> bytes:
    m = _cell(xml, ref)
    return xml[:m.start()] + m.group(0).replace(f'r="{ref}"'.encode(), f'r="{new}"'.encode(), 1) + xml[m.end():]


CASES = {
    "input twice, another value": lambda x: twice(x, INPUT, b"15"),
    "label twice": lambda x: twice(x, LABEL, None),
    "input r=0-padded": lambda x: renamed(x, INPUT, INPUT[0] + "0" + INPUT[1:]),
    "label r=row first": lambda x: renamed(x, LABEL, LABEL[1:] + LABEL[0]),
    "label r=lower case": lambda x: renamed(x, LABEL, LABEL.lower()),
    "label r=past XFD": lambda x: renamed(x, LABEL, "XFE" + LABEL[1:]),
    "label r=with $": lambda x: renamed(x, LABEL, "$" + LABEL[0] + "$" + LABEL[1:]),
    "label r=empty": lambda x: renamed(x, LABEL, ""),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_cell_is_refused_in_one_line(case, good, tmp_path):
    path = _edited(good, tmp_path / "单位报表.xlsx", CASES[case])
    before = sha256(path)
    run = run_measured("check", path)
    assert run["rc"] == 2 and run["out"] == "" and "Traceback" not in run["err"], run
    lines = [line for line in run["err"].splitlines() if line.strip()]
    assert len(lines) == 1, run["err"]
    line = lines[0]
    cell = INPUT if "input" in case else LABEL
    assert str(path) in line and DEPT.sheet in line and "损坏" in line and CJK.search(line), line
    assert (cell in line) if "twice" in case else ("位置无效" in line), line
    assert run["peak_kb"] < PEAK_LIMIT_KB
    assert sha256(path) == before and set(tmp_path.iterdir()) == {path}
    assert xltools.check(path, SPEC).refused == "damaged"


def test_a_cell_twice_is_refused_after_a_good_workbook_of_the_same_layout(good, tmp_path):
    """In a long-lived process (collect's workers, the add-in's server) the reader knows where
    each cell of this layout lies and reads by position: a second B12 (one cell more) still
    sends it to the full index, which refuses it."""
    assert xltools.check(good, SPEC).refused is None
    for case in ("input twice, another value", "label twice", "input r=0-padded"):
        bad = _edited(good, tmp_path / f"{len(case)}.xlsx", CASES[case])
        report = xltools.check(bad, SPEC)
        assert report.refused == "damaged", (case, report.message)
        assert xltools.check(good, SPEC).refused is None


def test_after_two_good_workbooks_a_damaged_cell_or_a_formula_in_a_blank_cell_is_still_found(good, tmp_path):
    """Two sound workbooks of a layout teach a long-lived process which cells its workbooks repeat
    byte for byte (the blank ones), which it then compares as a whole: each damaged cell is still
    refused, and a formula typed into a repeated blank cell is still reported at its cell."""
    for _ in range(2):
        assert xltools.check(good, SPEC).refused is None
    for case in sorted(CASES):
        bad = _edited(good, tmp_path / f"{sorted(CASES).index(case)}.xlsx", CASES[case])
        assert xltools.check(bad, SPEC).refused == "damaged", case
        assert xltools.check(good, SPEC).refused is None
    fields = {f.cell for f in DEPT.fields.values()}
    xml = zip_members(good)[sheet_parts(good)[DEPT.sheet]]
    blank = next(m for m in re.finditer(rb'<c r="([A-Z]+[0-9]+)"( s="[0-9]+")? ?/>', xml)
                 if m.group(1).decode() not in fields and int(m.group(1).lstrip(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")) > 5)
    ref = blank.group(1).decode()
    typed = _edited(good, tmp_path / "typed.xlsx", lambda x: x.replace(
        blank.group(0), b'<c r="' + blank.group(1) + b'"' + (blank.group(2) or b"") + b"><f>1+1</f><v>2</v></c>", 1))
    found = {(f.code, f.cell) for f in xltools.check(typed, SPEC).findings}
    assert ("label-formula", ref) in found or ("input-formula", ref) in found, (ref, found)


def test_a_sheet_with_every_row_formatted_is_read_streamed(good, tmp_path):
    """Rows past the report's end, each a self-closing <row r= s= ht= .../> (what Excel writes when
    all rows of a sheet get a height and a format): the same findings as without them."""
    members = zip_members(good)
    part = sheet_parts(good)[DEPT.sheet]
    xml = members[part]
    end = xml.index(b"</sheetData>")
    last = int(re.findall(rb'<row r="([0-9]+)"', xml[:end])[-1])
    path = tmp_path / "全选设行高.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            if name != part:
                z.writestr(name, data)
                continue
            with z.open(name, "w") as member:
                member.write(xml[:end])
                for start in range(last + 1, ROWS + 1, 10_000):
                    member.write(b"".join(b'<row r="%d" s="3" customFormat="1" ht="20" customHeight="1"/>' % r
                                          for r in range(start, min(start + 10_000, ROWS + 1))))
                member.write(xml[end:])
    with zipfile.ZipFile(path) as z:
        assert z.getinfo(part).file_size > 35 * 2**20
    before = sha256(path)
    run = run_measured("check", "--json", path)
    expected = run_measured("check", "--json", good)
    assert run["rc"] == expected["rc"] == 1, run["err"]            # the seed's own errors
    ours, theirs = json.loads(run["out"])[0], json.loads(expected["out"])[0]
    assert ours["refused"] is None and ours["findings"] == theirs["findings"] and ours["findings"]
    assert run["peak_kb"] < PEAK_LIMIT_KB, f"peak RSS {run['peak_kb'] // 1024} MB"
    assert sha256(path) == before
    # Rows that hold cells are content: that many is still too large, and refused.
    members[part] = xml[:end] + b"".join(b'<row r="%d"><c r="A%d" s="3"/></row>' % (r, r)
                                         for r in range(last + 1, last + 60_000)) + xml[end:]
    refused = run_measured("check", rezip(members, tmp_path / "大量单元格.xlsx"))
    assert refused["rc"] == 2 and "超过上限" in refused["err"], refused


def test_a_malformed_or_repeated_reference_is_refused_after_a_good_workbook_of_the_same_layout(good, tmp_path):
    """In a long-lived process the layout is known from a sound workbook and the label is never
    read; the same number of cells keeps the layout: every cell is still verified where the
    layout has it, and the workbook is refused, a malformed reference or the input's written
    again in the label's place."""
    assert xltools.check(good, SPEC).refused is None
    cases = {**CASES, "label r=the input's": lambda x: renamed(x, LABEL, INPUT)}
    for case in ("label r=empty", "label r=lower case", "label r=past XFD", "label r=the input's"):
        path = _edited(good, tmp_path / f"{case}.xlsx", cases[case])
        assert xltools.check(path, SPEC).refused == "damaged", case
