"""A filled workbook -> its values-only copy and its print copy, by rewriting the package's XML.

Values-only: every formula cell holds the value the Python twins compute from the inputs read
(formulas.evaluate: never the cached numbers the file carries, which may be stale), the calcChain
is gone, the helper sheets (bookends, blank project sheets) and the columns right of the form
(inline checks, helpers) are left out, and the rows their check cells made taller are the form's
height again. Styles, merges, validation, names, protection and print setup stay as they are:
only the parts named here change (about 40 times faster than an openpyxl load-and-save, and
nothing it does not model is lost).

Print copy: the values-only copy as the paper form shows it: no fills or colours (LibreOffice
ignores the black-and-white print flag), page numbers restarting per report, 评价类型 as the
ticked pair of boxes, long text laid out over rows that show it whole.
"""
from __future__ import annotations

import re
from functools import lru_cache

from .. import formulas
from ..build.check_rows import check_row_heights
from ..build.names import VALUES_NAME
from ..ooxml.ns import MAIN_NAMESPACES
from ..ooxml.package import Package
from ..ooxml.xmltext import append_child, elements, find, tag_prefix
from ..a1 import split_a1
from ..read.coerce import is_blank
from ..read.filled import Filled, Instance
from ..formulas import cached_values, input_defaults
from ..spec.layout import ROW_PT, fitted_heights, label_height
from ..spec.model import Report, Spec

_EXT_CF_URI = "{78C0D931-6437-407d-A8EE-F0AAD7539E65}"     # the extension list's conditional formats


@lru_cache(maxsize=64)
def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def evaluated(inst: Instance, spec: Spec, spent: list) -> dict[str, object]:
    """{A1: value} of every formula cell of one report sheet, computed from its inputs."""
    rep = inst.report
    inputs = input_defaults(rep)
    inputs.update({n: v for n, v in inst.values.items() if rep.fields[n].kind == "input"})
    values, checks = formulas.evaluate(rep, spec, inputs)
    cross = formulas.value_cross(spec, values.get, spent) if spec.cross and rep.id == spec.cross.report else ""
    return cached_values(rep, spec, values, checks, cross)


def computed_cells(filled: Filled, spec: Spec) -> dict[str, dict[str, object]]:
    """{sheet: {A1: value}} of every formula cell of every report the workbook holds."""
    spent = []
    if spec.cross:
        for p in filled.copies:
            rep = p.report
            inputs = input_defaults(rep)
            inputs.update({n: v for n, v in p.values.items() if rep.fields[n].kind == "input"})
            values, _ = formulas.evaluate(rep, spec, inputs)
            if (figure := formulas.value_filled(spec, values.get)) is not None:
                spent.append(figure)
    return {inst.sheet: evaluated(inst, spec, spent) for inst in filled.instances}


@lru_cache(maxsize=4)
def _sheet_patterns(p: str) -> tuple[re.Pattern, ...]:
    """Formula, cell, conditional-format and extension patterns for SpreadsheetML prefix `p`."""
    return (re.compile(rf"<{p}f\b[^>]*?(?:/>|>.*?</{p}f>)", re.S),
            re.compile(rf'<{p}c\b[^>]*?\br="([A-Z]+)\d+"[^>]*?(?:/>|>.*?</{p}c>)', re.S),
            re.compile(rf"<{p}conditionalFormatting\b.*?</{p}conditionalFormatting>", re.S),
            re.compile(rf'<{p}ext\b[^>]*?uri="{re.escape(_EXT_CF_URI)}".*?</{p}ext>', re.S))


def _strip_sheet(xml: str, p: str, keep_cols: int) -> str:
    """No formula left, no cell right of the form's `keep_cols` printed columns, no conditional
    formats (they test the check column). `p`: the prefix of the sheet's SpreadsheetML elements
    ("" or "x:")."""
    formula, cell_, cf, ext_cf = _sheet_patterns(p)

    def cell(m):
        return "" if _col_number(m.group(1)) > keep_cols else m.group(0)
    start = xml.find(f"<{p}sheetData")
    end = xml.find(f"</{p}sheetData>")
    if start >= 0 and end >= 0:
        body = cell_.sub(cell, xml[start:end])
        body = formula.sub("", body)
        xml = xml[:start] + body + xml[end:]
    xml = cf.sub("", xml)
    return ext_cf.sub("", xml)


