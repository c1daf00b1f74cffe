"""No text a unit sends becomes a formula in a workbook we write (issue 20, point 1).

A season's inbox of ordinary-looking submissions whose unit names, project names, sheet names,
file names and zip member names start with =, +, -, @, a tab or a CR, with a DDE formula typed
into an input cell (check flags it and quotes it), a template formula typed over (its 应为 is
"=SUM(…)"), a HYPERLINK as a project's name, a control character in a unit's name. Every workbook
we write from it (the summary, check --write's copy, pack's values copy, the add-in's sheets on a
file, fill's and score's cells) is read as XML: no <f> in any cell holding a text a unit sent,
only our own formulas anywhere; and LibreOffice's recalculation (the independent engine) reads
every such text back unchanged.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl
import pytest

from helpers import ROOT, XLTOOLS, load_seed, rezip, run_cli, sheet_parts, zip_members
from test_book_trust import TEMPLATE, put_formula
from test_check_seed import corrected_seed
from test_collect import book_bytes, demo
from xltools.addin import macros
from xltools.addin.access import FileBook
from xltools.ooxml.package import Package
from xltools.spec import load_spec
from xltools.usertext import visible
from xltools.xlsx import open_book

SPEC = load_spec()
DEPT = SPEC.reports["dept"]
# the template's own formula in the cell the corpus alters (formula-altered's 应为)
TEMPLATE_SUM = openpyxl.load_workbook(TEMPLATE)[DEPT.sheet][DEPT.cell("spend_total_1")].value
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

DDE = "=cmd|'/c calc'!A1"
LINK = '=HYPERLINK("http://evil.example/","点我")'
UNITS = {                       # file name -> the unit's name in the workbook
    "=1+1.xlsx": DDE,
    "+1.xlsx": "+SUM(1,2)局",
    "-1.xlsx": "-2+3局",
    "@SUM(1,1).xlsx": "@SUM(1,1)局",
    "\t=1+1.xlsx": "\t=1+1局",
    "\r=1+1.xlsx": "临湘市\x01审计局",
}
MEMBER = '=HYPERLINK("evil").xlsx'
NEW_SHEET = "@SUM(1,1)"          # a project sheet the add-in adds, named by the project
# What a unit sent, as the summary must show it somewhere (whitespace around a unit name is not
# part of it: the reader strips it).
SENT = [DDE, "+SUM(1,2)局", "-2+3局", "@SUM(1,1)局", "=1+1局", "临湘市\x01审计局", LINK, NEW_SHEET,
        *UNITS, MEMBER, "=SUM(D60,D61)"]


def _planted(doc: dict, tmp: Path) -> bytes:
    """The workbook with a DDE formula typed into an input cell and a total's formula typed over."""
    data = book_bytes(doc, tmp)
    members = zip_members(data)
    part = sheet_parts(data)[DEPT.sheet]
    xml = put_formula(members[part], DEPT.cell("staff_quota"), DDE[1:], 0)
    members[part] = put_formula(xml, DEPT.cell("spend_total_1"), "SUM(D60,D61)", 0)
    return rezip(members, tmp / "planted.xlsx").read_bytes()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    base = tmp_path_factory.mktemp("injection")
    tmp, inbox = base / "tmp", base / "收件"
    tmp.mkdir()
    inbox.mkdir()
    seed, good = load_seed(), corrected_seed()
    for name, unit in UNITS.items():
        doc = demo.renamed(seed if name == "=1+1.xlsx" else good, unit)
        if name == "+1.xlsx":
            doc["projects"][0]["project_name"] = LINK
            (inbox / name).write_bytes(_planted(doc, tmp))
        else:
            (inbox / name).write_bytes(book_bytes(doc, tmp))
    # the add-in's 新增项目表 on a file, the project named as a formula
    assert "已新增项目自评表" in macros.new_project(FileBook(inbox / "-1.xlsx", answers=[NEW_SHEET]))
    members = {MEMBER: book_bytes(demo.renamed(good, "+成员局"), tmp)}
    (inbox / "压缩.zip").write_bytes(demo.gbk_zip(members))

    out = base / "out"
    done = run_cli("collect", inbox, "-o", out / "汇总.xlsx", "--json")
    assert done.returncode == 1, done.stderr
    planted = inbox / "+1.xlsx"
    assert run_cli("check", planted, "--write", out / "checked.xlsx").returncode == 1
    assert run_cli("pack", planted, "-o", out / "pack", "--force").returncode == 1
    assert run_cli("score", planted, "-o", out / "scored.xlsx").returncode in (0, 1)
    addin = out / "addin.xlsx"
    shutil.copyfile(planted, addin)
    assert "校验完成" in macros.validate(FileBook(addin))
    values_copy = next((out / "pack").rglob("*.xlsx"))
    return {"inbox": inbox, "out": out, "results": json.loads(done.stdout), "summary": out / "汇总.xlsx",
            "checked": out / "checked.xlsx", "values": values_copy, "scored": out / "scored.xlsx", "addin": addin}


