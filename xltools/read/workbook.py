"""Any filled workbook -> Filled (values by field name), whoever saved it.

Fields are found by their defined names, never by fixed cells: workbook-scoped names on the
department sheet, sheet-scoped names on every project sheet (so every copy a department made with
Move or Copy is found). The template's fingerprint is checked first (spec/registry.py): a workbook
of another template or year is refused with one line, as is one whose sheets or names were removed.

The reader only reads. What a rule judges is handed over as facts (filled.py): the formula in
each formula cell of the template (protection can be stripped by anyone: the rules compare them
with the spec), formulas typed into input cells, figures in cells whose format shows a date, the
parts of the package, the order of the sheets. Its own words are the notes on a value it could
not read as typed (coerce.py).
"""
from __future__ import annotations

from ..build.names import REPORT_MARK, VALUES_NAME
from .filled import Contents, Filled, Instance
from ..errors import BookError
from .. import catalogue
from ..formulas import bookend_span, fit_cells, formula_cells, value_join
from ..a1 import a1, column_letters
from ..spec.model import MONEY_UNITS, Report, Spec
from ..spec.registry import Registry
from ..units import TEXT_MAX
from .coerce import NUMBERS_READ, coerce, is_blank
from ..memo import Memo, spec_key
from ..xlsx import ExcelError, is_date_format, open_book
from ..xlsx.chunks import Cells

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class _Plan:
    """What reading one report of one spec needs, worked out once per spec content (_PLANS): its
    fields in order and their cells, the inputs (read for formulas typed where values belong),
    which of them hold money (read for a date format), the template's formula cells, the long
    texts' fit cells (formulas.fit_cells: nothing guards them, their formulas are only counted)
    and the rows of each long text. Cells tuples: the fast reader plans reading each of them once
    per sheet layout."""

    __slots__ = ("spec", "every_name", "names", "fields", "refs", "inputs", "amounts", "amount_refs", "formula_cells",
                 "fits", "runs")

    def __init__(self, spec: Spec, rep: Report):
        self.spec = spec                # held: a spec known by its id stays its own (memo.spec_key)
        self.runs = []
        join = column_letters(rep.join_column)
        for name, run in rep.runs.items():
            ref = rep.cell(name)
            col, row = ref.rstrip("0123456789"), int(ref.lstrip(_LETTERS))
            if col == join:     # else a single text cell, read as is
                self.runs.append((name, Cells(a1(r, run.col) for r in range(row, row + run.rows))))
        self.every_name = list(rep.fields)
        # A long text's name points at its join formula, whose cached value (the whole text, often
        # stale) is never read: its rows are.
        joined = {name for name, _ in self.runs}
        self.fields = [f for f in rep.fields.values() if f.name not in joined]
        self.names = [f.name for f in self.fields]
        self.refs = Cells(f.cell for f in self.fields)
        self.inputs = frozenset(i for i, f in enumerate(self.fields) if f.kind == "input" and f.name not in rep.runs)
        self.amounts = [i for i, f in enumerate(self.fields) if f.unit in MONEY_UNITS and f.kind == "input"]
        self.amount_refs = Cells(self.refs[i] for i in self.amounts)
        self.formula_cells = Cells(formula_cells(rep, spec))
        self.fits = Cells(ref for run in rep.runs.values() for ref in fit_cells(run))

    def weight(self) -> int:
        return 100 * (len(self.refs) + len(self.inputs) + len(self.amounts) + len(self.formula_cells) + len(self.fits)
                      + sum(len(cells) for _, cells in self.runs))


_PLANS = Memo("reading plans", max_entries=16, max_bytes=2 << 20)


def _plan(spec: Spec, rep: Report) -> _Plan:
    key = (spec_key(spec), rep.id)
    hit = _PLANS.get(key)
    if hit is None:
        hit = _Plan(spec, rep)
        _PLANS.put(key, hit, hit.weight())
    return hit


