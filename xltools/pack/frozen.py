"""A filled workbook -> its values-only copy and its print copy, by rewriting the package's XML.

Values-only: every formula cell holds the value the Python twins compute from the inputs read
(formulas.evaluate: never the cached numbers the file carries, which may be stale), the calcChain
is gone, the helper sheets (bookends, blank project sheets) and the columns right of the form
(inline checks, helpers) are left out. Styles, merges, validation, names, protection and print
setup stay as they are: only the parts named here change (about 40 times faster than an openpyxl
load-and-save, and nothing it does not model is lost).

Print copy: the values-only copy as the paper form shows it: no fills or colours (LibreOffice
ignores the black-and-white print flag), page numbers restarting per report, 评价类型 as the
ticked pair of boxes, long text laid out over rows that show it whole.
"""
from __future__ import annotations

import re
from functools import lru_cache
from xml.sax.saxutils import unescape

from .. import formulas
from ..ooxml import patch
from ..a1 import split_a1
from ..read.filled import Filled, Instance
from ..formulas import cached_values, input_defaults
from ..spec.layout import fitted_heights
from ..spec.model import CHECK_COLUMN, Report, Spec

_F = re.compile(r"<f\b[^>]*?(?:/>|>.*?</f>)", re.S)
_CELL = re.compile(r'<c\b[^>]*?\br="([A-Z]+)\d+"[^>]*?(?:/>|>.*?</c>)', re.S)
_SHEET_ENTRY = re.compile(r'<sheet\b[^>]*?/>')
_CF = re.compile(r"<conditionalFormatting\b.*?</conditionalFormatting>", re.S)
_EXT_CF = re.compile(r'<ext\b[^>]*?uri="\{78C0D931-6437-407d-A8EE-F0AAD7539E65\}".*?</ext>', re.S)
_FIRST_RIGHT = 9   # column I: the first column right of the printed form


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
            spent.append(formulas.num(values.get(spec.cross.copy_field)) or 0)
    return {inst.sheet: evaluated(inst, spec, spent) for inst in filled.instances}


def _strip_sheet(xml: str, keep_cols: int = CHECK_COLUMN - 1) -> str:
    """No formula left, no cell right of the form, no conditional formats (they test column I)."""
    def cell(m):
        return "" if _col_number(m.group(1)) > keep_cols else m.group(0)
    start = xml.find("<sheetData")
    end = xml.find("</sheetData>")
    if start >= 0 and end >= 0:
        body = _CELL.sub(cell, xml[start:end])
        body = _F.sub("", body)
        xml = xml[:start] + body + xml[end:]
    xml = _CF.sub("", xml)
    return _EXT_CF.sub("", xml)


def _drop_sheets(book: patch.Workbook, keep: list[str]) -> None:
    """Leave out every sheet not in `keep`, with its relationship, content type and local names."""
    wb = book.part("xl/workbook.xml").decode("utf-8")
    rels = book.part("xl/_rels/workbook.xml.rels").decode("utf-8")
    types = book.part("[Content_Types].xml").decode("utf-8")
    entries = _SHEET_ENTRY.findall(wb)
    names = [unescape(re.search(r'name="([^"]*)"', e).group(1), {"&quot;": '"', "&apos;": "'"}) for e in entries]
    new_index = {}
    kept = []
    for i, (entry, name) in enumerate(zip(entries, names)):
        if name in keep:
            new_index[i] = len(kept)
            kept.append(entry)
            continue
        rid = re.search(r'r:id="([^"]+)"', entry).group(1)
        part = book.parts.pop(name)
        book.remove_part(part)
        book.remove_part(part.replace("worksheets/", "worksheets/_rels/") + ".rels")
        book.sheets.pop(name, None)
        rels = re.sub(rf'<Relationship\b[^>]*\bId="{rid}"[^>]*/>', "", rels)
        types = re.sub(rf'<Override\b[^>]*PartName="/{re.escape(part)}"[^>]*/>', "", types)
    wb = re.sub(r"<sheets>.*?</sheets>", lambda m: "<sheets>" + "".join(kept) + "</sheets>", wb, flags=re.S)

    def local(m):
        k = int(m.group(1))
        if k not in new_index:
            return ""
        return m.group(0).replace(f'localSheetId="{k}"', f'localSheetId="{new_index[k]}"', 1)
    wb = re.sub(r'<definedName\b[^>]*?localSheetId="(\d+)"[^>]*>.*?</definedName>', local, wb, flags=re.S)
    wb = re.sub(r'(activeTab|firstSheet)="\d+"', r'\1="0"', wb)
    # calcChain: a list of formula cells, none left; Excel would repair a stale one on open.
    for m in re.finditer(r'<Relationship\b[^>]*Target="([^"]*calcChain\.xml)"[^>]*/>', rels):
        book.remove_part("xl/" + m.group(1).lstrip("/").removeprefix("xl/"))
    rels = re.sub(r'<Relationship\b[^>]*calcChain\.xml"[^>]*/>', "", rels)
    types = re.sub(r'<Override\b[^>]*calcChain\.xml"[^>]*/>', "", types)
    book.replace_part("xl/workbook.xml", wb.encode("utf-8"))
    book.replace_part("xl/_rels/workbook.xml.rels", rels.encode("utf-8"))
    book.replace_part("[Content_Types].xml", types.encode("utf-8"))


