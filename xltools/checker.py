"""`xltools check`: read a workbook or a data file, run the rules, present the findings."""
from __future__ import annotations

from pathlib import Path

from .catalogue import SEVERITY_LABEL, STATUS_LABEL, severity_label
from .findings import ERROR, WARNING, Report
from .spec.model import Spec
from .spec.registry import Registry
from .usertext import visible

DATA_SUFFIXES = frozenset({".json", ".toml"})


def read_any(path, specs: Spec | Registry, data: bytes | None = None):
    """A workbook or a data file -> (the spec that reads it, Filled); the same rules run on
    either. `specs`: one spec, or a registry that picks the file's own. `data`: the file's bytes
    when the caller holds them (path then only names the file and tells its kind). Raises
    BookError/DataError for a file that cannot be used (a refusal)."""
    registry = specs if isinstance(specs, Registry) else Registry.of(specs)
    if Path(path).suffix.lower() in DATA_SUFFIXES:
        from .read.data import load_data, read_document
        doc = read_document(Path(path), data)
        spec = registry.resolve(doc, str(path))
        return spec, load_data(path, spec, doc)
    return read_book(path, registry, data)


def read_book(path, specs: Spec | Registry, data: bytes | None = None):
    """A workbook -> (the spec its template's fingerprint names, Filled)."""
    from .read import workbook as reader
    registry = specs if isinstance(specs, Registry) else Registry.of(specs)
    book = reader.open_book(path, data)       # the reader's own opener (bench/check.py swaps it)
    spec = registry.resolve(book, str(path))
    return spec, reader.read_workbook(path, spec, data, book=book)


def check_file(path, specs: Spec | Registry, write: str | None = None) -> Report:
    """Read and check one file; raises BookError/DataError for a file that cannot be used
    (xltools.check returns those as a refused Report instead)."""
    from .rules import run_rules
    spec, filled = read_any(path, specs)
    report = run_rules(filled, spec)
    if write:
        write_checked_copy(path, write, report, spec)
    return report


def refuse_data_file_for_write(path) -> None:
    if Path(path).suffix.lower() in DATA_SUFFIXES:
        from .errors import DataError
        raise DataError("--write 只能用于工作簿（.xlsx），数据文件请先用 xltools fill 生成工作簿")


def write_checked_copy(path, out, report: Report, specs=None):
    """`--write`: a copy of the workbook with a 校验结果 sheet and the cells of the findings in red.
    `specs`: the spec checked, or the registry it came from, whose rules' titles the sheet shows."""
    refuse_data_file_for_write(path)
    from .catalogue import all_entries
    from .write.annotate import write_annotated
    declared = specs.specs() if hasattr(specs, "specs") else [specs] if specs is not None else []
    return write_annotated(path, out, report, {e.code: e for e in all_entries(*declared)})


def _row_col(cell: str) -> tuple[int, str]:
    """Reading order on the form: by row, then column ("" sorts first)."""
    letters = cell.rstrip("0123456789")
    return int(cell[len(letters):] or 0), letters.rjust(3)


def render_text(report: Report) -> str:
    """A table a bookkeeper can read in a terminal."""
    errors = sum(f.severity == ERROR for f in report.findings)
    warnings = len(report.findings) - errors
    head = (f"{report.file}：{STATUS_LABEL['ok' if report.ok else 'errors']}（{SEVERITY_LABEL[ERROR]} {errors} 处，"
            f"{SEVERITY_LABEL[WARNING]} {warnings} 处）")
    lines = [head]
    sheets = list(dict.fromkeys(f.sheet for f in report.findings))
    for f in sorted(report.findings, key=lambda f: (sheets.index(f.sheet), *_row_col(f.cell))):
        mark = severity_label(f.severity)
        where = f"{f.sheet}!{f.cell}" if f.cell else f.sheet
        lines.append(f"  [{mark}] {where:<16} {f.code:<18} {f.message}")
        if f.hint:
            lines.append(f"  {'':<6}{'':<16} {'':<18} → {f.hint}")
    if report.previous:
        lines.append("  与上年比较：")
        for f in report.previous:
            change = f"{f['change']}%" if f["change"] is not None else "—"
            lines.append(f"    {f['label']}：本年 {f['value'] or '（空）'}，上年 {f['previous'] or '（空）'}，增减率 {change}")
    for sheet, s in report.score.items():
        stated = s["stated_score"] if s["stated_score"] is not None else "（未填）"
        grade = s["stated_grade"] or "（未填）"
        lines.append(f"  得分 {sheet}：填报 {stated} / 重算 {s['computed_score']}；"
                     f"等次 填报 {grade} / 重算 {s['computed_grade']}")
    return "\n".join(visible(line) for line in lines)     # what a unit wrote cannot move the cursor


def render_refused(report: Report) -> str:
    """One line for a file that could not be used, naming it (its message usually does already)."""
    return visible(report.message if report.file in report.message else f"{report.file}：{report.message}")
