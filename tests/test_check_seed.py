"""`xltools check` on the published 2022 seed: every real inconsistency, at its place, and nothing else.

Worked out by hand from /work/shared/seed/000_98defafc4fcc3856.txt (domain.md's rules):

- basic: 基本支出 509.52 ≠ 人员支出 452.09 + 公用支出 56.60 = 508.69; the gap 0.83 万元 is exactly
  the 对个人和家庭的补助 8280元 the narrative lists for 临湘市民政局机关 (the form has no column for it).
- score-sum: the 18 department indicator numbers add up to 102, the stated composite is 97.
- score-over: the 102 the indicator numbers add up to is above the full mark of 100.
- score-range: 满意度 is given 10 where the spec's weight is 5. The seed's department form prints no
  weights (ours sum to 100), but 102 > 100 proves some score exceeds its weight, and with 满意度 at 5
  the sum is exactly the stated 97: the 10 is the slip. The old form writes scores in 完成情况:
  the finding is at that cell, where the 10 was typed.
- text-amount: the narrative's 机关 line says 一般商品和服务支出506000元 (50.60 万元) but the table has
  56.60. It is a typo for 566000: 4520887.01 + 566000 + 8280 = 5095167.01, the 基本支出 it quotes,
  and 566000 + 43000 + 83000 = 692000, the department-wide figure it quotes. The two footings it
  breaks are text-footing errors (60000元 each).
- text-amount: 人员支出 holds 工资福利支出 + 对个人和家庭的补助 by the convention the spec declares
  ([reports.quotes]): 4520887.01 + 8280 = 4529167.01元 = 452.92 万元, not the 452.09 stated (the
  basic gap again, seen from the narrative).
- warnings: both indicator tables use the old form (scores in 完成情况/实际完成值, weights in the
  project's 指标值); 部门 项目支出 3003 vs the one project report's 2983: the 20 万元 gap is the
  基本养老服务补贴20万元 that the department narrative lists and the project report leaves out.
Everything else ties: 收入合计 3512.52 = 3461.78 + 50.74, 支出合计 = 509.52 + 3003, 结余 0, 三公 5,
固定资产 111.10, the project's fund matrix and 支出明细 (2983), its scores (Σ 98, weights Σ 100).
"""
from __future__ import annotations

import json
import random
from decimal import Decimal

import openpyxl
import pytest

from helpers import SEED, SEED_TEXT, consistent_data, example_script, load_seed, run_cli, write_json
from xltools.checker import check_file, render_text
from xltools.write.fill import fill
from xltools.spec import load_spec

SPEC = load_spec()
DEPT, PROJ = SPEC.reports["dept"], SPEC.reports["project"]
FINDING_KEYS = {"code", "severity", "sheet", "cell", "message", "expected", "actual", "hint", "difference"}


def at(rep, name: str) -> tuple[str, str]:
    return rep.sheet, rep.shown_cell(name)


def satisfaction() -> str:
    """The 得分 field of the department's 满意度 indicator, found by its group in the spec."""
    table = DEPT.indicator_tables[0]
    [i] = [i for i, ind in enumerate(table.indicators, start=1) if "满意度" in ind.group2]
    return f"{table.id}_actual_{i}"      # the old form: the score is written in 完成情况


SEED_ERRORS = sorted([
    ("basic", *at(DEPT, "spend_basic_1")),
    ("score-sum", *at(DEPT, "score_total")),
    ("score-over", *at(DEPT, "score_total")),
    ("score-range", *at(DEPT, satisfaction())),
    ("text-amount", *at(DEPT, "narrative")),
    ("text-amount", *at(DEPT, "narrative")),
    ("text-footing", *at(DEPT, "narrative")),
    ("text-footing", *at(DEPT, "narrative")),
])
SEED_WARNINGS = sorted([
    ("legacy-indicators", *at(DEPT, "dept_ind_actual_1")),
    ("legacy-indicators", *at(PROJ, "proj_ind_actual_1")),
    ("cross-report", *at(DEPT, "spend_project_1")),
    # the narrative's whole-department totals count two 机构 the spend table does not list
    ("text-total", *at(DEPT, "narrative")),
    ("text-total", *at(DEPT, "narrative")),
])


