"""Any filled workbook -> Filled (values by field name), whoever saved it.

Fields are found by their defined names, never by fixed cells: workbook-scoped names on the
department sheet, sheet-scoped names on every project sheet (so every copy a department made with
Move or Copy is found). The template's fingerprint is checked first: a workbook of another
template or year is refused with one line, as is one whose sheets or names were removed.
Formula cells are compared with the formulas the spec prescribes, because sheet protection can be
stripped by anyone: a total typed over is reported at its cell.
"""
from __future__ import annotations

import re
from functools import lru_cache
from ..build.names import FINGERPRINT_NAME, REPORT_MARK
from .filled import Filled, Instance
from ..errors import BookError
from .. import catalogue
from ..findings import Finding
from ..formulas import FIRST_BOOKEND, LAST_BOOKEND, cross_cell, excel_cross, fit_cells, report_formulas, value_join
from ..a1 import a1, column_letters
from ..spec.model import CHECK_COLUMN, JOIN_COLUMN, MONEY_UNITS, Report, Spec
from ..units import TEXT_MAX
from .coerce import coerce, is_blank
from ..memo import Memo, register
from ..xlsx import ExcelError, excel_date, is_date_format, open_book
from ..xlsx.parts import MEMO_TEXT_BYTES, Cells

_FP_IN_XML = re.compile(rb'<definedName[^>]*name="' + FINGERPRINT_NAME.encode() + rb'"[^>]*>(?:"|&quot;)([^<&"]*)(?:"|&quot;)<')
_STRING = re.compile(r'"(?:[^"]|"")*"')


def fingerprint_of(workbook_xml: bytes) -> str | None:
    m = _FP_IN_XML.search(workbook_xml)
    return m.group(1).decode("utf-8") if m else None


def normalise_formula(text: str | None) -> str | None:
    """Formula text as Excel, WPS, LibreOffice and openpyxl may each write it -> one form."""
    if text is None:
        return None
    if len(text) <= MEMO_TEXT_BYTES:
        return _normalise_memo(text)
    hit = _LONG_FORMULAS.get(text)            # the template's few long ones (narrative checks)
    if hit is None:
        hit = _normalise(text)
        if len(text) <= 8192:                  # Excel's longest formula
            _LONG_FORMULAS.put(text, hit, 4 * len(text) + 200)
    return hit


def _normalise(text: str) -> str:
    parts, last = [], 0
    for m in _STRING.finditer(text):
        parts.append(_normalise_code(text[last:m.start()]))
        parts.append(m.group(0))
        last = m.end()
    parts.append(_normalise_code(text[last:]))
    return "".join(parts).lstrip("=")


# The same formula texts recur in every workbook of one template (a typed-over one is a
# workbook's own: the memo is bounded).
_normalise_memo = lru_cache(maxsize=2048)(_normalise)
_LONG_FORMULAS = Memo("long formulas", max_entries=64, max_bytes=1 << 20)
register("normalised formulas", lambda: (_normalise_memo.cache_info().currsize, None), _normalise_memo.cache_clear)


def _normalise_code(code: str) -> str:
    code = code.replace("$", "").replace(" ", "").upper()
    code = re.sub(r"_XLFN\.", "", code)
    return re.sub(r"\b([A-Z]{1,3}\d+):\1\b", r"\1", code)   # LibreOffice writes F20 as F20:F20 in 3D refs


_EXPECTED = Memo("expected formulas", max_entries=16, max_bytes=2 << 20)


def _spec_key(spec: Spec):
    """A spec by its content (the hash of its text, its year and region), or, for one built in
    code without a text, by the object (then held by the memo, so that its id stays its own)."""
    return (spec.fingerprint, spec.digest) if spec.digest else ("object", id(spec))


def expected_formulas(spec: Spec, report_id: str) -> dict[str, str]:
    """A1 -> normalised formula of every formula cell the template puts on this report's sheet."""
    return _expected(spec, report_id)[1]


