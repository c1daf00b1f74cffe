"""The inline-check column (column I) as a bookkeeper reads it (issue 18): the seed's filled workbook
recalculated by LibreOffice, each finding on its own line; the template's cells wrapped from the
top in a column as wide as the spec says, beside rows no taller than the form's."""
from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from helpers import ROOT, SEED, run_cli, sheet_parts
from xltools import formulas
from xltools.build.check_rows import CHECK_LINE_PT, check_height, check_row_heights
from xltools.checker import check_file
from xltools.pack.frozen import values_only
from xltools.read.workbook import read_workbook
from xltools.spec.layout import fitted_heights
from xltools.formulas import cross_cell, filled_cell, filled_inputs, formula_cells, value_cross
from xltools.spec import load_spec
from xltools.write.fill import fill

SPEC = load_spec()
DEPT, PROJ = SPEC.reports["dept"], SPEC.reports["project"]
CROSS_REF = f"{get_column_letter(DEPT.check_column)}{cross_cell(SPEC)[0]}"
PROJ_SPENT = filled_inputs(SPEC)[0]          # a cell the project's 实际支出 is typed into
TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "self_eval.xlsx"
NATIONAL = TEMPLATE.with_name("national_2022.xlsx")
NATIONAL_SPEC = load_spec(Path(__file__).resolve().parents[1] / "specs" / "national_2022.toml")


@pytest.fixture(scope="module")
def seed_book(tmp_path_factory) -> Path:
    return fill(SEED, tmp_path_factory.mktemp("seed") / "seed.xlsx", SPEC).path


@pytest.fixture(scope="module")
def recalculated(soffice, seed_book, tmp_path_factory):
    out = soffice.recalculate(seed_book, tmp_path_factory.mktemp("lo") / "seed.xlsx")
    return openpyxl.load_workbook(out, data_only=True)


def quotes_cell() -> str:
    row = next(p.row for p in DEPT.placed if p.role == "check" and p.check.kind == "quotes")
    return f"{get_column_letter(DEPT.check_column)}{row}"


def test_each_finding_of_a_cell_on_its_own_line(seed_book, recalculated):
    """The seed's narrative quotes four amounts of its first 机构 that the table contradicts: the
    check cell beside that row, as LibreOffice computes it, says each on a line of its own, in
    the checker's words."""
    said = [f.message for f in check_file(seed_book, SPEC).findings if f.code == "text-amount"]
    assert len(said) == 4
    assert recalculated[DEPT.sheet][quotes_cell()].value.split("\n") == said


def xml_heights(book, sheet: str) -> dict[int, float]:
    """Row -> its height (ht) as the sheet's XML stores it (book: a path or the file's bytes)."""
    data = book if isinstance(book, bytes) else Path(book).read_bytes()
    xml = zipfile.ZipFile(io.BytesIO(data)).read(sheet_parts(data)[sheet]).decode("utf-8")
    return {int(m.group(1)): float(m.group(2)) for m in re.finditer(r'<row\b[^>]*?\br="(\d+)"[^>]*?\bht="([^"]+)"', xml)}


def test_check_cells_wrap_in_a_wide_column_beside_rows_tall_enough_for_them(seed_book):
    """Each check cell wraps from the top in a column as wide as the spec says, beside a row as
    tall as the form's or as its findings need at once, whichever is taller: the 机构 rows of the
    department's table hold the narrative's five amounts, two lines each; the seed's four of
    them fit with room."""
    for path, spec in ((TEMPLATE, SPEC), (NATIONAL, NATIONAL_SPEC)):
        book = openpyxl.load_workbook(path)
        for rep in spec.reports.values():
            ws, letter = book[rep.sheet], get_column_letter(rep.check_column)
            heights, need = xml_heights(path, rep.sheet), check_row_heights(rep, spec)
            assert ws.column_dimensions[letter].width == spec.print.check_width >= 60
            for row in formulas.check_severities(rep, spec):
                cell = ws[f"{letter}{row}"]
                assert (cell.alignment.wrap_text, cell.alignment.vertical) == (True, "top"), cell.coordinate
                assert heights[row] == round(max(rep.row_heights[row], need.get(row, 0)), 1), cell.coordinate
    quotes = int(quotes_cell()[1:])
    assert xml_heights(TEMPLATE, DEPT.sheet)[quotes] == 10 * CHECK_LINE_PT + 4 > 5 * DEPT.row_heights[quotes]
    seed = openpyxl.load_workbook(seed_book, data_only=True)[DEPT.sheet][quotes_cell()].value
    assert len(seed.split("\n")) == 4 and check_height(seed, SPEC) < xml_heights(seed_book, DEPT.sheet)[quotes]


