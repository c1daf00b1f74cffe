"""The checked copy (`check --write`) as a bookkeeper opens it in LibreOffice's real window.

It opens on 校验结果 (the first sheet, errors first, Chinese titles, wrapped sentences, the line
on following links); each marked cell carries a note LibreOffice reads as its own comment, shown
here on the sheet; no repair is asked for (the file loads as it is). The screenshots are kept in
tests/artifacts/checked_copy_window/ to be looked at.
"""
from __future__ import annotations

import time

from helpers import ROOT, run_cli
from xltools.catalogue import SEVERITY_LABEL
from xltools.checker import check_file
from xltools.spec import load_spec
from xltools.write.marks import FOLLOW_LINK

SPEC = load_spec()
EXAMPLE = ROOT / "examples" / "linxiang_2022.json"


def test_the_checked_copy_opens_on_its_findings_and_each_marked_cell_says_why(window, tmp_path):
    book, checked = tmp_path / "填报.xlsx", tmp_path / "校验.xlsx"
    assert run_cli("fill", EXAMPLE, "-o", book).returncode == 0
    run_cli("check", book, "--write", checked)
    report = check_file(book, SPEC)
    window.open(checked)
    try:
        assert window.uno({"op": "active", "url": window.url})["sheet"] == "校验结果"
        window.shot("opens-on-the-findings")
        first = report.findings and sorted(report.findings, key=lambda f: f.severity != "error")[0]
        assert window.uno({"op": "text", "url": window.url, "sheet": "校验结果", "ref": "A2"})["text"] \
            == SEVERITY_LABEL[first.severity]
        rows = 1 + len(report.findings)
        assert window.uno({"op": "text", "url": window.url, "sheet": "校验结果", "ref": f"A{rows + 2}"})["text"] \
            == FOLLOW_LINK
        dept = SPEC.reports["dept"].sheet
        notes = window.uno({"op": "notes", "url": window.url, "sheet": dept})["notes"]
        marked = {f.cell for f in report.findings if f.sheet == dept}
        assert len(notes) == len(marked) and notes, notes
        over = next(f for f in report.findings if f.code == "score-over")
        row = str(int(over.cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) - 1)
        assert f"错误：{over.message}" in notes[row]
        window.select(dept, over.cell, above=3)
        window.uno({"op": "show_note", "url": window.url, "sheet": dept, "ref": over.cell})
        time.sleep(1)
        window.shot("a-marked-cell-and-its-note")
    finally:
        window.close()
