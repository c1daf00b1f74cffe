"""`xltools fill DATA -o BOOK`: every input written where its defined name says, a warning for every
stated figure the template computes otherwise, one sheet per project, text-typed numbers and
blanks read as DESIGN.md says, and the cached values equal to what LibreOffice computes.
"""
from __future__ import annotations

import copy
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest

from helpers import (CENT, SEED, expected_value, flatten_section, formula_cells, load_seed, run_cli,
                     write_json)
from xltools.ooxml.package import Package
from xltools.build.workbook import build_template
from xltools.checker import check_file
from xltools.write.fill import fill
from xltools.read.workbook import read_workbook
from xltools.spec import DEFAULT_SPEC, load_spec

SPEC = load_spec()
DEPT, PROJ = SPEC.reports["dept"], SPEC.reports["project"]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_template(SPEC, tmp_path_factory.mktemp("tpl") / "template.xlsx")


@pytest.fixture(scope="module")
def seed_fill(tmp_path_factory):
    """(workbook, stderr) of `xltools fill` on the seed, as a user runs it."""
    out = tmp_path_factory.mktemp("seed") / "seed.xlsx"
    done = run_cli("fill", SEED, "-o", out)
    assert done.returncode == 0, done.stderr
    assert "1 个项目表" in done.stdout
    return out, done.stderr


def three_projects() -> dict:
    doc = load_seed()
    first = doc["projects"][0]
    for n, amount in ((2, "100"), (3, "250.5")):
        p = copy.deepcopy(first)
        p["project_name"] = f"第{n}个项目"
        p["detail"] = [{"item": "专项支出", "amount": amount, "voucher": "2022年", "note": ""}]
        p["detail_amount_total"] = amount
        p["fund"] = {"total": {"plan": amount, "arrived": amount, "spent": amount, "balance": ""},
                     "county": {"plan": amount, "arrived": amount, "spent": amount, "balance": ""}}
        doc["projects"].append(p)
    return doc


@pytest.fixture(scope="module")
def three(tmp_path_factory, template) -> Path:
    tmp = tmp_path_factory.mktemp("three")
    return fill(write_json(tmp / "three.json", three_projects()), tmp / "three.xlsx", SPEC, template=template).path


# --- inputs ----------------------------------------------------------------------------------------
def in_new_columns(rep, stated: dict) -> dict:
    """The seed's indicator tables are in the old layout (scores in 实际完成值, the project's weights
    in 指标值): fill writes them in 得分 and 分值, leaving 指标值 and 实际完成值 blank (README)."""
    out = dict(stated)
    for t in rep.indicator_tables:
        for i in range(1, len(t.indicators) + 1):
            for old, new in (("actual", "score"), ("target", "weight")):
                if f"{t.id}_{old}_{i}" in out:
                    out[f"{t.id}_{new}_{i}"] = out.pop(f"{t.id}_{old}_{i}")
    return out


def test_every_input_of_the_seed_is_written_and_read_back_by_name(seed_fill):
    book = seed_fill[0]
    filled = read_workbook(book, SPEC)
    seed = load_seed()
    sections = [(filled.first("dept"), seed["dept"])] + list(zip(filled.copies, seed["projects"]))
    assert len(filled.copies) == len(seed["projects"])
    checked = 0
    for inst, section in sections:
        stated = in_new_columns(inst.report, flatten_section(inst.report, section))
        for name, f in inst.report.fields.items():
            if f.kind != "input":
                continue
            want = expected_value(f, stated[name]) if name in stated else expected_value(f, f.default)
            got = inst.values[name]
            assert got == want, (inst.sheet, name, got, want)
            checked += name in stated
    assert checked == sum(1 for inst, s in sections for n in in_new_columns(inst.report, flatten_section(inst.report, s))
                          if inst.report.fields[n].kind == "input")


def test_inputs_land_in_the_cells_their_names_point_at(seed_fill):
    """openpyxl's view: the defined name's cell holds the value (independent of xltools.read.workbook).
    A long text's name points at its join cell, whose cached value is the whole text."""
    wb = openpyxl.load_workbook(seed_fill[0], data_only=True)
    seed = load_seed()
    for rep, section, names in ((DEPT, seed["dept"], wb.defined_names),
                                (PROJ, seed["projects"][0], wb[PROJ.sheet].defined_names)):
        for name, raw in in_new_columns(rep, flatten_section(rep, section)).items():
            f = rep.fields[name]
            if f.kind != "input" or f.unit in ("date", "month") or raw in ("", None):
                continue
            sheet, ref = names[name].attr_text.rsplit("!", 1)
            value = wb[sheet.strip("'")][ref.replace("$", "")].value
            if f.numeric:
                assert Decimal(str(value)) == Decimal(str(raw)), name
            else:
                assert str(value) == str(raw), name


