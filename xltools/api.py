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

`spec` everywhere: None (or "auto") for the spec that made each file, among those that come with
xltools (a workbook by its template's fingerprint, a data file by its year and region:
spec/registry.py); a Spec from load_spec or a path to a spec file, to read every file with that
one spec (a file of another template is refused); or a Registry of specs.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Union

from .catalogue import REFUSED_REASONS
from .errors import BookError, DataError
from .checker import DATA_SUFFIXES
from .findings import Report
from .spec.shipped import spec_files, template_path
from .spec.load import DEFAULT_SPEC, load_spec
from .spec.registry import LAST_SPEC_HINT, Registry, spec_at

if TYPE_CHECKING:
    from .write.fill import FillResult
    from .write.score import ScoreResult
    from .spec.model import Spec

__all__ = ["check", "check_many", "fill", "score", "load_spec", "exit_code", "spec_files", "template_path",
           "Report", "REFUSED_REASONS", "DATA_SUFFIXES"]

PathLike = Union[str, "os.PathLike[str]"]
SpecLike = Union["Spec", Registry, str, "os.PathLike[str]", None]
Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]

MEMORY_LABEL = "（内存中的文件）"
AUTO = "auto"


# ---------------------------------------------------------------------------------------------
# The spec


def resolve_spec(spec: "Spec | str | os.PathLike[str] | None" = None) -> "Spec":
    """One spec: as given, or loaded from a path (None: the default spec), once per process
    while its file is unchanged."""
    from .spec.model import Spec
    if isinstance(spec, Spec):
        return spec
    return spec_at(DEFAULT_SPEC if spec is None else spec)


def specs_for(spec: SpecLike = None) -> Registry:
    """The specs a call reads files with: None or "auto", those that come with xltools, each
    file by the spec that made it; a Spec or a spec file, that one alone."""
    if isinstance(spec, Registry):
        return spec
    if spec is None or (isinstance(spec, str) and spec == AUTO):
        return Registry.packaged()
    return Registry.of(resolve_spec(spec))


# ---------------------------------------------------------------------------------------------
# Check


def _read(source: Source, name: str | None, specs: Registry):
    """(the spec that reads it, the file read into Filled). Raises BookError/DataError."""
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
    return read_any(label, specs, data)


def refused(label: str, err: BookError | DataError) -> Report:
    """The record of a file that could not be used at all."""
    return Report(str(label), refused=err.reason, message=str(err))


def check(source: Source, spec: SpecLike = None, *, name: str | None = None,
          previous: PathLike | None = None, previous_spec: SpecLike = None) -> Report:
    """Check one workbook (.xlsx) or data file (.json/.toml).

    source    a path, or the file's bytes (a zip member, an upload: nothing is written to disk)
    name      the file's name for messages and Report.file; with bytes it also tells a data file
              (.json/.toml) from a workbook (default: a workbook)
    spec      None or "auto": the spec that made the file (see the module's docstring)
    previous  last year's workbook or data file of the same unit (read with its own spec): the
              spec's [previous] rules add their findings, and Report.previous the main figures
              with last year's and the change (上年数, 增减率)
    previous_spec  the spec that made `previous` (default: its own among those xltools knows)
    Returns a Report; a file that cannot be used is a Report with ok=False, `refused` (a code
    of REFUSED_REASONS) and `message` (also when it is last year's file that cannot be used).
    Nothing is written and the file is never modified.
    """
    specs = specs_for(spec)
    label = name or (MEMORY_LABEL if isinstance(source, (bytes, bytearray, memoryview)) else os.fspath(source))
    try:
        spec, filled = _read(source, name, specs)
        last_specs = (specs_for(previous_spec) if previous_spec else specs).with_packaged()
        last = None if previous is None else _read(previous, None, last_specs.saying(LAST_SPEC_HINT))
    except (BookError, DataError) as err:
        return refused(label, err)
    from .rules import run_rules
    report = run_rules(filled, spec)
    if last is not None:
        from .rules.previous import compare, figures_compared, year_end, year_start
        last_spec, last_filled = last
        report.findings += compare(year_start(filled, spec), year_end(last_filled, last_spec), spec)
        report.previous = figures_compared([f.stated(filled.instances) for f in spec.figures],
                                           [f.stated(last_filled.instances) for f in last_spec.figures])
    return report



def check_many(paths: Iterable[Source], spec: SpecLike = None) -> Iterator[Report]:
    """check() for each path, in order, lazily (a batch of thousands streams); each spec is
    loaded once."""
    specs = specs_for(spec)
    for path in paths:
        yield check(path, specs)


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
    spec = _spec_of_data(data, specs_for(spec))
    if template is None:
        from .spec.shipped import template_for
        template = template_for(spec)
    return fill_workbook(data, out, spec, template=template)


def _spec_of_data(data: PathLike | Mapping, specs: Registry) -> "Spec":
    if len(specs.infos) == 1:           # the data file's year and region are checked as it is read
        return specs.spec(specs.infos[0])
    from .read.data import read_document
    doc = data if isinstance(data, Mapping) else read_document(Path(data))
    return specs.resolve(doc, "数据" if isinstance(data, Mapping) else str(data))


def score(book: PathLike, out: PathLike | None = None, *, in_place: bool = False,
          spec: SpecLike = None) -> "ScoreResult":
    """Fill every indicator's 得分 of a workbook into `out` (or, with in_place=True, a complete new
    file renamed over `book`). Raises BookError/DataError; the original is untouched then."""
    from .write.score import score_workbook
    return score_workbook(book, out, specs_for(spec), in_place=in_place)
