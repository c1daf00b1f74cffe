"""The spec's data model: fields, placed cells, and the concrete rules every tool shares.

A rule is declared once in the spec file (e.g. `spend.basic = spend.personnel + spend.public`)
and expanded here into concrete instances over field names (`spend_basic_1 = …_1 + …_1`).
The builder renders those instances as native formulas or inline check cells, the evaluator
computes cached values with them, and the checker compares stated values against them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from decimal import Decimal

from ..a1 import a1
from .fingerprint import Fingerprint

PRINT_COLUMNS = 8          # A–H are printed
CHECK_COLUMN = 9           # I holds the inline checks, outside the print area
JOIN_COLUMN = 10           # J (hidden) holds each long text joined from its rows: see Run

MONEY_UNITS = {"万元", "元"}
NUMBER_UNITS = MONEY_UNITS | {"人", "%", "score"}


@dataclass
class Field:
    name: str                      # stable ASCII name, also the Excel defined name
    label: str                     # Chinese label, as a bookkeeper reads it
    unit: str                      # 万元 元 人 % score text date month phone postcode choice signature
    kind: str = "input"            # "input" or "computed"
    report: str = ""               # the id of its report
    required: bool = False
    default: object = None         # prefilled value of an input (e.g. an indicator's weight)
    choices: tuple[str, ...] = ()
    table: str | None = None       # table id for table cells
    column: str | None = None
    row: str | None = None         # "1".."N" or a named row ("central", "total")
    cell: str = ""                 # A1 on the report's sheet, filled by the layout
    lower_is_better: bool = False  # indicators only: a cost or a duration
    note: str = ""                 # what the figure includes, added to the input prompt

    @property
    def numeric(self) -> bool:
        return self.unit in NUMBER_UNITS


@dataclass
class Placed:
    """One rectangle of the sheet: a locked label, a field, or an inline check."""
    row: int
    col: int
    rows: int = 1
    cols: int = 1
    role: str = "label"   # title issuer section caption header label input computed check blank signer date
    text: str = ""
    field: str | None = None
    check: "Check | None" = None
    align: str | None = None
    border: bool = True


@dataclass(frozen=True)
class Term:
    sign: int     # +1 or -1
    name: str


@dataclass(frozen=True)
class SumRule:
    """target = Σ sign·term; blank counts as 0. The target is a computed cell of the template."""
    code: str
    target: str
    terms: tuple[Term, ...]
    message: str
    hint: str = ""
    as_range: bool = False   # render as SUM(first:last) (a table's total row)

    @cached_property
    def plus(self) -> tuple[str, ...]:
        """The terms added."""
        return tuple(t.name for t in self.terms if t.sign > 0)

    @cached_property
    def minus(self) -> tuple[str, ...]:
        """The terms subtracted."""
        return tuple(t.name for t in self.terms if t.sign < 0)


@dataclass(frozen=True)
class CopyRule:
    """target shows the text of source (the 机构名称 repeated in later tables)."""
    target: str
    source: str


@dataclass(frozen=True)
class Check:
    """A relation a formula cannot enforce by construction: shown inline, checked by the checker.

    kind "compare": left op right over values;  kind "weights": Σ terms == 100;
    kind "score-range": 0 <= left <= right (score within weight).
    """
    code: str
    kind: str
    left: str | tuple[str, ...]
    op: str
    right: str | Decimal
    message: str
    severity: str = "error"
    lead: str = ""         # quotes: the words after the 机构名称 that open its sentence
    bounds: tuple[str, ...] = ()   # quotes: the other rows' 机构名称 fields (each ends a sentence)
    # What the check's sentence names: compare, (left, right) as the spec calls them; quotes,
    # (label, A1) of each phrase's cell. `unit`: of the figures compared.
    labels: tuple = ()
    unit: str = "万元"


@dataclass
class Indicator:
    group1: str
    group2: str
    name: str
    weight: Decimal
    lower_is_better: bool = False


@dataclass
class IndicatorTable:
    id: str
    indicators: list[Indicator]
    score_field: str
    grade_field: str
    column_labels: dict[str, str]

    def names(self, column: str) -> list[str]:
        """Field names of one column, indicator by indicator (kept: the checker asks per workbook)."""
        names = self._names.get(column)
        if names is None:
            names = self._names[column] = [f"{self.id}_{column}_{i}" for i in range(1, len(self.indicators) + 1)]
        return names

    @cached_property
    def _names(self) -> dict[str, list[str]]:
        return {}


@dataclass
class Table:
    id: str
    columns: list[str]
    rows: list[str]               # row keys, the total row (if any) last
    total_row: str | None = None
    caption: str = ""
    matrix: bool = False          # rows are sources, columns measures (the fund matrix)

    def name(self, column: str, row: str) -> str:
        return f"{self.id}_{column}_{row}"


@dataclass
class Quotes:
    """Amounts the narrative quotes in 元, mapped to table columns (per 机构 row)."""
    field: str
    cells: dict[str, tuple[str, ...]]   # "table.column" -> the quoted items whose sum it holds
    org_table: str = "income"
    lead: str = ""                # the sentence opens with 机构名称 + lead (e.g. "预算支出")


@dataclass
class Run:
    """A long text laid out as a run of rows, one paragraph (or part of one) per row, each row
    short enough to print whole by construction (no program auto-fits merged cells, and a row
    is at most 409 pt). The field's cell is the hidden join cell in column J of the first row,
    whose formula joins the rows: the defined name, the quote checks and the reader see the
    whole text there. Rows after `shown` are hidden in the blank form, kept for longer texts."""
    field: str
    col: int                       # first column of each row's merged text cell
    cols: int
    first: int                     # sheet row of the first text row
    rows: int                      # text rows in all (shown + hidden reserve)
    shown: int                     # rows visible in the blank form
    close: int                     # the thin row closing the box below the run

    @property
    def row_numbers(self) -> range:
        return range(self.first, self.first + self.rows)


@dataclass
class Report:
    id: str
    sheet: str
    scope: str                    # "workbook" (once a workbook) or "sheet" (copied per project)
    title: str
    data: str = ""                # its key in a data file (a list of objects when copied)
    pdf: str = "{sheet}"          # its PDF in a pack: {sheet}, and {name} of a copy
    fields: dict[str, Field] = field(default_factory=dict)
    placed: list[Placed] = field(default_factory=list)
    row_heights: dict[int, float] = field(default_factory=dict)
    page_breaks: list[int] = field(default_factory=list)
    tables: dict[str, Table] = field(default_factory=dict)
    indicator_tables: list[IndicatorTable] = field(default_factory=list)
    sums: list[SumRule] = field(default_factory=list)
    copies: list[CopyRule] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    quotes: Quotes | None = None
    runs: dict[str, Run] = field(default_factory=dict)   # long texts by field name
    hidden_rows: set[int] = field(default_factory=set)    # reserve rows of runs, hidden when blank
    last_row: int = 0
    order: list | None = None     # the rules in dependency order (spec.load.topo_order)

    @property
    def copied(self) -> bool:
        """One sheet per project: the template's sheet is copied inside Excel for each."""
        return self.scope == "sheet"

    def cell(self, name: str) -> str:
        return self.fields[name].cell

    def shown_cell(self, name: str) -> str:
        """Where a finding about the field points the accountant: its cell, or for a long text
        the first row they type it in (its own cell is the hidden join cell in column J)."""
        run = self.runs.get(name)
        return a1(run.first, run.col) if run else self.fields[name].cell

    # Kept once asked for: the layout has placed every field before the rules are expanded, and
    # the checker asks for them for every workbook.
    @cached_property
    def inputs(self) -> list[Field]:
        return [f for f in self.fields.values() if f.kind == "input"]

    @cached_property
    def computed(self) -> list[Field]:
        return [f for f in self.fields.values() if f.kind == "computed"]

    @cached_property
    def defaults(self) -> dict[str, object]:
        """What the template pre-fills (indicator names and weights, 评价方式…): read only."""
        return {f.name: f.default for f in self.inputs if f.default is not None}