def _expected(spec: Spec, report_id: str) -> tuple[Spec, dict[str, str], Cells]:
    """(spec, expected formulas, the cells of every formula the template holds): the reader plans
    reading those cells once per layout (Cells: keyed by content). Besides the formulas compared
    there are the long texts' fit cells (formulas.fit_cells: presentation, read only to be
    counted)."""
    key = (_spec_key(spec), report_id)
    hit = _EXPECTED.get(key)
    if hit is None:
        formulas = _expected_formulas(spec, report_id)
        fits = [ref for run in spec.reports[report_id].runs.values() for ref in fit_cells(run)]
        hit = _EXPECTED.put(key, (spec, formulas, Cells([*formulas, *fits])), 300 * (len(formulas) + len(fits)))
    return hit


def _expected_formulas(spec: Spec, report_id: str) -> dict[str, str]:
    rep = spec.reports[report_id]
    out = {}
    for key, text in report_formulas(rep, spec).items():
        ref = a1(int(key[6:]), CHECK_COLUMN) if key.startswith("check:") else rep.cell(key)
        out[ref] = normalise_formula(text)
    if report_id == "dept" and spec.cross:
        row, project_cell = cross_cell(spec)
        out[a1(row, CHECK_COLUMN)] = normalise_formula(excel_cross(spec, rep.cell, project_cell))
    return out


def _check_fingerprint(book, spec: Spec, label: str) -> None:
    found = book.defined_name(FINGERPRINT_NAME)
    found = found.strip('"') if found else None
    if found == spec.fingerprint:
        return
    if not found:
        raise BookError(f"文件 {label} 不是本工具的模板生成的工作簿（缺少模板标识 {FINGERPRINT_NAME}）", "other-template")
    parts = found.split(":")
    if len(parts) >= 3 and (parts[1], parts[2]) != (spec.region, str(spec.year)):
        raise BookError(f"文件 {label} 是 {parts[1]}{parts[2]}年度的模板，与当前规格（{spec.region}{spec.year} 年度）"
                        "不符；请用 --spec 指定对应年度的规格", "other-template")
    raise BookError(f"文件 {label} 的模板版本（{found}）与当前规格（{spec.fingerprint}）不一致，"
                    "请用生成它的规格校验，或让填报单位改用新模板", "other-template")


def _field_cells(book, spec: Spec, rep: Report, sheet: str, scope: str | None,
                  label: str) -> tuple[list, list, Cells, list, Cells]:
    """Field names, fields and A1 cells of every field, resolved through the book's defined names,
    and the input fields and their cells (read for formulas typed where values belong).

    Workbooks of one template share their workbook part byte for byte, so the resolution is kept
    with what the reader derived from that part (Book.derived: keyed by its bytes), once per
    template layout, not once per workbook. A book without `derived` resolves them each time.
    """
    derived = getattr(book, "derived", None)
    key = (_spec_key(spec), rep.id, sheet, scope)
    hit = derived.get(key) if derived is not None else None
    if hit is not None:
        return hit[1]
    names, fields, refs, missing, moved = [], [], [], [], []
    for name, f in rep.fields.items():
        where = book.name_cell(name, scope)
        if where is None:
            missing.append(name)
        elif where[0] != sheet:
            raise BookError(f"文件 {label}：定义名称 {name} 指向工作表“{where[0]}”，应在“{sheet}”（工作表被改名或名称被改动）", "names-missing")
        else:
            if where[1] != f.cell:
                moved.append(f"{name}（{f.label}）指向 {where[1]}，模板中为 {f.cell}")
            names.append(name)
            fields.append(f)
            refs.append(where[1])
    if missing:
        raise BookError(f"文件 {label}：工作表“{sheet}”缺少 {len(missing)} 个定义名称（如 {', '.join(missing[:3])}），"
                        "无法按名称读取；请用原模板重新填报", "names-missing")
    if moved:
        # The fingerprint covers where every name points: a moved name would read another cell
        # as the field (or switch a check off) without a word.
        raise BookError(f"文件 {label}：工作表“{sheet}”有 {len(moved)} 个定义名称与模板不符（{'；'.join(moved[:3])}"
                        f"{'……' if len(moved) > 3 else ''}），无法可靠读取；请用原模板重新填报", "names-missing")
    inputs = [(f, ref) for f, ref in zip(fields, refs) if f.kind == "input"
              and f.name not in rep.runs]      # a long text's name points at its join formula
    out = (names, fields, Cells(refs), [f for f, _ in inputs], Cells(ref for _, ref in inputs))
    if derived is not None:
        if len(derived) >= 16:
            derived.clear()
        derived[key] = (spec, out)        # holds the spec: an id in the key stays its own
    return out


