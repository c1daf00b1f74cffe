"""Long texts in the files (the window: test_longtext_window.py): rows visible and fitted by fill,
text-cut and text-hidden where a row prints cut or is hidden, and the workbooks of form version 1
(reserve rows hidden, 500 characters a row) still read whole with their own spec.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from helpers import ROOT, SEED, load_seed, run_cli, write_json
from xltools.a1 import a1
from xltools.checker import check_file
from xltools.ooxml.package import Package
from xltools.read.workbook import read_workbook
from xltools.spec import load_spec
from xltools.spec.layout import BLANK_ROW_PT, ROW_CHARS
from xltools.write.fill import fill

SPEC = load_spec()
DEPT, PROJ = SPEC.reports["dept"], SPEC.reports["project"]
FORM_V1 = Path(__file__).with_name("data") / "form_v1"    # the template form version 1 shipped


def text_flat(report) -> list[tuple[str, str, str]]:
    return [t for t in report.flat("warning") if t[0] in ("text-cut", "text-hidden")]


@pytest.fixture(scope="module")
def seed_book(tmp_path_factory) -> Path:
    return fill(SEED, tmp_path_factory.mktemp("seed") / "seed.xlsx", SPEC).path


def rows_of(book: Path, sheet: str) -> dict[int, str]:
    """Row number -> its <row> tag, as stored."""
    with zipfile.ZipFile(book) as z:
        names = re.findall(r'<sheet [^>]*name="([^"]+)"', z.read("xl/workbook.xml").decode())
        xml = z.read(f"xl/worksheets/sheet{names.index(sheet) + 1}.xml").decode()
    return {int(m.group(1)): m.group(0) for m in re.finditer(r'<row r="(\d+)"[^>]*>', xml)}


def test_fill_writes_a_paragraph_a_row_every_row_visible_and_fitted(seed_book):
    """Used rows as tall as their text, unused ones a sliver; none hidden, none marked as set by
    hand (the programs fit them again when typed in); the checker finds nothing to say."""
    seed = load_seed()
    filled = read_workbook(seed_book, SPEC)
    for inst, section in ((filled.first("dept"), seed["dept"]), (filled.copies[0], seed["projects"][0])):
        tags = rows_of(seed_book, inst.sheet)
        for name, run in inst.report.runs.items():
            paragraphs = [p for p in str(section.get(name) or "").split("\n") if p.strip()]
            assert [t for _, t in inst.rows.get(name, [])] == paragraphs, name
            for k, r in enumerate(run.row_numbers):
                tag = tags[r]
                assert "hidden" not in tag and "customHeight" not in tag, tag
                if k >= len(paragraphs):
                    assert f'ht="{BLANK_ROW_PT:.1f}"' in tag, tag
    assert text_flat(check_file(seed_book, SPEC)) == []


def test_a_row_too_low_for_its_text_and_a_hidden_row_are_reported_at_their_cells(seed_book, tmp_path):
    run = DEPT.runs["narrative"]
    long_row = next(r for r, (_, t) in zip(run.row_numbers, read_workbook(seed_book, SPEC).first("dept").rows["narrative"])
                    if len(t) > 200)
    book = Package(seed_book.read_bytes())
    sheet = book.sheet(DEPT.sheet)
    sheet.row_height(long_row, 20, custom=False)        # as LibreOffice leaves a pasted row
    sheet.row_hidden(run.first + 1, True)               # as Excel lets a user hide a row
    report = check_file(book.save(tmp_path / "rows.xlsx"), SPEC)
    assert sorted(text_flat(report)) == [("text-cut", DEPT.sheet, a1(long_row, 1)),
                                         ("text-hidden", DEPT.sheet, a1(run.first + 1, 1))]
    cut = next(f for f in report.findings if f.code == "text-cut")
    assert "行高即按文字调整" in cut.hint and f"第 {long_row} 行" in cut.message


def test_a_whole_text_in_one_row_is_read_whole_and_reported_too_tall_for_a_row(seed_book, tmp_path):
    """The old way (README of form version 1): the whole 综述 in its first cell. Read whole;
    a row cannot hold it (409 pt at most): reported, with the way to split it."""
    whole = load_seed()["dept"]["narrative"]
    run = DEPT.runs["narrative"]
    book = Package(seed_book.read_bytes())
    sheet = book.sheet(DEPT.sheet)
    for k, r in enumerate(run.row_numbers):
        sheet.set(a1(r, run.col), whole if k == 0 else None)
    report = check_file(book.save(tmp_path / "one.xlsx"), SPEC)
    assert read_workbook(tmp_path / "one.xlsx", SPEC).first("dept").values["narrative"] == whole
    [cut] = [f for f in report.findings if f.code == "text-cut"]
    assert (cut.cell, cut.actual, cut.expected) == (a1(run.first, 1), len(whole), ROW_CHARS)
    assert "409 磅" in cut.message and "剪切到下一格" in cut.hint


def test_a_data_file_has_no_rows_to_report(tmp_path):
    doc = load_seed()
    doc["dept"]["narrative"] = "很长的一段。" * 500
    assert text_flat(check_file(write_json(tmp_path / "d.json", doc), SPEC)) == []


# --- form version 1 -------------------------------------------------------------------------------
V1_ROWS = {"duties": (1, 10), "tasks": (1, 10), "achievements": (1, 20), "narrative": (2, 60),
           "p_narrative": (2, 60)}       # (shown, rows) of each long text in form version 1


def version_1_spec(tmp_path: Path):
    """Today's spec with form version 1's long texts (`shown` rows visible of `rows`): the layout of
    the template version 1 shipped (tests/data/form_v1/self_eval.xlsx). Its text, and so its
    fingerprint's digest, is today's schema's (report kinds came after version 1)."""
    text = (ROOT / "specs" / "2022.toml").read_text(encoding="utf-8")
    for name, (shown, rows) in V1_ROWS.items():
        block = re.search(rf'field = "{name}"\nrequired = true\nrows = \d+\n', text).group(0)
        text = text.replace(block, block.replace("rows = ", f"shown = {shown}\nrows = ").rsplit("rows = ", 1)[0]
                            + f"rows = {rows}\n")
    text = re.sub(r"\nform_version = \d+", "\nform_version = 1", text)
    path = tmp_path / "2022_v1.toml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


