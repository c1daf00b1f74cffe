"""The add-in's worksheet functions, called as xlwings calls them: lists of lists for ranges, None
for blank cells, floats, strings and datetimes. On Linux the xlwings decorators leave plain
callables, so the functions run here; their answers must be the checker's on the same figures."""
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

xlwings = pytest.importorskip("xlwings")

from helpers import ROOT, SEED  # noqa: E402
from xltools.build.names import FINGERPRINT_NAME  # noqa: E402
from xltools import catalogue  # noqa: E402
from xltools.addin import excel
from xltools.ooxml.package import Package
from xltools.checker import check_file  # noqa: E402
from xltools.write.fill import fill  # noqa: E402
from xltools.spec import load_spec  # noqa: E402

SPEC = load_spec()


@pytest.fixture(scope="module")
def seed_book(tmp_path_factory):
    path = tmp_path_factory.mktemp("excel") / "seed.xlsx"
    fill(SEED, path, SPEC)
    return path


def values(path, sheet, area):
    """A range as xlwings hands it to a function: cached values, None for blanks."""
    ws = openpyxl.load_workbook(path, data_only=True)[sheet]
    return [[c.value for c in row] for row in ws[area]]


class _NoDynamicArrays:
    """Excel 2016/2019's WorksheetFunction: no Unique (a late-bound call fails)."""


class _DynamicArrays:
    def Unique(self, value):
        return value


def caller(path="工作簿1", shape=(1, 1), dynamic=True, fingerprint=None):
    """The calling range as xlwings hands it (`caller`): its size, its book (COM, and its defined
    names as xlwings's Names: the template's fingerprint), its Excel. Excel cannot run here;
    these are the few attributes the functions read."""
    functions = _DynamicArrays() if dynamic else _NoDynamicArrays()
    app = SimpleNamespace(api=SimpleNamespace(WorksheetFunction=functions))
    names = {FINGERPRINT_NAME: SimpleNamespace(refers_to=f'="{fingerprint}"')} if fingerprint else {}
    book = SimpleNamespace(api=SimpleNamespace(FullName=str(path), Name=Path(str(path)).name), app=app, names=names)
    return SimpleNamespace(shape=shape, sheet=SimpleNamespace(book=book))


def test_total_is_exact_and_reads_numbers_as_the_checker_does():
    tenths = [[0.1]] * 10
    assert sum(v for [v] in tenths) != 1.0                       # what Excel's SUM of doubles may give
    assert excel.XLT_TOTAL(tenths) == 1.0
    assert excel.XLT_TOTAL([[1.1], [None], ["1,234.50"]], 3, "１２万元", None) == 1250.6
    assert excel.XLT_TOTAL() == 0.0 and excel.XLT_TOTAL([[None, None]]) == 0.0


def test_total_names_the_unreadable_cell():
    text = excel.XLT_TOTAL([[1.0, 2.0], [3.0, "五十"]], [[datetime(2023, 1, 1)]])
    assert text.startswith("无法合计")
    assert "第 1 个参数第 2 行第 2 列：「五十」不是金额" in text
    assert "第 2 个参数：是日期 2023-01-01，不是金额" in text
    assert "「50.74元」的单位「元」与本栏单位「万元」不符" in excel.XLT_TOTAL("50.74元")


def test_tie_states_the_gap_and_its_direction():
    assert excel.XLT_TIE(3.3, [[1.1], [2.2]]) == ""
    assert excel.XLT_TIE(3.3, [[1.1]], 2.2, None) == ""
    assert excel.XLT_TIE(4.13, [[1.1], [2.2]]) == "差额 0.83 万元（合计多于分项）"
    assert excel.XLT_TIE(3, "3.01") == "差额 0.01 万元（合计少于分项）"
    assert excel.XLT_TIE(3.3, 3.304) == ""                         # equal to the cent, as the checker compares
    assert "第 2 个参数" in excel.XLT_TIE(1, "x")


def test_fund_check_on_the_seed_matrix_as_laid_out(seed_book):
    matrix = values(seed_book, "项目支出", "A16:H21")
    assert matrix[0][1] == 2983 and isinstance(matrix[0][0], str)      # label, value, label, value...
    assert excel.XLT_FUND_CHECK(matrix, caller()) == ""
    assert excel.XLT_FUND_CHECK([row[1::2] for row in matrix], caller()) == ""   # the four value columns alone
    assert "6 行" in excel.XLT_FUND_CHECK([[1, 2]], caller())


