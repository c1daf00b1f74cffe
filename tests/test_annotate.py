"""`xltools check BOOK --write OUT`: a copy with a 校验结果 sheet that links to every finding."""
import hashlib

import openpyxl

from helpers import SEED, run_cli
from xltools import catalogue
from xltools.check import check_file
from xltools.fill import fill
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
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[2], r[3]) for r in rows] == [(f.code, f.sheet, f.cell) for f in report.findings]
    # headers, severity words and sentences: the catalogue's
    assert [c.value for c in ws[1]] == catalogue.result_header()
    assert [(r[0], r[4]) for r in rows] == [(catalogue.SEVERITY_LABEL[f.severity], f.message) for f in report.findings]
    for row, f in enumerate(report.findings, start=2):
        link = ws.cell(row, 4).hyperlink
        assert link.location == f"'{f.sheet}'!{f.cell}" and not link.target   # internal, not a URL
        fill_color = wb[f.sheet][f.cell].fill.fgColor.rgb
        assert fill_color.endswith("FFC7CE" if f.severity == "error" else "FFEB9C"), (f.code, fill_color)


def test_write_refuses_a_data_file(tmp_path):
    result = run_cli("check", SEED, "--write", tmp_path / "x.xlsx")
    assert result.returncode == 2 and "只能用于工作簿" in result.stderr
    assert not (tmp_path / "x.xlsx").exists()