def test_fill_warns_about_every_stated_figure_the_template_computes_otherwise(seed_fill):
    warnings = [line for line in seed_fill[1].splitlines() if line.startswith("提示：")]
    moved = [line for line in warnings if "旧版表式" in line]
    where = {line.removeprefix("提示：").split(" ", 1)[0] for line in warnings if line not in moved}
    # 基本支出 (509.52 stated, 452.09 + 56.60 computed) and with it 支出合计 and both 结余 (stated
    # blank, 0.83 computed); the department's stated composite 97, which its scores, written in
    # 得分, do not add up to (102); 满意度's score above its weight; the project's 98 and both
    # grades agree.
    satisfaction = f"{DEPT.indicator_tables[0].id}_score_{len(DEPT.indicator_tables[0].indicators)}"
    expected = {f"{DEPT.sheet}!{DEPT.cell(n)}" for n in
                ("spend_basic_1", "spend_total_1", "spend_balance_year_1", "spend_balance_cum_1", "score_total",
                 satisfaction)}
    assert where == expected
    assert len(warnings) == len(expected) + len(moved)
    composite = next(w for w in warnings if DEPT.cell("score_total") in w)
    assert "数据为 97.00，模板计算为 102.00" in composite
    # each old-layout table says what moved where, in its own column headings
    assert [m.removeprefix("提示：").split("：")[0] for m in moved] == [DEPT.sheet, PROJ.sheet]
    assert "“完成情况”列的得分移入“得分”列" in moved[0] and "分值移入" not in moved[0]
    assert "“实际完成值”列的得分移入“得分”列、“指标（目标）值”列的分值移入“分值”列" in moved[1]
    basic = next(w for w in warnings if DEPT.cell("spend_basic_1") in w)
    assert "509.52" in basic and "508.69" in basic


def test_a_consistent_stated_total_gives_no_warning(tmp_path, template):
    doc = load_seed()
    doc["dept"]["spend"][0].update(basic="508.69", total="3511.69", balance_year="0.83", balance_cum="0.83")
    for section, keys in ((doc["dept"], ("score_total", "grade")), (doc["projects"][0], ("p_score_total", "p_grade"))):
        for k in keys:
            section.pop(k)
    result = fill(write_json(tmp_path / "d.json", doc), tmp_path / "b.xlsx", SPEC, template=template)
    assert [w for w in result.warnings if "旧版表式" not in w and "超出 0 至分值" not in w] == []


def test_last_years_data_on_a_spec_that_dropped_an_indicator_is_said_row_by_row(tmp_path):
    """Indicators are filled in the spec's order: the seed (2022's order) on a spec without
    指标5：固定资产利用率 puts every later name and score one row up. fill and check say so at each
    row (they read them in silence, and check then blamed the unit for a score above another's weight)."""
    spec_path = tmp_path / "2023.toml"
    text = DEFAULT_SPEC.read_text(encoding="utf-8")
    dropped = '  { name = "指标5：固定资产利用率", weight = 5 },\n'
    added = '  { name = "指标2：项目支出", weight = 10 },\n  { name = "指标3：政府采购节支率", weight = 5 },\n'
    assert text.count(dropped) == 1 and text.count('  { name = "指标2：项目支出", weight = 10 },\n') == 1
    spec_path.write_text(text.replace(dropped, "").replace('  { name = "指标2：项目支出", weight = 10 },\n', added),
                         encoding="utf-8")
    done = run_cli("fill", SEED, "--spec", spec_path, "-o", tmp_path / "b.xlsx")
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "个指标：" in line]
    assert len(said) == 3, done.stderr
    assert said[0] == ("提示：第 5 个指标：数据文件写的是“指标5：固定资产利用率”，规格中没有这个指标，"
                       "模板此行是“指标1：基本支出”（dept.dept_ind[4].name）"), said[0]
    assert "数据文件写的是“指标1：基本支出”，规格中它是第 5 个指标，模板此行是“指标2：项目支出”" in said[1]
    # check of the data file says it too, at the row's cell (a unit may send a data file)
    report = json.loads(run_cli("check", "--json", "--spec", spec_path, SEED).stdout)[0]
    order = [f for f in report["findings"] if f["code"] == "indicator-order"]
    assert [(f["sheet"], f["cell"], f["severity"]) for f in order] == [("部门整体支出", c, "warning") for c in ("D70", "D71", "D72")]
    # the seed on its own spec: every name where the spec puts it, nothing said
    done = run_cli("fill", SEED, "-o", tmp_path / "c.xlsx")
    assert done.returncode == 0 and "个指标：" not in done.stderr, done.stderr


