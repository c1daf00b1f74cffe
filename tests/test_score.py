"""`xltools score BOOK -o OUT`: 得分 from 指标值/实际完成值/分值, the composite and grade cached, and
nothing else in the workbook touched. Expected scores are worked out by hand (财预〔2020〕10号 as
domain.md states it), not by calling the scorer.
"""
from __future__ import annotations

import os
import re
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from helpers import CENT, load_seed, run_cli, sha256, write_json, zip_members, sheet_parts
from xltools.read.workbook import read_workbook
from xltools.spec import load_spec

SPEC = load_spec()
DEPT, PROJ = SPEC.reports["dept"], SPEC.reports["project"]
PROJ_TABLE, DEPT_TABLE = PROJ.indicator_tables[0], DEPT.indicator_tables[0]

# (指标值, 实际完成值, expected 得分 or None for "a person must score it"), in the spec's order.
# The project's weights are 5 each except the 17th (10); the 10th and 11th are lower-is-better.
PROJECT_ROWS = [
    ("≥95%", "98%", "5.00"),                 # met
    ("≥95%", "90%", "4.74"),                 # 5 × 90/95 = 4.736…
    ("≤10天", "12天", "4.17"),               # lower is better: 5 × 10/12 = 4.166…
    ("≤10天", "8天", "5.00"),
    ("及时", "达成", "5.00"),                # qualitative 达成: 80–100%, the spec proposes 100%
    ("有效提升", "部分达成", "4.00"),        # 部分达成: 60–80%, proposes 80%
    ("90-100", "95", "5.00"),                # inside the range
    ("90%-100%", "85%", "4.72"),             # below the range: 5 × 85/90 = 4.722…
    ("按计划推进", "见附件", None),          # nothing to score: left for a person
    ("≤100万元", "120万元", "4.17"),         # cost: 5 × 100/120
    ("≤5%", "3%", "5.00"),
    ("=100%", "100%", "5.00"),
    ("≥1000人", "1200人", "5.00"),
    ("≥1000人", "800人", "4.00"),            # 5 × 800/1000
    ("达成", "未达成", "3.00"),              # 未达成: 0–60%, proposes 60%
    ("是", "否", "3.00"),                    # a yes/no goal answered the other way
    ("≥90%", "0.95", "10.00"),               # weight 10; a bare 0.95 against a percent is 95%
    ("≥95%", "100%", "5.00"),
    ("≤2个工作日", "2个工作日", "5.00"),
]
PROJECT_TOTAL, PROJECT_GRADE = Decimal("86.80"), "良好"
# The department: three indicators with targets, the other fifteen without (nothing to score).
DEPT_ROWS = [("≥95%", "96%", "5.00"), ("≤0%", "-5%", "5.00"), ("≥90%", "88%", "4.89")]
DEPT_TOTAL, DEPT_GRADE = Decimal("14.89"), "差"


def q(v) -> Decimal:
    return Decimal(str(v)).quantize(CENT, ROUND_HALF_UP)


def scoring_data() -> dict:
    doc = load_seed()
    p = doc["projects"][0]
    p["proj_ind"] = [{"target": t, "actual": a} for t, a, _ in PROJECT_ROWS]
    doc["dept"]["dept_ind"] = [{"target": t, "actual": a} for t, a, _ in DEPT_ROWS]
    for section, keys in ((p, ("p_score_total", "p_grade")), (doc["dept"], ("score_total", "grade"))):
        for k in keys:
            section.pop(k)
    return doc


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("score")
    data = write_json(tmp / "data.json", scoring_data())
    done = run_cli("fill", data, "-o", tmp / "book.xlsx")
    assert done.returncode == 0, done.stderr
    return tmp / "book.xlsx"


@pytest.fixture(scope="module")
def scored(book, tmp_path_factory) -> tuple[Path, str, str]:
    """(scored copy, stdout, sha256 of the original before scoring)."""
    before = sha256(book)
    out = tmp_path_factory.mktemp("out") / "scored.xlsx"
    done = run_cli("score", book, "-o", out)
    assert done.returncode == 0, done.stderr
    return out, done.stdout, before


