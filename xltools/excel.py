"""The only module that imports xlwings: worksheet functions (UDFs) and macros for the add-in.

Windows desktop Excel only (xlwings drives neither WPS nor LibreOffice). Everything here is a thin
wrapper: the macros hand a saved copy of the open workbook to the same library the command line
uses, then write plain VALUES back into the open workbook — never live Python formulas, so a
workbook handed in opens without errors where Python is absent. The UDFs live in the add-in
(macros/xltools.xlam built from macros/*.bas) for an evaluator's own scratch sheets.

On Linux xlwings imports and its decorators leave plain callables, so tests call these directly.
"""
from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import xlwings as xw

from .catalogue import result_header, result_row
from .check import check_file
from .findings import ERROR
from .scoring import score_indicator
from .spec import load_spec
from .values import is_blank

RESULT_SHEET = "校验结果"


def _spec():
    return load_spec()


# -- worksheet functions --------------------------------------------------------------------
@xw.func
@xw.arg("score", numbers=Decimal)
def XLT_GRADE(score):
    """评价等次：按规格中的等次区间（优秀/良好/中/差）。"""
    if is_blank(score):
        return ""
    return _spec().grade_of(Decimal(str(score)))


@xw.func
@xw.arg("weight", numbers=Decimal)
def XLT_SCORE(target, actual, weight):
    """按财预〔2020〕10号给一项指标评分；无法自动评分时返回说明文字。"""
    result = score_indicator(target, actual, Decimal(str(weight)),
                             qualitative_points=_spec().qualitative or None)
    return float(result.score) if result.score is not None else result.reason


# -- macros (called from VBA: RunPython "import xltools.excel as x; x.validate()") ---------------
def _saved_copy(book) -> Path:
    """A copy of the open workbook as it is now, without touching the user's own file."""
    tmp = Path(tempfile.mkdtemp(prefix="xltools-")) / "book.xlsx"
    book.api.SaveCopyAs(str(tmp))          # Excel COM: writes a copy, the open book stays as it is
    return tmp


def findings_rows(report) -> list[list]:
    """The 校验结果 table: a header and one row per finding (plain values)."""
    rows = [result_header(values=False)]
    for f in report.findings:
        rows.append(result_row(f, values=False))
    return rows


@xw.sub
def validate():
    """校验：在“校验结果”表列出全部问题，并在有错误的单元格上标红。"""
    book = xw.Book.caller()
    report = check_file(_saved_copy(book), _spec())
    names = [s.name for s in book.sheets]
    sheet = book.sheets[RESULT_SHEET] if RESULT_SHEET in names else book.sheets.add(RESULT_SHEET)
    sheet.clear()
    sheet.range("A1").value = findings_rows(report)
    for f in report.findings:
        if f.cell and f.sheet in names:
            book.sheets[f.sheet].range(f.cell).color = (255, 199, 206) if f.severity == ERROR else (255, 235, 156)
    sheet.activate()


@xw.sub
def score():
    """评分：按指标值与实际完成值填写各指标得分（写入数值），综合得分与等次由模板公式计算。"""
    from .read import read_workbook
    from .score import score_instance, ScoreResult
    book = xw.Book.caller()
    spec = _spec()
    filled = read_workbook(_saved_copy(book), spec)
    result = ScoreResult(Path(book.fullname))
    for inst in filled.instances:
        for name, value in score_instance(inst, spec, result).items():
            book.sheets[inst.sheet].range(inst.report.cell(name)).value = float(value) if value is not None else None
    xw.apps.active.status_bar = f"xltools：已评分，{len(result.findings)} 项需人工评分"