def _read_instance(book, spec: Spec, rep: Report, sheet: str, scope: str | None, label: str,
                   findings: list[Finding]) -> Instance:
    ws = book.sheet(sheet)
    names, fields, refs, input_fields, input_refs = _field_cells(book, spec, rep, sheet, scope, label)
    values = dict.fromkeys(names)          # most cells of a report are blank: None
    year, raws = spec.year, ws.values(refs)
    for name, f, raw in zip(names, fields, raws):
        if raw is None:
            continue
        if type(raw) is str and f.unit == "text" and len(raw) <= TEXT_MAX:   # free text, half the
            if raw and not raw.isspace():                                      # fields: what coerce does
                values[name] = raw
            continue
        if isinstance(raw, ExcelError):
            findings.append(catalogue.finding("unreadable", sheet, f.cell, actual=raw, variant="error-value",
                                              label=f.label, value=raw))
            continue
        c = coerce(f, raw, year=year)
        values[name] = c.value
        if c.note:
            findings.append(catalogue.finding("number-text", sheet, f.cell, actual=str(raw), note=c.note))
        if c.error:
            findings.append(catalogue.finding("unreadable", sheet, f.cell, actual=str(raw), reason=c.error))
    _amounts_shown_as_dates(book, ws, sheet, fields, refs, raws, values, findings)
    rows: dict[str, list[tuple[str, str]]] = {}
    marks = {}
    if rep.runs:
        _read_runs(ws, rep, dict(zip(names, refs)), values, rows)
        marks = ws.row_marks(int(ref.lstrip(_LETTERS)) for held in rows.values() for ref, _ in held)
    cells = _expected(spec, rep.id)[2]
    found = ws.formulas(cells)
    # A formula anywhere but in the template's formula cells: look for it among the inputs (a
    # count of the sheet's <f> elements first, which is all a report as the template made it needs)
    if ws.formula_count() > len(cells) - found.count(None):
        findings.extend(input_formula_findings(sheet, input_fields, ws.formulas(input_refs)))
    return Instance(rep, sheet, values, formulas=dict(zip(cells, found)), rows=rows, row_marks=marks)


def input_formula_findings(sheet: str, fields, formulas) -> list[Finding]:
    """A formula where the unit types a value: a DDE call (=cmd|'/c calc'!A1), a link into another
    workbook, a HYPERLINK... The checker would read its cached value as if typed; `score` writes
    that value back as a plain value (never the formula)."""
    out = []
    for f, formula in zip(fields, formulas):
        if formula is None:
            continue
        risky = "|" in formula or "[" in formula or "HYPERLINK" in formula.upper()
        out.append(catalogue.finding("input-formula", sheet, f.cell, variant="risky" if risky else "",
                                     actual=f"={formula}", label=f.label, formula=formula))
    return out


_MACRO_PART = "vbaproject.bin"