def _drop_sheets(book: Package, keep: list[str]) -> None:
    """Leave out every sheet not in `keep` (with its relationship, content type and local names)
    and the calcChain: a list of formula cells, none left (Excel would repair a stale one)."""
    for name, _ in book.sheets():
        if name not in keep:
            book.remove_sheet(name)
    book.drop_related(book.workbook_part, "calcChain")


def values_only(data: bytes, filled: Filled, spec: Spec, moved: dict[str, dict] | None = None) -> Package:
    """The values-only copy of a workbook (a Package, to save or print from). `moved`: by sheet,
    the inputs whose cells change ({field name: value, None for blank}: legacy.to_new_columns)."""
    book = Package(data)
    for inst in filled.instances:
        for name, value in (moved or {}).get(inst.sheet, {}).items():
            book.sheet(inst.sheet).set(inst.cell(name), value)
    computed = computed_cells(filled, spec)
    keep = {inst.sheet: inst.report.columns for inst in filled.instances}
    for sheet_name, cells in computed.items():
        sheet = book.sheet(sheet_name)
        for ref, value in cells.items():
            if split_a1(ref)[1] <= keep[sheet_name]:
                sheet.set(ref, value)
    for inst in filled.instances:     # column I is left out: its rows as tall as the form's, or their texts
        texts = {n: v for n, v in inst.values.items() if isinstance(v, str)}
        fitted = fitted_heights(inst.report, spec.print.widths, texts)
        for row in check_row_heights(inst.report, spec):
            book.sheet(inst.sheet).row_height(row, round(fitted.get(row, inst.report.row_heights[row]), 1))
    _drop_sheets(book, list(keep))
    for name, columns in keep.items():
        sheet = book.sheet(name)
        sheet.commit()
        sheet.xml = _strip_sheet(sheet.xml, sheet.p, columns)
    _mark_values(book)
    return book


def _mark_values(book: Package) -> None:
    """The defined name that says what this copy is: `xltools check` and `collect` read it as
    values (with no formula left, there is none to hold to the template's). A workbook the
    checker read has defined names (its template's fingerprint is one)."""
    def mark(text: str) -> str:
        holder = find(elements(text), "definedNames", MAIN_NAMESPACES)[0]
        return append_child(text, holder, f'<{holder.prefix}definedName name="{VALUES_NAME}">"xltools pack"'
                                          f'</{holder.prefix}definedName>')
    book.edit(book.workbook_part, mark)


# -- the print copy -----------------------------------------------------------------------------
def plain_styles(styles: str) -> str:
    """Every fill blank (the first two, none and gray125, are Excel's fixed defaults) and every
    font black: the printed form has no colours."""
    p = tag_prefix(styles, "styleSheet")
    fill = re.compile(rf"<{p}fill>.*?</{p}fill>|<{p}fill/>", re.S)

    def fills(m):
        items = fill.findall(m.group(1))
        blank = f'<{p}fill><{p}patternFill patternType="none"/></{p}fill>'
        out = items[:2] + [blank] * (len(items) - 2)
        return m.group(0).replace(m.group(1), "".join(out))
    styles = re.sub(rf"<{p}fills\b[^>]*>(.*?)</{p}fills>", fills, styles, count=1, flags=re.S)
    styles = re.sub(rf"<{p}dxf>(.*?)</{p}dxf>", lambda m: f"<{p}dxf>" + fill.sub("", m.group(1)) + f"</{p}dxf>",
                    styles, flags=re.S)
    fonts = re.search(rf"<{p}fonts\b.*?</{p}fonts>", styles, re.S)
    if fonts:
        styles = styles.replace(fonts.group(0), re.sub(rf"<{p}color\b[^>]*/>", "", fonts.group(0)))
    return styles


def ticked(choice: str | None, choices: tuple[str, ...]) -> str:
    """项目实施过程评价□　项目完成结果评价☑: every choice printed, the chosen one ticked."""
    return "　".join(f"{c}{'☑' if c == choice else '□'}" for c in choices)


