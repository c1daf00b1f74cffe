"""Long texts typed and pasted in LibreOffice's real window, saved, checked and printed.

The accountant's ways in (issue 18): typing paragraph after paragraph (Enter to the next row, a
line break inside a cell); pasting a whole 综述 from a word processor onto a row (LibreOffice's
Text Import puts each paragraph in a row of its own, and leaves the rows' heights as they were:
the checker says which rows print cut, until the rows are fitted by a double click between two
row numbers, which LibreOffice allows on the protected sheet because the rows are unlocked
whole); pasting into a cell being edited (refused over 700 characters, with the way to paste
instead; accepted under it, and the row fits). Every screenshot and printed page is kept in the
artefact folder (tests/artifacts/longtext_window/) to be looked at.

What prints whole is judged by LibreOffice itself: every row holding text is at least as tall as
the height LibreOffice fits it to (its optimal height); pdftotext then only confirms that every
paragraph is there, in order.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import unavailable
from helpers import ROOT, load_seed
from xltools.checker import check_file
from xltools.read.workbook import read_workbook
from xltools.spec import load_spec
from xltools.spec.layout import BLANK_ROW_PT, ROW_CHARS

TEMPLATE = ROOT / "templates" / "self_eval.xlsx"
SPEC = load_spec()
DEPT = SPEC.reports["dept"]
RUN = DEPT.runs["narrative"]
PARAGRAPHS = [p for p in load_seed()["dept"]["narrative"].split("\n") if p.strip()]
TEXT_CODES = ("text-cut", "text-hidden")


@pytest.fixture
def book(window, tmp_path):
    """A fresh copy of the template, open in the window; closed after the test."""
    path = tmp_path / "填报.xlsx"
    shutil.copy(TEMPLATE, path)
    window.open(path)
    yield path
    window.close()


def saved(window, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.xlsx"
    window.uno({"op": "store", "url": window.url, "path": str(path)})
    return path


def text_findings(path: Path) -> list[tuple[str, str]]:
    return [(f.code, f.cell) for f in check_file(path, SPEC).findings if f.code in TEXT_CODES]


def assert_rows_hold_their_text(window, path: Path, rows: range) -> None:
    """LibreOffice's own verdict: no row holding text is lower than the height it fits it to."""
    got = window.uno({"op": "optimal", "path": str(path), "sheet": DEPT.sheet, "rows": list(rows)})
    short = [(r, h, o) for r, h, o in zip(rows, got["heights"], got["optimal"]) if h + 0.5 < o]
    assert not short, f"rows lower than LibreOffice fits them to (row, height, fitted): {short}"


def printed(soffice, path: Path, artifacts: Path, name: str) -> tuple[list[Path], str]:
    """The department report printed to PDF by LibreOffice, its pages rendered at 80 dpi into the
    artefact folder; (page images, its text)."""
    pdftoppm, pdftotext = shutil.which("pdftoppm"), shutil.which("pdftotext")
    if not pdftoppm or not pdftotext:
        unavailable("未找到 pdftoppm、pdftotext（poppler-utils）")
    pdf = soffice.to_pdf(path, path.with_suffix(".pdf"), sheet=DEPT.sheet)
    shutil.copy(pdf, artifacts / f"{name}.pdf")
    subprocess.run([pdftoppm, "-r", "80", "-png", str(pdf), str(artifacts / name)], check=True, timeout=120)
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    return sorted(artifacts.glob(f"{name}-*.png")), text


def squeeze(text: str) -> str:
    return "".join(text.split())


def assert_in_order(paragraphs: list[str], text: str) -> None:
    """Each paragraph's beginning and end in the printed text, in order."""
    flat, at = squeeze(text), 0
    for p in paragraphs:
        p = squeeze(p)
        start = flat.find(p[:10], at)
        assert start >= 0, f"not printed (or out of order): {p[:20]}"
        end = flat.find(p[-10:], start)
        assert end >= 0, f"printed cut: {p[:20]}…{p[-10:]}"
        at = end