def package_findings(book) -> list[Finding]:
    """What a report workbook never needs and a hostile one may carry: links to other files (an
    externalLinks part, any relationship with TargetMode="External") and macros (vbaProject.bin).
    A hyperlink (Excel makes one of a typed web or mail address) is only a warning."""
    out = []
    for part in book.part_names():
        low = part.lower()
        if low.endswith(_MACRO_PART):
            out.append(catalogue.finding("macro-part", "", "", part=part))
        elif low.startswith("xl/externallinks/") and low.endswith(".xml"):
            out.append(catalogue.finding("external-link", "", "", part=part))
        elif low.endswith(".rels"):
            for kind, target in book.external_targets(part):
                if kind == "hyperlink":
                    out.append(catalogue.finding("hyperlink", "", "", target=target))
                elif not low.startswith("xl/externallinks/"):     # (that part is reported itself)
                    out.append(catalogue.finding("external-link", "", "", variant="relationship", kind=kind,
                                                 target=target, part=part))
    return out


def bookend_findings(book, spec: Spec, projects: list[Instance]) -> list[Finding]:
    """Project sheets the department sheet's cross check (a 3D SUM from 项目表头 to 项目表尾) leaves
    out, because they lie outside the bookends; the checker counts every filled project sheet."""
    sheets = book.sheets
    cell = spec.dept.cell(spec.cross.dept[0]) if spec.cross else ""
    names = {"first": FIRST_BOOKEND, "last": LAST_BOOKEND, "cell": cell}
    if FIRST_BOOKEND not in sheets or LAST_BOOKEND not in sheets:
        gone = "、".join(n for n in (FIRST_BOOKEND, LAST_BOOKEND) if n not in sheets)
        return [catalogue.finding("project-outside-bookends", spec.dept.sheet, cell, variant="missing",
                                  hint="请用原模板重新填报，新增项目表放在“项目表头”与“项目表尾”之间",
                                  sheet=gone, **names)]
    lo, hi = sheets.index(FIRST_BOOKEND), sheets.index(LAST_BOOKEND)
    return [catalogue.finding("project-outside-bookends", p.sheet, "", sheet=p.sheet, **names)
            for p in projects if not lo < sheets.index(p.sheet) < hi]


def cross_sheets(book, projects: list[Instance]) -> list[str]:
    """The project sheets the template's 3D cross check sums (between the bookends), filled or not."""
    sheets = book.sheets
    if FIRST_BOOKEND not in sheets or LAST_BOOKEND not in sheets:
        return []
    lo, hi = sheets.index(FIRST_BOOKEND), sheets.index(LAST_BOOKEND)
    return [p.sheet for p in projects if lo < sheets.index(p.sheet) < hi]


_AMOUNTS_AT: dict[int, tuple[list, list[int]]] = {}


def _amounts_shown_as_dates(book, ws, sheet: str, fields: list, refs: list, raws: list, values: dict,
                            findings: list[Finding]) -> None:
    """Every figure typed into an amount input whose cell shows a date. Styles are read only for
    the cells holding a number, from their tags (Sheet.styles), after the values: the common
    workbook pays a few microseconds."""
    hit = _AMOUNTS_AT.get(id(fields))          # the same list for every workbook of a layout
    if hit is None or hit[0] is not fields:
        if len(_AMOUNTS_AT) > 256:
            _AMOUNTS_AT.clear()
        hit = _AMOUNTS_AT[id(fields)] = (fields, [i for i, f in enumerate(fields)
                                                  if f.unit in MONEY_UNITS and f.kind == "input"])
    numbers = [i for i in hit[1] if type(raws[i]) in (int, float)]
    if not numbers:
        return
    dated: dict[int, bool] = {0: False}        # style -> shows a date (a few styles per sheet)
    for i, style in zip(numbers, ws.styles([refs[i] for i in numbers])):
        shows_date = dated.get(style)
        if shows_date is None:
            shows_date = dated[style] = is_date_format(book.number_format(style))
        if shows_date:
            f = fields[i]
            if values.get(f.name) is not None and not any(x.code == "unreadable" and x.cell == f.cell and x.sheet == sheet for x in findings):
                findings.append(_amount_shown_as_date(f, sheet, raws[i], values[f.name]))