def test_fund_check_gives_the_checkers_findings_on_the_same_figures(seed_book, tmp_path):
    rep = SPEC.reports["project"]
    book = Package(seed_book.read_bytes())
    sheet = book.sheet(rep.sheet)
    sheet.set(rep.cell("fund_spent_county"), 2900)             # spent falls short of what was arrived
    sheet.set(rep.cell("fund_plan_central"), "１０万元")        # text the reader normalises
    sheet.set(rep.cell("fund_arrived_city"), "abc")            # unreadable
    typo = book.save(tmp_path / "typo.xlsx")
    fund_cells = {f.cell for n, f in rep.fields.items() if n.startswith("fund_")}
    expected = [f.message for f in check_file(typo, SPEC).findings
                if f.sheet == rep.sheet and f.cell in fund_cells and f.code != "number-text"]
    got = excel.XLT_FUND_CHECK(values(typo, rep.sheet, "A16:H21"), caller())
    assert len(expected) >= 3 and sorted(row[0] for row in got) == sorted(expected)
    assert any("「abc」不是金额" in row[0] for row in got)
    # Excel 2016/2019, the formula in one cell: one line, the count, the first problem, how to see all
    line = excel.XLT_FUND_CHECK(values(typo, rep.sheet, "A16:H21"), caller(dynamic=False))
    assert line.startswith(f"{len(got)} 个问题：{got[0][0]}") and "Ctrl+Shift+Enter" in line
    # ... entered over a block (Ctrl+Shift+Enter): exactly that block
    block = excel.XLT_FUND_CHECK(values(typo, rep.sheet, "A16:H21"), caller(shape=(len(got) + 2, 1), dynamic=False))
    assert block == got + [[""], [""]]


def test_score_and_grade_follow_the_scorer_and_the_spec_bands():
    assert excel.XLT_SCORE("≥95%", "98%", 5, caller()) == 5.0
    assert excel.XLT_SCORE("≤10天", "12天", 6.0, caller()) == 5.0          # 6 × 10/12
    assert "人工" in excel.XLT_SCORE("", "达成", 5, caller())
    assert excel.XLT_SCORE("≥95%", "98%", "abc", caller()).startswith("分值")
    assert [excel.XLT_GRADE(v, caller()) for v in (90, Decimal("89.99"), 60.0, 59.99, "95分", None)] == \
        ["优秀", "良好", "中", "差", "优秀", ""]


def test_the_functions_follow_the_calling_workbooks_spec():
    """On a workbook of the national form (its fingerprint in its defined names), the national
    spec's rules: 反向 linear (10 天 against ≤10 天 at 15 天: half), its grade words, its weights
    (the indicators make 90 with the 预算执行率's 10); 指标性质, 指标值, 度量单位 as three cells."""
    national = load_spec(ROOT / "specs" / "national_2022.toml")
    there = caller(fingerprint=national.fingerprint)
    assert excel.XLT_SCORE([["≤", "10", "天"]], "15", 10, there) == 5.0
    assert excel.XLT_SCORE([["≤", "10", "天"]], "15", 10, caller()) == 6.67       # the county form: 10 × 10/15
    assert excel.XLT_SCORE([["≤", "10", "天"]], "20", 10, there) == 0.0
    assert excel.XLT_SCORE([["≥", "95"]], "98", 10, there).startswith("指标值应为")
    assert excel.XLT_GRADE(85, there) == "良" and excel.XLT_GRADE(85, caller()) == "良好"
    assert excel.XLT_COMPOSITE([[50], [40]], [[50], [38]], there) == 88.0
    assert "应为 90" in excel.XLT_COMPOSITE([[50], [50]], [[50], [38]], there)
    # a fingerprint no shipped spec made: the default spec, as for a workbook of the user's own
    assert excel.XLT_GRADE(85, caller(fingerprint="xltools:某地:2031:v1:0123456789abcdef")) == "良好"


