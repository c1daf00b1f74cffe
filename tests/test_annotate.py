"""`xltools check BOOK --write OUT`: a copy with a 校验结果 sheet that links to every finding and
marks every cell with one, streamed (bounded memory) and never breaking on a readable file."""
import hashlib
import re
import zipfile

import openpyxl
import pytest

from helpers import SEED, load_seed, padded, run_cli, run_measured, write_json
from xltools import catalogue
from xltools.write import marks
from xltools.checker import check_file
from xltools.findings import SEVERITY_COLOURS
from xltools.write.fill import fill
from xltools.spec import load_spec

SPEC = load_spec()


def test_write_lists_every_finding_with_a_link_and_marks_the_cells(tmp_path):
    book, out = tmp_path / "seed.xlsx", tmp_path / "checked.xlsx"
    fill(SEED, book, SPEC)
    before = hashlib.sha256(book.read_bytes()).hexdigest()
    result = run_cli("check", book, "--write", out)
    assert result.returncode == 1, result.stderr            # the seed has real errors
    assert hashlib.sha256(book.read_bytes()).hexdigest() == before   # the original is only read

    report = check_file(book, SPEC)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "校验结果"
    ws = wb["校验结果"]
    ordered = catalogue.finding_order(report.findings, wb.sheetnames)
    assert ordered[0].severity == "error" and ordered[-1].severity == "warning"     # errors first
    rows = list(ws.iter_rows(min_row=2, max_row=1 + len(ordered), values_only=True))
    assert [(r[8], r[2], r[3]) for r in rows] == [(f.code, f.sheet, f.cell) for f in ordered]
    # headers, severity words, titles and sentences: the catalogue's; then the line on links
    assert [c.value for c in ws[1]] == catalogue.result_header()
    titles = catalogue.entries_by_code(SPEC)
    assert [(r[0], r[1], r[4]) for r in rows] == [(catalogue.SEVERITY_LABEL[f.severity], titles[f.code].title, f.message)
                                                  for f in ordered]
    assert ws.cell(len(ordered) + 3, 1).value == marks.FOLLOW_LINK
    # each marked cell's note says why, as a bookkeeper reads it
    for f in ordered:
        assert f"{catalogue.SEVERITY_LABEL[f.severity]}：{f.message}" in wb[f.sheet][f.cell].comment.text
    for row, f in enumerate(ordered, start=2):
        link = ws.cell(row, 4).hyperlink
        assert link.location == f"'{f.sheet}'!{f.cell}" and not link.target   # internal, not a URL
    with zipfile.ZipFile(out) as z:
        styles = z.read("xl/styles.xml").decode()
        dxfs = re.findall(r"<dxf>.*?</dxf>", re.search(r"<dxfs.*?</dxfs>", styles).group(0))
        for f in report.findings:
            sheet = wb[f.sheet]
            rules = [r for cf in sheet.conditional_formatting for r in cf.rules
                     if r.formula == [marks.MARK_FORMULA] and f.cell in str(cf.sqref).split()]
            assert len(rules) == 1, f
            worst = "error" if any(g.severity == "error" for g in report.findings
                                   if (g.sheet, g.cell) == (f.sheet, f.cell)) else "warning"
            assert SEVERITY_COLOURS[worst].fill in dxfs[rules[0].dxfId], (f.code, f.cell)
    assert check_file(out, SPEC).flat(None) == report.flat(None)     # the copy checks the same


def test_write_refuses_a_data_file_and_its_own_input(tmp_path):
    result = run_cli("check", SEED, "--write", tmp_path / "x.xlsx")
    assert result.returncode == 2 and "只能用于工作簿" in result.stderr
    assert not (tmp_path / "x.xlsx").exists()
    book = tmp_path / "seed.xlsx"
    fill(SEED, book, SPEC)
    before = book.read_bytes()
    result = run_cli("check", book, "--write", book)
    assert result.returncode == 2 and "覆盖原文件" in result.stderr and "Traceback" not in result.stderr
    assert book.read_bytes() == before


def test_write_stays_under_200_mb_for_the_biggest_sheet_the_reader_admits(tmp_path):
    from xltools.ooxml.container import MAX_SHEET_XML_BYTES
    book = tmp_path / "seed.xlsx"
    fill(SEED, book, SPEC)
    big = padded(book, tmp_path / "big.xlsx", MAX_SHEET_XML_BYTES - 1024)
    run = run_measured("check", big, "--write", tmp_path / "out.xlsx")
    assert run["rc"] == 1, run["err"]
    assert run["peak_kb"] < 200 * 1024, run["peak_kb"]
    assert openpyxl.load_workbook(tmp_path / "out.xlsx", read_only=True).sheetnames[0] == "校验结果"
    # A part past the cap whose cells end before it is read (as far as </sheetData>, xlsx/inflate.py);
    # what --write would make of it is not: refused in one line, nothing written.
    bigger = padded(book, tmp_path / "bigger.xlsx", MAX_SHEET_XML_BYTES + 1024)
    run = run_measured("check", bigger, "--write", tmp_path / "out2.xlsx")
    assert run["rc"] == 2 and "上限 2 MB" in run["err"] and "未写入任何文件" in run["err"], run["err"]
    assert run["err"].count("\n") == 1 and run["peak_kb"] < 200 * 1024
    assert not (tmp_path / "out2.xlsx").exists()


