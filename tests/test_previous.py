"""Last year into this year: `xltools carry`, `check --previous`, collect with the ledger's previous
year; and a season's inbox mixing the county form and the national form.

A 2022 workbook (the published seed) is carried into a variant 2023 spec that renames and drops
fields, as an admin's next spec does; what cannot be carried is said. This year's 上年结转 is
prefilled from last year's 累计结余 and its input prompt says so; where this year's differs from it,
check --previous and collect report it, 机构 by 机构, with the main figures' 上年数 and 增减率.
"""
from __future__ import annotations

import json
import re
import sqlite3
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from helpers import ROOT, SEED, run_cli, write_json
from xltools.checker import check_file
from xltools.spec import load_spec
from xltools.write.carry import carry
from xltools.write.fill import fill

SPEC = load_spec()
DEPT, PROJ = SPEC.reports["dept"], SPEC.reports["project"]
NATIONAL = ROOT / "specs" / "national_2022.toml"
DATA = ROOT / "tests" / "data" / "national"


def variant_2023(folder: Path) -> Path:
    """Next year's spec as an admin writes it: the unit's field renamed (dept_name -> unit_name),
    主管部门 renamed and said so in [previous] renamed, 项目单位 renamed without saying so, the
    项目负责人's phone dropped, the department's 成本指标 group dropped (its weights moved)."""
    text = (ROOT / "specs" / "2022.toml").read_text(encoding="utf-8")
    edits = [("year = 2022", "year = 2023"), ('"dept_name"', '"unit_name"'), ('"dept_name"', '"unit_name"'),
             ('field = "project_authority"', 'field = "p_authority"'), ('field = "project_unit"', 'field = "p_unit"'),
             ("{ text = \"联系电话\" }, { field = \"manager_phone\", label = \"项目负责人联系电话\", unit = \"phone\", required = true, span = 3 }",
              "{ text = \"\", span = 4 }"),
             ('"project_unit", "project_authority", "manager", "manager_phone"]', '"p_unit", "p_authority", "manager"]\nrenamed = { p_authority = "project_authority" }'),
             ('''[[reports.blocks.groups]]
level1 = "产出目标\\n（部门工作实绩，包含上级部门和区委区政府布置的重点工作、实事任务等，根据部门实际进行调整细化）"
level2 = "成本指标"
indicators = [
  { name = "指标1：补贴标准", weight = 5 },
  { name = "指标2：公示公开", weight = 5 },
  { name = "指标3：资金结余", weight = 5 },
]

''', ""), ('{ name = "指标1：基本支出", weight = 10 }', '{ name = "指标1：基本支出", weight = 25 }')]
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "2023.toml").write_text(text, encoding="utf-8")
    return folder / "2023.toml"


@pytest.fixture(scope="module")
def last_year(tmp_path_factory) -> Path:
    return fill(SEED, tmp_path_factory.mktemp("last") / "民政局2022.xlsx", SPEC).path


@pytest.fixture(scope="module")
def carried(last_year, tmp_path_factory):
    base = tmp_path_factory.mktemp("carried")
    spec23 = load_spec(variant_2023(base / "specs"))
    result = carry(last_year, base / "民政局2023.xlsx", spec23)
    return {"base": base, "spec": spec23, "result": result, "book": result.path}


def _prompts(book: Path, sheet_part: str) -> dict[str, str]:
    with zipfile.ZipFile(book) as z:
        xml = z.read(sheet_part).decode("utf-8")
    return {m.group(2): m.group(1) for m in re.finditer(r'<dataValidation\b[^>]*?prompt="([^"]*)"[^>]*?sqref="([^"]+)"', xml)} | \
        {m.group(1): m.group(2) for m in re.finditer(r'<dataValidation\b[^>]*?sqref="([^"]+)"[^>]*?prompt="([^"]*)"', xml)}