@dataclass(frozen=True)
class Grade:
    min: Decimal
    label: str


@dataclass(frozen=True)
class CrossCheck:
    """A figure the workbook states once against the sum of a figure over every copy of the
    report copied per project (2022: the department's 项目支出 against its projects' 实际支出)."""
    code: str
    severity: str
    report: str                 # the report held once
    fields: tuple[str, ...]     # its fields summed (a column over its rows, e.g. spend_project_1..4)
    copied: str                 # the report copied per project
    copy_field: str             # summed over every copy
    message: str
    # How the sentence names the figure held once, the copies' sum, and one copy.
    labels: tuple[str, str, str] = ("", "", "")


@dataclass(frozen=True)
class Figure:
    """A figure collect's summary and ledger show: `fields` of `report` summed (one field, or a
    table's column over its rows), over every copy when the report is copied per project."""
    key: str                    # stable ASCII, for programs (the ledger, --json)
    label: str                  # the summary's column header
    report: str
    fields: tuple[str, ...]

    def value(self, instances) -> Decimal | None:
        """The sum of what the instances of its report state (None when none states a number)."""
        found = [v for inst in instances if inst.report.id == self.report
                 for v in map(inst.values.get, self.fields) if isinstance(v, Decimal)]
        return sum(found, Decimal(0)) if found else None


@dataclass(frozen=True)
class Identity:
    """The fields that say whose report a workbook is: the unit, and the name of each copy."""
    unit: str
    copy_name: str = ""


@dataclass
class PrintSetup:
    widths: list[float]
    check_width: float
    font: str
    text_font: str
    title_font: str
    body_size: float


@dataclass
class Spec:
    path: str
    year: int
    region: str
    bureau: str
    form_version: int
    grades: list[Grade]
    qualitative: dict[str, Decimal]
    print: PrintSetup
    reports: dict[str, Report]    # in the workbook's sheet order
    cross: CrossCheck | None
    digest: str = ""               # sha256 of the spec text: the template's fingerprint
    identity: Identity = Identity("")
    figures: tuple[Figure, ...] = ()        # per workbook: collect's 汇总 row
    copy_figures: tuple[Figure, ...] = ()   # per copy: collect's table of projects
    pack_name: str = "{year}_{unit}"        # pack's folder (or zip), whole PDF and values copy

    @property
    def fingerprint(self) -> Fingerprint:
        return Fingerprint.of(self.region, self.year, self.form_version, self.digest)

    @property
    def copied(self) -> Report | None:
        """The report copied per project (one sheet each), if the workbook has one."""
        return next((r for r in self.reports.values() if r.copied), None)

    def field(self, name: str) -> Field:
        """A field by its name, in whichever report (names are unique in a workbook)."""
        for r in self.reports.values():
            if name in r.fields:
                return r.fields[name]
        raise KeyError(name)

    def unit_of(self, filled) -> str | None:
        """Whose report it is: the identity's unit field, as the first report holding it states it."""
        report = self.field(self.identity.unit).report
        for inst in filled.instances:
            value = inst.values.get(self.identity.unit) if inst.report.id == report else None
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None

    def grade_of(self, score: Decimal) -> str:
        for band in self.grades:          # sorted by min, descending
            if score >= band.min:
                return band.label
        return self.grades[-1].label

    def fields(self):
        for report in self.reports.values():
            yield from report.fields.values()