@pytest.fixture(scope="module")
def report():
    return check_file(SEED, SPEC)


def one(report, code):
    [found] = [f for f in report.findings if f.code == code]
    return found


def test_seed_reports_exactly_its_real_inconsistencies(report):
    assert sorted(report.flat()) == SEED_ERRORS
    assert sorted(report.flat("warning")) == SEED_WARNINGS
    assert not report.ok


def test_basic_split_gap_is_0_83_and_named(report):
    f = one(report, "basic")
    assert (f.expected, f.actual, f.difference) == (Decimal("508.69"), Decimal("509.52"), Decimal("0.83"))
    assert "对个人和家庭的补助8280元" in f.hint


def test_composite_score_102_against_stated_97(report):
    f = one(report, "score-sum")
    assert (f.expected, f.actual, f.difference) == (Decimal(102), Decimal(97), Decimal(-5))


def test_satisfaction_scored_above_its_weight(report):
    f = one(report, "score-range")
    assert (f.expected, f.actual) == (Decimal(5), Decimal(10))
    assert "满意度" in f.message


def test_narrative_typo_506000_against_56_60(report):
    [f] = [f for f in report.findings if f.code == "text-amount" and "506000" in f.message]
    assert "一般商品和服务支出 506000 元（50.60 万元）" in f.message and "56.60" in f.message
    assert (f.expected, f.actual) == ("566000元", "506000元")
    assert DEPT.cell("spend_public_1") in f.message      # names the table cell it disagrees with


def test_personnel_quote_is_the_sum_of_the_items_the_convention_puts_in_it(report):
    [f] = [f for f in report.findings if f.code == "text-amount" and DEPT.cell("spend_personnel_1") in f.message]
    assert "工资福利支出+对个人和家庭的补助合计 4529167.01 元与人员支出" in f.message and "452.09" in f.message
    assert (f.expected, f.actual) == ("4520900元", "4529167.01元")


def test_the_60000_typo_breaks_two_footings_of_the_narrative(report):
    found = [f for f in report.findings if f.code == "text-footing"]
    assert sorted((f.actual, f.expected, f.difference) for f in found) == [
        (Decimal("692000"), Decimal("632000.00"), Decimal("60000.00")),
        (Decimal("5095167.01"), Decimal("5035167.01"), Decimal("60000.00"))]
    assert any("基本支出5095167.01元" in f.message for f in found)
    assert any("一般商品和服务支出" in f.message and "43000.00元" in f.message for f in found)


def test_cross_report_gap_is_the_unevaluated_20_wan(report):
    f = one(report, "cross-report")
    assert f.severity == "warning"
    assert (f.expected, f.actual, f.difference) == (Decimal("2983.00"), Decimal("3003.00"), Decimal("20.00"))
    assert "基本养老服务补贴20万元" in f.hint


def test_scores_and_grades_are_recomputed_beside_the_stated_ones(report):
    assert report.score[DEPT.sheet] == {"sheet": DEPT.sheet, "stated_score": "97", "computed_score": "102",
                                        "stated_grade": "优秀", "computed_grade": "优秀"}
    assert report.score[PROJ.sheet] == {"sheet": PROJ.sheet, "stated_score": "98", "computed_score": "98",
                                        "stated_grade": "优秀", "computed_grade": "优秀"}
    text = render_text(report)
    [dept_line] = [line for line in text.splitlines() if "得分" in line and DEPT.sheet in line and "重算" in line]
    assert dept_line.index("97") < dept_line.index("102")          # stated, then recomputed
    assert dept_line.count("优秀") == 2


