"""Where the add-in writes what a cell or a message box cannot show: one UTF-8 log file.

A worksheet function or a button shows one short Chinese line; the traceback goes here, so IT can
read it. The file rotates (1 MB x 3): Excel keeps the Python process alive for days.
"""
from __future__ import annotations

import functools
import logging
import logging.handlers
import os
from pathlib import Path

from ..errors import XltoolsError

LOG_ENV = "XLTOOLS_LOG"
_logger: logging.Logger | None = None


def log_path() -> Path:
    if os.environ.get(LOG_ENV):
        return Path(os.environ[LOG_ENV])
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "xltools" / "xltools.log"


def logger() -> logging.Logger:
    global _logger
    path = log_path()
    if _logger is None or getattr(_logger, "_xltools_path", None) != path:
        log = logging.getLogger("xltools.addin")
        for h in list(log.handlers):
            log.removeHandler(h)
            h.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=2**20, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
        log._xltools_path = path
        _logger = log
    return _logger


def short_message(err: BaseException) -> str:
    """One Chinese line for the user; the details are logged."""
    if isinstance(err, XltoolsError):
        return f"错误：{err}"
    return f"xltools 出错（{type(err).__name__}），详情见日志 {log_path()}"


def guarded(fn):
    """A worksheet function that never shows a traceback: errors become one line in the cell."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as err:          # a cell must never show a Python traceback
            try:
                logger().exception("%s%r failed", fn.__name__, args)
            except OSError:
                pass                       # an unwritable log must not hide the answer either
            return short_message(err)
    return call