def expected_scores():
    for rep, table, rows in ((PROJ, PROJ_TABLE, PROJECT_ROWS), (DEPT, DEPT_TABLE, DEPT_ROWS)):
        names = table.names("score")
        for i, name in enumerate(names):
            want = rows[i][2] if i < len(rows) else None
            yield rep, rep.cell(name), None if want is None else Decimal(want)


def test_scores_are_right(scored):
    out, stdout, _ = scored
    wb = openpyxl.load_workbook(out)
    for rep, cell, want in expected_scores():
        got = wb[rep.sheet][cell].value
        assert (None if got is None else q(got)) == want, (rep.sheet, cell, got)
    assert f"{PROJ.sheet}：已评 18 项共 {PROJECT_TOTAL} 分，另有 1 项待人工评分" in stdout
    assert f"{DEPT.sheet}：已评 3 项共 {DEPT_TOTAL} 分，另有 15 项待人工评分" in stdout
    assert f"{PROJ.sheet}!{PROJ.cell(PROJ_TABLE.names('score')[8])}" in stdout     # the manual one is named


def test_composite_and_grade_cached_for_every_reader(scored):
    out = scored[0]
    values = openpyxl.load_workbook(out, data_only=True)
    calamine = CalamineWorkbook.from_path(str(out))
    for rep, table, total, grade in ((PROJ, PROJ_TABLE, PROJECT_TOTAL, PROJECT_GRADE),
                                     (DEPT, DEPT_TABLE, DEPT_TOTAL, DEPT_GRADE)):
        total_cell, grade_cell = rep.cell(table.score_field), rep.cell(table.grade_field)
        assert q(values[rep.sheet][total_cell].value) == total
        assert values[rep.sheet][grade_cell].value == grade
        rows = calamine.get_sheet_by_name(rep.sheet).to_python()
        (r1, c1), (r2, c2) = (openpyxl.utils.cell.coordinate_to_tuple(c) for c in (total_cell, grade_cell))
        assert q(rows[r1 - 1][c1 - 1]) == total
        assert rows[r2 - 1][c2 - 1] == grade
        # and the grade is the spec's band of the sum
        assert SPEC.grade_of(total) == grade


def test_the_original_is_unchanged(book, scored):
    assert sha256(book) == scored[2]


def _cells(ws) -> dict[str, object]:
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def _style_ids(xml: bytes) -> dict[str, str]:
    """A1 -> s attribute of every <c> element, straight from the sheet XML."""
    return {m.group(1): m.group(3) or "0" for m in re.finditer(rb'<c r="([A-Z]+\d+)"( s="(\d+)")?', xml)}


def test_nothing_else_changes(book, scored):
    out = scored[0]
    score_cells = {(rep.sheet, cell) for rep, cell, _ in expected_scores()}
    results = {(r.sheet, r.cell(t.score_field)) for r, t in ((PROJ, PROJ_TABLE), (DEPT, DEPT_TABLE))} | \
              {(r.sheet, r.cell(t.grade_field)) for r, t in ((PROJ, PROJ_TABLE), (DEPT, DEPT_TABLE))}

    # zip members: the same list, and every part other than the two report sheets byte for byte
    a, b = zip_members(book), zip_members(out)
    assert list(a) == list(b)
    parts = sheet_parts(book)
    report_parts = {parts[DEPT.sheet], parts[PROJ.sheet]}
    assert {n for n in a if a[n] != b[n]} <= report_parts
    for part in report_parts:
        assert _style_ids(a[part]) == _style_ids(b[part]), part          # every cell keeps its style

    # every value and formula, except the 得分 cells; every cached result except composite and grade
    for data_only, allowed in ((False, score_cells), (True, score_cells | results)):
        old, new = (openpyxl.load_workbook(p, data_only=data_only) for p in (book, out))
        assert old.sheetnames == new.sheetnames
        for ws in old.worksheets:
            before, after = _cells(ws), _cells(new[ws.title])
            changed = {(ws.title, c) for c in before.keys() | after.keys() if before.get(c) != after.get(c)}
            assert changed <= allowed, sorted(changed - allowed)

    old, new = openpyxl.load_workbook(book), openpyxl.load_workbook(out)
    assert repr(old.security) == repr(new.security) and new.security.lockStructure
    assert {k: v.attr_text for k, v in old.defined_names.items()} == {k: v.attr_text for k, v in new.defined_names.items()}
    for ws in old.worksheets:
        nw = new[ws.title]
        assert repr(ws.protection) == repr(nw.protection) and nw.protection.sheet
        assert [repr(dv) for dv in ws.data_validations.dataValidation] == \
               [repr(dv) for dv in nw.data_validations.dataValidation]
        assert {k: v.attr_text for k, v in ws.defined_names.items()} == {k: v.attr_text for k, v in nw.defined_names.items()}
        assert sorted(map(str, ws.merged_cells.ranges)) == sorted(map(str, nw.merged_cells.ranges))
        assert {r: d.height for r, d in ws.row_dimensions.items()} == {r: d.height for r, d in nw.row_dimensions.items()}
        assert ws.sheet_state == nw.sheet_state

    # and through the checker's own reader: every input but the 得分 is what it was
    r_old, r_new = read_workbook(book, SPEC), read_workbook(out, SPEC)
    scores = set(PROJ_TABLE.names("score")) | set(DEPT_TABLE.names("score"))
    for i_old, i_new in zip(r_old.instances, r_new.instances):
        for name, f in i_old.report.fields.items():
            if f.kind == "input" and name not in scores:
                assert i_old.values[name] == i_new.values[name], name