def test_carry_keeps_the_unit_its_rows_projects_and_indicators(carried, last_year):
    spec, book = carried["spec"], carried["book"]
    before = openpyxl.load_workbook(last_year)
    wb = openpyxl.load_workbook(book)
    dept, proj = spec.reports["dept"], spec.reports["project"]
    ws, wp = wb[dept.sheet], wb[proj.sheet]
    assert wb.sheetnames == ["部门整体支出", "项目表头", "项目支出", "项目表尾"]
    assert ws[dept.cell("unit_name")].value == "临湘市民政局"                  # the unit, by its role
    assert ws[dept.cell("income_org_1")].value == "临湘市民政局机关"
    assert ws[dept.cell("contact")].value == before[DEPT.sheet][DEPT.cell("contact")].value
    assert wp[proj.cell("project_name")].value == "专项资金支出"
    assert wp[proj.cell("p_authority")].value == "临湘市人民政府"                # renamed, and said so
    assert wp[proj.cell("p_unit")].value is None                              # renamed, not said: listed below
    # the indicators' definitions, this year's amounts, scores and texts blank
    assert wp[proj.cell("proj_ind_target_1")].value == before[PROJ.sheet][PROJ.cell("proj_ind_target_1")].value
    for name in ("income_public_budget_1", "spend_personnel_1", "staff_actual", "narrative", "dept_ind_score_1",
                 "dept_ind_actual_1", "report_date"):
        assert ws[dept.shown_cell(name)].value in (None, ""), name
    for name in ("fund_spent_county", "detail_amount_1", "proj_ind_actual_1", "proj_ind_score_1", "p_report_date"):
        assert wp[proj.cell(name)].value in (None, ""), name


def test_carry_prefills_the_carryover_from_last_years_balance_and_says_so(carried):
    spec, book = carried["spec"], carried["book"]
    dept = spec.reports["dept"]
    cell = dept.cell("income_carryover_1")
    last = check_file(carried["book"], spec)          # (and this year's workbook is read with its spec)
    assert last.refused is None
    assert openpyxl.load_workbook(book)[dept.sheet][cell].value == 0.83                 # last year's 累计结余
    prompt = _prompts(book, "xl/worksheets/sheet1.xml")[cell]
    assert "已按上年报告预填" in prompt and "临湘市民政局机关" in prompt and "0.83" in prompt
    # the other cells keep the template's prompts
    assert "已按上年报告预填" not in _prompts(book, "xl/worksheets/sheet1.xml")[dept.cell("income_public_budget_1")]


def test_carry_says_what_it_could_not_carry(carried):
    missed = carried["result"].missed
    assert any("项目单位" in m and "project_unit" in m and "p_unit" in m and "renamed" in m for m in missed), missed
    assert any("manager_phone" in m and "13973020106" in m for m in missed), missed
    # the department's 成本指标 rows: this year's table has no such group (the others are carried to theirs)
    assert sum("新规格的指标表没有“成本指标”的第" in m for m in missed) == 3, missed
    assert sum(m.startswith("上年指标") for m in missed) == 3, missed
    assert not any("dept_name" in m or "project_authority" in m for m in missed), missed


def test_carry_on_the_command_line_without_a_spec_is_next_year_of_the_same(last_year, tmp_path):
    out = tmp_path / "2023.xlsx"
    done = run_cli("carry", last_year, "-o", out)
    assert done.returncode == 0, done.stderr
    assert f"临湘市2023年度模板（第{SPEC.form_version}版）" in done.stdout and "上年结转（第1行）：0.83" in done.stdout
    report = json.loads(run_cli("check", "--json", out).stdout)[0]
    assert report["refused"] is None                 # the registry knows the 2022 spec made it, for 2023
    # to the national form: each thing with no place there is listed, not dropped in silence
    done = run_cli("carry", last_year, "-o", tmp_path / "national.xlsx", "--spec", NATIONAL)
    assert done.returncode == 0 and "实施单位：临湘市民政局" in done.stdout
    assert "未能带入：上年的“主管部门”（project_authority，为“临湘市人民政府”）" in done.stderr
    assert "authority = \"project_authority\"" in done.stderr


