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
from .build.names import FINGERPRINT_NAME, REPORT_MARK
from .data import Filled, Instance
from .errors import BookError
from . import catalogue
from .findings import Finding
from .formulas import cross_cell, excel_cross, report_formulas
from .a1 import a1
from .spec.model import CHECK_COLUMN, Report, Spec
from .values import coerce, is_blank
from .xlsx import ExcelError, open_book

_FP_IN_XML = re.compile(rb'<definedName[^>]*name="' + FINGERPRINT_NAME.encode() + rb'"[^>]*>(?:"|&quot;)([^<&"]*)(?:"|&quot;)<')
_STRING = re.compile(r'"(?:[^"]|"")*"')


def fingerprint_of(workbook_xml: bytes) -> str | None:
    m = _FP_IN_XML.search(workbook_xml)
    return m.group(1).decode("utf-8") if m else None


@lru_cache(maxsize=4096)   # the same formula texts recur in every workbook of one template
def normalise_formula(text: str | None) -> str | None:
    """Formula text as Excel, WPS, LibreOffice and openpyxl may each write it -> one form."""
    if text is None:
        return None
    parts, last = [], 0
    for m in _STRING.finditer(text):
        parts.append(_normalise_code(text[last:m.start()]))
        parts.append(m.group(0))
        last = m.end()
    parts.append(_normalise_code(text[last:]))
    return "".join(parts).lstrip("=")


def _normalise_code(code: str) -> str:
    code = code.replace("$", "").replace(" ", "").upper()
    code = re.sub(r"_XLFN\.", "", code)
    return re.sub(r"\b([A-Z]{1,3}\d+):\1\b", r"\1", code)   # LibreOffice writes F20 as F20:F20 in 3D refs


_EXPECTED: dict[tuple[int, str], tuple[Spec, dict[str, str], list[str]]] = {}


def expected_formulas(spec: Spec, report_id: str) -> dict[str, str]:
    """A1 -> normalised formula of every formula cell the template puts on this report's sheet."""
    return _expected(spec, report_id)[1]


def _expected(spec: Spec, report_id: str) -> tuple[Spec, dict[str, str], list[str]]:
    """(spec, expected formulas, their cells as one list): the same list object for every
    workbook, so the reader works out where those cells lie once per layout."""
    key = (id(spec), report_id)
    if key not in _EXPECTED:
        formulas = _expected_formulas(spec, report_id)
        _EXPECTED[key] = (spec, formulas, list(formulas))   # keeps spec alive: id stays unique
    return _EXPECTED[key]


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


_FIELD_CELLS: dict[tuple, tuple] = {}


def _field_cells(book, rep: Report, sheet: str, scope: str | None, label: str) -> tuple[list, list, list]:
    """Field names, fields and A1 cells of every field, resolved through the book's defined names.

    Workbooks of one template share their names block byte for byte (the reader hands back the
    same object), so the resolution is done once per template layout, not once per workbook.
    """
    key = (id(book.names_source), tuple(book.sheets), rep.id, sheet, scope)
    hit = _FIELD_CELLS.get(key)
    if hit is not None and hit[0] is book.names_source:
        return hit[1]
    names, fields, refs, missing = [], [], [], []
    for name, f in rep.fields.items():
        where = book.name_cell(name, scope)
        if where is None:
            missing.append(name)
        elif where[0] != sheet:
            raise BookError(f"文件 {label}：定义名称 {name} 指向工作表“{where[0]}”，应在“{sheet}”（工作表被改名或名称被改动）", "names-missing")
        else:
            names.append(name)
            fields.append(f)
            refs.append(where[1])
    if missing:
        raise BookError(f"文件 {label}：工作表“{sheet}”缺少 {len(missing)} 个定义名称（如 {', '.join(missing[:3])}），"
                        "无法按名称读取；请用原模板重新填报", "names-missing")
    if len(_FIELD_CELLS) > 256:
        _FIELD_CELLS.clear()
    _FIELD_CELLS[key] = (book.names_source, (names, fields, refs))
    return names, fields, refs


def _read_instance(book, spec: Spec, rep: Report, sheet: str, scope: str | None, label: str,
                   findings: list[Finding]) -> Instance:
    ws = book.sheet(sheet)
    names, fields, refs = _field_cells(book, rep, sheet, scope, label)
    values = dict.fromkeys(names)          # most cells of a report are blank: None
    for name, f, raw in zip(names, fields, ws.values(refs)):
        if raw is None:
            continue
        if type(raw) is str and f.unit == "text":    # free text, half the fields: what coerce does
            if raw and not raw.isspace():
                values[name] = raw
            continue
        if isinstance(raw, ExcelError):
            findings.append(catalogue.finding("unreadable", sheet, f.cell, actual=raw, variant="error-value",
                                              label=f.label, value=raw))
            continue
        c = coerce(f, raw)
        values[name] = c.value
        if c.note:
            findings.append(catalogue.finding("number-text", sheet, f.cell, actual=str(raw), note=c.note))
        if c.error:
            findings.append(catalogue.finding("unreadable", sheet, f.cell, actual=str(raw), reason=c.error))
    cells = _expected(spec, rep.id)[2]
    return Instance(rep, sheet, values, formulas=dict(zip(cells, ws.formulas(cells))))


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
    return Filled(label, "workbook", dept, filled, findings)
