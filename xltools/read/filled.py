"""A report as filled, whatever it was read from (a workbook: workbook.py; a data file: data.py):
values by field name, where each came from, and what the rules need to know about the file.

The reader only reads. Its own words are the notes on a value it could not read as typed
(NOTE_CODES, from coerce.py); everything else it found (the formulas in the cells, the parts of
the package, the order of the sheets) is handed to the rules (xltools/rules/) as facts.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..findings import Finding
from ..spec.model import Report

# The catalogue codes of the reader's notes: a number or date written as text (read by its
# value), a value that cannot be read, a data file's indicator on another indicator's row.
NOTE_CODES = ("number-text", "unreadable", "indicator-order")


@dataclass
class Instance:
    """One report as filled: a report held once per workbook, or one copy (one project sheet)."""
    report: Report
    sheet: str
    values: dict[str, object] = field(default_factory=dict)   # stated values; absent = not stated
    where: dict[str, str] = field(default_factory=dict)       # field name -> data key path
    formulas: dict[str, str | None] | None = None             # workbook only: A1 of each formula cell
                                                             # of the template -> the formula found
    rows: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # workbook only: long text ->
                                                             # (A1, text) of each row it was read from
    row_marks: dict[str, tuple[float | None, bool]] = field(default_factory=dict)  # workbook only: the
                                                             # (height in pt, hidden) of those rows, by A1
    notes: list[Finding] = field(default_factory=list)        # the reader's notes (NOTE_CODES)
    input_formulas: dict[str, str] = field(default_factory=dict)   # input field -> the formula typed
                                                                  # into its cell (its value was read)
    dated: dict[str, object] = field(default_factory=dict)    # amount input -> the number read from a
                                                             # cell whose format shows a date
    stray_formulas: dict[str, tuple[str, object]] = field(default_factory=dict)  # A1 -> (formula, cached
                                                             # value) in a cell the template gives neither
                                                             # a formula nor an input (a label, a blank)

    def cell(self, name: str) -> str:
        return self.report.fields[name].cell


class Contents:
    """What a workbook's zip holds besides the report's cells. (A plain class: a dataclass costs
    ~2 M instructions to create, at every cold `xltools check`.)"""
    __slots__ = ("parts", "external")

    def __init__(self, parts: list[str], external: dict[str, list[tuple[str, str]]]):
        self.parts = parts              # every member, as stored
        self.external = external        # .rels part -> (relationship kind, target) of each of its
                                        # TargetMode="External" relationships


@dataclass
class Filled:
    path: str
    kind: str                      # "data" or "workbook"
    instances: list[Instance]      # the reports the rules check: each report held once and every
                                   # filled copy of the one copied per project, in sheet order
    blank: list[Instance] = field(default_factory=list)     # workbook: copies nobody filled
    sheets: list[str] | None = None       # workbook: every sheet, in tab order
    package: Contents | None = None        # workbook: its zip's parts and external relationships
    cross_sheets: list[str] | None = None   # workbook: the copies (filled or not) the template's cross
                                            # check sums, i.e. those between the bookends
    values_copy: bool = False     # workbook: pack's values-only copy (its formulas are values by design)

    @property
    def copies(self) -> list[Instance]:
        """The filled copies of the report copied per project (the project sheets)."""
        return [i for i in self.instances if i.report.copied]

    def first(self, report_id: str) -> Instance | None:
        """The report held once per workbook (or the first copy of a copied one)."""
        return next((i for i in self.instances if i.report.id == report_id), None)

    @property
    def read(self) -> list[Instance]:
        """Every report read, in tab order: blank copies too."""
        if not self.blank:
            return self.instances
        tab = {name: i for i, name in enumerate(self.sheets or ())}
        return sorted(self.instances + self.blank, key=lambda p: tab.get(p.sheet, 0))

    @property
    def notes(self) -> list[Finding]:
        """The reader's notes on every report read, in reading order."""
        return [n for inst in self.read for n in inst.notes]