def test_fill_keeps_the_tall_rows_and_pack_gives_the_form_its_heights_back(seed_book):
    """The filled workbook's check rows are as tall as the template's; pack's values copy, which
    leaves column I out, and so its print copy, have the form's heights there again (or their
    text's: the seed's 机构名称 takes two lines)."""
    filled = read_workbook(seed_book, SPEC)
    values = values_only(seed_book.read_bytes(), filled, SPEC).to_bytes()
    for rep in (DEPT, PROJ):
        tall = check_row_heights(rep, SPEC)
        assert tall
        template, book, copy = (xml_heights(b, rep.sheet) for b in (TEMPLATE, seed_book, values))
        assert {r: book[r] for r in tall} == {r: template[r] for r in tall} == {r: round(tall[r], 1) for r in tall}
        inst = next(i for i in filled.instances if i.report is rep)
        texts = fitted_heights(rep, SPEC.print.widths, {n: v for n, v in inst.values.items() if isinstance(v, str)})
        assert {r: copy[r] for r in tall} == {r: round(texts.get(r, rep.row_heights[r]), 1) for r in tall}


def test_a_warning_is_coloured_apart_from_an_error():
    """Each check cell carries its own conditional format, in its check's colours: the
    cross-report note (提示) amber on light yellow, a score outside its weight (错误) red on pink;
    the heading above them none."""
    ws = openpyxl.load_workbook(TEMPLATE)[DEPT.sheet]
    letter = get_column_letter(DEPT.check_column)
    looks = {str(cf.sqref): (rule.dxf.font.color.rgb[-6:], rule.dxf.fill.fgColor.rgb[-6:])
             for cf in ws.conditional_formatting for rule in cf.rules if str(cf.sqref).startswith(letter)}
    score = next(p.row for p in DEPT.placed if p.role == "check" and p.check.kind == "score-range")
    assert looks[f"{letter}{cross_cell(SPEC)[0]}"] == ("9C5700", "FFEB9C")
    assert looks[f"{letter}{score}"] == ("C00000", "FFC7CE")
    assert f"{letter}1" not in looks and not any(":" in ref for ref in looks)


def test_the_cross_report_note_waits_for_a_project_sheet(soffice, seed_book, recalculated, tmp_path):
    """The seed's 项目支出 differs from its one project sheet's: LibreOffice shows the note, the
    checker's sentence. With no project sheet between the bookends (removed here) the note is
    empty, however the department's 项目支出 reads; so is the Python twin."""
    said = [f.message for f in check_file(seed_book, SPEC).findings if f.code == "cross-report"]
    assert recalculated[DEPT.sheet][CROSS_REF].value == said[0]
    book = openpyxl.load_workbook(seed_book)
    book.remove(book[PROJ.sheet])
    book.save(tmp_path / "no-project.xlsx")
    alone = openpyxl.load_workbook(soffice.recalculate(tmp_path / "no-project.xlsx", tmp_path / "lo.xlsx"),
                                   data_only=True)[DEPT.sheet]
    assert alone[DEPT.cell(SPEC.cross.fields[0])].value and alone[CROSS_REF].value in (None, "")
    assert value_cross(SPEC, {SPEC.cross.fields[0]: Decimal("3003")}.get, []) == ""