# --- several projects ------------------------------------------------------------------------------
def test_three_projects_make_three_sheets_each_with_its_own_names(three):
    wb = openpyxl.load_workbook(three)
    sheets = [PROJ.sheet, f"{PROJ.sheet} (2)", f"{PROJ.sheet} (3)"]
    assert [s for s in wb.sheetnames if s.startswith(PROJ.sheet)] == sheets
    for sheet in sheets:
        names = wb[sheet].defined_names
        for field in PROJ.fields.values():
            assert names[field.name].attr_text == f"'{sheet}'!${''.join(c for c in field.cell if c.isalpha())}$" \
                f"{''.join(c for c in field.cell if c.isdigit())}", (sheet, field.name)
        assert not any(n in wb.defined_names for n in PROJ.fields)      # never workbook-scoped
    # each copy sits between the hidden bookends the department's 3D reference sums over
    from xltools.formulas import FIRST_BOOKEND, LAST_BOOKEND
    order = wb.sheetnames
    assert order.index(FIRST_BOOKEND) < min(map(order.index, sheets)) < max(map(order.index, sheets)) \
        < order.index(LAST_BOOKEND)


def test_three_projects_are_all_found_by_the_checker(three):
    filled = read_workbook(three, SPEC)
    assert [(p.sheet, p.values["project_name"], p.values["fund_spent_total"]) for p in filled.copies] == [
        (PROJ.sheet, "专项资金支出", Decimal(2983)), (f"{PROJ.sheet} (2)", "第2个项目", Decimal(100)),
        (f"{PROJ.sheet} (3)", "第3个项目", Decimal("250.5"))]
    report = check_file(three, SPEC)
    assert sorted(report.score) == sorted([DEPT.sheet, PROJ.sheet, f"{PROJ.sheet} (2)", f"{PROJ.sheet} (3)"])
    assert {s["computed_score"] for sheet, s in report.score.items() if sheet != DEPT.sheet} == {"98"}
    cross = next(f for f in report.findings if f.code == "cross-report")
    assert cross.expected == Decimal("3333.50") and cross.difference == Decimal("-330.50")
    # the template's own 3D reference over the copies says the same in column I
    from xltools.formulas import cross_cell
    from xltools.spec.layout import a1
    ref = a1(cross_cell(SPEC)[0], 9)
    shown = openpyxl.load_workbook(three, data_only=True)[DEPT.sheet][ref].value
    assert shown == cross.message and "少 330.50 万元" in shown


# --- numbers typed as text, blanks and zeros ---------------------------------------------------------
def _retyped(book: Path, tmp: Path, sheet: str, ref: str, value) -> Path:
    wb = Package(book.read_bytes())
    wb.sheet(sheet).set(ref, value)
    return wb.save(tmp / "retyped.xlsx")


@pytest.mark.parametrize("name,text,value", [
    ("income_public_budget_1", "3,461.78", "3461.78"),
    ("income_public_budget_1", "３４６１.７８", "3461.78"),
    ("income_public_budget_1", "3461.78万元", "3461.78"),
    ("income_other_1", " 50.74 ", "50.74"),
    ("staff_quota", "51人", "51"),
])
def test_number_typed_as_text_is_normalised_with_a_warning_at_its_cell(seed_fill, tmp_path, name, text, value):
    book = seed_fill[0]
    before = check_file(book, SPEC)
    path = _retyped(book, tmp_path, DEPT.sheet, DEPT.cell(name), text)
    assert read_workbook(path, SPEC).first("dept").values[name] == Decimal(value)
    after = check_file(path, SPEC)
    new = [f for f in after.findings if f not in before.findings]
    assert [(f.code, f.severity, f.sheet, f.cell) for f in new] == \
        [("number-text", "warning", DEPT.sheet, DEPT.cell(name))]
    assert text.strip() in new[0].message


