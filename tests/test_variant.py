"""A second report kind is a spec file, not a code change (issue 15, point 5).

A variant of specs/2022.toml, written in a temporary folder, renames both reports and their
sheets, their keys in a data file and the unit's field, moves every row of both sheets down
(a line added under each title), declares other summary figures with other labels, another pack
name and other words for the cross check, and is of another year. Every command runs on it as a
user runs them, with no code of xltools changed: template, fill, check, score, pack, collect. The
assertions are on what comes out: sheet names, findings at the moved cells, the figures of the
summary and the ledger, the pack's file names.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from helpers import ROOT, SEED, XLTOOLS, load_seed, write_json
from xltools.a1 import a1, split_a1
from xltools.checker import check_file
from xltools.spec import load_spec
from xltools.write.fill import fill

SPEC = load_spec()
SHIFT = 1                    # rows added at the top of each report sheet
NOTE_ROW = '''[[reports.blocks]]
kind = "row"
cells = [{ text = "（本表由单位填报，财政局审核）", span = 8 }]

'''
FIGURES = '''[summary]
figures = [
  { key = "spending", label = "支出总额", column = "spend.total" },
  { key = "carried", label = "上年结转", column = "income.carryover" },
  { key = "projects_spent", label = "项目实际支出合计", field = "fund_spent_total" },
]
copy_figures = [
  { key = "detail", label = "明细合计", field = "detail_amount_total" },
]
'''


def variant_text() -> str:
    text = (ROOT / "specs" / "2022.toml").read_text(encoding="utf-8")
    edits = [
        ("year = 2022", "year = 2023"),
        ('id = "dept"\nsheet = "部门整体支出"', 'id = "whole"\nsheet = "单位整体"'),
        ('data = "dept"', 'data = "unit"'),
        ('id = "project"\nsheet = "项目支出"', 'id = "item"\nsheet = "项目自评"'),
        ('data = "projects"', 'data = "items"'),
        ('pdf = "{sheet}_{name}"', 'pdf = "项目_{name}"'),
        ('name = "{year}_{unit}_绩效自评"', 'name = "{unit}_{year}_自评材料"'),
        ('total_label = "部门项目支出"', 'total_label = "单位项目支出"'),
        ('copy_label = "项目表"', 'copy_label = "项目自评表"'),
    ]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    text = text.replace('"dept_name"', '"unit_name"')          # the unit's field, and the identity naming it
    for title in ('lines = ["{region}{year}年度部门（单位）整体支出", "绩效评价自评报告"]\n',
                  'lines = ["财政支出项目绩效评价自评报告"]\n'):
        assert text.count(title) == 1
        text = text.replace(title, title + "\n" + NOTE_ROW, 1)
    return text[:text.index("[summary]")] + FIGURES


def variant_data() -> dict:
    doc = load_seed()
    unit = doc.pop("dept")
    unit["unit_name"] = unit.pop("dept_name")
    return {"year": 2023, "region": doc["region"], "unit": unit, "items": doc["projects"]}


def run(*args, cwd=ROOT, ok=(0, 1)):
    done = subprocess.run([str(XLTOOLS), *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env={**os.environ})
    assert done.returncode in ok, done.stderr
    assert "Traceback" not in done.stderr
    return done


def moved(cell: str, by: int = SHIFT) -> str:
    row, col = split_a1(cell)
    return a1(row + by, col)


@pytest.fixture(scope="module")
def variant(tmp_path_factory):
    """The variant spec in a folder of its own, its template, and the seed filled into it."""
    base = tmp_path_factory.mktemp("variant")
    (specs := base / "specs").mkdir()
    (path := specs / "2023.toml").write_text(variant_text(), encoding="utf-8")
    spec = load_spec(path)
    data = write_json(base / "单位.json", variant_data())
    template = base / "模板.xlsx"
    run("template", "--spec", path, "-o", template)
    book = base / "临湘市民政局2023.xlsx"
    run("fill", data, "--spec", path, "--template", template, "-o", book)
    return {"base": base, "specs": specs, "path": path, "spec": spec, "data": data, "template": template,
            "book": book}


def test_the_variant_declares_its_own_reports(variant):
    spec = variant["spec"]
    assert list(spec.reports) == ["whole", "item"] and spec.copied.id == "item"
    assert [r.data for r in spec.reports.values()] == ["unit", "items"]
    assert spec.identity.unit == "unit_name" and spec.fingerprint != SPEC.fingerprint
    assert [(f.key, f.label) for f in spec.figures] == [("spending", "支出总额"), ("carried", "上年结转"),
                                                       ("projects_spent", "项目实际支出合计")]
    for name in ("spend_basic_1", "fund_spent_total", "narrative", "p_score_total"):
        assert spec.field(name).cell == moved(SPEC.field(name).cell), name


def test_template_and_fill_name_the_sheets_as_declared(variant):
    wb = openpyxl.load_workbook(variant["template"])
    assert [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"] == ["单位整体", "项目自评"]
    assert wb.sheetnames == ["单位整体", "项目表头", "项目自评", "项目表尾"]
    for sheet in ("单位整体", "项目自评"):
        assert "（本表由单位填报，财政局审核）" in [c.value for row in wb[sheet].iter_rows(max_row=5) for c in row]
    filled = openpyxl.load_workbook(variant["book"])
    name_cell = variant["spec"].field("unit_name").cell
    assert filled["单位整体"][name_cell].value == "临湘市民政局"
    assert filled.defined_names["unit_name"].attr_text == f"'单位整体'!${name_cell[0]}${name_cell[1:]}"


def test_check_finds_the_seeds_errors_at_the_moved_cells(variant, tmp_path):
    """The same findings as the 2022 form gives the seed, each one row lower, on the renamed sheet."""
    sheets = {"部门整体支出": "单位整体", "项目支出": "项目自评"}
    before = check_file(fill(SEED, tmp_path / "2022.xlsx", SPEC).path, SPEC)
    after = check_file(variant["book"], variant["spec"])
    # text-total reads the whole-department figures by their [summary] keys, which the variant renames
    expected = sorted((f.code, sheets[f.sheet], moved(f.cell)) for f in before.findings if f.code != "text-total")
    assert sorted((f.code, f.sheet, f.cell) for f in after.findings) == expected
    spec = variant["spec"]
    assert ("score-over", "单位整体", spec.field("score_total").cell) in expected
    [cross] = [f for f in after.findings if f.code == "cross-report"]
    assert cross.cell == spec.field("spend_project_1").cell
    assert "单位项目支出 3003.00 万元" in cross.message and "（计入 1 张项目自评表）" in cross.message
    # the command line picks the variant by the workbook's fingerprint among the specs it is given
    done = run("check", "--spec", variant["path"], "--json", variant["book"])
    assert {f["cell"] for f in json.loads(done.stdout)[0]["findings"]} == {c for _, _, c in expected}


def test_score_writes_the_scores_at_the_moved_cells(variant, tmp_path):
    out = tmp_path / "评分后.xlsx"
    done = run("score", variant["book"], "--spec", variant["path"], "-o", out)
    assert "项目自评" in done.stdout
    ws = openpyxl.load_workbook(out)["项目自评"]
    score = variant["spec"].reports["item"].indicator_tables[0].names("score")[0]
    cell = variant["spec"].field(score).cell
    assert cell == moved(SPEC.field(score).cell) and ws[cell].value is not None


@pytest.fixture(scope="module")
def packed(variant, soffice, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pack")
    run("pack", variant["book"], "--spec", variant["path"], "-o", out, "--force")
    [folder] = list(out.iterdir())
    return folder


def test_pack_names_the_files_as_the_variant_declares(packed):
    folder = packed
    assert folder.name == "临湘市民政局_2023_自评材料"
    assert sorted(p.name for p in folder.iterdir()) == sorted([
        "临湘市民政局_2023_自评材料.pdf", "临湘市民政局_2023_自评材料.xlsx", "单位整体.pdf", "项目_专项资金支出.pdf",
        "数据.json", "manifest.json", "SHA256SUMS"])
    data = json.loads((folder / "数据.json").read_text(encoding="utf-8"))
    assert list(data) == ["year", "region", "unit", "items"] and data["unit"]["unit_name"] == "临湘市民政局"


def test_collect_shows_each_kinds_own_figures(variant, tmp_path):
    """An inbox mixing the 2022 form and the variant (a workbook and its pack): each row with its
    own figures under its own labels, in the summary and in the ledger."""
    inbox = tmp_path / "收件"
    inbox.mkdir()
    (inbox / "民政局2023.xlsx").write_bytes(variant["book"].read_bytes())
    two = variant_data()
    two["unit"]["unit_name"] = "临湘市水利局"
    run("fill", write_json(tmp_path / "水利局.json", two), "--spec", variant["path"], "-o", inbox / "水利局2023.xlsx")
    run("fill", SEED, "-o", inbox / "民政局2022.xlsx")
    out = tmp_path / "汇总.xlsx"
    done = run("collect", inbox, "-o", out, "--specs", variant["specs"], "--json")
    rows = {Path(r["file"]).name: r for r in json.loads(done.stdout)}
    assert {k: (r["unit"], r["year"], r["refused"]) for k, r in rows.items()} == {
        "民政局2023.xlsx": ("临湘市民政局", 2023, None), "水利局2023.xlsx": ("临湘市水利局", 2023, None),
        "民政局2022.xlsx": ("临湘市民政局", 2022, None)}
    # what the workbook's cells hold (the totals are the template's formulas: 支出合计 is 3511.69)
    spec, cells = variant["spec"], openpyxl.load_workbook(variant["book"], data_only=True)
    spending = sum(Decimal(str(cells["单位整体"][spec.field(f"spend_total_{k}").cell].value or 0)) for k in "1234")
    fund_spent = cells["项目自评"][spec.field("fund_spent_total").cell].value
    assert (spending, fund_spent) == (Decimal("3511.69"), 2983)
    figures = [(f["label"], f["value"] and Decimal(f["value"])) for f in rows["民政局2023.xlsx"]["figures"]]
    assert figures == [("支出总额", spending), ("上年结转", None), ("项目实际支出合计", fund_spent)]
    assert [f["key"] for f in rows["民政局2023.xlsx"]["figures"]] == ["spending", "carried", "projects_spent"]
    assert [f["label"] for f in rows["民政局2022.xlsx"]["figures"]] == [f.label for f in SPEC.figures]
    [item] = rows["民政局2023.xlsx"]["projects"]
    assert item["name"] == "专项资金支出" and item["sheet"] == "项目自评"
    assert [(f["label"], Decimal(f["value"])) for f in item["figures"]] == [("明细合计", Decimal("2983"))]

    summary = openpyxl.load_workbook(out, data_only=True)["汇总"]
    header = [c.value for c in summary[3]]
    for label in ("支出总额", "上年结转", "项目实际支出合计", *(f.label for f in SPEC.figures)):
        assert header.count(label) == 1, label
    by_unit = {(summary.cell(r, 1).value, summary.cell(r, 2).value): r for r in range(4, 7)}
    row = by_unit[("临湘市民政局", 2023)]
    assert summary.cell(row, header.index("项目实际支出合计") + 1).value == fund_spent
    assert summary.cell(row, header.index("支出总额") + 1).value == float(spending)
    assert summary.cell(row, header.index("收入合计") + 1).value is None                   # not its figure
    assert summary.cell(by_unit[("临湘市民政局", 2022)], header.index("收入合计") + 1).value == 3512.52
    projects_header = [c.value for c in openpyxl.load_workbook(out, data_only=True)["项目支出汇总"][3]]
    assert "明细合计" in projects_header and "计划安排资金" in projects_header

    db = sqlite3.connect(out.with_suffix(".db"))
    detail = dict(db.execute("SELECT unit || year, detail FROM submissions").fetchall())
    assert json.loads(detail["临湘市水利局2023"])["figures"][0] == {"key": "spending", "label": "支出总额",
                                                                  "value": str(spending)}


def test_collect_knows_the_variants_pack_by_its_declared_name(variant, packed, tmp_path):
    inbox = tmp_path / "收件"
    shutil.copytree(packed, inbox / packed.name)
    done = run("collect", inbox, "-o", tmp_path / "汇总.xlsx", "--specs", variant["specs"], "--json")
    [row] = json.loads(done.stdout)
    assert row["file"].endswith("临湘市民政局_2023_自评材料/数据.json") and row["unit"] == "临湘市民政局"
    assert not [f for f in row["findings"] if f["code"].startswith("pack-")]


# --- one report kind, copied per project, no report held once (the shape of issue 16's national form)
def solo_text() -> str:
    """The 2022 spec without its department report (nor the cross check that needs it): the unit
    is named on each project sheet, the unit's figure adds up every project."""
    text = (ROOT / "specs" / "2022.toml").read_text(encoding="utf-8")
    text = text[:text.index('[[reports]]\nid = "dept"')] + text[text.index('[[reports]]\nid = "project"'):]
    text = text[:text.index("[cross]")] + '''[summary]
figures = [{ key = "spent", label = "各项目实际支出", field = "fund_spent_total" }]
copy_figures = [{ key = "plan", label = "计划安排资金", field = "fund_plan_total" }]
'''
    return text.replace('unit = "dept_name"', 'unit = "project_unit"')


