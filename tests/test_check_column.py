"""The inline-check column (column I) as a bookkeeper reads it (issue 18): the seed's filled workbook
recalculated by LibreOffice, each finding on its own line; the template's cells wrapped from the
top in a column as wide as the spec says, beside rows no taller than the form's."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from helpers import SEED
from xltools.checker import check_file
from xltools.formulas import cross_cell, value_cross
from xltools.spec import load_spec
from xltools.write.fill import fill

SPEC = load_spec()
DEPT = SPEC.reports["dept"]
TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "self_eval.xlsx"


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


def test_check_cells_wrap_in_a_wide_column_beside_the_forms_rows():
    book = openpyxl.load_workbook(TEMPLATE)
    for rep in SPEC.reports.values():
        ws, letter = book[rep.sheet], get_column_letter(rep.check_column)
        assert ws.column_dimensions[letter].width == SPEC.print.check_width >= 60
        for p in rep.placed:
            if p.role == "check":
                cell = ws.cell(p.row, p.col)
                assert (cell.alignment.wrap_text, cell.alignment.vertical) == (True, "top"), cell.coordinate
                assert ws.row_dimensions[p.row].height == round(rep.row_heights[p.row], 1), cell.coordinate


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
    ref = f"{get_column_letter(DEPT.check_column)}{cross_cell(SPEC)[0]}"
    said = [f.message for f in check_file(seed_book, SPEC).findings if f.code == "cross-report"]
    assert recalculated[DEPT.sheet][ref].value == said[0]
    book = openpyxl.load_workbook(seed_book)
    book.remove(book[SPEC.reports["project"].sheet])
    book.save(tmp_path / "no-project.xlsx")
    alone = openpyxl.load_workbook(soffice.recalculate(tmp_path / "no-project.xlsx", tmp_path / "lo.xlsx"),
                                   data_only=True)[DEPT.sheet]
    assert alone[DEPT.cell(SPEC.cross.fields[0])].value and alone[ref].value in (None, "")
    assert value_cross(SPEC, {SPEC.cross.fields[0]: Decimal("3003")}.get, []) == ""
