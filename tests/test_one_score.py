"""One score and one grade for a report in the old indicator layout, wherever it is shown.

The example (examples/linxiang_2022.json) is the published 2022 report in the old layout: scores in
实际完成值 (完成情况), the project's weights in 指标值, 得分 empty. Its department scores add up to
102 (满意度 is given 10 against a weight of 5), its project's to 98. Followed as a unit and a bureau
follow it: `fill`, the template recalculated by LibreOffice, `score`, `check`, `pack` (its PDF
rendered, its values copy, manifest and 数据.json), `collect` of the pack's zip and `--history`.
A workbook typed by hand in the old layout goes the same way through `score` and `pack`.
"""
from __future__ import annotations

import json
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from helpers import ROOT, SEED, run_cli
from xltools.checker import check_file
from xltools.ooxml.package import Package
from xltools.pack import run as packer
from xltools.read.workbook import read_workbook
from xltools.spec import load_spec
from xltools.write.fill import write_instances

SPEC = load_spec()
DEPT, PROJ = SPEC.reports["dept"], SPEC.reports["project"]
# (composite, grade) of each report, as the published figures add up
EXPECTED = {DEPT.sheet: ("102", "优秀"), PROJ.sheet: ("98", "优秀")}
ARTIFACTS = ROOT / "tests" / "artifacts" / "one_score"


def shown(path: Path) -> dict[str, tuple[str, str]]:
    """(composite, grade) of each report sheet as the workbook's cells hold them (openpyxl)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    out = {}
    for rep in (DEPT, PROJ):
        table = rep.indicator_tables[0]
        ws = wb[rep.sheet]
        score = ws[rep.cell(table.score_field)].value
        out[rep.sheet] = (format(Decimal(str(score)).normalize(), "f"), ws[rep.cell(table.grade_field)].value)
    return out


def scores_of(report) -> dict[str, tuple[str, str]]:
    """(computed composite, grade) of each report (a Report, or its JSON); the stated ones must
    agree where stated."""
    out = {}
    for sheet, s in (report["score"] if isinstance(report, dict) else report.score).items():
        assert s["stated_score"] in (None, s["computed_score"]), s
        assert s["stated_grade"] in (None, s["computed_grade"]), s
        out[sheet] = (s["computed_score"], s["computed_grade"])
    return out


def old_layout_book(new_layout: Path, out: Path) -> Path:
    """The workbook as an accountant fills the template the old way: each score typed into 实际完成值
    (and, on the project sheet, its weight into 指标值), 得分 left empty. The formulas' cached values
    follow, as Excel's recalculation would."""
    filled = read_workbook(new_layout, SPEC)
    book = Package(new_layout.read_bytes())
    for inst in filled.instances:
        sheet = book.sheet(inst.sheet)
        for table in inst.report.indicator_tables:
            for i in range(1, len(table.indicators) + 1):
                score, weight = (inst.values.pop(f"{table.id}_{c}_{i}", None) for c in ("score", "weight"))
                inst.values[f"{table.id}_actual_{i}"] = score
                sheet.set(inst.cell(f"{table.id}_actual_{i}"), score)
                sheet.set(inst.cell(f"{table.id}_score_{i}"), None)
                if inst.report is PROJ:
                    inst.values[f"{table.id}_target_{i}"] = weight
                    sheet.set(inst.cell(f"{table.id}_target_{i}"), weight)
                else:
                    inst.values[f"{table.id}_weight_{i}"] = weight
    write_instances(book, SPEC, filled.instances, write_inputs=False)
    return book.save(out)


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fill") / "linxiang.xlsx"
    done = run_cli("fill", SEED, "-o", out)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def by_hand(filled, tmp_path_factory) -> Path:
    return old_layout_book(filled, tmp_path_factory.mktemp("hand") / "旧版写法.xlsx")


def test_fill_writes_the_old_layout_in_the_new_columns(filled):
    wb = openpyxl.load_workbook(filled)
    table = PROJ.indicator_tables[0]
    ws = wb[PROJ.sheet]
    seed = json.loads(SEED.read_text(encoding="utf-8"))["projects"][0]["proj_ind"]
    for i, row in enumerate(seed, start=1):
        cells = {c: ws[PROJ.cell(f"{table.id}_{c}_{i}")].value for c in ("target", "actual", "weight", "score")}
        assert cells == {"target": None, "actual": None, "weight": int(row["target"]), "score": int(row["actual"])}
    assert shown(filled) == EXPECTED
    assert scores_of(check_file(filled, SPEC)) == EXPECTED


def test_libreoffice_computes_the_same_composite_and_grade(soffice, filled, tmp_path):
    assert shown(soffice.recalculate(filled, tmp_path / "recalculated.xlsx")) == EXPECTED


def test_a_composite_above_the_full_mark_is_an_error_everywhere(filled):
    for source in (SEED, filled):
        report = check_file(source, SPEC)
        [over] = [f for f in report.findings if f.code == "score-over"]
        assert (over.sheet, over.cell, over.severity) == (DEPT.sheet, DEPT.cell("score_total"), "error")
        assert over.message == "综合得分超过满分 100 分：各指标得分合计 102 分"
    done = run_cli("score", filled, "-o", filled.with_name("scored.xlsx"))
    assert "综合得分 102，评价等次 优秀；综合得分超过满分 100 分：各指标得分合计 102 分" in done.stdout