def test_composite_on_the_seed_indicator_table_equals_the_checker(seed_book):
    rep = SPEC.reports["project"]
    table = rep.indicator_tables[0]
    # The seed's table is of the old form (weights in 指标值, scores in 实际完成值): fill wrote them in
    # 分值 and 得分 (legacy.py), and the checker reads them there: these are the figures it checks.
    weights = values(seed_book, rep.sheet, f"{rep.cell(table.names('weight')[0])}:{rep.cell(table.names('weight')[-1])}")
    scores = values(seed_book, rep.sheet, f"{rep.cell(table.names('score')[0])}:{rep.cell(table.names('score')[-1])}")
    report = check_file(seed_book, SPEC)
    assert excel.XLT_COMPOSITE(weights, scores, caller()) == float(report.score[rep.sheet]["computed_score"]) == 98
    # The new form (分值, 得分 filled) with two typos: a weight of 6 (the sum is 101), a score of 7 against 5.
    # (In the old form the checker cannot see a weight typo yet: issue 8.)
    book = Package(seed_book.read_bytes())
    sheet = book.sheet(rep.sheet)
    for i, (w, sc) in enumerate(zip(table.names("weight"), table.names("score"))):
        sheet.set(rep.cell(sc), float(scores[i][0]))
    sheet.set(rep.cell(table.names("weight")[0]), 6)
    sheet.set(rep.cell(table.names("score")[1]), 7)
    typo = book.save(seed_book.parent / "weights.xlsx")
    found = {f.code: f.message for f in check_file(typo, SPEC).findings if f.sheet == rep.sheet}
    weights = values(typo, rep.sheet, f"{rep.cell(table.names('weight')[0])}:{rep.cell(table.names('weight')[-1])}")
    scores = values(typo, rep.sheet, f"{rep.cell(table.names('score')[0])}:{rep.cell(table.names('score')[-1])}")
    text = excel.XLT_COMPOSITE(weights, scores, caller())
    assert found["weight-sum"] in text
    assert "第 2 项：" + found["score-range"].split("：", 1)[1] in text
    assert "一一对应" in excel.XLT_COMPOSITE([[1], [2]], [[1]], caller())


def test_check_returns_the_calling_workbooks_findings(seed_book):
    rows = excel.XLT_CHECK(caller(seed_book))
    report = check_file(seed_book, SPEC)
    assert rows[0] == ["级别", "问题", "工作表", "单元格", "说明"]
    titles = catalogue.entries_by_code(SPEC)
    assert [tuple(r[1:4]) for r in rows[1:]] == [(titles[f.code].title, f.sheet, f.cell) for f in report.findings]
    assert all(isinstance(v, str) for row in rows for v in row)
    assert "请先保存" in excel.XLT_CHECK(caller("工作簿1"))
    # A OneDrive address is not turned into a path through the workbook's own settings sheet.
    assert "本机文件夹" in excel.XLT_CHECK(caller("https://d.docs.live.net/abc/报表.xlsx"))


def test_check_gives_a_usable_answer_without_dynamic_arrays(seed_book):
    report = check_file(seed_book, SPEC)
    n, errors = len(report.findings), sum(f.severity == "error" for f in report.findings)
    first = report.findings[0]
    # Excel 2016/2019, one cell: only the first cell of an array would show ("级别"); one line instead.
    line = excel.XLT_CHECK(caller(seed_book, dynamic=False))
    assert isinstance(line, str) and "\n" not in line
    assert line.startswith(f"错误 {errors} 处，提示 {n - errors} 处；第 1 条：{first.sheet}!{first.cell} {first.message}")
    assert f"选中 {n + 1} 行 5 列" in line and "Ctrl+Shift+Enter" in line
    # An array formula over a block shows exactly that block: blanks below, never #N/A ...
    full = excel.XLT_CHECK(caller(seed_book))
    big = excel.XLT_CHECK(caller(seed_book, shape=(n + 3, 6), dynamic=False))
    assert big == [row + [""] for row in full] + [[""] * 6] * 2
    # ... and a block too small says what it leaves out, in its last row.
    small = excel.XLT_CHECK(caller(seed_book, shape=(3, 5), dynamic=False))
    assert small[:2] == full[:2] and small[2][0].startswith(f"……另有 {n - 1} 行未显示")
    assert excel.XLT_CHECK(caller(seed_book, shape=(3, 5))) == small      # the same in Excel 365


def test_an_internal_error_is_one_line_in_the_cell_and_a_traceback_in_the_log(tmp_path, monkeypatch):
    log = tmp_path / "日志" / "xltools.log"
    monkeypatch.setenv("XLTOOLS_LOG", str(log))
    text = excel.XLT_CHECK(None)                               # no caller at all: an AttributeError inside
    assert text == f"xltools 出错（AttributeError），详情见日志 {log}" and "\n" not in text
    assert "Traceback" in log.read_text(encoding="utf-8")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    assert excel.XLT_CHECK(caller(bad)).startswith("错误：文件 ")    # the library's own Chinese line