def test_write_works_on_utf16_and_prefixed_parts(tmp_path):
    """Readable but unusual packages: a UTF-16 sheet and styles part, a sheet written with an x: prefix."""
    book = tmp_path / "seed.xlsx"
    doc = load_seed()
    doc["projects"][0]["detail"][0]["amount"] = "141"        # a finding on the project sheet too
    fill(write_json(tmp_path / "seed.json", doc), book, SPEC)
    with zipfile.ZipFile(book) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    for name in ("xl/worksheets/sheet1.xml", "xl/styles.xml"):
        text = parts[name].decode("utf-8")
        text = re.sub(r'encoding="UTF-8"', 'encoding="UTF-16"', text, count=1, flags=re.I)
        parts[name] = text.encode("utf-16")
    # the project sheet with every element of the main namespace written as x:…
    text = parts["xl/worksheets/sheet3.xml"].decode("utf-8")
    text = re.sub(r"<(/?)([A-Za-z]+)(?=[\s>/])", r"<\1x:\2", text)
    parts["xl/worksheets/sheet3.xml"] = text.replace(' xmlns="', ' xmlns:x="', 1).encode("utf-8")
    odd = tmp_path / "odd.xlsx"
    with zipfile.ZipFile(odd, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    report = check_file(odd, SPEC)
    result = run_cli("check", odd, "--write", tmp_path / "out.xlsx")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    wb = openpyxl.load_workbook(tmp_path / "out.xlsx")
    assert wb.sheetnames[0] == "校验结果"
    assert check_file(tmp_path / "out.xlsx", SPEC).flat(None) == report.flat(None)
    with zipfile.ZipFile(tmp_path / "out.xlsx") as z:
        prefixed = z.read("xl/worksheets/sheet3.xml").decode()
    ours = re.findall(r'<x:conditionalFormatting sqref="([^"]+)"><x:cfRule[^>]*><x:formula>ISTEXT\("xltools:mark"\)',
                      prefixed)
    cells = {f.cell for f in report.findings if f.sheet == SPEC.reports["project"].sheet and f.cell}
    assert cells and {c for sqref in ours for c in sqref.split()} == cells   # written with the sheet's own prefix


def _prefixed(data: bytes) -> bytes:
    text = re.sub(r"<(/?)([A-Za-z]+)(?=[\s>/])", r"<\1x:\2", data.decode("utf-8"))
    return text.replace(' xmlns="', ' xmlns:x="', 1).encode("utf-8")


ODD_PACKAGES = {
    "workbook part with x: prefix": lambda p: p.update({"xl/workbook.xml": _prefixed(p["xl/workbook.xml"])}),
    "styles part with x: prefix": lambda p: p.update({"xl/styles.xml": _prefixed(p["xl/styles.xml"])}),
    "rels with a prefix": lambda p: p.update({"xl/_rels/workbook.xml.rels": p["xl/_rels/workbook.xml.rels"].decode()
                                              .replace("<Relationships xmlns=", "<pr:Relationships xmlns:pr=")
                                              .replace("<Relationship ", "<pr:Relationship ")
                                              .replace("</Relationships>", "</pr:Relationships>").encode()}),
    # (and no conditional formats that would refer to them: a consistent package without any)
    "no differential formats": lambda p: p.update(
        {"xl/styles.xml": re.sub(rb"<dxfs.*?</dxfs>", b"", p["xl/styles.xml"]),
         **{k: re.sub(rb"<conditionalFormatting.*?</conditionalFormatting>", b"", v, flags=re.S)
            for k, v in p.items() if k.startswith("xl/worksheets/sheet")}}),
    "sheet ending at its cells": lambda p: p.update({"xl/worksheets/sheet1.xml": re.sub(
        rb"</sheetData>.*</worksheet>", b"</sheetData></worksheet>", p["xl/worksheets/sheet1.xml"], flags=re.S)}),
    "CRLF between every tag": lambda p: p.update({k: v.replace(b"><", b">\r\n<") for k, v in p.items()
                                                  if k.endswith(".xml")}),
}


def test_write_works_or_refuses_on_odd_but_readable_packages(tmp_path):
    from xltools.errors import BookError
    book = tmp_path / "seed.xlsx"
    fill(SEED, book, SPEC)
    with zipfile.ZipFile(book) as z:
        base = {n: z.read(n) for n in z.namelist()}
    for i, (what, change) in enumerate(ODD_PACKAGES.items()):
        parts = dict(base)
        change(parts)
        odd, out = tmp_path / f"odd{i}.xlsx", tmp_path / f"out{i}.xlsx"
        with zipfile.ZipFile(odd, "w", zipfile.ZIP_DEFLATED) as z:
            for n, data in parts.items():
                z.writestr(n, data)
        report = check_file(odd, SPEC, write=out)
        assert check_file(out, SPEC).flat(None) == report.flat(None), what
        assert openpyxl.load_workbook(out).sheetnames[0] == "校验结果", what
    del base["xl/styles.xml"]                   # no styles at all: nothing to mark with, refused
    with zipfile.ZipFile(tmp_path / "bare.xlsx", "w") as z:
        for n, data in base.items():
            z.writestr(n, data)
    with pytest.raises(BookError, match="styles.xml"):
        check_file(tmp_path / "bare.xlsx", SPEC, write=tmp_path / "bare_out.xlsx")
    assert not (tmp_path / "bare_out.xlsx").exists()