def values_only(data: bytes, filled: Filled, spec: Spec) -> patch.Workbook:
    """The values-only copy of a workbook (as a patch.Workbook, to save or print from)."""
    book = patch.Workbook(data)
    computed = computed_cells(filled, spec)
    keep = [inst.sheet for inst in filled.instances]
    for sheet_name, cells in computed.items():
        sheet = book.sheet(sheet_name)
        for ref, value in cells.items():
            if split_a1(ref)[1] < CHECK_COLUMN:
                sheet.set(ref, value)
    _drop_sheets(book, keep)
    for name in keep:
        sheet = book.sheet(name)
        sheet.xml = _strip_sheet(sheet.render())
        sheet.edits.clear()
        sheet.heights.clear()
    return book


# -- the print copy -----------------------------------------------------------------------------
_FILLS = re.compile(r"<fills\b[^>]*>(.*?)</fills>", re.S)
_FILL = re.compile(r"<fill>.*?</fill>|<fill/>", re.S)


def plain_styles(styles: str) -> str:
    """Every fill blank (the first two, none and gray125, are Excel's fixed defaults) and every
    font black: the printed form has no colours."""
    def fills(m):
        items = _FILL.findall(m.group(1))
        blank = "<fill><patternFill patternType=\"none\"/></fill>"
        out = items[:2] + [blank] * (len(items) - 2)
        return m.group(0).replace(m.group(1), "".join(out))
    styles = _FILLS.sub(fills, styles, count=1)
    styles = re.sub(r"<dxf>(.*?)</dxf>", lambda m: "<dxf>" + re.sub(r"<fill>.*?</fill>", "", m.group(1), flags=re.S)
                    + "</dxf>", styles, flags=re.S)
    fonts = re.search(r"<fonts\b.*?</fonts>", styles, re.S)
    if fonts:
        styles = styles.replace(fonts.group(0), re.sub(r"<color\b[^>]*/>", "", fonts.group(0)))
    return styles


def ticked(choice: str | None, choices: tuple[str, ...]) -> str:
    """项目实施过程评价□　项目完成结果评价☑: every choice printed, the chosen one ticked."""
    return "　".join(f"{c}{'☑' if c == choice else '□'}" for c in choices)


def print_copy(values_book: bytes, filled: Filled, spec: Spec) -> bytes:
    """The print copy's bytes, made from the values-only copy's bytes."""
    from ..write.fill import write_run
    book = patch.Workbook(values_book)
    styles = "xl/styles.xml"
    book.replace_part(styles, plain_styles(book.part(styles).decode("utf-8")).encode("utf-8"))
    for inst in filled.instances:
        rep: Report = inst.report
        sheet = book.sheet(inst.sheet)
        for f in rep.inputs:
            if f.unit == "choice":
                sheet.set(f.cell, ticked(inst.values.get(f.name), f.choices))
        # Rows as tall as their text, whoever typed it: a text typed into one row by hand, or a
        # row made short in Excel, is laid out again over the run's rows.
        for name in rep.runs:
            write_run(sheet, inst, name, spec.print.widths)
        texts = {n: v for n, v in inst.values.items() if isinstance(v, str)}
        for row, pt in fitted_heights(rep, spec.print.widths, texts).items():
            sheet.row_height(row, round(pt, 1))
        xml = sheet.render()
        sheet.edits.clear()
        sheet.heights.clear()
        sheet.xml = restart_page_numbers(xml)
    return book.to_bytes()


def restart_page_numbers(xml: str) -> str:
    """Each report numbers its pages from 1 (第 1 页), also in a print of the whole workbook."""
    def setup(m):
        tag = re.sub(r'\s(firstPageNumber|useFirstPageNumber)="[^"]*"', "", m.group(0))
        return tag.replace("<pageSetup", '<pageSetup firstPageNumber="1" useFirstPageNumber="1"', 1)
    if "<pageSetup" in xml:
        return re.sub(r"<pageSetup\b[^>]*/>", setup, xml, count=1)
    return xml