def test_a_workbook_of_project_sheets_alone_is_a_spec_file(tmp_path):
    (specs := tmp_path / "specs").mkdir()
    (path := specs / "项目表.toml").write_text(solo_text(), encoding="utf-8")
    seed = load_seed()
    second = {**seed["projects"][0], "project_name": "第二个项目"}
    data = write_json(tmp_path / "项目.json", {"year": 2022, "region": "临湘市", "projects": [seed["projects"][0], second]})
    book = tmp_path / "项目.xlsx"
    run("fill", data, "--spec", path, "-o", book)
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["项目表头", "项目支出", "项目支出 (2)", "项目表尾"] and wb.active.title == "项目支出"
    spec = load_spec(path)
    report = check_file(book, spec)
    assert report.ok and set(report.score) == {"项目支出", "项目支出 (2)"}
    run("score", book, "--spec", path, "-o", tmp_path / "评分后.xlsx")
    done = run("collect", book, "-o", tmp_path / "汇总.xlsx", "--specs", specs, "--json")
    [row] = json.loads(done.stdout)
    assert row["unit"] == "临湘市民政局" and row["score_computed"] is None              # no report held once
    assert [(f["label"], f["value"]) for f in row["figures"]] == [("各项目实际支出", "5966")]   # 2983 + 2983
    assert [(p["name"], p["figures"][0]["value"]) for p in row["projects"]] == [("专项资金支出", "2983"),
                                                                                 ("第二个项目", "2983")]