@pytest.mark.skipif(not SEED_TEXT.exists(), reason="the published seed text is not on this machine")
def test_example_transcribes_the_published_figures_the_findings_rest_on():
    published = SEED_TEXT.read_text(encoding="utf-8")
    seed = load_seed()
    spend = seed["dept"]["spend"][0]
    for figure in (spend["basic"], spend["personnel"], spend["public"], spend["project"],
                   seed["dept"]["score_total"], seed["projects"][0]["fund"]["total"]["spent"]):
        assert f"\n\t{figure}\n" in published, figure
    for quote in ("一般商品和服务支出506000元、对个人和家庭的补助8280元", "基本养老服务补贴20万元"):
        assert quote in published and quote in seed["dept"]["narrative"] + seed["dept"]["achievements"]
    scores = [Decimal(r["actual"]) for r in seed["dept"]["dept_ind"]]
    assert sum(scores) == 102 and len(scores) == len(DEPT.indicator_tables[0].indicators)


# --- the command line ------------------------------------------------------------------------------
def test_cli_text_output_and_exit_code_1():
    done = run_cli("check", SEED)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    out = done.stdout
    for code, sheet, cell in SEED_ERRORS:
        assert any(f"[错误] {sheet}!{cell}" in line and code in line for line in out.splitlines()), code
    assert f"得分 {DEPT.sheet}：填报 97 / 重算 102" in out
    assert f"得分 {PROJ.sheet}：填报 98 / 重算 98" in out


def test_cli_json_shape():
    done = run_cli("check", "--json", SEED)
    assert done.returncode == 1
    [doc] = json.loads(done.stdout)            # always an array, one object per file
    assert set(doc) == {"file", "ok", "refused", "message", "findings", "score"}
    assert doc["refused"] is None and doc["message"] is None
    assert doc["file"].endswith("linxiang_2022.json") and doc["ok"] is False
    for f in doc["findings"]:
        assert set(f) == FINDING_KEYS, f
        assert f["severity"] in ("error", "warning")
    basic = next(f for f in doc["findings"] if f["code"] == "basic")
    assert (basic["expected"], basic["actual"], basic["difference"]) == ("508.69", "509.52", "0.83")
    assert sorted((f["code"], f["sheet"], f["cell"]) for f in doc["findings"] if f["severity"] == "error") \
        == SEED_ERRORS
    assert doc["score"][DEPT.sheet]["computed_score"] == "102"
    assert doc["score"][DEPT.sheet]["stated_score"] == "97"


def corrected_seed() -> dict:
    """The seed as the unit should have filed it: the demo's corrected resubmission."""
    return example_script("make_collect_demo").corrected(load_seed())


def test_corrected_seed_passes_with_only_its_warnings(tmp_path):
    path = write_json(tmp_path / "corrected.json", corrected_seed())
    report = check_file(path, SPEC)
    assert report.flat() == []
    assert sorted(report.flat("warning")) == SEED_WARNINGS
    done = run_cli("check", path)
    assert done.returncode == 0, done.stdout


def test_consistent_file_exits_0(tmp_path):
    path = write_json(tmp_path / "ok.json", consistent_data(SPEC, random.Random(1).randint, n_projects=2))
    done = run_cli("check", "--json", path)
    assert done.returncode == 0, done.stdout
    [doc] = json.loads(done.stdout)
    assert doc["ok"] is True and doc["findings"] == []


def test_unusable_file_exits_2(tmp_path):
    bad = tmp_path / "坏文件.xlsx"
    bad.write_text("这不是工作簿", encoding="utf-8")
    done = run_cli("check", bad)
    assert done.returncode == 2
    assert str(bad) in done.stderr and "Traceback" not in done.stderr
    done = run_cli("check", "--json", bad)
    assert done.returncode == 2
    [doc] = json.loads(done.stdout)
    assert doc["ok"] is False and doc["refused"] == "not-xlsx" and doc["findings"] == []
    assert str(bad) in doc["message"] and done.stderr == ""


def test_several_files_exit_with_the_worst(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"")
    assert run_cli("check", SEED, bad).returncode == 2
    ok = write_json(tmp_path / "ok.json", corrected_seed())
    assert run_cli("check", ok, SEED).returncode == 1


