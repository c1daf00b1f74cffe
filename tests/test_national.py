"""The national 项目支出绩效自评表 (specs/national_2022.toml): its template built, protected and
validated like the county form's; filled from data files modelled on published forms (2020 Yunnan,
2022 Anhui, 2023 Sichuan: tests/data/national, each citing its source), its cached values equal
LibreOffice's recalculation; what the checker finds in each published form; score; pack's print.

Cells are derived from the spec, never written as literals.
"""
from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from helpers import ROOT, XLTOOLS, comparable, formula_elements, run_cli, unlocked_cells
from xltools import units
from xltools.build.workbook import template_bytes
from xltools.checker import check_file
from xltools.errors import DataError
from xltools.spec import load_spec
from xltools.write.fill import fill
from xltools.write.score import score_workbook

PATH = ROOT / "specs" / "national_2022.toml"
SPEC = load_spec(PATH)
REP = SPEC.reports["project"]
COMMITTED = ROOT / "templates" / "national_2022.xlsx"
DATA = ROOT / "tests" / "data" / "national"
CJK = re.compile(r"[\u4e00-\u9fff]")


def variant(folder: Path, name: str, *edits: tuple[str, str]) -> Path:
    """A copy of the national spec with `edits` (old, new) made, as an admin makes next year's."""
    text = PATH.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def sichuan(folder: Path) -> Path:
    """Sichuan's 2023 platform: no 一级 weights in its headers, a 偏差原因 only when short."""
    return variant(folder, "sichuan_2023.toml", ("year = 2022", "year = 2023"), ('region = "通用"', 'region = "四川省"'),
                   ('levels = [{ name = "产出指标", weight = 50 }, { name = "效益指标", weight = 30 }, '
                    '{ name = "满意度指标", weight = 10 }]',
                    'levels = [{ name = "产出指标" }, { name = "效益指标" }, { name = "满意度指标" }]'),
                   ('reason_over = "1.3"', "# reason_over: not asked"))


@pytest.fixture(scope="module")
def specs(tmp_path_factory) -> dict[str, object]:
    """The spec each modelled form is read with: Yunnan's 2020 and Anhui's 2022 are the national
    spec for their region (its year set); Sichuan's 2023 a spec of its own."""
    folder = tmp_path_factory.mktemp("specs")
    return {"yunnan_2020": load_spec(PATH, year=2020, region="云南省"),
            "anhui_2022_tangxi": load_spec(PATH, region="安徽省"), "anhui_2022_tianchang": load_spec(PATH, region="安徽省"),
            "sichuan_2023_daying": load_spec(sichuan(folder)), "sichuan_2023_qingshen": load_spec(sichuan(folder))}


