"""A report as filled, whatever it was read from (a workbook: workbook.py; a data file: data.py):
values by field name, where each came from, and the problems met while reading."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..findings import Finding
from ..spec.model import Report


@dataclass
class Instance:
    """One report as filled: the department, or one project (one project sheet)."""
    report: Report
    sheet: str
    values: dict[str, object] = field(default_factory=dict)   # stated values; absent = not stated
    where: dict[str, str] = field(default_factory=dict)       # field name -> data key path
    formulas: dict[str, str | None] | None = None             # workbook only: A1 -> formula found
    rows: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # workbook only: long text ->
                                                             # (A1, text) of each row it was read from
    row_marks: dict[int, tuple[float | None, bool]] = field(default_factory=dict)  # workbook only: the
                                                             # (height in pt, hidden) of each of those rows

    def cell(self, name: str) -> str:
        return self.report.fields[name].cell


@dataclass
class Filled:
    path: str
    kind: str                      # "data" or "workbook"
    dept: Instance
    projects: list[Instance]
    findings: list[Finding] = field(default_factory=list)   # reading problems, as findings
    cross_sheets: list[str] | None = None   # workbook: the project sheets (filled or not) the template's
                                            # cross check sums, i.e. those between the bookends

    @property
    def instances(self) -> list[Instance]:
        return [self.dept, *self.projects]
