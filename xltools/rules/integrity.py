"""What a workbook may not be trusted with: formula cells typed over or altered (sheet protection
can be stripped by anyone), formulas typed where values belong, over labels or into blank cells,
an amount whose cell shows a date, macros and links in the package, an add-in's settings sheet,
project sheets outside the bookends. Each judges a fact the reader recorded (read/filled.py); a
data file has none of these facts.
"""
from __future__ import annotations

import re
from functools import lru_cache

from .. import catalogue
from ..a1 import split_a1
from ..findings import Finding
from ..formulas import EDITIONS, FIRST_BOOKEND, LAST_BOOKEND, bookend_span, formula_cells
from ..memo import Memo, register, spec_key
from ..read.filled import Contents, Filled, Instance
from ..spec.model import Spec
from ..xlsx import excel_date
from ..xlsx.parts import MEMO_TEXT_BYTES
from .rule import BookRule, SheetRule

_STRING = re.compile(r'"(?:[^"]|"")*"')


# -- formula text as Excel, WPS, LibreOffice and openpyxl may each write it ----------------------
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


def expected_formulas(spec: Spec, report_id: str, edition: int = 0) -> dict[str, str]:
    """A1 -> normalised formula of every formula cell the template puts on this report's sheet
    (once per spec content: memo.spec_key); `edition`: as an earlier edition of the templates
    wrote them (formulas.EDITIONS)."""
    key = (spec_key(spec), report_id, edition)
    hit = _EXPECTED.get(key)
    if hit is None:
        formulas = {ref: normalise_formula(text)
                    for ref, text in formula_cells(spec.reports[report_id], spec, edition).items()}
        hit = _EXPECTED.put(key, (spec, formulas), 300 * len(formulas))   # holds the spec: see spec_key
    return hit[1]


class FormulasAltered(BookRule):
    """Formula cells typed over or altered, compared with what the spec prescribes."""
    codes = ("formula-altered",)

    def book(self, filled: Filled, spec: Spec, out: list[Finding]) -> None:
        if filled.values_copy:              # pack's values-only copy: no formula by design (ValuesCopy)
            return
        read = [inst for inst in filled.instances if inst.formulas is not None]
        earlier = any(_earlier(inst, spec) for inst in read)
        for inst in read:
            out.extend(_altered(inst, spec, earlier))


def _earlier(inst: Instance, spec: Spec) -> bool:
    """A cell holds the formula an earlier edition of the templates wrote where today's differs:
    the workbook was filled from one of them, which left blank some cells today's fill
    (formulas.filled_cell)."""
    return any(normalise_formula(inst.formulas.get(ref)) == text for ref, text in _earlier_only(spec, inst.report.id))


def _earlier_only(spec: Spec, report_id: str) -> list[tuple[str, str]]:
    """(A1, normalised formula) of each cell an earlier edition wrote otherwise than today's."""
    key = (spec_key(spec), report_id, "earlier only")
    hit = _EXPECTED.get(key)
    if hit is None:
        now = expected_formulas(spec, report_id)
        cells = [(ref, text) for edition in EDITIONS for ref, text in expected_formulas(spec, report_id, edition).items()
                 if text != now.get(ref)]
        hit = _EXPECTED.put(key, (spec, cells), 300 * len(cells))
    return hit[1]


def _altered(inst: Instance, spec: Spec, earlier: bool) -> list[Finding]:
    out = []
    names_by_cell = {f.cell: f for f in inst.report.computed}
    editions = [expected_formulas(spec, inst.report.id, edition) for edition in EDITIONS]
    for ref, expected in expected_formulas(spec, inst.report.id).items():
        found = inst.formulas.get(ref)
        written = normalise_formula(found)
        # (a cell the earlier editions left blank passes blank in a workbook filled from one of them)
        if written == expected or any(written == ed.get(ref, None if earlier else expected) for ed in editions):
            continue
        f = names_by_cell.get(ref)
        out.append(catalogue.finding("formula-altered", inst.sheet, ref, expected=f"={expected}",
                                     actual=f"={found}" if found else inst.values.get(f.name) if f else None,
                                     variant="" if found is not None else "typed-over",
                                     label=f.label if f else catalogue.CHECK_CELL_LABEL, formula=expected,
                                     found=found))
    return out