def narrative_box(page) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) in pixels of the 综述 box on the report's last page: the last
    horizontal line across much of the page closes it; the one before it is the heading's
    (the box's rows have side borders only)."""
    from PIL import Image
    image = Image.open(page).convert("L")
    w, h = image.size
    px = image.load()
    lines = [y for y in range(h) if sum(px[x, y] < 128 for x in range(0, w, 2)) > w * 0.3]
    groups = [[lines[0]]]
    for y in lines[1:]:
        (groups[-1].append(y) if y == groups[-1][-1] + 1 else groups.append([y]))
    top, bottom = groups[-2][-1], groups[-1][0]
    left = next(x for x in range(w) if px[x, bottom] < 128)
    right = max(x for x in range(w) if px[x, bottom] < 128)
    return left, right, top, bottom


def largest_gaps(page) -> tuple[float, float]:
    """(the largest gap between two lines of text in the 综述 box, the gap between its last line
    and the box's bottom), in points."""
    from PIL import Image
    left, right, top, bottom = narrative_box(page)
    image = Image.open(page).convert("L")
    px = image.load()
    inked = [y for y in range(top + 2, bottom - 1) if any(px[x, y] < 100 for x in range(left + 4, right - 4))]
    gaps = [b - a for a, b in zip(inked, inked[1:])]
    to_pt = 72 / 80
    return max(gaps) * to_pt, (bottom - inked[-1]) * to_pt


# --- typing ---------------------------------------------------------------------------------------
def test_typed_paragraphs_fit_their_rows_and_print_whole_without_blank_blocks(window, book, tmp_path, artifacts,
                                                                               soffice):
    typed = ["一、总体情况", PARAGRAPHS[4],                    # a heading, a paragraph of three lines
             "二、存在的问题\n1、资金拨付不够及时。"]         # two lines in one cell (Ctrl+Enter)
    window.select(DEPT.sheet, f"A{RUN.first}", above=2)
    window.shot("typing-before")
    for paragraph in typed:
        window.type(paragraph)
        window.key("Return")                                # to the next row, fitted to what was typed
    window.shot("typing-after")
    path = saved(window, tmp_path, "typed")
    filled = read_workbook(path, SPEC)
    assert filled.first("dept").values["narrative"] == "\n".join(typed)
    rows = range(RUN.first, RUN.first + len(typed))
    assert_rows_hold_their_text(window, path, rows)
    assert text_findings(path) == []
    pages, text = printed(soffice, path, artifacts, "typing-printed")
    assert_in_order(typed, text)
    between, below = largest_gaps(pages[-1])
    # A short paragraph's row is as tall as its text: no gap wider than a blank line between the
    # lines of the text, and below it only the unused rows' slivers.
    assert between < 30, f"a gap of {between:.0f} pt inside the text"
    assert below < (RUN.rows - len(typed)) * BLANK_ROW_PT + 30, f"{below:.0f} pt blank below the text"


# --- pasting --------------------------------------------------------------------------------------
def test_a_pasted_narrative_lands_one_paragraph_a_row_is_reported_until_fitted_then_prints_whole(
        window, book, tmp_path, artifacts, soffice):
    assert len(PARAGRAPHS) > 30 and len(PARAGRAPHS) <= RUN.rows
    window.copy("\n".join(PARAGRAPHS))
    window.select(DEPT.sheet, f"A{RUN.first}", above=2)
    window.key("ctrl+v")
    window.dialog("Text Import")                            # LibreOffice asks how to split plain text
    window.shot("paste-text-import")
    window.key("Return")
    window.back_to_sheet()
    window.shot("paste-landed")
    rows = range(RUN.first, RUN.first + len(PARAGRAPHS))
    path = saved(window, tmp_path, "pasted")
    filled = read_workbook(path, SPEC)
    assert filled.first("dept").values["narrative"] == "\n".join(PARAGRAPHS)        # nothing dropped, nothing hidden
    assert [ref for ref, _ in filled.first("dept").rows["narrative"]] == [f"A{r}" for r in rows]
    # LibreOffice's paste leaves the heights as they were: the checker names each row that
    # would print cut, and only those (LibreOffice's optimal heights say which they are).
    got = window.uno({"op": "optimal", "path": str(path), "sheet": DEPT.sheet, "rows": list(rows)})
    cut = {f"A{r}" for r, h, o in zip(rows, got["heights"], got["optimal"]) if h + 0.5 < o}
    reported = {cell for code, cell in text_findings(path) if code == "text-cut"}
    assert len(cut) > 20 and reported <= cut
    assert len(reported) >= len(cut) - 3      # (a row a part of a line short may pass: see least_height)

    window.select(DEPT.sheet, f"A{RUN.first}:XFD{rows[-1]}")              # the rows, by their numbers
    screen = window.shot("paste-rows-selected")
    window.double_click(*window.row_header_boundary(screen))              # a double click between two numbers
    window.shot("paste-fitted")
    path = saved(window, tmp_path, "fitted")
    assert_rows_hold_their_text(window, path, rows)
    assert text_findings(path) == []
    pages, text = printed(soffice, path, artifacts, "paste-printed")
    assert_in_order(PARAGRAPHS, text)


def test_a_whole_text_pasted_into_one_cell_is_refused_with_the_way_to_paste_and_a_short_one_fits(
        window, book, tmp_path, artifacts):
    whole = "\n".join(PARAGRAPHS)
    assert len(whole) > ROW_CHARS
    window.copy(whole)
    window.select(DEPT.sheet, f"A{RUN.first}", above=2)
    window.key("F2", "ctrl+v", "Return")                                  # pasted into the cell being edited
    window.dialog("输入有误")
    window.shot("one-cell-refused")
    window.key("Return")
    window.back_to_sheet()
    assert window.uno({"op": "text", "url": window.url, "sheet": DEPT.sheet, "ref": f"A{RUN.first}"})["text"] == ""

    three = "\n".join(PARAGRAPHS[2:5])
    assert len(three) <= ROW_CHARS
    window.copy(three)
    window.select(DEPT.sheet, f"A{RUN.first}", above=2)
    window.key("F2", "ctrl+v", "Return")
    time.sleep(1)
    window.shot("one-cell-accepted")
    path = saved(window, tmp_path, "one-cell")
    assert read_workbook(path, SPEC).first("dept").values["narrative"] == three
    assert_rows_hold_their_text(window, path, range(RUN.first, RUN.first + 1))
    assert text_findings(path) == []


def test_a_text_beside_its_label_is_pasted_and_fitted_the_same_way(window, book, tmp_path, artifacts):
    """年度主要工作内容: the label stands in the first row's cell A (unlocked too, so that the
    rows can be fitted on the protected sheet); the first row is at least as tall as the label."""
    run = DEPT.runs["tasks"]
    tasks = [p for p in load_seed()["dept"]["tasks"].split("\n") if p.strip()]
    lines = [f"{t}：{PARAGRAPHS[k + 2]}" for k, t in enumerate(tasks)]      # each of a few lines
    window.copy("\n".join(lines))
    window.select(DEPT.sheet, f"B{run.first}", above=3)
    window.key("ctrl+v")
    window.dialog("Text Import")
    window.key("Return")
    window.back_to_sheet()
    rows = range(run.first, run.first + len(lines))
    window.select(DEPT.sheet, f"A{run.first}:XFD{rows[-1]}")
    window.double_click(*window.row_header_boundary(window.shot("label-rows-selected")))
    window.shot("label-rows-fitted")
    path = saved(window, tmp_path, "tasks")
    assert read_workbook(path, SPEC).first("dept").values["tasks"] == "\n".join(lines)
    assert_rows_hold_their_text(window, path, rows)
    assert text_findings(path) == []


def test_more_paragraphs_than_rows_are_refused_whole_never_cut_off(window, book, tmp_path):
    """Eight paragraphs pasted onto the six rows of 年度主要工作内容 would spill onto the locked
    row below: LibreOffice refuses the paste and writes nothing (README: paste in two goes)."""
    run = DEPT.runs["tasks"]
    lines = [f"任务{k}：第{k}段" for k in range(1, run.rows + 3)]
    window.copy("\n".join(lines))
    window.select(DEPT.sheet, f"B{run.first}", above=3)
    window.key("ctrl+v")
    window.dialog("Text Import")
    window.key("Return")
    window.dialog("Information")                            # “Protected cells can not be modified.”
    window.shot("too-many-refused")
    window.key("Return")
    window.back_to_sheet()
    assert read_workbook(saved(window, tmp_path, "too-many"), SPEC).first("dept").values["tasks"] is None
