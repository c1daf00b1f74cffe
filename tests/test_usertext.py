"""usertext: a text a unit sent stays text, and exactly itself, in every writer we have.

Each property writes arbitrary text (formula-looking starts, control characters, literal _xHHHH_
escapes, lone surrogates as undecodable file names give) through a real writer, the package editor
and openpyxl, and reads the saved .xlsx back: with our reader, with openpyxl, and as XML.
"""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile

import openpyxl
from hypothesis import given, settings, strategies as st

from xltools.ooxml.package import Package
from xltools.usertext import CELL_MAX, TRUNCATED, cell_text, text_cell, typed, visible
from xltools.xlsx import open_book

STARTS = ["=", "+", "-", "@", "\t=", "\r=", " =", "#N/A", "=cmd|'/c calc'!A1", '=HYPERLINK("http://x","y")']
texts = st.builds(lambda a, b: a + b, st.sampled_from(["", *STARTS]),
                  st.text(st.characters(blacklist_categories=()), max_size=40)
                  | st.sampled_from(["_x0041_", "a_x000D_b", "_X00e9_", "\udcb5\udcff.xlsx", "a\r\nb"])).filter(bool)


def _blank_book() -> bytes:
    wb = openpyxl.Workbook()
    wb.active.title = "表"
    wb.active["A1"] = 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


BLANK = _blank_book()


def _read_back(data: bytes, ref: str = "A2"):
    path = io.BytesIO(data)
    found = open_book("x.xlsx", data).sheet("表").get(ref)
    ours = "" if found is None or found.value is None else found.value
    with zipfile.ZipFile(path) as z:
        xml = z.read(next(n for n in z.namelist() if n.startswith("xl/worksheets/sheet"))).decode()
    cell = re.search(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', xml, re.S).group(0)
    return ours, cell


@settings(max_examples=150, deadline=None)
@given(texts)
def test_the_package_editor_writes_any_text_as_itself(text):
    book = Package(BLANK)
    book.sheet("表").set("A2", text)
    ours, cell = _read_back(book.to_bytes())
    assert 't="inlineStr"' in cell and "<f>" not in cell and "<f " not in cell
    assert ours == text


@settings(max_examples=150, deadline=None)
@given(texts)
def test_openpyxl_cells_take_any_text_as_itself(text):
    wb = openpyxl.load_workbook(io.BytesIO(BLANK))
    text_cell(wb["表"]["A2"], text)
    out = io.BytesIO()
    wb.save(out)
    ours, cell = _read_back(out.getvalue())
    assert "<f>" not in cell and 't="inlineStr"' in cell
    assert ours == text


def test_a_text_too_long_for_a_cell_is_cut_visibly():
    text = "甲" * (CELL_MAX + 10)
    stored = cell_text(text)
    assert len(stored) == CELL_MAX and stored.endswith(TRUNCATED)
    assert len(cell_text("\U0001F600" * CELL_MAX)) <= CELL_MAX          # no half surrogate pair left
    assert cell_text("短") == "短"


@given(texts)
def test_visible_is_one_line_without_controls_and_reads_back(text):
    shown = visible(text)
    assert not [ch for ch in shown if unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs")
                or ch in "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"]
    assert shown.encode("utf-8")                                  # a lone surrogate would fail here
    back = re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), shown)
    assert back == text                                           # Excel's unescaping restores it


def test_visible_examples():
    assert visible("临湘市\x01民政局") == "临湘市_x0001_民政局"
    assert visible("\t=cmd\r\n") == "_x0009_=cmd_x000D__x000A_"
    assert visible("abc\u202eexe.xlsx") == "abc_x202E_exe.xlsx"
    assert visible("\udcb5.xlsx") == "_xDCB5_.xlsx"
    assert visible("普通的名字") == "普通的名字"


def test_typed_keeps_every_text_text_in_excel():
    for start in STARTS + ["3/4", "00123", "1e5", "普通"]:
        assert typed(start) == "'" + start