class InputFormulas(SheetRule):
    """A formula where the unit types a value: a DDE call (=cmd|'/c calc'!A1), a link into another
    workbook, a HYPERLINK... The checker read its cached value as if typed; `score` writes that
    value back as a plain value (never the formula)."""
    codes = ("input-formula",)

    def sheet(self, inst: Instance, out: list[Finding]) -> None:
        for name, formula in inst.input_formulas.items():
            f = inst.report.fields[name]
            out.append(catalogue.finding("input-formula", inst.sheet, f.cell, actual=f"={formula}",
                                         variant="risky" if _risky(formula) else "", label=f.label, formula=formula))


def _risky(formula: str) -> bool:
    """A DDE call (cmd|...), a reference into another workbook ([other.xlsx]), a link."""
    return "|" in formula or "[" in formula or "HYPERLINK" in formula.upper()


_LABEL_TEXT_MAX = 20      # characters of a label quoted in a finding


class StrayFormulas(SheetRule):
    """A formula where the template has neither a formula nor an input: over a label (a
    HYPERLINK showing the label's own words, a DDE call), in a blank cell (both locked: the sheet's
    protection was taken off), or in a row of a long text, which is an input like any other. The
    cell's role comes from the spec's layout (Report.placed)."""
    codes = ("label-formula", "input-formula")

    def sheet(self, inst: Instance, out: list[Finding]) -> None:
        for ref, (formula, _value) in inst.stray_formulas.items():
            placed = _placed_at(inst.report, ref)
            risky = "risky" if _risky(formula) else ""
            text_field = next((p.field for p in placed if p.role == "text"), None)
            label = next((p.text for p in placed if p.text), "")
            if text_field is not None:
                out.append(catalogue.finding("input-formula", inst.sheet, ref, variant=risky, actual=f"={formula}",
                                             label=inst.report.fields[text_field].label, formula=formula))
                continue
            label = " ".join(label.split())
            if len(label) > _LABEL_TEXT_MAX:
                label = label[:_LABEL_TEXT_MAX] + "…"
            variant = "-".join(filter(None, ("" if label else "blank", risky)))
            out.append(catalogue.finding("label-formula", inst.sheet, ref, variant=variant, expected=label or None,
                                         actual=f"={formula}", text=label, formula=formula))


def _placed_at(rep, ref: str) -> list:
    """The rectangles of the layout that cover a cell (a label's merged area, a box...)."""
    row, col = split_a1(ref)
    return [p for p in rep.placed if p.row <= row < p.row + p.rows and p.col <= col < p.col + p.cols]


class AmountsShownAsDates(SheetRule):
    """A number in an amount cell whose format shows a date (Excel gives a cell a date format of
    its own when a date is typed or pasted into it): the bookkeeper sees a date, the figure read
    is its serial number. (A value the reader could not read has its note already.)"""
    codes = ("amount-date-format",)

    def sheet(self, inst: Instance, out: list[Finding]) -> None:
        for name, raw in inst.dated.items():
            f = inst.report.fields[name]
            value = inst.values.get(name)
            if value is None or any(n.code == "unreadable" and n.cell == f.cell for n in inst.notes):
                continue
            try:
                shown = excel_date(raw).date().isoformat()
            except (ValueError, OverflowError, TypeError):
                shown = "（无效日期）"
            out.append(catalogue.finding("amount-date-format", inst.sheet, f.cell, actual=value, label=f.label,
                                         shown=shown, value=value, unit=f.unit))


_MACRO_PART = "vbaproject.bin"