def test_yuan_typed_into_a_wan_yuan_cell_is_unreadable_not_guessed(seed_fill, tmp_path):
    cell = DEPT.cell("income_other_1")
    path = _retyped(seed_fill[0], tmp_path, DEPT.sheet, cell, "50.74元")
    assert read_workbook(path, SPEC).first("dept").values["income_other_1"] is None
    report = check_file(path, SPEC)
    [f] = [f for f in report.findings if f.cell == cell and f.sheet == DEPT.sheet]
    assert (f.code, f.severity) == ("unreadable", "error")
    assert "50.74元" in f.message and "万元" in f.message


@pytest.mark.parametrize("name", ["staff_quota", "staff_actual"])
def test_blank_is_not_filled_but_zero_is(seed_fill, tmp_path, name):
    cell = (DEPT.sheet, DEPT.cell(name))
    blank = check_file(_retyped(seed_fill[0], tmp_path, *cell, None), SPEC)
    assert ("required", *cell) in blank.flat()
    zero = check_file(_retyped(seed_fill[0], tmp_path, *cell, 0), SPEC)
    assert ("required", *cell) not in zero.flat(None)


def test_blank_and_zero_in_a_data_file(tmp_path):
    doc = load_seed()
    doc["dept"]["staff_quota"] = ""
    assert ("required", DEPT.sheet, DEPT.cell("staff_quota")) in check_file(write_json(tmp_path / "a.json", doc), SPEC).flat()
    doc["dept"]["staff_quota"] = "0"
    assert ("required", DEPT.sheet, DEPT.cell("staff_quota")) not in \
        check_file(write_json(tmp_path / "b.json", doc), SPEC).flat(None)
    # blank counts as 0 in a sum: the seed leaves 上年结转 blank and 收入合计 still ties
    assert doc["dept"]["income"][0]["carryover"] == ""
    assert not [t for t in check_file(write_json(tmp_path / "b.json", doc), SPEC).flat() if t[0] == "income"]


def test_text_with_a_control_character_still_gives_a_readable_workbook(tmp_path, template):
    doc = load_seed()
    doc["dept"]["tasks"] = "任务1：落实精准救助\x0b任务2：推进社会治理"
    book = fill(write_json(tmp_path / "d.json", doc), tmp_path / "b.xlsx", SPEC, template=template).path
    openpyxl.load_workbook(book)
    assert "任务2" in read_workbook(book, SPEC).first("dept").values["tasks"]


# --- LibreOffice computes what fill cached --------------------------------------------------------
def _same(ours, theirs) -> bool:
    if ours in ("", None) and theirs in ("", None):
        return True
    if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)):
        q = lambda v: Decimal(str(v)).quantize(CENT, ROUND_HALF_UP)  # noqa: E731
        return q(ours) == q(theirs)
    return ours == theirs


@pytest.mark.parametrize("which", ["seed", "three"])
def test_libreoffice_recalculation_equals_the_cached_values(soffice, seed_fill, three, tmp_path, which):
    book = seed_fill[0] if which == "seed" else three
    recalculated = soffice.recalculate(book, tmp_path / "recalculated.xlsx")
    ours = openpyxl.load_workbook(book, data_only=True)
    theirs = openpyxl.load_workbook(recalculated, data_only=True)
    formulas = formula_cells(book)
    compared = 0
    for sheet, cells in formulas.items():
        for ref in cells:
            a, b = ours[sheet][ref].value, theirs[sheet][ref].value
            assert _same(a, b), (sheet, ref, cells[ref][:80], a, b)
            compared += 1
    assert compared > 60
    # including the cross-report check, a 3D reference over the hidden bookends
    from xltools.formulas import FIRST_BOOKEND, cross_cell
    from xltools.spec.layout import a1
    ref = a1(cross_cell(SPEC)[0], 9)
    assert f"{FIRST_BOOKEND}:" in formulas[DEPT.sheet][ref]
    assert ours[DEPT.sheet][ref].value, "the seed's projects do not add up to the department's: the cell says so"
