"""The template as a file, read back: golden XML parts, reproducible bytes, protection, validation,
defined names, print setup, fonts, and cached formula values against LibreOffice.

Everything is read from the built bytes (openpyxl and raw XML), never from the builder's objects;
the spec (and `xltools spec fields --json`) says what the file should hold.
"""
from __future__ import annotations

import base64
import difflib
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from helpers import comparable, formula_elements, unlocked_cells
from xltools import units
from xltools.build import protect
from xltools.build.names import FINGERPRINT_NAME, REPORT_MARK
from xltools.build.workbook import template_bytes
from xltools.formulas import cross_cell
from xltools.spec import load_spec
from xltools.spec.layout import BLANK_ROW_PT, ROW_CHARS

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "templates" / "self_eval.xlsx"
XLTOOLS = Path(sys.executable).with_name("xltools")
PASSWORD = "绩效-Secret-2022!"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
CJK = re.compile(r"[\u4e00-\u9fff]")
FONTS = {"宋体", "仿宋"}


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "XLTOOLS_PASSWORD"} | env
    done = subprocess.run([str(XLTOOLS), *args], capture_output=True, text=True, env=full, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def plain(spec) -> bytes:
    return template_bytes(spec)


@pytest.fixture(scope="module")
def locked(spec) -> bytes:
    return template_bytes(spec, PASSWORD)


@pytest.fixture(scope="module")
def book(plain):
    return openpyxl.load_workbook(io.BytesIO(plain))


@pytest.fixture(scope="module")
def fields_json() -> list[dict]:
    return json.loads(run_cli("spec", "fields", "--json").stdout)


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


# --- golden and reproducible -------------------------------------------------------------------
def normalised(data: bytes) -> dict[str, str]:
    """Part name -> canonical XML (C14N), with the document timestamps blanked."""
    out = {}
    for name, raw in members(data).items():
        text = raw.decode("utf-8")
        if name == "docProps/core.xml":
            text = re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*", r"\1", text)
        out[name] = ET.canonicalize(text)
    return out


def part_diff(name: str, want: str, got: str, limit: int = 40) -> str:
    lines = difflib.unified_diff(want.replace("><", ">\n<").splitlines(), got.replace("><", ">\n<").splitlines(),
                                 f"golden/{name}", f"built/{name}", lineterm="", n=1)
    return "\n".join(list(lines)[:limit])


def golden_bytes(tmp_path: Path) -> bytes:
    """templates/self_eval.xlsx once it is committed; until then a separate build by the CLI."""
    if COMMITTED.exists():
        return COMMITTED.read_bytes()
    out = tmp_path / "golden.xlsx"
    run_cli("template", "-o", str(out))
    return out.read_bytes()


def test_template_xml_parts_match_the_golden_file(plain, tmp_path):
    want, got = normalised(golden_bytes(tmp_path)), normalised(plain)
    assert list(got) == list(want), "the zip holds other parts, or in another order"
    diffs = [part_diff(name, want[name], got[name]) for name in want if want[name] != got[name]]
    assert not diffs, "the template differs from templates/self_eval.xlsx (rebuild it with " \
                      "`xltools template` if the change is intended):\n" + "\n\n".join(diffs)


def test_building_twice_gives_the_same_bytes(spec, plain, locked, tmp_path):
    assert template_bytes(spec) == plain
    assert template_bytes(spec, PASSWORD) == locked
    # Separate processes with different hash seeds: no set or dict order leaks into the file.
    for seed in ("1", "2"):
        run_cli("template", "-o", str(tmp_path / f"seed{seed}.xlsx"), PYTHONHASHSEED=seed)
        assert (tmp_path / f"seed{seed}.xlsx").read_bytes() == plain


def test_committed_template_is_what_the_cli_builds(tmp_path):
    if not COMMITTED.exists():
        pytest.skip("templates/self_eval.xlsx is not committed yet")
    out = tmp_path / "self_eval.xlsx"
    run_cli("template", "-o", str(out))          # the committed spec, specs/2022.toml
    assert out.read_bytes() == COMMITTED.read_bytes(), \
        "templates/self_eval.xlsx is stale: rebuild it with `xltools template` and commit it"


# --- protection --------------------------------------------------------------------------------
def ecma_sha512(password: str, salt_b64: str, spin: int) -> str:
    """ECMA-376 password hash, written here from the standard (not imported from the builder):
    H0 = SHA-512(salt + UTF-16LE password); Hn = SHA-512(Hn-1 + n-1 as 4-byte little-endian)."""
    digest = hashlib.sha512(base64.b64decode(salt_b64) + password.encode("utf-16-le")).digest()
    for i in range(spin):
        digest = hashlib.sha512(digest + i.to_bytes(4, "little")).digest()
    return base64.b64encode(digest).decode("ascii")


def test_every_sheet_protected_and_structure_locked_without_password(book, plain):
    assert book.sheetnames == ["部门整体支出", "项目表头", "项目支出", "项目表尾"]
    for ws in book.worksheets:
        p = ws.protection
        assert p.sheet, ws.title
        assert p.hashValue is None and p.saltValue is None and p.algorithmName is None, ws.title
        assert p.password is None, ws.title
    assert book.security.lockStructure
    for name, raw in members(plain).items():
        assert b"hashValue" not in raw and b' password="' not in raw, name


def test_password_is_a_sha512_hash_that_verifies(locked):
    wb = openpyxl.load_workbook(io.BytesIO(locked))
    assert wb.security.lockStructure
    for ws in wb.worksheets:
        p = ws.protection
        assert p.sheet and p.algorithmName == "SHA-512", ws.title
        assert int(p.spinCount) >= 100_000 and len(base64.b64decode(p.saltValue)) == 16
        assert len(base64.b64decode(p.hashValue)) == 64
        assert p.password is None                                   # no legacy 16-bit hash beside it
        assert protect.verify(PASSWORD, p.hashValue, p.saltValue, int(p.spinCount))
        assert not protect.verify(PASSWORD + "x", p.hashValue, p.saltValue, int(p.spinCount))
    p = wb["部门整体支出"].protection
    assert ecma_sha512(PASSWORD, p.saltValue, int(p.spinCount)) == p.hashValue


def test_password_appears_nowhere_in_the_file(locked, tmp_path):
    needles = [PASSWORD.encode("utf-8"), PASSWORD.encode("utf-16-le"), b"Secret-2022"]
    for name, raw in [("<zip>", locked), *members(locked).items()]:
        for needle in needles:
            assert needle not in raw, f"password found in {name}"
    # The environment variable and --password build the same file.
    run_cli("template", "-o", str(tmp_path / "env.xlsx"), XLTOOLS_PASSWORD=PASSWORD)
    run_cli("template", "--password", PASSWORD, "-o", str(tmp_path / "opt.xlsx"))
    assert (tmp_path / "env.xlsx").read_bytes() == (tmp_path / "opt.xlsx").read_bytes() == locked


def test_inputs_unlocked_and_shaded_everything_else_locked(book, spec):
    for rep in spec.reports.values():
        ws = book[rep.sheet]
        # A long text's rows are unlocked whole: their text cells, label, join and fit cells, and
        # the row's own style.
        inputs, texts, unlocked = unlocked_cells(ws, rep)
        assert unlocked == inputs, rep.sheet
        assert all(not ws.row_dimensions[r].protection.locked for r in rep.text_rows), rep.sheet
        shades = {(ws[c].fill.fill_type, ws[c].fill.fgColor.rgb) for c in inputs | texts}
        assert len(shades) == 1, f"{rep.sheet}: inputs shaded differently: {shades}"
        (kind, colour), = shades
        assert kind == "solid" and colour[-6:] not in ("FFFFFF", "000000")
        for f in rep.computed:
            assert ws[f.cell].protection.locked and ws[f.cell].fill.fgColor.rgb != colour, f.name
        for name in rep.runs:   # the join cell: its formula and value hidden
            join = ws[rep.cell(name)]
            assert join.protection.hidden and join.number_format == ";;;", name
        for p in rep.placed:
            if p.role not in ("input", "computed", "box", "text", "fit", "join") and p.row not in rep.text_rows:
                cell = ws.cell(p.row, p.col)
                assert cell.protection.locked, (p.role, cell.coordinate)
                assert not (cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb == colour), cell.coordinate


def test_long_texts_are_visible_rows_the_programs_fit(book, plain, spec):
    """Every row of a long text visible, its height not marked as set by hand; the first a line
    tall (or its label's height), the others a sliver while blank (no blank block in print);
    beside each a fit cell (white, unmerged, as wide as the text cell) repeating its text, for
    Excel and WPS to fit the row to; nothing hidden anywhere in the template."""
    raw = members(plain)
    for rep in spec.reports.values():
        ws = book[rep.sheet]
        assert not [r for r, d in ws.row_dimensions.items() if d.hidden], rep.sheet
        xml = raw[f"xl/worksheets/sheet{book.sheetnames.index(rep.sheet) + 1}.xml"].decode()
        for run in rep.runs.values():
            width = sum(spec.print.widths[run.col - 1: run.col - 1 + run.cols])
            fit = get_column_letter(run.fit_col)
            assert ws.column_dimensions[fit].width == width and not ws.column_dimensions[fit].hidden
            for r in run.row_numbers:
                tag = re.search(rf'<row r="{r}"[^>]*>', xml).group(0)
                want = round(run.first_pt, 1) if r == run.first else BLANK_ROW_PT
                assert "customHeight" not in tag and f'ht="{want:.1f}"' in tag, tag
                cell = ws[f"{fit}{r}"]
                assert cell.value == f'={get_column_letter(run.col)}{r}&""', cell.coordinate
                assert cell.font.color.rgb.endswith("FFFFFF") and cell.alignment.wrap_text
                assert cell.font.name == ws.cell(r, run.col).font.name and cell.font.sz == ws.cell(r, run.col).font.sz
                assert cell.coordinate not in {m.coord for m in ws.merged_cells.ranges}


# --- data validation ---------------------------------------------------------------------------
def validations(ws) -> dict[str, object]:
    """A1 -> the one data validation covering it (fails on overlaps)."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for row, col in rng.cells:
                ref = f"{get_column_letter(col)}{row}"
                assert ref not in out, f"{ws.title}!{ref} has two validations"
                out[ref] = dv
    return out


def test_every_input_has_a_chinese_validation_and_nothing_else_has_one(book, spec):
    for rep in spec.reports.values():
        dvs = validations(book[rep.sheet])
        rows = {name: [f"{get_column_letter(run.col)}{r}" for r in run.row_numbers] for name, run in rep.runs.items()}
        want = {f.cell for f in rep.inputs if f.name not in rep.runs} | {c for cells in rows.values() for c in cells}
        assert set(dvs) == want, rep.sheet
        for name, cells in rows.items():   # each row of a long text holds what prints whole in it
            assert {(dvs[c].type, dvs[c].operator, dvs[c].formula1) for c in cells} == \
                {("textLength", "lessThanOrEqual", str(ROW_CHARS))}, name
        for f in rep.inputs:
            dv = dvs[rows[f.name][0] if f.name in rep.runs else f.cell]
            assert dv.showInputMessage and dv.showErrorMessage, f.name
            assert dv.errorStyle in (None, "stop"), f.name
            for text in (dv.prompt, dv.error, dv.promptTitle, dv.errorTitle):
                assert text and CJK.search(text), (f.name, text)
            assert len(dv.prompt) <= 255 and len(dv.error) <= 225       # Excel's limits
            assert len(dv.promptTitle) <= 32 and len(dv.errorTitle) <= 32


def test_each_validation_is_the_one_its_unit_declares(book, spec):
    """Formula, prompt and error come from xltools.units (tests/test_units.py runs the same
    formulas in LibreOffice against the checker's verdicts)."""
    seen = set()
    for rep in spec.reports.values():
        dvs = validations(book[rep.sheet])
        for f in rep.inputs:
            if f.name in rep.runs:      # its rows: test_every_input_has_a_chinese_validation…
                continue
            dv, want = dvs[f.cell], units.validation(f, spec.year, rep.cell)
            assert (dv.type, dv.formula1, dv.formula2, dv.prompt, dv.error) == \
                (want.type, want.formula1, None, want.prompt, want.error), f.name
            assert dv.allow_blank, f.name
            seen.add(type(units.unit_of(f)).__name__)
    assert seen == {"Amount", "Count", "Weight", "Score", "Phone", "Postcode", "Day", "Month", "Choice", "Text"}


def test_scores_are_bounded_by_their_own_rows_weight(book, spec):
    n = 0
    for rep in spec.reports.values():
        dvs = validations(book[rep.sheet])
        for table in rep.indicator_tables:
            for score, weight in zip(table.names("score"), table.names("weight")):
                formula = dvs[rep.cell(score)].formula1
                score_cell = rep.cell(score)
                assert formula.endswith(f"<={rep.cell(weight)},ROUND({score_cell},2)={score_cell}))"), (score, formula)
                assert rep.cell(weight)[1:] == rep.cell(score)[1:]          # same row
                assert "0 至 100" in dvs[rep.cell(weight)].error and "得分" not in dvs[rep.cell(weight)].prompt
                n += 1
    assert n == sum(len(t.indicators) for r in spec.reports.values() for t in r.indicator_tables) > 30


def test_dates_are_date_cells_and_months_text_cells(book, spec):
    """A typed date becomes a serial in a date cell; a month stays as typed (2022.1 would
    otherwise be the number 2022.1), see xltools.units.Month."""
    kinds = {}
    for rep in spec.reports.values():
        ws = book[rep.sheet]
        for f in rep.inputs:
            if f.unit in ("date", "month"):
                kinds.setdefault(f.unit, set()).add(ws[f.cell].number_format)
    assert kinds == {"date": {'yyyy"年"m"月"d"日"'}, "month": {"@"}}


def test_personnel_and_public_prompts_say_what_they_include(book, spec):
    dept = spec.reports["dept"]
    dvs = validations(book[dept.sheet])
    for key in dept.tables["spend"].rows:
        personnel = dvs[dept.cell(f"spend_personnel_{key}")].prompt
        public = dvs[dept.cell(f"spend_public_{key}")].prompt
        assert "工资福利支出" in personnel and "对个人和家庭的补助" in personnel, personnel
        assert "商品和服务支出" in public, public


# --- defined names -----------------------------------------------------------------------------
def test_one_defined_name_per_field_with_its_scope(plain, book, fields_json):
    root = ET.fromstring(members(plain)["xl/workbook.xml"])
    sheets = [s.get("name") for s in root.iterfind("m:sheets/m:sheet", NS)]
    names = [(d.get("name"), d.get("localSheetId"), d.text) for d in root.iterfind("m:definedNames/m:definedName", NS)]
    assert len({(n, local) for n, local, _ in names}) == len(names), "a defined name twice in one scope"
    by_name: dict[str, list] = {}
    for n, local, text in names:
        by_name.setdefault(n, []).append((local, text))
    for f in fields_json:
        col, row = re.fullmatch(r"([A-Z]+)(\d+)", f["cell"]).groups()
        local = None if f["scope"] == "workbook" else str(sheets.index(f["sheet"]))
        assert by_name.get(f["name"]) == [(local, f"'{f['sheet']}'!${col}${row}")], f
        # openpyxl's view of the same: workbook names vs the project sheet's own names
        holder = book if f["scope"] == "workbook" else book[f["sheet"]]
        assert holder.defined_names[f["name"]].attr_text == f"'{f['sheet']}'!${col}${row}"
    assert set(by_name) == {f["name"] for f in fields_json} | {"_xlnm.Print_Area", FINGERPRINT_NAME, REPORT_MARK}
    assert all(f["scope"] == ("sheet" if f["sheet"] == "项目支出" else "workbook") for f in fields_json)


# --- print setup and fonts ---------------------------------------------------------------------
def test_print_setup(book, spec, plain):
    for rep in spec.reports.values():
        ws = book[rep.sheet]
        ps = ws.page_setup
        assert (int(ps.paperSize), ps.orientation) == (9, "portrait"), rep.sheet      # 9 = A4
        assert (int(ps.fitToWidth), int(ps.fitToHeight)) == (1, 0), rep.sheet
        assert ws.sheet_properties.pageSetUpPr.fitToPage, "without fitToPage Excel ignores fitToWidth"
        assert "第 &P 页" in ws.oddFooter.center.text
        last = max(p.row + p.rows - 1 for p in rep.placed)
        assert last == rep.last_row
        assert ws.print_area == f"'{rep.sheet}'!$A$1:$H${last}"
        # Nothing printable below the print area; the inline checks live in column I, outside it.
        assert all(c.value is None for row in ws.iter_rows(min_row=last + 1, max_col=8) for c in row)
        check_rows = {c.row for c in ws["I"] if isinstance(c.value, str) and c.value.startswith("=")}
        want = {p.row for p in rep.placed if p.role == "check"} | ({cross_cell(spec)[0]} if rep.id == "dept" else set())
        assert check_rows == want, rep.sheet
        # Its heading says what the column is, on the first row, beside (not inside) the print area.
        assert ws.cell(1, rep.check_column).value == "校验（不打印）" and rep.check_column > 8, rep.sheet
    xml = members(plain)["xl/worksheets/sheet1.xml"].decode()
    assert '&amp;"宋体"第 &amp;P 页' in xml                              # the footer's font


def test_fonts_are_songti_and_fangsong(book, spec):
    for rep in spec.reports.values():
        ws = book[rep.sheet]
        used = {ws.cell(p.row, p.col).font.name for p in rep.placed if p.role not in ("box", "close")}
        assert used == FONTS, rep.sheet
        long_text = [f for f in rep.inputs if f.unit == "text" and ws[f.cell].alignment.vertical == "top"]
        assert {ws.cell(r, run.col).font.name for run in rep.runs.values() for r in run.row_numbers} == {"仿宋"}
        assert long_text and {ws[f.cell].font.name for f in long_text} == {"仿宋"}
        for row in ws.iter_rows(max_col=8):         # the printed columns A–H
            for c in row:
                if c.value is not None:
                    assert c.font.name in FONTS, (rep.sheet, c.coordinate, c.font.name)


# --- cached values -----------------------------------------------------------------------------
def test_every_formula_cell_carries_a_cached_value(plain):
    cells = formula_elements(plain)
    assert len(cells) > 90
    for (sheet, ref), c in cells.items():
        v = c.find("m:v", NS)
        assert v is not None, f"{sheet}!{ref} has no cached value"
        if c.get("t") != "str":
            assert v.text and re.fullmatch(r"-?\d+(\.\d+)?", v.text), f"{sheet}!{ref}: {v.text!r}"


def test_cached_values_equal_libreoffice(soffice, plain, tmp_path):
    src = tmp_path / "template.xlsx"
    src.write_bytes(plain)
    recalculated = soffice.recalculate(src, tmp_path / "recalculated.xlsx")
    ours = openpyxl.load_workbook(src, data_only=True)
    theirs = openpyxl.load_workbook(recalculated, data_only=True)
    cells = formula_elements(plain)
    diffs = [(sheet, ref, ours[sheet][ref].value, theirs[sheet][ref].value) for sheet, ref in cells
             if comparable(ours[sheet][ref].value) != comparable(theirs[sheet][ref].value)]
    assert diffs == []
    # LibreOffice kept the formulas (it recalculated, not just copied our values).
    assert openpyxl.load_workbook(recalculated)["部门整体支出"][load_spec().reports["dept"].cell("income_total_1")].value.startswith("=SUM(")
