"""The catalogue of findings (xltools/catalogue.py): one declaration of each code.

- The README's rule table is the catalogue's generation (as sqlite-utils' test_docs does).
- Every code the checker emits over a corpus (the seed, its workbook, reports changed to break
  every rule, damaged cells) is in the catalogue, and every catalogued code is emitted by some
  member of the corpus (except the ones listed with their reason).
- The Python and Excel renderings of a template are one sentence.
"""
from __future__ import annotations

from decimal import Decimal

from helpers import ROOT
from xltools import catalogue
from xltools.spec import load_spec

SPEC = load_spec()


def test_readme_rule_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == catalogue.readme_with_table(readme, SPEC), \
        "README.md 的规则表与 xltools/catalogue.py 不一致：请运行 python -m xltools.catalogue --readme"
    # and the table lists every code, once
    table = readme[readme.index(catalogue.README_BEGIN):readme.index(catalogue.README_END)]
    codes = [e.code for e in catalogue.all_entries(SPEC)]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert table.count(f"| `{code}` |") == 1, code


def test_the_spec_rules_keep_their_wording():
    entries = {e.code: e for e in catalogue.spec_entries(SPEC)}
    basic = next(r for r in SPEC.dept.sums if r.code == "basic")
    assert entries["basic"].title == basic.message and entries["basic"].hint == basic.hint
    assert entries["cross-report"].severity == SPEC.cross.severity == "warning"
    assert entries["staff"].severity == "warning" and entries["staff"].twin == catalogue.INLINE
    # detail names two relations, each with its own code
    assert entries["detail-sum"].twin == catalogue.FORMULA and entries["detail-spent"].twin == catalogue.INLINE


def test_python_and_excel_render_one_template():
    e = catalogue.entry("weight-sum")
    args = dict(target="100", total="95.00", direction="少", gap="5.00")
    assert e.text(**args) == "各指标分值合计应为 100，现为 95.00，少 5.00 分"
    # every argument a literal: the Excel string is that sentence, quoted
    assert e.excel(**args) == '"各指标分值合计应为 100，现为 95.00，少 5.00 分"'
    excel = e.excel(target="100", total=catalogue.excel_figure("SUM(H2:H5)", "score"),
                    direction=catalogue.excel_direction("SUM(H2:H5)-100"),
                    gap=catalogue.excel_figure("ABS(SUM(H2:H5)-100)", "score"))
    assert excel == ('"各指标分值合计应为 100，现为 "&TEXT(SUM(H2:H5),"0.00")&"，"&IF(SUM(H2:H5)-100<0,"少","多")'
                     '&" "&TEXT(ABS(SUM(H2:H5)-100),"0.00")&" 分"')
    assert catalogue.figure(Decimal("-45"), "万元") == "-45.00" and catalogue.figure(Decimal("55"), "人") == "55"
    assert catalogue.entry("text-amount").excel(phrase='"', quoted="1", wan="0", label="", cell="A1",
                                                value="0").startswith('"综述中"" 1 元')   # quotes doubled


def test_finding_from_a_code():
    f = catalogue.finding("required", "部门整体支出", "B5", label="联系人")
    assert (f.code, f.severity, f.sheet, f.cell, f.message) == ("required", "error", "部门整体支出", "B5",
                                                                "必填项未填：联系人")
    f = catalogue.finding("number-text", "部门整体支出", "C20", where="dept.income[0].total", note="x")
    assert f.severity == "warning" and f.message == "x（dept.income[0].total）"
    assert f.hint == catalogue.entry("number-text").hint
    f = catalogue.finding("text-amount", "部门整体支出", "A88", phrase="预算支出", quoted="35125167.01",
                          wan="3512.52", label="支出合计", cell="B28", value="3511.69")
    assert f.message == "综述中预算支出 35125167.01 元（3512.52 万元）与支出合计 B28 的 3511.69 万元不符"
    assert f.hint == "核对综述中的金额与表中 B28"