def cells(path) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """(sheet, A1) -> (the cell's formula or None, its text as a string cell or None), from the XML."""
    book = Package(path)
    strings = []
    if book.member("xl/sharedStrings.xml"):
        root = ET.fromstring(book.read("xl/sharedStrings.xml"))
        strings = ["".join(t.text or "" for t in si.iter(f"{MAIN_NS}t")) for si in root.iter(f"{MAIN_NS}si")]
    out = {}
    for sheet, part in book.worksheets():
        for c in ET.fromstring(book.read(part)).iter(f"{MAIN_NS}c"):
            f, v, t = c.find(f"{MAIN_NS}f"), c.find(f"{MAIN_NS}v"), c.get("t")
            text = None
            if t == "inlineStr":
                text = "".join(x.text or "" for x in c.iter(f"{MAIN_NS}t"))
            elif t == "s" and v is not None:
                text = strings[int(v.text)]
            out[(sheet, c.get("r"))] = (None if f is None else f.text or "", text)
    return out


def _decoded(text: str) -> str:
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def holding_sent(found) -> dict:
    """The cells whose text carries something a unit sent."""
    return {k: v for k, v in found.items() if v[1] is not None and any(s in _decoded(v[1]) for s in SENT)}


def texts(path) -> dict[tuple[str, str], str]:
    """(sheet, A1) -> text of every string cell, as our reader reads it (escapes decoded)."""
    book = open_book(path)
    return {(name, ref): c.value for name in book.sheets for ref, c in book.sheet(name).cells.items()
            if isinstance(c.value, str)}


# --- the summary -------------------------------------------------------------------------------------
def test_the_summary_holds_no_formula_but_its_own(corpus):
    found = cells(corpus["summary"])
    ours = [f for f, _ in found.values() if f is not None]
    assert ours and all(re.fullmatch(r"(SUBTOTAL\(109,|COUNTIF\()[^=]*\)", f) for f in ours), ours
    sent = holding_sent(found)
    assert sent and all(f is None for f, _ in sent.values())


def test_every_text_a_unit_sent_is_in_the_summary_as_text(corpus):
    shown = texts(corpus["summary"])
    by_sheet = {}
    for (sheet, _), text in shown.items():
        by_sheet.setdefault(sheet, []).append(text)
    units = by_sheet["汇总"]
    # as the ledger stores them (usertext.visible: a control character as the text _x0001_)
    for unit in (DDE, "+SUM(1,2)局", "-2+3局", "@SUM(1,1)局", "=1+1局", "临湘市\x01审计局", "+成员局"):
        assert visible(unit) in units, unit
    assert LINK in by_sheet["项目支出汇总"] and NEW_SHEET in by_sheet["项目支出汇总"]
    for name in UNITS:
        assert visible(name) in units, repr(name)              # 文件
    assert MEMBER in units
    findings = by_sheet["问题清单"]
    assert DDE in findings                                     # 实为 of the input-formula finding
    assert TEMPLATE_SUM in findings and "=SUM(D60,D61)" in findings   # 应为 / 实为 of formula-altered
    # the letter to the unit whose name is a DDE formula: whole, over the rows it takes
    rows = sorted({int(ref[1:]) for (sheet, ref) in shown if sheet == "退回意见" and ref[0] == "A"})
    letter = "\n".join(shown[("退回意见", f"E{r}")] for r in rows if shown[("退回意见", f"A{r}")].startswith(DDE))
    assert letter.startswith(DDE + "：") and letter.endswith("临湘市财政局") and "有以下 8 处需要更正" in letter   # the filled seed's errors (test_check_seed)


def test_libreoffice_reads_every_summary_text_back_unchanged(soffice, corpus, tmp_path):
    _unchanged_in_libreoffice(soffice, corpus["summary"], tmp_path)


