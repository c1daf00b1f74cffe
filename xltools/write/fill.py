"""`xltools fill DATA -o BOOK.xlsx`: a new workbook from the template with the data's inputs.

The template computes every total, score and grade; fill writes only inputs, plus the cached
values of the formulas (computed by the same rules in Python) so that every reader sees numbers
at once. Every figure the data states that differs from what the template computes is returned
as a warning: nothing the data said is dropped silently.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .. import catalogue, formulas, legacy
from ..ooxml.cells import SheetXml
from ..ooxml.package import Package
from ..formulas import cached_values, fit_cells, input_defaults
from ..read.data import copy_sheet_name, load_data
from ..read.filled import Instance
from ..errors import DataError
from ..findings import ERROR
from ..xlsx import open_book, read_file
from ..a1 import a1
from ..spec.layout import fitted_heights, run_layout
from ..build.check_rows import check_row_heights
from ..spec.fingerprint import Fingerprint
from ..spec.model import Spec
from ..read.coerce import is_blank


@dataclass
class FillResult:
    path: Path
    projects: list[str]
    warnings: list[str] = field(default_factory=list)


def _show(v) -> str:
    if is_blank(v):
        return "（空）"
    return formulas.money(v) if isinstance(v, Decimal) else str(v)


def write_instances(book: Package, spec: Spec, instances: list[Instance],
                    write_inputs: bool = True, cross_sheets: list[str] | None = None) -> list[str]:
    """Write inputs (and rows tall enough for their text) and the cached values of every formula.

    Returns, as warnings, every stated computed figure that differs from what the template gives.
    With write_inputs=False only the cached values change (score writes its own cells).
    `cross_sheets`: the copies the cross check sums (default: every copy among `instances`).
    """
    warnings = []
    computed_by_sheet = {}
    for inst in instances:
        rep = inst.report
        inputs = input_defaults(rep)
        inputs.update({n: v for n, v in inst.values.items() if rep.fields[n].kind == "input"})
        values, checks = formulas.evaluate(rep, spec, inputs)
        sheet = book.sheet(inst.sheet)
        if write_inputs:
            for name, value in inst.values.items():
                if rep.fields[name].kind == "input" and name not in rep.runs:
                    sheet.set(rep.cell(name), value)
            for name in rep.runs:
                if name in inst.values:
                    write_run(sheet, inst, name, spec.print.widths)
            checks_need = check_row_heights(rep, spec)     # (a text's row keeps its check cell readable)
            for row, pt in fitted_heights(rep, spec.print.widths,
                                          {n: v for n, v in inputs.items() if isinstance(v, str)}).items():
                sheet.row_height(row, round(max(pt, checks_need.get(row, 0)), 1))
        for name, stated in inst.values.items():
            f = rep.fields[name]
            if f.kind != "computed":
                continue
            got = values.get(name)
            same = (stated or Decimal(0)) == (got or Decimal(0)) if f.numeric else (stated or "") == (got or "")
            if not same:
                warnings.append(f"{inst.sheet}!{f.cell} {f.label}：数据为 {_show(stated)}，模板计算为 {_show(got)}")
        computed_by_sheet[inst.sheet] = (inst, values, checks)
    c = spec.cross
    counted = [i.sheet for i in instances if i.report.copied] if cross_sheets is None else cross_sheets
    spent = [figure for k, v in computed_by_sheet.items() if c and v[0].report.id == c.copied and k in counted
             and (figure := formulas.value_filled(spec, v[1].get)) is not None]
    for sheet_name, (inst, values, checks) in computed_by_sheet.items():
        rep = inst.report
        cross = formulas.value_cross(spec, values.get, spent) if c and rep.id == c.report else ""
        sheet = book.sheet(sheet_name)
        for ref, value in cached_values(rep, spec, values, checks, cross).items():
            sheet.cached(ref, value)
        for name, run in rep.runs.items():     # a workbook's rows as they are, whoever split them
            if not write_inputs and name in inst.rows:
                held = dict(inst.rows[name])
                for r, ref in zip(run.row_numbers, fit_cells(run)):
                    sheet.cached(ref, held.get(a1(r, run.col), ""))
    return warnings


def write_run(sheet: SheetXml, inst: Instance, name: str, widths: list[float],
              hide_unused: bool = False) -> None:
    """A long text over the rows of its run: one paragraph per row, each row as tall as its text,
    its height left for the programs to fit again (spec.model.Run); the rows it does not need a
    blank line each, or hidden (`hide_unused`: the print copy). A blank text leaves the blank
    form's rows as they are."""
    rep = inst.report
    run = rep.runs[name]
    text = inst.values.get(name)
    try:
        rows, heights = run_layout(text, run, widths)
    except ValueError as e:
        raise DataError(f"{inst.sheet}!{a1(run.first, run.col)} {rep.fields[name].label}：文字过长"
                        f"（{len(str(text))} 字），本栏最多约 {e.args[0]} 字") from None
    if not rows:
        return
    for k, r in enumerate(run.row_numbers):
        sheet.set(a1(r, run.col), rows[k] if k < len(rows) else None)
        sheet.row_height(r, round(heights[r], 1), custom=False)
        sheet.row_hidden(r, hide_unused and k >= len(rows))