def _amount_shown_as_date(f, sheet: str, raw, value) -> Finding:
    """A number in an amount cell whose format shows a date (Excel gives a cell a date format of
    its own when a date is typed or pasted into it): the bookkeeper sees a date, the figure
    read is its serial number."""
    try:
        shown = excel_date(raw).date().isoformat()
    except (ValueError, OverflowError, TypeError):
        shown = "（无效日期）"
    return catalogue.finding("amount-date-format", sheet, f.cell, actual=value, label=f.label, shown=shown,
                             value=value, unit=f.unit)
_RUN_CELLS: dict[tuple, list[str]] = {}
_JOIN_LETTERS = column_letters(JOIN_COLUMN)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _read_runs(ws, rep: Report, where: dict[str, str], values: dict, rows: dict) -> None:
    """A long text is the rows of its run joined by line breaks, read from the rows themselves
    (the join cell's cached value may be stale). The run starts on the row of the join cell the
    field's name points at. A name pointing anywhere else is a single text cell: read as is.
    `rows` gets (A1, text) of each row that holds text: a finding names the row it is about."""
    for name, run in rep.runs.items():
        ref = where.get(name)
        if ref is None:
            continue
        col, row = ref.rstrip("0123456789"), int(ref.lstrip(_LETTERS))
        if col != _JOIN_LETTERS:
            continue
        key = (rep.id, name, row)
        cells = _RUN_CELLS.get(key)
        if cells is None:
            cells = _RUN_CELLS[key] = [a1(r, run.col) for r in range(row, row + run.rows)]
        held = [(c, v if type(v) is str else str(v)) for c, v in zip(cells, ws.values(cells))
                if v is not None and not isinstance(v, ExcelError)]
        text = value_join(t for _, t in held)
        values[name] = text if text and not text.isspace() else None
        rows[name] = held


def formula_findings(inst: Instance, spec: Spec) -> list[Finding]:
    """Formula cells typed over or altered, compared with what the spec prescribes."""
    out = []
    names_by_cell = {f.cell: f for f in inst.report.computed}
    for ref, expected in expected_formulas(spec, inst.report.id).items():
        found = inst.formulas.get(ref)
        if normalise_formula(found) == expected:
            continue
        f = names_by_cell.get(ref)
        out.append(catalogue.finding("formula-altered", inst.sheet, ref, expected=f"={expected}",
                                     actual=f"={found}" if found else inst.values.get(f.name) if f else None,
                                     variant="" if found is not None else "typed-over",
                                     label=f.label if f else catalogue.CHECK_CELL_LABEL, formula=expected,
                                     found=found))
    return out


def read_workbook(path, spec: Spec, data: bytes | None = None) -> Filled:
    """`data`: the file's bytes if the caller holds them already (score patches the same bytes)."""
    label = str(path)
    book = open_book(path, data)
    _check_fingerprint(book, spec, label)
    if spec.dept.sheet not in book.sheets:
        raise BookError(f"文件 {label} 缺少工作表“{spec.dept.sheet}”（工作表被删除或改名）", "sheet-missing")
    findings: list[Finding] = []
    dept = _read_instance(book, spec, spec.dept, spec.dept.sheet, None, label, findings)
    projects = []
    for sheet in book.sheets:
        mark = book.defined_names.get((sheet, REPORT_MARK))   # sheet-scoped only: copies carry their own
        if mark and mark.strip('"') == spec.project.id:
            projects.append(_read_instance(book, spec, spec.project, sheet, sheet, label, findings))
    if not projects:
        raise BookError(f"文件 {label} 没有项目表（“{spec.project.sheet}”被删除或改名）", "sheet-missing")
    # A project sheet nobody filled in (a department with no project evaluated) is not a report.
    filled = [p for p in projects if any(not is_blank(v) for n, v in p.values.items()
                                         if p.report.fields[n].kind == "input" and p.report.fields[n].default is None)]
    for inst in [dept, *filled]:
        findings.extend(formula_findings(inst, spec))
    findings.extend(package_findings(book))
    findings.extend(bookend_findings(book, spec, filled))
    return Filled(label, "workbook", dept, filled, findings, cross_sheets=cross_sheets(book, projects))
