"""xltools: the county performance self-evaluation report as a protected Excel template with Python behind it.

The public API (see api.py and the README): check, check_many, fill, score, load_spec, with
Report, REFUSED_REASONS and the error classes. Importing the package is cheap: each name is
imported on first use, so `xltools check` never loads openpyxl or pandas.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

# openpyxl writes other bytes when lxml is importable (pikepdf, our PDF tool, brings it in):
# keep its standard-library writer, so the template and every workbook we write are the same
# bytes on any machine. Read when openpyxl is first imported, so it is set here, before that.
os.environ.setdefault("OPENPYXL_LXML", "False")

__version__ = "0.1.0"

_LAZY = {
    "check": "api", "check_many": "api", "fill": "api", "score": "api", "load_spec": "api",
    "exit_code": "api", "spec_files": "api", "template_path": "api", "REFUSED_REASONS": "api",
    "Report": "findings", "Finding": "findings",
    "XltoolsError": "errors", "SpecError": "errors", "BookError": "errors", "DataError": "errors",
    "Spec": "spec.model", "FillResult": "write.fill", "ScoreResult": "write.score",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:
    from .api import REFUSED_REASONS, check, check_many, exit_code, fill, load_spec, score, spec_files, template_path
    from .errors import BookError, DataError, SpecError, XltoolsError
    from .write.fill import FillResult
    from .findings import Finding, Report
    from .write.score import ScoreResult
    from .spec.model import Spec


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'xltools' has no attribute {name!r}")
    from importlib import import_module
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