@pytest.mark.parametrize("book", ["filled", "by_hand"])
def test_score_takes_the_units_scores_and_reads_no_weight_as_a_target(book, request, tmp_path):
    source = request.getfixturevalue(book)
    out = tmp_path / "scored.xlsx"
    done = run_cli("score", source, "-o", out)
    assert done.returncode == 0, done.stderr
    assert "目标≥" not in done.stdout and "目标≤" not in done.stdout, done.stdout
    if book == "by_hand":
        assert "项目支出：指标表按旧版表式填写，已把“实际完成值”列的得分移入“得分”列、“指标（目标）值”列的分值移入“分值”列" \
            in done.stdout
    assert "部门整体支出：绩效自评综合得分 102" in done.stdout and "项目支出：绩效自评综合得分 98，评价等次 优秀" in done.stdout
    assert shown(out) == EXPECTED
    assert scores_of(check_file(out, SPEC)) == EXPECTED
    again = run_cli("score", out, "-o", tmp_path / "again.xlsx")            # scoring twice changes nothing
    assert "目标≥" not in again.stdout and shown(tmp_path / "again.xlsx") == EXPECTED


def test_check_reads_a_hand_typed_old_layout_so(by_hand):
    report = check_file(by_hand, SPEC)
    assert sorted(s for code, s, _ in report.flat(None) if code == "legacy-indicators") == sorted(EXPECTED)
    assert scores_of(report) == EXPECTED
    legacy = next(f for f in report.findings if f.code == "legacy-indicators")
    assert "xltools" not in legacy.hint and "“得分”列" in legacy.hint       # no command a bookkeeper cannot run


@pytest.fixture(scope="module", params=["filled", "by_hand"])
def packed(request, soffice, tmp_path_factory):
    source = request.getfixturevalue(request.param)
    out = tmp_path_factory.mktemp("pack")
    done = run_cli("pack", source, "-o", out, "--force", "--zip")
    assert done.returncode == 1, done.stderr         # packed, with the report's real errors
    [zipped] = out.glob("*.zip")
    folder = out / "unzipped"
    with zipfile.ZipFile(zipped) as z:
        z.extractall(folder)
    [inner] = folder.iterdir()
    return request.param, zipped, inner


def test_the_pdf_prints_the_composite_and_grade(packed, pdf_text):
    kind, _, folder = packed
    for sheet, pdf in ((DEPT.sheet, "部门整体支出.pdf"), (PROJ.sheet, "项目支出_专项资金支出.pdf")):
        lines = pdf_text(folder / pdf).splitlines()
        score, grade = EXPECTED[sheet]
        [line] = [ln for ln in lines if "绩效自评综合得分" in ln]
        assert line.split()[-1] in (score, f"{score}.00"), line
        [line] = [ln for ln in lines if "评价等次" in ln and "绩效" not in ln]
        assert line.split()[-1] == grade, line
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = pdf_text(folder / "部门整体支出.pdf").split("\f")
    page = next(i for i, text in enumerate(pages, 1) if "绩效自评综合得分" in text)
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", str(page), "-l", str(page), folder / "部门整体支出.pdf",
                    ARTIFACTS / f"{kind}_部门整体支出_得分页"], check=True)


def test_values_copy_manifest_and_data_file_agree(packed):
    kind, _, folder = packed
    assert shown(folder / f"{folder.name}.xlsx") == EXPECTED
    manifest = json.loads((folder / packer.MANIFEST).read_text(encoding="utf-8"))
    assert {s: (r["score"], r["grade"]) for s, r in manifest["check"]["reports"].items()} == EXPECTED
    data = check_file(folder / packer.DATA_NAME, SPEC)
    assert scores_of(data) == EXPECTED
    assert all(r["stated_score"] is not None for r in data.score.values())     # the data file states them


def test_collect_of_the_pack_shows_every_figure_and_the_score(packed, tmp_path):
    kind, zipped, _ = packed
    inbox = tmp_path / "收件"
    inbox.mkdir()
    (inbox / zipped.name).write_bytes(zipped.read_bytes())
    out = tmp_path / "汇总.xlsx"
    done = run_cli("collect", inbox, "-o", out, "--json")
    [row] = json.loads(done.stdout)
    assert {f["label"]: f["value"] for f in row["figures"]} == {
        "收入合计": "3512.52", "支出合计": "3511.69", "基本支出": "508.69", "项目支出": "3003", "三公经费": "5"}
    assert [p["figures"][-1]["value"] for p in row["projects"]] == ["2983"]
    assert (row["score_stated"], row["score_computed"], row["grade_stated"], row["grade_computed"]) == \
        ("102", "102", "优秀", "优秀")
    history = run_cli("collect", "--history", "临湘市民政局", "-o", out, "--json")
    [version] = json.loads(history.stdout)
    assert scores_of(version) == EXPECTED
