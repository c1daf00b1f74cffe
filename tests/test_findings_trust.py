"""Findings a bureau can trust (issue 19): a footing whose parts are stated in different units
holds within the rounding of the figures as written, and a 机构名称 that differs between the
收入 table and a later table is found at its cell. Each with consistent counterparts that must stay
clean; random consistent reports exercise both in test_rules_properties.py and test_mutations.py.
"""
from __future__ import annotations

import copy
import re
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
import pytest

from helpers import SEED, load_seed, run_cli, sha256, write_json
from xltools.checker import check_file
from xltools.ooxml.package import Package
from xltools.rules.narrative import footings
from xltools.spec import load_spec
from xltools.write.fill import fill

SPEC = load_spec()
DEPT = SPEC.reports["dept"]
ORG = "临湘市民政局机关"


# --- the seed's narrative with one 机构 written in 万元 ----------------------------------------------
def _wan(yuan: str) -> str:
    return str((Decimal(yuan.replace(",", "")) / 10000).quantize(Decimal("0.01"), ROUND_HALF_UP))


def seed_in_wan() -> dict:
    """The seed as its unit should have filed it (the 60000 typo and the table's errors fixed, as
    test_check_seed.corrected_seed), with 临湘市民政局机关's sentence written in 万元, two decimals,
    as the issue found it: the other 机构 and the all-unit sentence stay in 元."""
    doc = load_seed()
    dept = doc["dept"]
    dept["spend"][0]["personnel"] = "452.92"
    dept["dept_ind"][-1]["actual"] = "5"
    text = dept["narrative"].replace("一般商品和服务支出506000元", "一般商品和服务支出566000元")
    start = text.index(ORG + "预算支出")
    end = text.index("。", start)
    sentence = text[start:end]
    in_wan = re.sub(r"(\d[\d,]*(?:\.\d+)?)元", lambda m: _wan(m.group(1)) + "万元", sentence)
    dept["narrative"] = text[:start] + in_wan + text[end:]
    return doc


def test_the_issues_case_one_org_in_wan_the_others_and_the_sum_in_yuan_is_clean(tmp_path):
    doc = seed_in_wan()
    narrative = doc["dept"]["narrative"]
    assert f"{ORG}预算支出3512.52万元" in narrative and "基本预算总支出36288209.12元" in narrative
    # the all-unit sentence differs from the sum as written by tens of 元: the 万元 rounding only
    assert footings(narrative) == []
    assert check_file(write_json(tmp_path / "seed_wan.json", doc), SPEC).flat() == []


@pytest.mark.parametrize("was,now,kind", [
    ("3512.52万元", "3512.62万元", "a 万元 figure off by 0.1"),
    ("452.09万元", "452.90万元", "a 万元 item off within its own sentence"),
    ("412779.05元，其中：基本支出", "412979.05元，其中：基本支出", "a 元 figure beyond the rounding"),
])
def test_a_typo_beyond_the_rounding_is_still_found(tmp_path, was, now, kind):
    doc = seed_in_wan()
    assert doc["dept"]["narrative"].count(was) == 1
    doc["dept"]["narrative"] = doc["dept"]["narrative"].replace(was, now)
    found = [f for f in check_file(write_json(tmp_path / "typo.json", doc), SPEC).findings if f.code == "text-footing"]
    figure = now.split("，")[0].removesuffix("万元").removesuffix("元")
    assert found and all(f.severity == "error" for f in found), kind
    assert any(figure in f.message for f in found), (kind, [f.message for f in found])


# --- the tolerance, figure by figure ----------------------------------------------------------------
def _sentence(total: str, *parts: str, partial: bool = False) -> str:
    return f"各机构支出合计{total}，其中：" + "，".join(f"{name}机构{p}" for name, p in zip("甲乙丙", parts)) + \
        ("等" if partial else "") + "。"


