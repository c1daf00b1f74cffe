"""The public Python API: a few typed calls, no state a caller must manage, refusals as data.

    import xltools
    report = xltools.check("收来的/民政局.xlsx")
    if report.refused:                 # "encrypted", "old-xls", "other-template", ...
        print(report.refused, report.message)
    elif not report.ok:
        for f in report.findings: print(f.code, f.sheet, f.cell, f.message)

`check` never raises for a file that cannot be used: it returns a Report with `ok=False`, a
stable `refused` code (REFUSED_REASONS) and the Chinese `message`. A spec that cannot be used
raises SpecError (it is not a property of one file). The command line is a thin shell over
these calls (cli.py); the collector, the packer and the add-in call them too.

`spec` everywhere: a Spec from load_spec, a path to a spec file, or None for the default
(specs/2022.toml of the checkout, or the copy installed with the package).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Union

from .errors import BookError, DataError
from .checker import DATA_SUFFIXES
from .findings import Report
from .spec.shipped import spec_files, template_path
from .spec.load import load_spec

if TYPE_CHECKING:
    from .write.fill import FillResult
    from .write.score import ScoreResult
    from .spec.model import Spec

__all__ = ["check", "check_many", "fill", "score", "load_spec", "exit_code", "spec_files", "template_path",
           "Report", "REFUSED_REASONS", "DATA_SUFFIXES"]

PathLike = Union[str, "os.PathLike[str]"]
SpecLike = Union["Spec", str, "os.PathLike[str]", None]
Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]

MEMORY_LABEL = "（内存中的文件）"

# Why a file was refused: the stable codes of Report.refused, with what each means. The message
# itself is written once, where the problem is found (xlsx/book.py, read/workbook.py, read/data.py).
REFUSED_REASONS: dict[str, str] = {
    "not-xlsx": "不是 Excel 工作簿（文本、网页、PDF、Word、.ods……）",
    "old-xls": "旧版 Excel 97-2003（.xls）或 WPS（.et）文件",
    "encrypted": "设置了打开密码（已加密）",
    "empty": "空文件（0 字节）",
    "too-large": "文件过大，不是报表工作簿",
    "zip-bomb": "压缩包可疑（解压后过大或压缩比异常，疑似压缩炸弹）",
    "entity-attack": "XML 含文档类型声明（DTD/实体），疑似恶意构造",
    "damaged": "文件已损坏或不完整（压缩包、部件或 XML 无法读取）",
    "other-template": "不是当前规格的模板生成的工作簿（缺少模板标识，或其他年度、地区、版本）",
    "sheet-missing": "工作表被删除或改名",
    "names-missing": "定义名称被删除或指向了别的工作表",
    "unsafe-content": "工作簿含外部链接或宏（xltools score 不处理这样的工作簿）",
    "unreadable-file": "文件无法打开（不存在、没有权限、是文件夹……）",
    "data-invalid": "数据文件（JSON/TOML）格式错误、编码不对或含未知的键、错误的类型",
}


# ---------------------------------------------------------------------------------------------
# The spec


_SPECS: dict[tuple, "Spec"] = {}


def resolve_spec(spec: SpecLike = None) -> "Spec":
    """A Spec as given, or loaded from a path (None: the default spec). Loaded specs are kept
    per file (path, size, modification time: an edited spec is read again), a few at most."""
    from .spec.model import Spec
    if isinstance(spec, Spec):
        return spec
    path = Path(spec) if spec is not None else None
    try:
        st = os.stat(path) if path is not None else None
    except OSError:
        return load_spec(path)                    # says which file and why, in Chinese
    key = (None if path is None else str(path.resolve()), st and st.st_size, st and st.st_mtime_ns)
    hit = _SPECS.get(key)
    if hit is None:
        if len(_SPECS) >= 8:
            _SPECS.pop(next(iter(_SPECS)))
        hit = _SPECS[key] = load_spec(path)
    return hit


# ---------------------------------------------------------------------------------------------
# Check


def _read(source: Source, name: str | None, spec: "Spec"):
    """The file read into Filled (the rules' input). Raises BookError/DataError."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        label, data = name or MEMORY_LABEL, bytes(source)
    elif name is not None:
        from .xlsx import read_file
        label, data = name, read_file(source)
    else:
        label, data = os.fspath(source), None
        if isinstance(label, bytes):
            label = os.fsdecode(label)
    from .checker import read_any
    return read_any(label, spec, data)


def refused(label: str, err: BookError | DataError) -> Report:
    """The record of a file that could not be used at all."""
    return Report(str(label), refused=err.reason, message=str(err))


def check(source: Source, spec: SpecLike = None, *, name: str | None = None) -> Report:
    """Check one workbook (.xlsx) or data file (.json/.toml).

    source  a path, or the file's bytes (a zip member, an upload: nothing is written to disk)
    name    the file's name for messages and Report.file; with bytes it also tells a data file
            (.json/.toml) from a workbook (default: a workbook)
    Returns a Report; a file that cannot be used is a Report with ok=False, `refused` (a code
    of REFUSED_REASONS) and `message`. Nothing is written and the file is never modified.
    """
    spec = resolve_spec(spec)
    try:
        filled = _read(source, name, spec)
    except (BookError, DataError) as err:
        label = name or (MEMORY_LABEL if isinstance(source, (bytes, bytearray, memoryview)) else os.fspath(source))
        return refused(label, err)
    from .rules import run_rules
    return run_rules(filled, spec)


def check_many(paths: Iterable[Source], spec: SpecLike = None) -> Iterator[Report]:
    """check() for each path, in order, lazily (a batch of thousands streams); the spec is
    loaded once."""
    spec = resolve_spec(spec)
    for path in paths:
        yield check(path, spec)


def exit_code(reports: Iterable[Report]) -> int:
    """The command line's exit status for these reports: 2 when any file was refused, else 1
    when any has errors, else 0."""
    worst = 0
    for r in reports:
        if r.refused is not None:
            return 2
        if not r.ok:
            worst = 1
    return worst


# ---------------------------------------------------------------------------------------------
# Fill and score


def fill(data: PathLike | Mapping, out: PathLike, spec: SpecLike = None,
         template: PathLike | None = None) -> "FillResult":
    """A new workbook `out` from the template with a data file's inputs (a path to .json/.toml,
    or the document as a mapping, as json.load gives it). Raises DataError/BookError (nothing is
    written then). FillResult.warnings lists stated figures that differ from the template's."""
    from .write.fill import fill as fill_workbook
    spec = resolve_spec(spec)
    if template is None:
        from .spec.shipped import template_for
        template = template_for(spec)
    return fill_workbook(data, out, spec, template=template)


def score(book: PathLike, out: PathLike | None = None, *, in_place: bool = False,
          spec: SpecLike = None) -> "ScoreResult":
    """Fill every indicator's 得分 of a workbook into `out` (or, with in_place=True, a complete new
    file renamed over `book`). Raises BookError/DataError; the original is untouched then."""
    from .write.score import score_workbook
    return score_workbook(book, out, resolve_spec(spec), in_place=in_place)