class PackageContents(BookRule):
    """What a report workbook never needs and a hostile one may carry: links to other files (an
    externalLinks part, any relationship with TargetMode="External") and macros (vbaProject.bin).
    A hyperlink (Excel makes one of a typed web or mail address) is only a warning."""
    codes = ("macro-part", "external-link", "hyperlink")

    def book(self, filled: Filled, spec: Spec, out: list[Finding]) -> None:
        if filled.package is not None:
            out.extend(package_findings(filled.package))


def package_findings(package: Contents) -> list[Finding]:
    """PackageContents' findings on a package (read.workbook.package_of), in the order of its parts."""
    out = []
    for part in package.parts:
        low = part.lower()
        if low.endswith(_MACRO_PART):
            out.append(catalogue.finding("macro-part", "", "", part=part))
        elif low.startswith("xl/externallinks/") and low.endswith(".xml"):
            out.append(catalogue.finding("external-link", "", "", part=part))
        elif low.endswith(".rels"):
            for kind, target in package.external.get(part, ()):
                if kind == "hyperlink":
                    out.append(catalogue.finding("hyperlink", "", "", target=target))
                elif not low.startswith("xl/externallinks/"):     # (that part is reported itself)
                    out.append(catalogue.finding("external-link", "", "", variant="relationship", kind=kind,
                                                 target=target, part=part))
    return out


# Sheet names an xlwings add-in reads settings from (the interpreter, PYTHONPATH, the UDF modules):
# the one named for our add-in's project (addin/table.py PROJECT_NAME) and xlwings's own. Excel
# finds a sheet by name without regard to case.
SETTINGS_SHEETS = ("xltools.conf", "xlwings.conf")


class SettingsSheets(BookRule):
    """A sheet that would choose the program an xlwings add-in runs, hidden or not. Ours reads no
    workbook's settings (addin/runtime.py); another add-in on the bureau's PC may."""
    codes = ("conf-sheet",)

    def book(self, filled: Filled, spec: Spec, out: list[Finding]) -> None:
        out.extend(catalogue.finding("conf-sheet", name, "", sheet=name)
                   for name in filled.sheets or () if name.lower() in SETTINGS_SHEETS)


class Bookends(BookRule):
    """Project sheets the department sheet's cross check (a 3D SUM from 项目表头 to 项目表尾) leaves
    out, because they lie outside the bookends; the checker counts every filled project sheet.
    A form with no cross check (the national form) sums nothing across its sheets."""
    codes = ("project-outside-bookends",)

    def declares(self, spec: Spec) -> set[str]:
        return set(self.codes) if spec.cross else set()

    def book(self, filled: Filled, spec: Spec, out: list[Finding]) -> None:
        sheets = filled.sheets
        if sheets is None or spec.copied is None or spec.cross is None or filled.values_copy:   # pack's copy: none by design
            return
        held = spec.reports[spec.cross.report]             # where the 3D SUM is
        cell = held.cell(spec.cross.fields[0])
        names = {"first": FIRST_BOOKEND, "last": LAST_BOOKEND, "cell": cell}
        span = bookend_span(sheets)
        if span is None:
            gone = "、".join(n for n in (FIRST_BOOKEND, LAST_BOOKEND) if n not in sheets)
            out.append(catalogue.finding("project-outside-bookends", held.sheet, cell, variant="missing",
                                         hint="请用原模板重新填报，新增项目表放在“项目表头”与“项目表尾”之间",
                                         sheet=gone, **names))
            return
        lo, hi = span
        out.extend(catalogue.finding("project-outside-bookends", p.sheet, "", sheet=p.sheet, **names)
                   for p in filled.copies if not lo < sheets.index(p.sheet) < hi)


class ValuesCopy(BookRule):
    """Pack's values-only copy (its defined name, and no formula in any report): read and checked
    as values; the finding says so, as its formulas cannot be held to the template's."""
    codes = ("values-copy",)

    def book(self, filled: Filled, spec: Spec, out: list[Finding]) -> None:
        if filled.values_copy:
            out.append(catalogue.finding("values-copy", filled.instances[0].sheet if filled.instances else "", ""))