@pytest.mark.parametrize("total,parts,holds", [
    # one 万元 figure (two decimals) among 元: within half a cent of 万元 = 50 元, either way
    ("1050050元", ("100.00万元", "50050元"), True),
    ("1050100元", ("100.00万元", "50050元"), True),       # +50 元: the edge holds
    ("1050100.01元", ("100.00万元", "50050元"), False),   # +50.01 元
    ("1049999.99元", ("100.00万元", "50050元"), False),   # -50.01 元
    # the precision as written: one decimal (±500 元), whole 万元 (±5000 元), four decimals (±0.5 元)
    ("1050450元", ("100.0万元", "50050元"), True),
    ("1050600元", ("100.0万元", "50050元"), False),
    ("1054000元", ("100万元", "50050元"), True),
    ("1056000元", ("100万元", "50050元"), False),
    ("1050050.5元", ("100.0000万元", "50050元"), True),
    ("1050051元", ("100.0000万元", "50050元"), False),
    ("1050050.01元", ("100.000000万元", "50050元"), False),   # six decimals: exact to the 分
    # the total in 万元, the parts in 元: the total's own rounding
    ("105.01万元", ("1000000元", "50050元"), True),
    ("105.02万元", ("1000000元", "50050元"), False),
    # two 万元 figures: their allowances add up
    ("1550080元", ("100.00万元", "50.00万元", "50050元"), True),
    ("1550150.01元", ("100.00万元", "50.00万元", "50050元"), False),
    # one unit: exact as written, whatever the decimals
    ("150.00万元", ("100.00万元", "50.01万元"), False),
    ("150.01万元", ("100.00万元", "50.01万元"), True),
    ("3003万元", ("146万元", "2857万元"), True),
    ("1050050元", ("1000000元", "50050.01元"), False),
])
def test_a_footing_holds_within_the_rounding_of_each_figure_as_written(total, parts, holds):
    found = footings(_sentence(total, *parts))
    assert (found == []) is holds, [f.message for f in found]
    figures = (total, *parts)
    mixed = len({f.endswith("万元") for f in figures}) == 2
    rounded = [f for f in figures if f.endswith("万元") and len(f.removesuffix("万元").partition(".")[2]) < 6]
    if not holds:
        assert ("四舍五入的误差" in found[0].message) is (mixed and bool(rounded))    # says what it allowed


def test_a_list_that_is_not_complete_only_bounds_the_whole_within_the_rounding():
    assert footings(_sentence("1000000元", "80.00万元", "200030元", partial=True)) == []   # 30 元 over: rounding
    assert footings(_sentence("1000000元", "80.00万元", "200060元", partial=True)) != []   # 60 元 over
    assert footings(_sentence("1000000元", "50.00万元", "200000元", partial=True)) == []   # a part of the whole


# --- 机构 names across the tables ----------------------------------------------------------------------
def _later(rep=DEPT, row: str = "1"):
    """The copies of one 机构 row, from the spec's `same_as` (not a list here)."""
    return [c for c in rep.copies if rep.fields[c.target].row == row]


def test_the_spec_declares_the_later_tables_names_as_copies_of_the_income_tables():
    copies = _later()
    assert len(copies) == 3 and len({c.source for c in copies}) == 1
    assert {DEPT.fields[c.target].table for c in copies} == {"spend", "three_public", "assets"}


@pytest.fixture(scope="module")
def seed_book(tmp_path_factory):
    return fill(SEED, tmp_path_factory.mktemp("names") / "seed.xlsx", SPEC).path


