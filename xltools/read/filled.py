"""A report as filled, whatever it was read from (a workbook: workbook.py; a data file: data.py):
values by field name, where each came from, and the problems met while reading."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..findings import Finding
from ..spec.model import Report


@dataclass
class Instance:
    """One report as filled: a report held once per workbook, or one copy (one project sheet)."""
    report: Report
    sheet: str
    values: dict[str, object] = field(default_factory=dict)   # stated values; absent = not stated
    where: dict[str, str] = field(default_factory=dict)       # field name -> data key path
    formulas: dict[str, str | None] | None = None             # workbook only: A1 -> formula found
    rows: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # workbook only: long text ->
                                                             # (A1, text) of each row it was read from

    def cell(self, name: str) -> str:
        return self.report.fields[name].cell


@dataclass
class Filled:
    path: str
    kind: str                      # "data" or "workbook"
    instances: list[Instance]      # every report the file holds, in sheet order (copies in theirs)
    findings: list[Finding] = field(default_factory=list)   # reading problems, as findings
    cross_sheets: list[str] | None = None   # workbook: the copied report's sheets (filled or not) the
                                            # template's cross check sums, i.e. those between the bookends

    @property
    def copies(self) -> list[Instance]:
        """The filled copies of the report copied per project (the project sheets)."""
        return [i for i in self.instances if i.report.copied]

    def first(self, report_id: str) -> Instance | None:
        """The report held once per workbook (or the first copy of a copied one)."""
        return next((i for i in self.instances if i.report.id == report_id), None)