def test_carry_and_check_previous_from_a_spec_xltools_does_not_ship(carried, tmp_path):
    """Another bureau's spec is not among those xltools ships: its 2023 workbook carried into 2024
    needs last year's spec as well as this year's, and --spec is this year's. carry and check
    --previous said “use --spec” and could not be told; --last-spec names last year's."""
    spec23 = carried["spec"].path
    spec24 = tmp_path / "2024.toml"
    spec24.write_text(Path(spec23).read_text(encoding="utf-8").replace("year = 2023", "year = 2024", 1), encoding="utf-8")
    out = tmp_path / "2024.xlsx"
    done = run_cli("carry", carried["book"], "-o", out, "--spec", spec24)
    assert done.returncode == 2 and not out.exists()
    assert done.stderr.count("\n") == 1 and "请用 --last-spec 指定生成上年工作簿的规格文件" in done.stderr, done.stderr
    done = run_cli("carry", carried["book"], "-o", out, "--spec", spec24, "--last-spec", spec23)
    assert done.returncode == 0, done.stderr
    assert "临湘市2024年度模板" in done.stdout and "上年结转（第1行）" in done.stdout
    done = run_cli("check", out, "--spec", spec24, "--previous", carried["book"])
    assert done.returncode == 2 and "--last-spec" in done.stdout + done.stderr
    done = run_cli("check", out, "--spec", spec24, "--previous", carried["book"], "--last-spec", spec23)
    assert done.returncode == 1 and "与上年比较" in done.stdout, done.stdout + done.stderr


# --- check --previous ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def this_year(carried, tmp_path_factory):
    """This year's workbook with its 上年结转 typed as 0.38 (last year's 累计结余 is 0.83), and
    some of this year's figures."""
    spec, base = carried["spec"], carried["base"]
    doc = json.loads(json.dumps({"year": 2023, "region": "临湘市", "dept": {
        "unit_name": "临湘市民政局", "income": [{"org": "临湘市民政局机关", "carryover": "0.38", "public_budget": "3600.00"}],
        "spend": [{"personnel": "420.00", "public": "60.00", "project": "3050.00"}]}, "projects": []}))
    return fill(write_json(base / "2023.json", doc), base / "今年.xlsx", spec).path


def test_check_previous_reports_the_carryover_and_the_figures_with_last_years(carried, this_year, last_year, tmp_path):
    dept = carried["spec"].reports["dept"]
    done = run_cli("check", "--spec", carried["base"] / "specs" / "2023.toml", "--json", this_year,
                   "--previous", last_year)
    [report] = json.loads(done.stdout)
    [carry_f] = [f for f in report["findings"] if f["code"] == "carryover-previous"]
    assert (carry_f["sheet"], carry_f["cell"], carry_f["severity"]) == (dept.sheet, dept.cell("income_carryover_1"), "warning")
    assert "临湘市民政局机关本年填报 0.38 万元，上年报告为 0.83 万元，少 0.45 万元" in carry_f["message"]
    income = next(f for f in report["previous"] if f["key"] == "income")
    assert (income["value"], income["previous"], income["change"]) == ("3600.38", "3512.52", "2.50")
    # the same, as text, and in --write's 校验结果 below the findings
    text = run_cli("check", "--spec", carried["base"] / "specs" / "2023.toml", this_year, "--previous", last_year,
                   "--write", tmp_path / "checked.xlsx").stdout
    assert "与上年比较：" in text and "收入合计：本年 3600.38，上年 3512.52，增减率 2.50%" in text
    rows = [r for r in openpyxl.load_workbook(tmp_path / "checked.xlsx")["校验结果"].iter_rows(values_only=True)]
    at = rows.index(next(r for r in rows if r[0] == "与上年比较"))
    assert rows[at - 1] == (None,) * len(rows[at - 1]) and ("收入合计：3600.38", "3512.52", "2.50") in [r[4:7] for r in rows]


def test_check_previous_refuses_an_unusable_last_year_in_one_line(this_year, carried, tmp_path):
    bad = tmp_path / "去年.xlsx"
    bad.write_bytes(b"not a workbook")
    done = run_cli("check", "--spec", carried["base"] / "specs" / "2023.toml", this_year, "--previous", bad)
    assert done.returncode == 2 and "去年.xlsx" in done.stderr and "Traceback" not in done.stderr


