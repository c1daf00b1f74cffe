"""The spec's data model: fields, placed cells, and the concrete rules every tool shares.

A rule is declared once in the spec file (e.g. `spend.basic = spend.personnel + spend.public`)
and expanded here into concrete instances over field names (`spend_basic_1 = …_1 + …_1`).
The builder renders those instances as native formulas or inline check cells, the evaluator
computes cached values with them, and the checker compares stated values against them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from decimal import Decimal

from ..a1 import a1, column_letters, split_a1
from ..scoring.rules import ScoringRules
from .fingerprint import Fingerprint

# A report's sheet is a grid of printed columns, as many as the spec's [print] widths (8, A–H, in
# the 2022 form); the column right of them holds the inline checks (I there), outside the print
# area, the next one (hidden) each long text joined from its rows, and the ones after it a column
# as wide as each width of long text, to fit its rows (K onwards there): see Run.

MONEY_UNITS = {"万元", "元"}
# "rate": a fraction shown as a percentage (预算执行率 0.9997 shows 99.97%), computed only.
NUMBER_UNITS = MONEY_UNITS | {"人", "%", "score", "rate"}


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
    prompt: str = ""               # the input prompt, instead of the one its unit gives

    @property
    def numeric(self) -> bool:
        return self.unit in NUMBER_UNITS

    @property
    def heading(self) -> str:
        """The label without the table row it names: "支出合计（第1行）" -> "支出合计"."""
        return re.sub(r"（第[^（）]*行）$", "", self.label)


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
    extra: tuple[str, ...] = ()   # terms outside that range (the 预算执行率 score in a 总分)

    @cached_property
    def reads(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.terms)

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

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.source,)


@dataclass(frozen=True)
class RatioRule:
    """target = numerator / denominator as a fraction to 4 decimals, half up (a rate shown as a
    percentage with two decimals: 预算执行率 = 全年执行数 / 全年预算数); blank while the
    denominator is 0 or blank."""
    code: str
    target: str
    numerator: str
    denominator: str
    message: str

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.numerator, self.denominator)


@dataclass(frozen=True)
class ShareScoreRule:
    """target = share × weight to the cent, half up; the share never below 0 and, when `cap`,
    never above 1 (预算执行率得分 = 执行率 × 分值); blank while the share is."""
    code: str
    target: str
    share: str
    weight: Decimal
    cap: bool
    message: str

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.share,)


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
    quiet_blank: bool = False   # weights, levels: nothing to say while every weight is blank (a blank form)


@dataclass
class Indicator:
    group1: str
    group2: str
    name: str                      # "" on a row the unit names (the national form)
    weight: Decimal | None         # None: the unit gives it
    lower_is_better: bool = False
    group: str = ""                # the 二级 group's id: its key in a data file


@dataclass
class IndicatorTable:
    id: str
    indicators: list[Indicator]
    score_field: str
    grade_field: str
    column_labels: dict[str, str]
    columns: tuple[str, ...] = ("name", "target", "actual", "weight", "score")   # its fields per row
    old_form: bool = False         # read scores in 实际完成值 when 得分 is empty (the seed's habit)
    extra_scores: tuple[str, ...] = ()   # added to the indicators' scores in the composite (预算执行率得分)
    levels: dict[str, Decimal] = field(default_factory=dict)   # 一级指标 -> the weight its header states
    label_columns: tuple[int, int] = (2, 3)   # the grid columns of the 一级 and 二级 labels

    def level_label(self, group1: str) -> str:
        """The 一级 label as printed: with the weight its header states ("产出指标\n（50分）")."""
        weight = self.levels.get(group1)
        return group1 if weight is None else f"{group1}\n（{format(weight.normalize(), 'f')}分）"

    @property
    def full_mark(self) -> Decimal:
        """The most the composite can be: the indicators' weights and any 预算执行率 score add up
        to it on every form (layout_scored checks a spec's weights against it)."""
        return Decimal(100)

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
class Budget:
    """The 项目资金 table of the national form: the total row's amounts and its 执行率 and score."""
    table: str
    initial: str                   # 年初预算数 (total row)
    budget: str                    # 全年预算数
    spent: str                     # 全年执行数
    rate: str                      # 执行率 (computed)
    score: str                     # its score (computed)
    weight: Decimal                # the 分值 of 预算执行率
    reason: str                    # the unit's words on an adjusted or unspent budget


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
    """A long text laid out as a run of rows, one paragraph (or a few) per row, every row visible
    and typed into, each as tall as its text.

    No program fits the height of a row to a merged cell in Excel and WPS, and a row is at most
    409 pt: so each row's text cell holds at most ROW_CHARS characters (its validation), and
    beside it, outside the print area, a fit cell (column `fit_col`, as wide as the text cell,
    white) repeats its text: Excel and WPS fit the row to that cell when it is typed into or
    when 自动调整行高 is asked for; LibreOffice fits the merged row itself. The rows are left
    unlocked whole (text, label, join and fit cells): LibreOffice fits rows on a protected sheet
    (a double click between row numbers) only when nothing in them is locked; their height is
    not marked as set by hand, so the programs may fit it.

    The field's cell is the hidden join cell in column J of the first row, whose formula joins
    the rows: the defined name, the quote checks and the reader see the whole text there."""
    field: str
    col: int                       # first column of each row's merged text cell
    cols: int
    first: int                     # sheet row of the first text row
    rows: int                      # text rows in all, every one visible
    close: int                     # the thin row closing the box below the run
    fit_col: int                   # the column of the fit cells (as wide as col..col+cols-1)
    first_pt: float                # the least height of the first row (a line, or the label's)

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
    derived: list = field(default_factory=list)          # RatioRule, ShareScoreRule
    budget: Budget | None = None
    checks: list[Check] = field(default_factory=list)
    quotes: Quotes | None = None
    runs: dict[str, Run] = field(default_factory=dict)   # long texts by field name
    last_row: int = 0
    order: list | None = None     # the rules in dependency order (spec.load.topo_order)
    columns: int = 8              # printed grid columns (A–H); then the check and the join column

    @property
    def check_column(self) -> int:
        """The inline checks' column, right of the printed grid (I in an 8-column form)."""
        return self.columns + 1

    @property
    def join_column(self) -> int:
        """The hidden column of the long texts' join cells (J in an 8-column form)."""
        return self.columns + 2

    @property
    def fit_column(self) -> int:
        """The first of the long texts' fit columns (K in an 8-column form)."""
        return self.columns + 3

    @property
    def copied(self) -> bool:
        """One sheet per project: the template's sheet is copied inside Excel for each."""
        return self.scope == "sheet"

    def cell(self, name: str) -> str:
        return self.fields[name].cell

    @cached_property
    def text_rows(self) -> frozenset[int]:
        """The rows of every long text: unlocked whole, their height left to the programs."""
        return frozenset(r for run in self.runs.values() for r in run.row_numbers)

    @cached_property
    def _by_cell(self) -> dict[tuple[int, int], Field]:
        """The field at each cell: its own, and each row of a long text's run."""
        out = {split_a1(f.cell): f for f in self.fields.values() if f.cell}
        for name, run in self.runs.items():
            out.update({(row, run.col): self.fields[name] for row in run.row_numbers})
        return out

    def place(self, sheet: str, ref: str) -> str:
        """Where a cell of this report's sheet `sheet` is, in words a bookkeeper follows on screen
        and on paper: 部门整体支出表第 68 行“人员支出”栏 (a reference it cannot read: as given)."""
        try:
            row, col = split_a1(ref)
        except ValueError:
            return f"{sheet}表 {ref}".strip() if sheet else ref
        f = self._by_cell.get((row, col))
        what = f"“{f.heading}”栏" if f else f"、{column_letters(col)} 列"
        return f"{sheet}表第 {row} 行{what}"

    def shown_cell(self, name: str) -> str:
        """Where a finding about the field points the accountant: its cell, or for a long text
        the first row they type it in (its own cell is the hidden join cell in column J)."""
        run = self.runs.get(name)
        return a1(run.first, run.col) if run else self.fields[name].cell

    def typed_cells(self, name: str) -> str:
        """Where a field is typed: its cell, or for a long text its rows' cells (B13:B16), one
        paragraph each; its name points at the join formula, which a program must not write."""
        run = self.runs.get(name)
        return f"{a1(run.first, run.col)}:{a1(run.first + run.rows - 1, run.col)}" if run else self.fields[name].cell

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

    def stated(self, instances) -> dict:
        """Its value as a record carries it (a FigureValue: key, label, value as text)."""
        value = self.value(instances)
        return {"key": self.key, "label": self.label, "value": None if value is None else str(value)}


@dataclass(frozen=True)
class Equals:
    """This year's field equals last year's (上年结转 = last year's 累计结余), row by row of `rows`
    matched by their text (the 机构名称); `xltools carry` prefills it, `check --previous` and
    `collect` report where it differs."""
    code: str
    severity: str
    field: str                  # this year's column (table.column) or field
    last: str                   # last year's
    message: str


@dataclass(frozen=True)
class Previous:
    """Last year's workbook into this year's ([previous]): the fields `xltools carry` keeps as
    they were (besides the identity and the indicator tables' definitions), the column whose text
    matches a table's rows across years, the figures that must equal last year's, and the fields
    renamed since (this year's name -> last year's)."""
    carry: tuple[str, ...] = ()
    rows: str = ""
    equals: tuple[Equals, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()


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
    scoring: ScoringRules          # how indicators are scored and judged ([scoring], [warnings])
    print: PrintSetup
    reports: dict[str, Report]    # in the workbook's sheet order
    cross: CrossCheck | None
    digest: str = ""               # sha256 of the spec text: the template's fingerprint
    identity: Identity = Identity("")
    figures: tuple[Figure, ...] = ()        # per workbook: collect's 汇总 row
    copy_figures: tuple[Figure, ...] = ()   # per copy: collect's table of projects
    pack_name: str = "{year}_{unit}"        # pack's folder (or zip), whole PDF and values copy
    previous: Previous = Previous()         # last year into this year ([previous])
    form: str = ""                          # the form's name ([template] form), when not the county's
    template_file: str = "self_eval.xlsx"   # where `xltools template` writes it ([template] file)

    @property
    def fingerprint(self) -> Fingerprint:
        return Fingerprint.of(self.region, self.year, self.form_version, self.digest)

    def describe(self) -> str:
        """The template in words: 临湘市2022年度模板（第1版）, 通用2022年度项目支出绩效自评表模板（第1版）."""
        return self.fingerprint.describe(self.form)

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