def test_in_place_replaces_the_file_whole(book, scored, tmp_path):
    work = tmp_path / "填报.xlsx"
    shutil.copyfile(book, work)
    link = tmp_path / "link.xlsx"
    os.link(work, link)                        # sees the old inode if the file is replaced by rename
    inode = work.stat().st_ino
    done = run_cli("score", work, "--in-place")
    assert done.returncode == 0, done.stderr
    assert work.read_bytes() == scored[0].read_bytes()      # the complete new file, as -o writes it
    assert work.stat().st_ino != inode                      # renamed over the original …
    assert sha256(link) == scored[2]                        # … never rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.xlsx", "填报.xlsx"]   # no temp left


@pytest.mark.parametrize("args", [[], ["-o", "x.xlsx", "--in-place"]], ids=["neither", "both"])
def test_output_must_be_chosen_exactly_once(book, tmp_path, args):
    work = tmp_path / "book.xlsx"
    shutil.copyfile(book, work)
    before = sha256(work)
    done = run_cli("score", work, *[tmp_path / a if a.endswith(".xlsx") else a for a in args])
    assert done.returncode == 2
    assert "-o" in done.stderr and "--in-place" in done.stderr and "Traceback" not in done.stderr
    assert sha256(work) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx"]


def test_scored_workbook_checks_without_reading_errors(scored):
    done = run_cli("check", "--json", scored[0])
    assert '"unreadable"' not in done.stdout


def test_libreoffice_agrees_with_the_cached_composite_and_grade(soffice, scored, tmp_path):
    out = scored[0]
    recalculated = soffice.recalculate(out, tmp_path / "recalculated.xlsx")
    ours = openpyxl.load_workbook(out, data_only=True)
    theirs = openpyxl.load_workbook(recalculated, data_only=True)
    for rep, table in ((PROJ, PROJ_TABLE), (DEPT, DEPT_TABLE)):
        for name in (table.score_field, table.grade_field):
            a, b = ours[rep.sheet][rep.cell(name)].value, theirs[rep.sheet][rep.cell(name)].value
            assert (q(a) == q(b)) if isinstance(a, (int, float)) else a == b, (rep.sheet, name, a, b)


def test_a_score_typed_by_hand_where_the_scorer_cannot_score_is_kept(tmp_path):
    doc = scoring_data()
    manual = 8                                        # 按计划推进 / 见附件: only a person can score it
    doc["projects"][0]["proj_ind"][manual]["score"] = "3"
    done = run_cli("fill", write_json(tmp_path / "data.json", doc), "-o", tmp_path / "book.xlsx")
    assert done.returncode == 0, done.stderr
    assert run_cli("score", tmp_path / "book.xlsx", "-o", tmp_path / "scored.xlsx").returncode == 0
    cell = PROJ.cell(PROJ_TABLE.names("score")[manual])
    assert openpyxl.load_workbook(tmp_path / "scored.xlsx")[PROJ.sheet][cell].value == 3
