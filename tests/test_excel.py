"""The add-in's Python side: xlwings decorators leave plain callables, so they run here."""
from decimal import Decimal

import pytest

xlwings = pytest.importorskip("xlwings")

from xltools import excel  # noqa: E402
from xltools.check import check_file  # noqa: E402
from xltools.spec import load_spec  # noqa: E402


def test_grade_udf_uses_the_spec_bands():
    assert excel.XLT_GRADE(90) == "优秀"
    assert excel.XLT_GRADE(Decimal("89.99")) == "良好"
    assert excel.XLT_GRADE(60) == "中"
    assert excel.XLT_GRADE(59.99) == "差"
    assert excel.XLT_GRADE("") == ""


def test_score_udf_scores_or_explains():
    assert excel.XLT_SCORE("≥95%", "98%", 5) == 5.0
    assert excel.XLT_SCORE("≤10天", "12天", 6) == 5.0        # 6 × 10/12
    assert "人工" in excel.XLT_SCORE("", "达成", 5)            # nothing to compare: a person scores it


def test_findings_rows_are_plain_values(tmp_path):
    report = check_file("examples/linxiang_2022.json", load_spec())
    rows = excel.findings_rows(report)
    assert rows[0][:4] == ["级别", "代码", "工作表", "单元格"]
    assert len(rows) == len(report.findings) + 1
    assert all(isinstance(v, str) for row in rows for v in row)
    assert {"错误", "提示"} >= {r[0] for r in rows[1:]}