def version_1_book(spec, texts: list[str], path: Path) -> Path:
    """The template version 1 shipped, `texts` typed into the first rows of its 综述 (the third
    into a row it hid); its fingerprint re-stamped with `spec`'s (see version_1_spec)."""
    dept = spec.reports["dept"]
    book = Package((FORM_V1 / "self_eval.xlsx").read_bytes())
    old = re.search(r"xltools:[^\"<&]*", book.text("xl/workbook.xml")).group(0)
    book.set_text("xl/workbook.xml", book.text("xl/workbook.xml").replace(old, str(spec.fingerprint)))
    run = dept.runs["narrative"]
    for k, text in enumerate(texts):
        book.sheet(dept.sheet).set(a1(run.first + k, run.col), text)
    return book.save(path)


def test_a_form_version_1_workbook_reads_whole_and_its_hidden_text_is_reported(tmp_path):
    """Form version 1 showed two rows of the 综述 and hid 58: a third paragraph pasted went into
    a hidden row (issue 18). The reader still reads every row of that layout by name (the join
    cell in J, the rows below it), and the checker now says where the hidden text is; the fit
    cells form version 2 adds are not asked of it (nothing reads them)."""
    v1 = version_1_spec(tmp_path)
    run = v1.reports["dept"].runs["narrative"]
    assert (run.rows, v1.form_version, SPEC.form_version) == (60, 1, 2)
    paragraphs = [f"第{k + 1}段。" + "文字" * 30 for k in range(3)]
    path = version_1_book(v1, paragraphs, tmp_path / "v1.xlsx")
    assert read_workbook(path, v1).first("dept").values["narrative"] == "\n".join(paragraphs)
    report = check_file(path, v1)
    assert text_flat(report) == [("text-hidden", v1.reports["dept"].sheet, a1(run.first + 2, run.col))]
    assert not [f for f in report.findings if f.code == "formula-altered"]


def test_a_form_version_1_workbook_is_refused_by_todays_spec_in_one_line():
    done = run_cli("check", FORM_V1 / "self_eval.xlsx")
    assert done.returncode == 2
    line = done.stdout.strip() + done.stderr.strip()
    assert ":v1:" in line and ":v2:" in line and "版本不一致" in line and "Traceback" not in line


def test_the_template_is_printed_in_black_and_white_where_the_program_honours_it(seed_book):
    """Excel's and WPS's 单色打印 (pageSetup blackAndWhite) on every report sheet of the template
    and of what fill writes; LibreOffice ignores it (README; tests/test_print.py)."""
    for book in (ROOT / "templates" / "self_eval.xlsx", seed_book):
        with zipfile.ZipFile(book) as z:
            sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
            setups = [re.search(r"<pageSetup[^>]*>", z.read(n).decode()) for n in sheets]
        reports = [m.group(0) for m in setups if m and "paperSize" in m.group(0)]
        assert len(reports) >= 2 and all('blackAndWhite="1"' in s for s in reports), book