def _unchanged_in_libreoffice(soffice, path: Path, tmp_path: Path) -> None:
    """LibreOffice loads the workbook, recalculates every formula and saves it: every text cell
    (not a formula's result) reads the same, none became a formula or an error."""
    computed = {k for k, (f, _) in cells(path).items() if f is not None}
    before = {k: v for k, v in texts(path).items() if k not in computed}
    recalculated = soffice.recalculate(path, tmp_path / "recalculated.xlsx")
    after = texts(recalculated)
    sent = [k for k, v in before.items() if any(s in v for s in SENT)]
    assert sent
    changed = {k: (before[k], after.get(k)) for k in before if after.get(k) != before[k]}
    assert changed == {}
    assert all(f is None for f, _ in holding_sent(cells(recalculated)).values())


# --- the other workbooks we write --------------------------------------------------------------------
@pytest.mark.parametrize("which,our_sheet", [("checked", "校验结果"), ("addin", "校验结果")])
def test_the_checked_copies_list_the_findings_as_text(corpus, which, our_sheet):
    found = cells(corpus[which])
    listed = {k: v for k, v in found.items() if k[0] == our_sheet}
    assert listed and all(f is None for f, _ in listed.values())
    quoted = [_decoded(t) for _, t in listed.values() if t]
    assert DDE in quoted and TEMPLATE_SUM in quoted          # what check quotes, as text


def test_the_values_copy_holds_no_formula(corpus):
    found = cells(corpus["values"])
    assert not [k for k, (f, _) in found.items() if f is not None]
    shown = {_decoded(t) for _, t in found.values() if t}
    assert "+SUM(1,2)局" in shown and LINK in shown


@pytest.mark.parametrize("which", ["checked", "values", "addin", "scored"])
def test_libreoffice_reads_the_other_workbooks_texts_back_unchanged(soffice, corpus, tmp_path, which):
    _unchanged_in_libreoffice(soffice, corpus[which], tmp_path)


def test_fill_score_and_the_addin_write_names_as_text(corpus):
    """fill's unit and project names, score's output, the add-in's new sheet and its name cell."""
    for path in (corpus["inbox"] / "+1.xlsx", corpus["scored"], corpus["inbox"] / "-1.xlsx"):
        sent = holding_sent(cells(path))
        assert sent
        assert [k for k, (f, _) in sent.items() if f is not None and k[1] != DEPT.cell("staff_quota")] == []
    added = cells(corpus["inbox"] / "-1.xlsx")
    assert (NEW_SHEET, SPEC.copied.cell(SPEC.identity.copy_name)) in holding_sent(added)


def test_the_run_names_every_submission(corpus):
    got = {Path(r["file"]).name: r.get("unit") for r in corpus["results"]}   # as the ledger stores them
    assert got[MEMBER] == "+成员局" and got["=1+1.xlsx"] == DDE and got[visible("\r=1+1.xlsx")] == visible("临湘市\x01审计局")


def _raw(*args) -> str:
    """The command's standard output as the terminal gets it (bytes decoded, no newline translation)."""
    done = subprocess.run([str(XLTOOLS), *map(str, args)], capture_output=True, timeout=300, cwd=ROOT)
    return done.stdout.decode("utf-8")


def test_the_terminal_shows_every_name_on_its_own_readable_line(corpus):
    """A unit's control character, a file name's tab or CR: shown as _x0001_, _x0009_, _x000D_
    (as Excel stores them), so each submission is one line that nothing can rewrite."""
    out = _raw("collect", corpus["inbox"], "-o", corpus["out"] / "汇总.xlsx")
    assert not [ch for ch in out if ord(ch) < 32 and ch != "\n"]
    lines = out.split("\n")
    assert len([line for line in lines if str(corpus["inbox"]) in line]) == len(corpus["results"])
    assert any("临湘市_x0001_审计局" in line and "_x000D_=1+1.xlsx" in line for line in lines)
    assert any("_x0009_=1+1.xlsx：=1+1局" in line for line in lines)
    checked = _raw("check", corpus["inbox"] / "\r=1+1.xlsx")
    assert not [ch for ch in checked if ord(ch) < 32 and ch != "\n"]
    assert checked.startswith(str(corpus["inbox"] / "_x000D_=1+1.xlsx："))