# --- the seed filled into the template, then checked ----------------------------------------------
def test_filled_seed_reports_what_the_template_could_not_prevent(tmp_path):
    book = fill(SEED, tmp_path / "seed.xlsx", SPEC).path
    report = check_file(book, SPEC)
    # In the workbook 基本支出 and 支出合计 are the template's formulas (508.69 and 3511.69): the
    # basic gap can no longer be stated, so it resurfaces where the narrative quotes the published
    # 509.52 and 3512.52 (预算支出, 基本支出), beside the 506000 typo: three text-amount errors
    # on the narrative. fill wrote the old layout in the new columns (legacy.py): the scores are in
    # 得分, where 满意度's 10 is above its weight, and the composite is the template's SUM of them,
    # 102, above the full mark; score-sum cannot fire (fill warned that the stated 97 was dropped),
    # and no table is in the old layout any more.
    # A finding on the narrative names the row of the run that holds the figure it is about (the
    # 机构's sentence for a sum of items), so the accountant lands on the words to correct.
    run = DEPT.runs["narrative"]
    ws = openpyxl.load_workbook(book)[DEPT.sheet]
    rows = {f"{ws.cell(r, run.col).column_letter}{r}": str(ws.cell(r, run.col).value or "") for r in run.row_numbers}
    on_text = [f for f in report.findings if f.code.startswith("text-")]
    for f in on_text:
        figure = str(f.actual).removesuffix("元")
        words = "临湘市民政局" if figure == "4529167.01" else figure    # 工资福利支出+对个人和家庭的补助
        assert f.cell in rows and words in rows[f.cell], (f.code, f.cell, figure)
    scores = DEPT.indicator_tables[0]
    errors = [f for f in on_text if f.severity == "error"]
    assert sorted(report.flat()) == sorted([
        ("score-range", *at(DEPT, satisfaction().replace("_actual_", "_score_"))),
        ("score-over", *at(DEPT, scores.score_field)), *((f.code, DEPT.sheet, f.cell) for f in errors)])
    assert sorted(f.code for f in errors) == ["text-amount"] * 4 + ["text-footing"] * 2
    quoted = sorted(f.actual for f in report.findings if f.code == "text-amount")
    assert quoted == ["35125167.01元", "4529167.01元", "506000元", "5095167.01元"]
    totals = [(f.code, f.sheet, f.cell) for f in on_text if f.code == "text-total"]     # on their sentence's row
    assert sorted(report.flat("warning")) == sorted(
        [w for w in SEED_WARNINGS if w[0] not in ("legacy-indicators", "text-total")] + totals) and len(totals) == 2
    # one score: the workbook states what the data file's figures add up to
    assert {s: (r["stated_score"], r["computed_score"], r["stated_grade"], r["computed_grade"])
            for s, r in report.score.items()} == {DEPT.sheet: ("102", "102", "优秀", "优秀"),
                                                   PROJ.sheet: ("98", "98", "优秀", "优秀")}


def test_a_workbook_a_program_saved_without_computing_checks_as_the_computed_one(tmp_path):
    """A program that writes the template's cells by name (openpyxl, as the README's admin section
    says) keeps each formula and drops its cached value: Excel computes it on opening. Such a
    total states nothing, so its figure is what the template computes; read as 0 it made every
    total, the composite and the narrative's quotes false errors."""
    book = fill(SEED, tmp_path / "seed.xlsx", SPEC).path
    saved = tmp_path / "saved_by_a_program.xlsx"
    openpyxl.load_workbook(book).save(saved)
    ws = openpyxl.load_workbook(saved, data_only=True)[DEPT.sheet]
    assert ws[DEPT.cell("income_total_1")].value is None        # no cached value left
    computed, saved_report = check_file(book, SPEC), check_file(saved, SPEC)
    assert sorted(saved_report.flat()) == sorted(computed.flat())
    assert sorted(saved_report.flat("warning")) == sorted(computed.flat("warning"))
    # the scores are recomputed; none was stated (the composite is the template's SUM, not computed)
    assert {s: r["computed_score"] for s, r in saved_report.score.items()} == {DEPT.sheet: "102", PROJ.sheet: "98"}