@pytest.fixture(scope="module")
def books(specs, tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("books")
    return {name: fill(DATA / f"{name}.toml", tmp / f"{name}.xlsx", spec).path for name, spec in specs.items()}


@pytest.fixture(scope="module")
def plain() -> bytes:
    return template_bytes(SPEC)


@pytest.fixture(scope="module")
def book(plain):
    return openpyxl.load_workbook(io.BytesIO(plain))


# --- the template ---------------------------------------------------------------------------------
def test_committed_template_is_what_the_cli_builds_and_says_its_form(tmp_path):
    out = tmp_path / "national.xlsx"
    done = run_cli("template", "--spec", PATH, "-o", out)
    assert done.returncode == 0, done.stderr
    assert "通用2022年度项目支出绩效自评表模板（第1版）" in done.stdout
    assert out.read_bytes() == COMMITTED.read_bytes(), "templates/national_2022.xlsx is stale: rebuild it"
    # the admin's region: the same rules, the title and the fingerprint say the region
    done = run_cli("template", "--spec", PATH, "--region", "云南省", "--year", "2023", "-o", tmp_path / "yn.xlsx")
    assert "云南省2023年度项目支出绩效自评表模板" in done.stdout


def test_building_twice_gives_the_same_bytes(plain, tmp_path):
    assert template_bytes(SPEC) == plain
    for seed in ("1", "2"):
        subprocess.run([str(XLTOOLS), "template", "--spec", str(PATH), "-o", str(tmp_path / f"{seed}.xlsx")],
                       check=True, capture_output=True, env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"})
        assert (tmp_path / f"{seed}.xlsx").read_bytes() == plain


def test_every_sheet_protected_and_the_structure_locked(book):
    assert book.sheetnames == ["项目表头", "项目支出绩效自评表", "项目表尾"]
    assert book.active.title == "项目支出绩效自评表" and book.security.lockStructure
    assert all(ws.protection.sheet for ws in book.worksheets)


def test_inputs_unlocked_and_shaded_everything_else_locked(book):
    ws = book[REP.sheet]
    inputs, texts, unlocked = unlocked_cells(ws, REP)
    assert unlocked == inputs
    assert len({(ws[c].fill.fill_type, ws[c].fill.fgColor.rgb) for c in inputs | texts}) == 1
    for f in REP.computed:
        assert ws[f.cell].protection.locked, f.name
    # the fit columns of the long texts are right of the join column, beyond the check column K
    fits = {p.col for p in REP.placed if p.role == "fit"}
    assert fits and min(fits) == REP.fit_column == 13


def test_every_input_has_the_validation_its_unit_declares(book):
    dvs = {}
    for dv in book[REP.sheet].data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for row, col in rng.cells:
                dvs[f"{get_column_letter(col)}{row}"] = dv
    kinds = set()
    for f in REP.inputs:
        if f.name in REP.runs:
            continue
        dv, want = dvs[f.cell], units.validation(f, SPEC.year, REP.cell)
        assert (dv.type, dv.formula1, dv.prompt, dv.error) == (want.type, want.formula1, want.prompt, want.error), f.name
        assert CJK.search(dv.prompt) and CJK.search(dv.error)
        kinds.add(type(units.unit_of(f)).__name__)
        if f.column == "nature":         # a list: ≥ > ≤ < = 定性
            assert dv.type == "list" and "定性" in dv.formula1 and "≥" in dv.formula1
        if f.prompt:                     # the spec's own words for the column
            assert f.prompt in dv.prompt
    assert kinds == {"Amount", "Weight", "Score", "Choice", "Text"}


def test_print_setup_a4_the_printed_columns_and_the_check_column(book):
    ws = book[REP.sheet]
    ps = ws.page_setup
    assert (int(ps.paperSize), ps.orientation, int(ps.fitToWidth), int(ps.fitToHeight)) == (9, "portrait", 1, 0)
    assert ws.print_area == f"'{REP.sheet}'!$A$1:$J${REP.last_row}" and REP.columns == 10
    check = get_column_letter(REP.check_column)
    assert check == "K" and ws.column_dimensions[get_column_letter(REP.join_column)].hidden
    rows = {c.row for c in ws[check] if isinstance(c.value, str) and c.value.startswith("=")}
    assert rows == {p.row for p in REP.placed if p.role == "check"}
    assert {ws.cell(p.row, p.col).font.name for p in REP.placed if p.role not in ("box", "close")} == {"宋体", "仿宋"}


def test_the_formulas_compute_what_can_be_computed_natively(book):
    """年度资金总额 (a SUM of its 其中 rows), 执行率, its score, 总分 (with it), the grade; the
    header states the 一级 weights."""
    ws, b, it = book[REP.sheet], REP.budget, REP.indicator_tables[0]
    first, last = (REP.cell(f"budget_budget_{k}") for k in ("fiscal", "other"))
    assert ws[REP.cell(b.budget)].value == f"=SUM({first}:{last})"
    assert ws[REP.cell(b.rate)].value == f'=IF(N({REP.cell(b.budget)})=0,"",ROUND(N({REP.cell(b.spent)})/{REP.cell(b.budget)},4))'
    assert ws[REP.cell(b.score)].value == f'=IF({REP.cell(b.rate)}="","",ROUND(MAX(0,MIN(1,{REP.cell(b.rate)}))*10,2))'
    scores = it.names("score")
    assert ws[REP.cell(it.score_field)].value == f"=SUM({REP.cell(scores[0])}:{REP.cell(scores[-1])},{REP.cell(b.score)})"
    assert ws[REP.cell(it.grade_field)].value.startswith(f'=IF(COUNT({REP.cell(scores[0])}:')
    labels = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert {"产出指标\n（50分）", "效益指标\n（30分）", "满意度指标\n（10分）", "年度资金总额", "其中：本年财政拨款"} <= labels
    # a blank form shows no inline check
    cached = openpyxl.load_workbook(COMMITTED, data_only=True)[REP.sheet]
    assert all(not c.value for c in cached[get_column_letter(REP.check_column)][1:])   # below its heading


@pytest.fixture(scope="module")
def over_budget(tmp_path_factory) -> list[Path]:
    """执行率 103% filled into the capped spec and into one without the cap."""
    tmp = tmp_path_factory.mktemp("over")
    doc = json.loads(json.dumps(_yunnan_doc()))
    doc["projects"][0]["budget"]["fiscal"]["spent"] = "7.51"        # 7.51 / 7.29 = 103.02%
    data = tmp / "over.json"
    data.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    uncapped = variant(tmp, "uncapped.toml", ("execution_cap = true", "execution_cap = false"))
    return [fill(data, tmp / "capped.xlsx", load_spec(PATH, year=2020, region="云南省")).path,
            fill(data, tmp / "uncapped.xlsx", load_spec(uncapped, year=2020, region="云南省")).path]


def _yunnan_doc() -> dict:
    import tomllib
    return tomllib.loads((DATA / "yunnan_2020.toml").read_text(encoding="utf-8"))


def test_cached_values_of_the_filled_forms_equal_libreoffice(books, over_budget, soffice, tmp_path):
    compared = 0
    for path in [*books.values(), *over_budget]:
        recalculated = soffice.recalculate(path, tmp_path / f"lo_{path.name}")
        ours = openpyxl.load_workbook(path, data_only=True)
        theirs = openpyxl.load_workbook(recalculated, data_only=True)
        diffs = [(path.name, sheet, ref, ours[sheet][ref].value, theirs[sheet][ref].value)
                 for sheet, ref in formula_elements(path.read_bytes())
                 if comparable(ours[sheet][ref].value, "0.0001") != comparable(theirs[sheet][ref].value, "0.0001")]
        assert diffs == []
        compared += len(formula_elements(path.read_bytes()))
    assert compared > 200
    capped, uncapped = (openpyxl.load_workbook(p, data_only=True)[REP.sheet][REP.cell(REP.budget.score)].value
                        for p in over_budget)
    assert (capped, uncapped) == (10, 10.3)


# --- what the checker finds in each published form ---------------------------------------------------
EXPECTED = {
    # every target met, every score a point below its 分值, no 偏差原因
    "yunnan_2020": [("score-deducted", "warning", "ind_reason_%d" % i) for i in (1, 5, 8, 14, 20)],
    # 年度资金总额 printed 0 0 0 over 90 / 89.97 / 89.97; 执行率 and its score printed 0
    "anhui_2022_tangxi": [("budget-total", "error", "budget_initial_total"), ("budget-total", "error", "budget_budget_total"),
                          ("budget-total", "error", "budget_spent_total"), ("execution-rate", "error", "budget_rate"),
                          ("score-ahead", "warning", "score_total")],
    "anhui_2022_tianchang": [],
    # 年初 0.00 against 全年 3.36; 完成 against ≤30万元
    "sichuan_2023_daying": [("actual-not-number", "warning", "ind_actual_10"), ("budget-adjusted", "warning", "budget_initial_total")],
    # 完成值 and 得分 left blank
    "sichuan_2023_qingshen": [("required", "error", "ind_actual_1"), ("required", "error", "ind_score_1"),
                              ("required", "error", "ind_actual_14"), ("required", "error", "ind_score_14"),
                              ("budget-adjusted", "warning", "budget_initial_total")],
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_what_the_checker_finds_in_each_published_form(name, specs, books):
    spec = specs[name]
    want = sorted((code, severity, REP.sheet, spec.field(field).cell) for code, severity, field in EXPECTED[name])
    data = check_file(DATA / f"{name}.toml", spec)
    assert sorted((f.code, f.severity, f.sheet, f.cell) for f in data.findings) == want
    # the workbook: the totals, 执行率 and its score are the template's formulas, not what was printed
    computed = {"budget-total", "execution-rate", "score-ahead"}
    book = check_file(books[name], spec)
    assert sorted((f.code, f.severity, f.sheet, f.cell) for f in book.findings) == \
        sorted([w for w in want if w[0] not in computed] +
               ([("budget-adjusted", "warning", REP.sheet, spec.field("budget_initial_total").cell)]
                if name == "anhui_2022_tangxi" else []))


def test_the_published_scores_and_grades(specs, books):
    scores = {name: check_file(path, specs[name]).score[REP.sheet] for name, path in books.items()}
    assert {n: (s["computed_score"], s["computed_grade"]) for n, s in scores.items()} == {
        "yunnan_2020": ("93", "优"), "anhui_2022_tangxi": ("100", "优"), "anhui_2022_tianchang": ("100", "优"),
        "sichuan_2023_daying": ("100", "优"), "sichuan_2023_qingshen": ("10", "差")}


# --- the data format ----------------------------------------------------------------------------------
def test_indicators_given_by_group_fill_that_groups_rows(specs, books):
    table = REP.indicator_tables[0]
    rows = {ind.group: [] for ind in table.indicators}
    for i, ind in enumerate(table.indicators, start=1):
        rows[ind.group].append(i)
    values = check_file(books["anhui_2022_tangxi"], specs["anhui_2022_tangxi"])
    ws = openpyxl.load_workbook(books["anhui_2022_tangxi"])[REP.sheet]
    quality = [ws[REP.cell(f"ind_name_{i}")].value for i in rows["quality"]]
    assert quality[:2] == ["委托业务报告合格率", "经费支出合规性"] and quality[2] is None
    assert values.ok


def test_a_group_with_more_rows_than_the_template_is_refused(tmp_path):
    doc = _yunnan_doc()
    doc["projects"][0]["ind"]["timeliness"] = [{"name": f"指标{k}"} for k in range(3)]
    (tmp_path / "many.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DataError, match="timeliness 应为至多 2 项"):
        fill(tmp_path / "many.json", tmp_path / "x.xlsx", load_spec(PATH, year=2020, region="云南省"))


def test_spec_fields_lists_the_national_form(tmp_path):
    rows = json.loads(run_cli("spec", "fields", "--spec", PATH, "--json").stdout)
    by_name = {r["name"]: r for r in rows}
    assert by_name["budget_rate"] == {"name": "budget_rate", "label": "执行率", "sheet": REP.sheet,
                                      "cell": REP.cell("budget_rate"), "typed": None, "scope": "sheet", "kind": "computed",
                                      "unit": "rate"}
    assert by_name["ind_nature_1"]["unit"] == "choice" and by_name["impl_unit"]["kind"] == "input"


# --- score ------------------------------------------------------------------------------------------
def test_score_applies_the_specs_rules(specs, books, tmp_path):
    """Yunnan's scores, a point below each met target, become full marks; Anhui's qualitative
    rows keep the evaluator's in-band scores; the template then shows 100 and 优."""
    result = score_workbook(books["yunnan_2020"], tmp_path / "scored.xlsx", specs["yunnan_2020"])
    ws = openpyxl.load_workbook(tmp_path / "scored.xlsx")[REP.sheet]
    assert [ws[REP.cell(f"ind_score_{i}")].value for i in (1, 5, 8, 14, 20)] == [10, 20, 20, 30, 10]
    assert f"{REP.sheet}：总分 100.00，自评等级 优" in result.lines
    assert not check_file(tmp_path / "scored.xlsx", specs["yunnan_2020"]).findings
    kept = score_workbook(books["anhui_2022_tianchang"], tmp_path / "kept.xlsx", specs["anhui_2022_tianchang"])
    assert any("保留评价人在档内给出的 10 分" in line for line in kept.lines)


# --- the printout ---------------------------------------------------------------------------------------
def test_pack_prints_the_national_form_on_whole_a4_pages(books, specs, soffice, pdf_text, tmp_path):
    from xltools.pack.run import pack
    [result] = pack([books["anhui_2022_tangxi"]], tmp_path, spec=specs["anhui_2022_tangxi"], force=True)
    assert result.error is None, result
    folder = tmp_path / "2022_219001-池州市贵池区棠溪镇人民政府_项目支出绩效自评"
    assert sorted(p.name for p in folder.iterdir()) == sorted([
        f"{folder.name}.pdf", f"{folder.name}.xlsx", "委托业务项目.pdf", "数据.json", "manifest.json", "SHA256SUMS"])
    whole = folder / f"{folder.name}.pdf"
    info = subprocess.run(["pdfinfo", str(whole)], capture_output=True, text=True).stdout
    # one page, as the platform prints it: the rows the unit left blank are not printed, but for
    # the first row of each 二级 group (经济效益指标 has none in use and still shows)
    assert "A4" in info and int(re.search(r"Pages:\s+(\d+)", info).group(1)) == 1
    text = pdf_text(whole)
    for words in ("项目支出绩效自评表", "（2022年度）", "年度资金总额", "其中：本年财政拨款", "产出指标", "（50分）",
                  "达成预期指标", "总分", "自评等级", "委托业务报告合格率", "100.00%", "经济效益指标", "（10分）"):
        assert words in text.replace(" ", ""), words
    assert "☑" not in text and "□" not in text          # 指标性质 prints as chosen, not as tick boxes
    # every page of the print is A4 portrait (595 x 842 points)
    sizes = set(re.findall(r"Page\s+\d+\s+size:\s+([\d.]+ x [\d.]+)",
                           subprocess.run(["pdfinfo", "-l", "99", str(whole)], capture_output=True, text=True).stdout))
    assert sizes == {"595.304 x 841.89"}
