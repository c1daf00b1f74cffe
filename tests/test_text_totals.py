"""The narrative's whole-department totals against the tables (issue 18, point 4): the ways units
write them, on the corrected seed with one sentence put before its narrative. The seed's own
sentence ("基本预算总支出…，其中：基本支出…；项目支出…") counts two 机构 its table leaves out, so
its two warnings stay; what a test adds is what the new sentence brings."""
from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from helpers import write_json
from test_check_seed import corrected_seed
from xltools.checker import check_file
from xltools.rules.texts import _TOTAL_THEN_AMOUNT, _sentences_stating_totals
from xltools.spec import load_spec

SPEC = load_spec()


def totals(tmp_path, sentence: str) -> list[tuple[str, str]]:
    doc = corrected_seed()
    doc["dept"]["narrative"] = sentence + "\n" + doc["dept"]["narrative"]
    report = check_file(write_json(tmp_path / "data.json", doc), SPEC)
    seed = ("基本预算总支出", "基本支出")
    found = [f for f in report.findings if f.code == "text-total"]
    assert all(f.severity == "warning" for f in found)
    return [(f.message.split("”")[0].split("“")[1], f.actual) for f in found
            if not any(f.message.startswith(f"综述写的“{s}” {n}") for s, n in zip(seed, ("36288209.12", "6258209.12")))]


@pytest.mark.parametrize("sentence, expected", [
    # the issue's: the whole department, then 其中 its 基本支出 and 项目支出, none matching the table
    ("全年部门整体支出36,130,200元，其中基本支出12,345,600元，项目支出23,784,600元。",
     [("全年部门整体支出", "36130200元"), ("基本支出", "12345600元"), ("项目支出", "23784600元")]),
    ("部门支出合计3600万元。", [("部门支出合计", "36000000元")]),
    ("全年收入合计1000元；", [("全年收入合计", "1000元")]),
    ("本年度总收入3000万元，", [("本年度总收入", "30000000元")]),
    # the table's own figures, in 元 and in 万元: nothing to say
    ("全年部门整体支出35125167.01元，其中基本支出5095167.01元，项目支出30030000元。", []),
    ("部门整体支出3512.52万元，其中：基本支出509.52万元；项目支出3003万元。", []),
    ("全年收入合计3512.52万元。", []),
    # a 机构's own sentence is the quotes check's, and a 基本支出 alone is not the whole department's
    ("临湘市民政局机关全年支出合计1元。", []),
    ("基本支出1元。", []),
])
def test_the_ways_of_writing_the_whole_departments_totals(tmp_path, sentence, expected):
    assert totals(tmp_path, sentence) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["收入", "支出", "合计", "总额", "部门", "1", "2.5", "元", "万元", " ", "\u3000",
                                 "\t", "\n", "。", "，", "其中"]), max_size=40))
@example(["全年", "支出", "\n", "1", "元"])       # a label and an amount on two lines: no total
def test_the_sentences_looked_at_are_every_sentence_that_may_state_a_total(pieces):
    """Only the sentences holding a 收入/支出 label right before an amount are read for totals
    (found by one scan of the text): exactly those, in order, of the text's sentences."""
    text = "".join(pieces)
    sentences = re.findall(r"[^。\n]+", text)
    assert list(_sentences_stating_totals(text)) == [s for s in sentences if _TOTAL_THEN_AMOUNT.search(s)]