def _scores_above_weights(inst: Instance) -> list[str]:
    """A score above its weight is written as the data states it (the published report says so)
    and said here; `check` reports it (score-range), the template's column I shows it."""
    out = []
    for table in inst.report.indicator_tables:
        for s, w in zip(table.names("score"), table.names("weight")):
            score = inst.values.get(s)
            weight = inst.values.get(w, inst.report.fields[w].default)
            if isinstance(score, Decimal) and isinstance(weight, Decimal) and score > weight:
                text = catalogue.entry("score-range").text(score=catalogue.figure(score, "score"),
                                                           weight=catalogue.figure(weight, "score"))
                out.append(f"{inst.sheet}!{inst.cell(s)} {inst.report.fields[s].label}：{text}")
    return out


def set_prompt(sheet: SheetXml, ref: str, text: str) -> None:
    """The input prompt of one cell's data validation (the template gives each input its own)."""
    from xml.sax.saxutils import quoteattr

    def prompt(m):
        tag = re.sub(r'\sprompt="[^"]*"', "", m.group(0))
        return tag[:-1] + f" prompt={quoteattr(text[:255])}>"
    sheet.commit()
    sheet.xml = re.sub(rf'<{sheet.p}dataValidation\b[^>]*\bsqref="{ref}"[^>]*>', prompt, sheet.xml, count=1)


def fill(data_path, out, spec: Spec, template=None, prompts: dict | None = None) -> FillResult:
    """`data_path`: a data file, or the document itself as a mapping (as json.load gives it).
    `prompts`: {(sheet, A1): text}, input prompts to say something of the value written there
    (`xltools carry`: prefilled from last year's report)."""
    doc = data_path if isinstance(data_path, Mapping) else None
    if doc is not None:
        data_path = "数据"
    filled = load_data(data_path, spec, doc)
    errors = [f for f in filled.notes if f.severity == ERROR]
    if errors:
        lines = [e if isinstance(e, str) else e.message for e in errors]
        raise DataError(f"数据文件 {Path(data_path).name} 有 {len(lines)} 处错误，未写入任何文件：" + "；".join(lines[:5])
                        + ("……" if len(lines) > 5 else ""))
    if template:
        from ..read.workbook import package_of
        from ..rules.integrity import package_findings
        base = read_file(template)
        opened = open_book(template, base)
        unsafe = [f for f in package_findings(package_of(opened)) if f.severity == ERROR]
        if unsafe:                    # (a missing, damaged or hostile template: one clear BookError)
            raise DataError(f"模板 {template}：{unsafe[0].message}；未写入任何文件")
        found = Fingerprint.of_book(opened)
        if found != spec.fingerprint:
            raise DataError(f"模板 {template} 不是由当前规格生成的（模板标识 {found or '无'}，规格 {spec.fingerprint}）",
                            "other-template")
    else:
        from ..build.workbook import template_bytes   # openpyxl: only when building the template here
        base = template_bytes(spec)
    moved = []
    for inst in filled.instances:      # the old indicator layout, written in the new columns
        moved += [legacy.describe(inst, found) for found in legacy.layouts(inst) if found.new_columns()]
        legacy.to_new_columns(inst)
        moved += _scores_above_weights(inst)
    book = Package(base, str(template or "模板"))
    from ..formulas import LAST_BOOKEND
    copies = filled.copies
    for i in range(1, len(copies)):     # the template holds the first copy's sheet
        book.clone_sheet(spec.copied.sheet, copy_sheet_name(spec.copied, i), before=LAST_BOOKEND)
    warnings = write_instances(book, spec, filled.instances)
    warnings += moved + [f.message for f in filled.notes]
    for (sheet, ref), text in (prompts or {}).items():
        set_prompt(book.sheet(sheet), ref, text)
    path = book.save(out)
    return FillResult(path, [p.sheet for p in copies], warnings)