# -- what xlwings hands over for an error cell -----------------------------------------------------
def _xlwings_cell_cleaner():
    """xlwings's own Windows cleaner of a COM cell value (_xlwindows._clean_value_data_element),
    compiled from the installed source: its module imports pywin32, which Linux lacks."""
    import ast
    import xlwings as xw
    tree = ast.parse(Path(xw.__file__).with_name("_xlwindows.py").read_text(encoding="utf-8"))
    keep = [n for n in tree.body
            if isinstance(n, ast.FunctionDef) and n.name == "_clean_value_data_element"
            or isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "cell_errors" for t in n.targets)]
    assert len(keep) == 2, "xlwings's cell cleaner changed: check how error cells arrive"
    namespace = {"time_types": (datetime,), "_com_time_to_datetime": None}
    exec(compile(ast.Module(keep, type_ignores=[]), "_xlwindows.py", "exec"), namespace)
    return lambda value, options: namespace["_clean_value_data_element"](
        value, None, options.get("empty"), None, options.get("err_to_str", False))


NA, DIV0 = -2146826246, -2146826281        # what COM gives for #N/A and #DIV/0!


def test_error_cells_reach_the_functions_as_errors_and_give_a_finding_not_0():
    from xltools.addin.table import ARG_OPTIONS
    clean = _xlwings_cell_cleaner()
    assert clean(NA, {}) is None                               # xlwings's default: an error is a blank ...
    assert excel.XLT_TOTAL([[1.5], [None]]) == 1.5             # ... and a blank counts 0: a silent wrong sum
    na, div0 = clean(NA, ARG_OPTIONS), clean(DIV0, ARG_OPTIONS)
    assert (na, div0) == ("#N/A", "#DIV/0!")                   # with the add-in's options: the error itself
    assert "单元格是错误值 #N/A" in excel.XLT_TOTAL([[1.5], [na]])
    assert "#DIV/0!" in excel.XLT_TIE(3, [[1], [div0]]) and excel.XLT_TIE(div0, 1).startswith("合计：")
    assert isinstance(excel.XLT_SCORE("≥95%", na, 5, caller()), str)
    assert "#N/A" in excel.XLT_COMPOSITE([[50], [50]], [[40], [na]], caller())
    assert "#DIV/0!" in excel.XLT_GRADE(div0, caller())
    matrix = [[2983.0, 2983.0, 2983.0, 0.0]] + [[None] * 4] * 4 + [[na, 2983.0, 2983.0, 0.0]]
    assert any("#N/A" in row[0] for row in excel.XLT_FUND_CHECK(matrix, caller()))


# -- no Python in a cell ---------------------------------------------------------------------------
_cell = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                  st.floats(allow_nan=False, allow_infinity=False, width=64),
                  st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
                  st.sampled_from(["#N/A", "#DIV/0!", "#VALUE!", "", " ", "≥95%", "达成", "12天", "1,234.5", "abc"]),
                  st.text(max_size=8))
_range = st.lists(st.lists(_cell, min_size=1, max_size=3), min_size=1, max_size=3)
# What a Python repr or str of a non-text value looks like in a message.
_PYTHON = re.compile(r"datetime\.|Decimal\(|\bNone\b|\bTrue\b|\bFalse\b|\d:\d\d:\d\d|\[\[|\]\]|\bnan\b|\binf\b|"
                     r"\de[+-]?\d|Traceback|Error\b")     # (Excel itself shows 1E+27: upper case is fine)


def _texts(answer):
    if isinstance(answer, list):
        return [str(v) for row in answer for v in row]
    return [answer] if isinstance(answer, str) else []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=_cell, b=_cell, c=_cell, r=_range, q=_range)
def test_no_python_repr_reaches_a_cell(a, b, c, r, q):
    answers = [excel.XLT_TOTAL(a, r), excel.XLT_TIE(a, r, b), excel.XLT_SCORE(a, b, c, caller()),
               excel.XLT_COMPOSITE(r, q, caller()), excel.XLT_GRADE(a, caller()), excel.XLT_FUND_CHECK(r, caller())]
    for answer in answers:
        assert isinstance(answer, (str, float, list)), answer
        for text in _texts(answer):
            typed = {str(v) for v in (a, b, c) if isinstance(v, str)} | \
                {str(v) for rows in (r, q) for row in rows for v in row if isinstance(v, str)}
            found = _PYTHON.search(text)
            assert not found or any(found.group(0) in t for t in typed), text


def test_a_number_quoted_back_reads_as_excel_shows_it():
    # hypothesis found 实际完成值“1e+16” (Python's float text) in a reason
    reason = excel.XLT_SCORE(False, 1e16, 5, caller())
    assert "“1E+16”" in reason and "“FALSE”" in reason, reason
    assert "“2”" in excel.XLT_SCORE("达成", 2.0, 5, caller())
