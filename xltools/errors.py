"""One small exception hierarchy for problems in the spec, in a file, or in how a function is called.

Problems in the *data* of a report are findings (see findings.py), never exceptions.
Every message is Simplified Chinese and names the place (file, sheet, cell or spec path).

A file that cannot be used at all carries a stable `reason` code (see api.REFUSED_REASONS), set
where the problem is found, so that a script branches on the code and shows the message.
"""


class XltoolsError(Exception):
    """Base class; `str(err)` is a one-line Chinese message fit for the user, `err.reason` a
    stable code for programs."""

    reason = "unusable"

    def __init__(self, message: str = "", reason: str | None = None):
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    def __reduce__(self):          # keeps the reason across processes (collect workers pickle it)
        return type(self), (str(self), self.reason)


class SpecError(XltoolsError):
    """The spec file is malformed or inconsistent (weights, unknown field, duplicate name...)."""

    reason = "spec-invalid"


class BookError(XltoolsError):
    """A file cannot be used at all: not a workbook, encrypted, truncated, a zip bomb, wrong template..."""

    reason = "damaged"


class DataError(XltoolsError):
    """A data file (JSON/TOML) has an unknown key, a wrong type or a value out of range."""

    reason = "data-invalid"

class OutputError(XltoolsError):
    """A place the tool was told to write cannot be used (a folder, a device, one of the inputs,
    a read-only or full disk...): nothing is written, the message names the path and the cause."""


def unexpected(err: BaseException) -> str:
    """Why an operation stopped on a failure no check foresaw (a bug, or a file no test has
    seen), in one Chinese line; the caller says what was not done."""
    if isinstance(err, MemoryError):
        return "内存不足"
    if isinstance(err, OSError):        # e.g. a library's own temporary file on a full disk
        from .files import cause
        return f"文件操作失败（{cause(err)}{'：' + str(err.filename) if err.filename else ''}）"
    return (f"出现内部错误（{type(err).__name__}）；请把所用文件发给维护人员"
            "（设置环境变量 XLTOOLS_DEBUG=1 可查看详细信息）")