def _check_names(book, spec: Spec, rep: Report, sheet: str, scope: str | None, label: str) -> None:
    """Every field's defined name resolves, on `sheet`, to the cell the template gave it.

    Workbooks of one template share their workbook part byte for byte, so this is decided with
    what the reader derived from that part (Book.derived: keyed by its bytes), once per template
    layout, not once per workbook. A book without `derived` is checked each time.
    """
    derived = getattr(book, "derived", None)
    key = (spec_key(spec), rep.id, sheet, scope)
    if derived is not None and key in derived:
        return
    missing, moved = [], []
    for name, f in rep.fields.items():
        where = book.name_cell(name, scope)
        if where is None:
            missing.append(name)
        elif where[0] != sheet:
            raise BookError(f"文件 {label}：定义名称 {name} 指向工作表“{where[0]}”，应在“{sheet}”（工作表被改名或名称被改动）", "names-missing")
        elif where[1] != f.cell:
            moved.append(f"{name}（{f.label}）指向 {where[1]}，模板中为 {f.cell}")
    if missing:
        raise BookError(f"文件 {label}：工作表“{sheet}”缺少 {len(missing)} 个定义名称（如 {', '.join(missing[:3])}），"
                        "无法按名称读取；请用原模板重新填报", "names-missing")
    if moved:
        # The fingerprint covers where every name points: a moved name would read another cell
        # as the field (or switch a check off) without a word.
        raise BookError(f"文件 {label}：工作表“{sheet}”有 {len(moved)} 个定义名称与模板不符（{'；'.join(moved[:3])}"
                        f"{'……' if len(moved) > 3 else ''}），无法可靠读取；请用原模板重新填报", "names-missing")
    if derived is not None:
        if len(derived) >= 16:
            derived.clear()
        derived[key] = spec        # holds the spec: an id in the key stays its own


def _read_instance(book, spec: Spec, rep: Report, sheet: str, scope: str | None, label: str) -> Instance:
    _check_names(book, spec, rep, sheet, scope, label)
    plan = _plan(spec, rep)
    ws = book.sheet(sheet)
    names, fields = plan.names, plan.fields
    values = dict.fromkeys(plan.every_name)    # most cells of a report are blank: None
    notes = []
    with_formula: list[int] = []             # fields whose cell holds a formula
    year, raws, read_before = spec.year, ws.values(plan.refs, with_formula), NUMBERS_READ
    for name, f, raw in zip(names, fields, raws):
        if raw is None:
            continue
        if type(raw) is str and f.unit == "text" and len(raw) <= TEXT_MAX:   # free text, half the
            if raw and not raw.isspace():                                      # fields: what coerce does
                values[name] = raw
            continue
        if isinstance(raw, ExcelError):
            notes.append(catalogue.finding("unreadable", sheet, f.cell, actual=raw, variant="error-value",
                                           label=f.label, value=raw))
            continue
        c = read_before.get((f.unit, f.kind, type(raw), raw)) or coerce(f, raw, year=year)   # (see NUMBERS_READ)
        values[name] = c.value
        if c.note:
            notes.append(catalogue.finding("number-text", sheet, f.cell, actual=str(raw), note=c.note))
        if c.error:
            notes.append(catalogue.finding("unreadable", sheet, f.cell, actual=str(raw), reason=c.error))
    # A template formula without a cached value (a program wrote the workbook without computing
    # it, as openpyxl does; Excel computes it on opening) states nothing: its figure is what the
    # template computes, as for a data file that leaves a total out.
    for i in with_formula:
        if raws[i] is None and i not in plan.inputs:
            del values[names[i]]
    dated = _shown_as_dates(book, ws, plan, raws)
    rows: dict[str, list[tuple[str, str]]] = {}
    for name, cells in plan.runs:
        _read_run(ws, name, cells, values, rows)
    # how the rows that hold text are shown: their height and whether they are hidden
    marks = ws.row_marks([ref for held in rows.values() for ref, _ in held])
    cells = plan.formula_cells
    found = ws.formulas(cells)
    typed = {}                                 # a formula typed into an input cell
    inputs = [fields[i] for i in with_formula if i in plan.inputs]
    if inputs:
        typed = {f.name: formula for f, formula in zip(inputs, ws.formulas([f.cell for f in inputs]))
                 if formula is not None}
    # A formula anywhere else (over a label, in a blank cell, in a long text's row): the sheet holds
    # more <f> elements than the template's formula and fit cells and the typed ones (counts, no
    # decoding)
    stray = {}
    if ws.formula_count() > len(cells) - found.count(None) + len(typed) + ws.formula_count(plan.fits):
        stray = _stray_formulas(ws, plan)
    return Instance(rep, sheet, values, formulas=dict(zip(cells, found)), rows=rows, row_marks=marks, notes=notes,
                    input_formulas=typed, dated=dated, stray_formulas=stray)