# --- collect with the ledger's previous year ---------------------------------------------------------------
def test_collect_compares_each_unit_with_its_previous_year_in_the_ledger(last_year, this_year, carried, tmp_path):
    out = tmp_path / "汇总.xlsx"
    (first := tmp_path / "收件2022").mkdir()
    (first / "民政局2022.xlsx").write_bytes(last_year.read_bytes())
    assert run_cli("collect", first, "-o", out).returncode == 1        # the seed has its own errors
    (second := tmp_path / "收件2023").mkdir()
    (second / "民政局2023.xlsx").write_bytes(this_year.read_bytes())
    done = run_cli("collect", second, "-o", out, "--specs", carried["base"] / "specs", "--json")
    [row] = json.loads(done.stdout)
    assert [f["message"] for f in row["findings"] if f["code"] == "carryover-previous"] == \
        ["上年结转应等于上年报告的累计结余：临湘市民政局机关本年填报 0.38 万元，上年报告为 0.83 万元，少 0.45 万元"]
    wb = openpyxl.load_workbook(out, data_only=True)
    listed = [r for r in wb["问题清单"].iter_rows(values_only=True) if r[-1] == "carryover-previous"]
    assert len(listed) == 1 and listed[0][:2] == ("临湘市民政局", 2023)
    compared = {r[2]: r[3:] for r in wb["与上年比较"].iter_rows(min_row=4, values_only=True) if r[0]}
    assert compared["收入合计"] == (3600.38, 3512.52, 87.86, 2.5)
    detail = json.loads(sqlite3.connect(out.with_suffix(".db")).execute(
        "SELECT detail FROM submissions WHERE year = 2023").fetchone()[0])
    # what next year's report will be compared with: this year's 累计结余 (3600.38 − 3530.00)
    assert detail["year_end"] == {"carryover-previous": {"临湘市民政局机关": "70.38"}}


# --- a season's inbox mixing both kinds ---------------------------------------------------------------------
def test_a_mixed_inbox_summarises_each_kind_with_its_own_figures(last_year, tmp_path):
    """County workbooks beside national ones (a workbook, a data file, a pack), in one collect:
    each row carries its own spec's figures under their labels, each project its own."""
    inbox = tmp_path / "收件"
    inbox.mkdir()
    (inbox / "民政局.xlsx").write_bytes(last_year.read_bytes())
    anhui = load_spec(NATIONAL, region="安徽省")
    fill(DATA / "anhui_2022_tianchang.toml", inbox / "天长市水利局.xlsx", anhui)
    (inbox / "棠溪镇.toml").write_bytes((DATA / "anhui_2022_tangxi.toml").read_bytes())
    out = tmp_path / "汇总.xlsx"
    done = run_cli("collect", inbox, "-o", out, "--json")
    rows = {Path(r["file"]).name: r for r in json.loads(done.stdout)}
    assert {k: (r["unit"], r["refused"]) for k, r in rows.items()} == {
        "民政局.xlsx": ("临湘市民政局", None), "天长市水利局.xlsx": ("天长市水利局", None),
        "棠溪镇.toml": ("219001-池州市贵池区棠溪镇人民政府", None)}
    assert [f["label"] for f in rows["天长市水利局.xlsx"]["figures"]] == ["全年预算数", "全年执行数"]
    assert [f["label"] for f in rows["民政局.xlsx"]["figures"]] == [f.label for f in SPEC.figures]
    [project] = rows["天长市水利局.xlsx"]["projects"]
    assert project["name"] == "水旱灾害防御经费" and project["score_computed"] == "100" and project["grade_computed"] == "优"
    assert {f["label"]: Decimal(f["value"]) for f in project["figures"]} == {
        "年初预算数": Decimal(880), "全年预算数": Decimal(880), "全年执行数": Decimal(880), "预算执行率得分": Decimal(10)}
    tangxi = {f["code"] for f in rows["棠溪镇.toml"]["findings"]}
    assert {"budget-total", "execution-rate"} <= tangxi
    summary = openpyxl.load_workbook(out, data_only=True)["汇总"]
    header = [c.value for c in summary[3]]
    for label in ("全年预算数", "全年执行数", "收入合计", "支出合计"):
        assert header.count(label) == 1, label
    by_unit = {summary.cell(r, 1).value: r for r in range(4, 7)}
    assert summary.cell(by_unit["天长市水利局"], header.index("全年预算数") + 1).value == 880
    assert summary.cell(by_unit["天长市水利局"], header.index("收入合计") + 1).value is None
    assert summary.cell(by_unit["临湘市民政局"], header.index("收入合计") + 1).value == 3512.52
    project_header = [c.value for c in openpyxl.load_workbook(out, data_only=True)["项目支出汇总"][3]]
    assert "预算执行率得分" in project_header and "计划安排资金" in project_header