def print_copy(values_book: bytes, filled: Filled, spec: Spec) -> bytes:
    """The print copy's bytes, made from the values-only copy's bytes."""
    from ..write.fill import write_run
    book = Package(values_book)
    for styles in book.related(book.workbook_part, "styles")[:1]:
        book.set_text(styles, plain_styles(book.text(styles)))
    for inst in filled.instances:
        rep: Report = inst.report
        sheet = book.sheet(inst.sheet)
        for f in rep.inputs:
            if f.unit == "choice" and f.table is None:    # a line of the form (评价类型), not a table's column (指标性质)
                sheet.set(f.cell, ticked(inst.values.get(f.name), f.choices))
        # Rows as tall as their text, whoever typed it: a text typed into one row by hand, or a
        # row made short in Excel, is laid out again over the run's rows.
        for name in rep.runs:
            write_run(sheet, inst, name, spec.print.widths, hide_unused=True)
        texts = {n: v for n, v in inst.values.items() if isinstance(v, str)}
        fitted = fitted_heights(rep, spec.print.widths, texts)
        hidden, heights = spare_rows(inst, spec.print.widths, fitted)
        for row in hidden:
            sheet.row_hidden(row, True)
        for row, pt in {**fitted, **heights}.items():
            sheet.row_height(row, round(pt, 1))
        sheet.commit()
        sheet.xml = restart_page_numbers(sheet.xml, sheet.p)
    return book.to_bytes()


def spare_rows(inst: Instance, widths: list[float], fitted: dict[int, float]) -> tuple[list[int], dict[int, float]]:
    """The rows of an indicator table that leaves its rows for the unit to name (the national
    form) and that the unit left blank, not printed (the platforms print only the indicators a
    project has); the first row of each 二级 group stays (its merged labels start there). Returns
    them, and the heights the rows left need for their group's labels (一级, 二级) to fit, beyond
    the heights `fitted` to their own texts."""
    rep, hidden, heights = inst.report, [], dict(fitted)
    for table in rep.indicator_tables:
        rows = [split_a1(rep.cell(f"{table.id}_name_{i}"))[0] for i in range(1, len(table.indicators) + 1)]
        seen: set[tuple[str, str]] = set()
        for row, ind, i in zip(rows, table.indicators, range(1, len(rows) + 1)):
            first = (ind.group1, ind.group2) not in seen
            seen.add((ind.group1, ind.group2))
            blank = all(is_blank(inst.values.get(f"{table.id}_{c}_{i}")) for c in table.columns)
            if not ind.name and not first and blank:
                hidden.append(row)
        if not hidden:
            continue
        level1, level2 = table.label_columns
        for col, key, label in ((level1, lambda i: i.group1, lambda i: table.level_label(i.group1)),
                                (level2, lambda i: (i.group1, i.group2), lambda i: i.group2)):
            groups: dict = {}
            for row, ind in zip(rows, table.indicators):
                groups.setdefault(key(ind), []).append((row, ind))
            for members in groups.values():
                shown = [r for r, _ in members if r not in hidden]
                need = label_height(label(members[0][1]), widths[col - 1])
                have = sum(heights.get(r, rep.row_heights.get(r, ROW_PT)) for r in shown)
                for r in shown if need > have else ():
                    heights[r] = heights.get(r, rep.row_heights.get(r, ROW_PT)) + (need - have) / len(shown)
    return hidden, {r: pt for r, pt in heights.items() if fitted.get(r) != pt}


def restart_page_numbers(xml: str, p: str = "") -> str:
    """Each report numbers its pages from 1 (第 1 页), also in a print of the whole workbook."""
    def setup(m):
        tag = re.sub(r'\s(firstPageNumber|useFirstPageNumber)="[^"]*"', "", m.group(0))
        return tag.replace(f"<{p}pageSetup", f'<{p}pageSetup firstPageNumber="1" useFirstPageNumber="1"', 1)
    return re.sub(rf"<{p}pageSetup\b[^>]*/>", setup, xml, count=1)