@pytest.mark.parametrize("copy_rule", _later(), ids=lambda c: c.target)
def test_a_name_typed_over_in_a_later_table_is_found_at_its_cell(copy_rule, seed_book, tmp_path):
    target, source = DEPT.fields[copy_rule.target], DEPT.fields[copy_rule.source]
    book = Package(seed_book.read_bytes())
    book.sheet(DEPT.sheet).set(target.cell, ORG + "（二级）")
    typed = book.save(tmp_path / "typed.xlsx")
    before = sha256(typed)
    report = check_file(typed, SPEC)
    [f] = [f for f in report.findings if f.code == "copy-differs"]
    assert (f.severity, f.sheet, f.cell) == ("error", DEPT.sheet, target.cell)
    assert f"“{ORG}（二级）”" in f.message and f"“{ORG}”" in f.message
    assert target.cell in f.message and source.cell in f.message and "年度收入情况表" in f.message
    # typed over, the template's formula is gone too: said at the same cell
    assert {(x.code, x.cell) for x in report.findings} - {(x.code, x.cell) for x in check_file(seed_book, SPEC).findings} \
        == {("copy-differs", target.cell), ("formula-altered", target.cell)}
    done = run_cli("check", typed)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert any(f"!{target.cell} " in line and "copy-differs" in line for line in done.stdout.splitlines())
    assert sha256(typed) == before

    # the counterpart: the same name typed over (the formula gone, the name right) is no copy-differs
    same = Package(seed_book.read_bytes())
    same.sheet(DEPT.sheet).set(target.cell, ORG)
    assert not [x for x in check_file(same.save(tmp_path / "same.xlsx"), SPEC).findings if x.code == "copy-differs"]


def test_a_data_file_stating_other_names_is_found_at_each_and_the_same_names_are_clean(tmp_path):
    doc = load_seed()
    tables = [DEPT.fields[c.target].table for c in _later()]
    clean = copy.deepcopy(doc)
    for i, table in enumerate(tables):      # the same name: as stated, with spaces, half-width brackets
        clean["dept"][table][0]["org"] = [ORG, f" {ORG} ", ORG[:3] + " " + ORG[3:]][i]
    assert not [f for f in check_file(write_json(tmp_path / "clean.json", clean), SPEC).findings
                if f.code == "copy-differs"]
    bracket = copy.deepcopy(doc)
    for table in ["income", *tables]:
        bracket["dept"][table][0]["org"] = ORG + "（二级）"
    bracket["dept"]["assets"][0]["org"] = ORG + "(二级)"       # the same name in half-width brackets
    assert not [f for f in check_file(write_json(tmp_path / "brackets.json", bracket), SPEC).findings
                if f.code == "copy-differs"]

    for table in tables:
        doc["dept"][table][0]["org"] = ORG + "（二级）"
    doc["dept"]["assets"].append({"org": "临湘市救助站"})          # a row the 收入 table leaves empty
    found = {f.cell: f for f in check_file(write_json(tmp_path / "names.json", doc), SPEC).findings
             if f.code == "copy-differs"}
    cells = {DEPT.fields[c.target].cell for c in _later()} | {DEPT.cell("assets_org_2")}
    assert set(found) == cells
    assert "没有填写" in found[DEPT.cell("assets_org_2")].message and DEPT.cell("income_org_2") in \
        found[DEPT.cell("assets_org_2")].message


def test_a_name_changed_in_the_income_table_alone_is_no_finding_in_a_workbook(seed_book, tmp_path):
    """In a workbook the later tables' names are the template's formulas: they follow the 收入
    table's, so the names agree whatever it says (what the template shows is what is read)."""
    book = Package(seed_book.read_bytes())
    book.sheet(DEPT.sheet).set(DEPT.cell("income_org_1"), ORG + "（二级）")
    path = book.save(tmp_path / "renamed.xlsx")
    # the cached copies still show the old name until a spreadsheet recomputes: score recomputes
    scored = tmp_path / "scored.xlsx"
    assert run_cli("score", path, "-o", scored).returncode in (0, 1)
    shown = openpyxl.load_workbook(scored, data_only=True)[DEPT.sheet]
    assert {shown[DEPT.fields[c.target].cell].value for c in _later()} == {ORG + "（二级）"}
    assert not [f for f in check_file(scored, SPEC).findings if f.code == "copy-differs"]
