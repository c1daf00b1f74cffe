"""The only module that imports xlwings: the add-in's worksheet functions and ribbon macros.

Windows desktop Excel only (xlwings drives neither WPS nor LibreOffice). Everything here is a thin
wrapper over xltools.addin: the functions' logic is addin/functions.py, the macros' logic is
addin/macros.py over a workbook interface whose live implementation (LiveBook, below) is the only
code that talks to Excel. The macros write plain VALUES into the open workbook, never live Python
formulas, so a workbook handed in opens without errors where Python is absent.

The xlwings decorators come from the one table (addin/table.py), which also generates the VBA
wrappers; on Linux xlwings imports and its decorators leave plain callables, so tests call these.
"""
from __future__ import annotations

import xlwings as xw

from . import functions, macros
from .access import saved_path
from .log import guarded, logger, short_message
from .table import ARG_OPTIONS, CATEGORY, function as declared, macro as declared_macro


def _udf(fn):
    """xlwings's decorators, from the function's row in the table. (xlwings reads the signature
    with getfullargspec, which does not follow functools.wraps: the decorated functions keep their
    own signature and guard their bodies with `_safe`.)"""
    d = declared(fn.__name__)
    for a in d.args:
        if not a.caller:
            shape = {"ndim": a.ndim} if a.ndim else {}
            fn = xw.arg(a.name, doc=a.help, **shape, **ARG_OPTIONS)(fn)
    return xw.func(category=CATEGORY, volatile=d.volatile, call_in_wizard=False)(fn)


def _safe(logic, *args):
    return guarded(logic)(*args)


def _calling_cells(caller) -> tuple[tuple[int, int], bool]:
    """The calling block's (rows, columns), and whether this Excel spills arrays. The probe is
    xlwings's own (udfs.has_dynamic_array): WorksheetFunction.Unique exists from Excel 2021/365 on;
    on Excel 2016/2019 the late-bound call fails (AttributeError or a COM error)."""
    try:
        caller.sheet.book.app.api.WorksheetFunction.Unique("dummy")
        dynamic = True
    except Exception:
        dynamic = False
    return tuple(caller.shape), dynamic



# -- worksheet functions --------------------------------------------------------------------
@_udf
def XLT_TOTAL(*amounts):
    return _safe(functions.total, *amounts)


@_udf
def XLT_TIE(total, *parts):
    return _safe(functions.tie, total, *parts)


def _fingerprint(caller) -> str | None:
    """The calling workbook's template fingerprint (its defined name), when it has one."""
    from ..build.names import FINGERPRINT_NAME
    try:
        return caller.sheet.book.names[FINGERPRINT_NAME].refers_to.lstrip("=")
    except Exception:          # no caller, no such name: the default spec
        return None


@_udf
def XLT_FUND_CHECK(matrix, caller):
    return _safe(lambda m, c: functions.fund_check(m, *_calling_cells(c), _fingerprint(c)), matrix, caller)


@_udf
def XLT_SCORE(target, actual, weight, caller):
    return _safe(lambda t, a, w, c: functions.score(t, a, w, _fingerprint(c)), target, actual, weight, caller)


@_udf
def XLT_COMPOSITE(weights, scores, caller):
    return _safe(lambda w, s, c: functions.composite(w, s, _fingerprint(c)), weights, scores, caller)


@_udf
def XLT_GRADE(score, caller):
    return _safe(lambda s, c: functions.grade(s, _fingerprint(c)), score, caller)


@_udf
def XLT_CHECK(caller):
    return _safe(lambda c: functions.check(saved_path(c.sheet.book.api), *_calling_cells(c)), caller)


# -- macros (VBA: RunPython "import xltools.addin.excel as x; x.validate()") -----------------------
def _run(name: str, action):
    """Run one button's macro on the calling workbook; any failure is one message box."""
    book = None
    try:
        from .access import LiveBook
        book = LiveBook(xw.Book.caller())
        message = action(book)
    except Exception as err:              # a button must never show a Python traceback
        logger().exception("macro %s failed", name)
        message = short_message(err)
    if message:
        title = declared_macro(name).label
        (book.app if book else xw.apps.active).alert(message, title=f"xltools：{title}")


@xw.sub
def validate():
    _run("validate", macros.validate)


@xw.sub
def clear_marks():
    _run("clear_marks", macros.clear_marks)


@xw.sub
def score():
    _run("score", macros.score)


@xw.sub
def new_project():
    _run("new_project", macros.new_project)


@xw.sub
def export():
    _run("export", macros.export)


@xw.sub
def about():
    _run("about", macros.about)