def typed_template(folder: Path, dept: dict, project: dict) -> Path:
    """The blank template with these inputs typed (by field name), as a unit types them."""
    book = openpyxl.load_workbook(TEMPLATE)
    for rep, values in ((DEPT, dept), (PROJ, project)):
        for name, value in values.items():
            book[rep.sheet][rep.cell(name)] = value
    book.save(folder / "typed.xlsx")
    return folder / "typed.xlsx"


def test_the_cross_report_note_waits_for_a_filled_project_figure(soffice, tmp_path):
    """The template ships one blank project sheet: typing the department's 项目支出 leaves the
    note quiet, in LibreOffice and in the checker, until a project's 实际支出 is typed (not every
    project needs a self-evaluation; a project named but not yet spent is not counted either).
    Once it is, and differs, both say the same sentence, counting that one sheet."""
    first = SPEC.cross.fields[0]
    named = {"project_name": "专项资金", "fund_plan_central": 40}
    spent = {**named, PROJ_SPENT: 35}
    seen = {}
    for case, project in (("dept only", {}), ("named", named), ("spent", spent)):
        (tmp_path / case).mkdir()
        path = typed_template(tmp_path / case, {first: 50}, project)
        lo = openpyxl.load_workbook(soffice.recalculate(path, path.with_name("lo.xlsx")), data_only=True)
        found = [f.message for f in check_file(path, SPEC).findings if f.code == "cross-report"]
        seen[case] = (lo[DEPT.sheet][CROSS_REF].value or "", found)
    assert seen["dept only"] == seen["named"] == ("", [])
    note, found = seen["spent"]
    assert found == [note] and "多 15.00 万元" in note and "计入 1 张" in note, note


def test_a_workbook_of_an_earlier_template_lacks_the_filled_figure_and_is_not_altered(seed_book, tmp_path):
    """Templates before issue 18 had their own check formulas and no filled-figure cell on the
    project sheet: a workbook filled from one is not reported as altered. In today's workbook
    that cell cleared is (the cross note would count the sheet no more)."""
    earlier = openpyxl.load_workbook(seed_book)
    for rep in (DEPT, PROJ):
        for ref, text in formula_cells(rep, SPEC, edition=1).items():
            earlier[rep.sheet][ref] = "=" + text
    earlier[PROJ.sheet][filled_cell(SPEC)] = None
    earlier.save(tmp_path / "earlier.xlsx")
    today = openpyxl.load_workbook(seed_book)
    today[PROJ.sheet][filled_cell(SPEC)] = None
    today.save(tmp_path / "today.xlsx")
    altered = {name: [t for t in check_file(tmp_path / f"{name}.xlsx", SPEC).flat() if t[0] == "formula-altered"]
               for name in ("earlier", "today")}
    assert altered == {"earlier": [], "today": [("formula-altered", PROJ.sheet, filled_cell(SPEC))]}


def test_a_workbook_of_the_template_of_2026_12_07_is_not_altered(tmp_path):
    """Edition 2 of the templates (formulas.EDITIONS, tests/data/form_2026_12_07: the template as
    it shipped that day) summed every copy's total in the cross note and had no filled figure: the
    seed filled into it checks with no formula altered, and its cross note says what today's does."""
    out = tmp_path / "ed2.xlsx"
    done = run_cli("fill", ROOT / "examples" / "linxiang_2022.json", "--template",
                   ROOT / "tests" / "data" / "form_2026_12_07" / "self_eval.xlsx", "-o", out)
    assert done.returncode == 0, done.stderr
    report = check_file(out, SPEC)
    assert not [f for f in report.findings if f.code == "formula-altered"]
    assert [f.code for f in report.findings if f.code == "cross-report"] == ["cross-report"]
