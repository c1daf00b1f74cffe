"""`xltools check`: read a workbook or a data file, run the rules, present the findings."""
from __future__ import annotations

from pathlib import Path

from .catalogue import SEVERITY_LABEL, severity_label
from .findings import ERROR, WARNING, Report
from .spec.model import Spec

DATA_SUFFIXES = {".json", ".toml"}


def read_any(path, spec: Spec):
    """A workbook or a data file -> Filled; the same rules run on either."""
    if Path(path).suffix.lower() in DATA_SUFFIXES:
        from .data import load_data
        return load_data(path, spec)
    from .read import read_workbook
    return read_workbook(path, spec)


def check_file(path, spec: Spec, write: str | None = None) -> Report:
    from .rules import run_rules
    filled = read_any(path, spec)
    report = run_rules(filled, spec)
    if write:
        if filled.kind != "workbook":
            from .errors import DataError
            raise DataError("--write 只能用于工作簿（.xlsx），数据文件请先用 xltools fill 生成工作簿")
        from .annotate import write_annotated
        write_annotated(path, write, report)
    return report


def _row_col(cell: str) -> tuple[int, str]:
    """Reading order on the form: by row, then column ("" sorts first)."""
    letters = cell.rstrip("0123456789")
    return int(cell[len(letters):] or 0), letters.rjust(3)


def render_text(report: Report) -> str:
    """A table a bookkeeper can read in a terminal."""
    errors = sum(f.severity == ERROR for f in report.findings)
    warnings = len(report.findings) - errors
    head = (f"{report.file}：{'通过' if report.ok else '有错误'}（{SEVERITY_LABEL[ERROR]} {errors} 处，"
            f"{SEVERITY_LABEL[WARNING]} {warnings} 处）")
    lines = [head]
    sheets = list(dict.fromkeys(f.sheet for f in report.findings))
    for f in sorted(report.findings, key=lambda f: (sheets.index(f.sheet), *_row_col(f.cell))):
        mark = severity_label(f.severity)
        where = f"{f.sheet}!{f.cell}" if f.cell else f.sheet
        lines.append(f"  [{mark}] {where:<16} {f.code:<18} {f.message}")
        if f.hint:
            lines.append(f"  {'':<6}{'':<16} {'':<18} → {f.hint}")
    for sheet, s in report.score.items():
        stated = s["stated_score"] if s["stated_score"] is not None else "（未填）"
        grade = s["stated_grade"] or "（未填）"
        lines.append(f"  得分 {sheet}：填报 {stated} / 重算 {s['computed_score']}；"
                     f"等次 填报 {grade} / 重算 {s['computed_grade']}")
    return "\n".join(lines)