def _stray_formulas(ws, plan: _Plan) -> dict[str, tuple[str, object]]:
    """A1 -> (formula, cached value) of every formula in a cell that is neither a formula cell
    nor an input of the template: over a label, in a blank cell, in a row of a long text. Only
    read when the count of formulas says there is one (every cell of the sheet is decoded)."""
    known = {*plan.formula_cells, *plan.fits, *(plan.refs[i] for i in plan.inputs)}
    return {ref: (cell.formula, None if cell.is_error else cell.value) for ref, cell in ws.cells.items()
            if cell.formula is not None and ref not in known}


def _shown_as_dates(book, ws, plan: _Plan, raws: list) -> dict[str, object]:
    """The figures typed into amount inputs whose cell shows a date. Styles are read from the
    cells' tags (Sheet.styles, planned once per layout), after the values, and only when an
    amount holds a number."""
    if not any(type(raws[i]) in (int, float) for i in plan.amounts):
        return {}
    out = {}
    dated: dict[int, bool] = {0: False}        # style -> shows a date (a few styles per sheet)
    for i, style in zip(plan.amounts, ws.styles(plan.amount_refs)):
        if type(raws[i]) not in (int, float):
            continue
        shows_date = dated.get(style)
        if shows_date is None:
            shows_date = dated[style] = is_date_format(book.number_format(style))
        if shows_date:
            out[plan.names[i]] = raws[i]
    return out


def _read_run(ws, name: str, cells: Cells, values: dict, rows: dict) -> None:
    """A long text is the rows of its run joined by line breaks, read from the rows themselves
    (the join cell's cached value may be stale). `rows` gets (A1, text) of each row that holds
    text: a finding names the row it is about."""
    held = [(c, v if type(v) is str else str(v)) for c, v in zip(cells, ws.values(cells))
            if v is not None and not isinstance(v, ExcelError)]
    text = value_join(t for _, t in held)
    values[name] = text if text and not text.isspace() else None
    rows[name] = held


def package_of(book) -> Contents:
    """The parts of a workbook's zip and its relationships to anything outside it."""
    parts = book.part_names()
    return Contents(parts, {part: targets for part in parts if part.lower().endswith(".rels")
                           and (targets := book.external_targets(part))})


def read_workbook(path, spec: Spec, data: bytes | None = None, book=None) -> Filled:
    """`data`: the file's bytes if the caller holds them already (score patches the same bytes);
    `book`: the workbook opened already (the registry read its fingerprint)."""
    label = str(path)
    book = book or open_book(path, data)
    Registry.of(spec).resolve(book, label)        # a workbook of another template: refused
    instances, blank, copies = [], [], []
    for rep in spec.reports.values():
        if not rep.copied:
            if rep.sheet not in book.sheets:
                raise BookError(f"文件 {label} 缺少工作表“{rep.sheet}”（工作表被删除或改名）", "sheet-missing")
            instances.append(_read_instance(book, spec, rep, rep.sheet, None, label))
            continue
        for sheet in book.sheets:
            mark = book.defined_names.get((sheet, REPORT_MARK))   # sheet-scoped only: copies carry their own
            if mark and mark.strip('"') == rep.id:
                copies.append(_read_instance(book, spec, rep, sheet, sheet, label))
        if not copies:
            raise BookError(f"文件 {label} 没有“{rep.sheet}”表（工作表被删除或改名）", "sheet-missing")
        # A copy nobody filled in (a department with no project evaluated) is not a report.
        for p in copies:
            (instances if any(not is_blank(v) for n, v in p.values.items() if rep.fields[n].kind == "input"
                              and rep.fields[n].default is None) else blank).append(p)
    sheets = list(book.sheets)
    span = bookend_span(sheets)
    cross = [] if span is None else [p.sheet for p in copies if span[0] < sheets.index(p.sheet) < span[1]]
    # pack's values-only copy says so by a defined name, and holds no formula in any report
    values = (None, VALUES_NAME) in book.defined_names \
        and not any(book.sheet(i.sheet).formula_count() for i in instances + blank)
    return Filled(label, "workbook", instances, blank, sheets=sheets, package=package_of(book), cross_sheets=cross,
                  values_copy=values)
