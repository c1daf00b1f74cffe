"""Every ribbon macro, end to end on a real filled template, through the file implementation of the
workbook interface (the same macro code drives Excel through xlwings)."""
import re
import zipfile

import openpyxl
import pytest

from helpers import ROOT, SEED, run_cli
from xltools.a1 import a1
from xltools import catalogue
from xltools.addin import macros
from xltools.errors import BookError
from xltools.write import marks
from xltools.addin.access import FileBook, address_chunks, colour, mark_format
from xltools.checker import check_file
from xltools.write.fill import fill
from xltools.formulas import LAST_BOOKEND, cross_cell
from xltools.spec import load_spec

SPEC = load_spec()


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "临湘民政.xlsx"
    fill(SEED, path, SPEC)
    return path


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def marked_cells(xml: str) -> dict[str, tuple[str, str]]:
    """cell -> (dxfId, formula) of every conditional format whose formula is ours."""
    out = {}
    for sqref, dxf, formula in re.findall(r'<conditionalFormatting sqref="([^"]+)"><cfRule [^>]*?dxfId="(\d+)"[^>]*>'
                                          r"<formula>([^<]*)</formula>", xml):
        if "xltools:mark" in formula:
            out.update({ref: (dxf, formula) for ref in sqref.split()})
    return out


def test_validate_lists_links_and_marks_and_clear_restores_every_byte(book):
    before = members(book)
    sheets = openpyxl.load_workbook(book).sheetnames
    report = check_file(book, SPEC)
    fb = FileBook(book)
    message = macros.validate(fb)
    errors = sum(f.severity == "error" for f in report.findings)
    assert f"错误 {errors} 处，提示 {len(report.findings) - errors} 处" in message and "校验结果" in message

    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == [marks.RESULT_SHEET] + sheets          # first: the copy opens on it
    ws = wb[marks.RESULT_SHEET]
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == marks.COLUMNS
    ordered = catalogue.finding_order(report.findings, wb.sheetnames)
    assert [(r[8], r[2], r[3]) for r in rows[1:1 + len(ordered)]] == [(f.code, f.sheet, f.cell) for f in ordered]
    for row, f in enumerate(ordered, start=2):
        link = ws.cell(row, 4).hyperlink
        assert link.location == f"'{f.sheet}'!{f.cell}" and not link.target      # internal, not a URL

    after = members(book)
    styles = after["xl/styles.xml"].decode()
    dxfs = re.findall(r"<dxf>.*?</dxf>", re.search(r"<dxfs.*?</dxfs>", styles, re.S).group(0))
    parts = {"部门整体支出": "xl/worksheets/sheet1.xml", "项目支出": "xl/worksheets/sheet3.xml"}
    for sheet, part in parts.items():
        xml = after[part].decode()
        found = marked_cells(xml)
        expected = {f.cell for f in report.findings if f.sheet == sheet and f.cell}
        assert set(found) == expected, sheet
        for f in report.findings:
            if f.sheet == sheet and f.cell:
                colour = "FFC7CE" if any(g.severity == "error" for g in report.findings
                                         if (g.sheet, g.cell) == (sheet, f.cell)) else "FFEB9C"
                assert colour in dxfs[int(found[f.cell][0])]
        # the template's own conditional formats and the cells' styles are untouched; our notes
        # are named by a <legacyDrawing> of ours, and the tab is no longer the one selected
        ours = r'<conditionalFormatting sqref="[^"]+"><cfRule [^>]*><formula>ISTEXT\(\"xltools:mark\"\)' \
               r'</formula></cfRule></conditionalFormatting>|<legacyDrawing xmlns:xlr="[^"]+" xlr:id="\w+"/>'
        assert re.sub(ours, "", xml) == re.sub(r' tabSelected="1"', "", before[part].decode())
    assert check_file(book, SPEC).flat(None) == report.flat(None)       # a marked workbook checks the same

    macros.validate(fb)                                                  # again: one set of marks, not two
    assert members(book)["xl/styles.xml"] == after["xl/styles.xml"]
    assert macros.clear_marks(fb).startswith("已清除")
    restored = members(book)
    assert restored.keys() == before.keys()
    for name in before:
        assert restored[name] == before[name], name                      # every part byte for byte


def test_score_fills_the_scores_the_score_command_gives(book, tmp_path):
    run = run_cli("score", book, "-o", tmp_path / "scored.xlsx")
    assert run.returncode == 0, run.stderr
    message = macros.score(FileBook(book))
    assert "综合得分" in message or "待人工评分" in message
    rep = SPEC.reports["project"]
    mine = openpyxl.load_workbook(book, data_only=True)[rep.sheet]
    theirs = openpyxl.load_workbook(tmp_path / "scored.xlsx", data_only=True)[rep.sheet]
    cells = [rep.cell(n) for t in rep.indicator_tables for n in t.names("score")] + [rep.cell("p_score_total")]
    assert [mine[c].value for c in cells] == [theirs[c].value for c in cells]
    assert any(isinstance(mine[c].value, (int, float)) for c in cells)


def test_new_project_sheet_is_named_placed_checked_and_counted_by_libreoffice(book, tmp_path, soffice):
    fb = FileBook(book, answers=["农村低保资金/2022年"])
    message = macros.new_project(fb)
    name = "农村低保资金_2022年"
    assert f"工作表名：{name}" in message and "填写实际支出后计入部门项目支出的核对" in message
    names = fb.sheet_names()
    assert names.index(name) == names.index(LAST_BOOKEND) - 1
    wb_xml = members(book)["xl/workbook.xml"].decode()
    assert '<workbookProtection lockStructure="1"' in wb_xml                  # structure still protected
    rep = SPEC.reports["project"]
    # The copy is the blank form, named after the project; give it spending to see it counted.
    fb.write_values({name: {rep.cell("fund_arrived_county"): 20, rep.cell("fund_spent_county"): 20,
                            rep.cell("fund_plan_county"): 20}})
    report = check_file(book, SPEC)
    assert name in {f.sheet for f in report.findings}                         # read as a project report
    assert not [f for f in report.findings if f.code == "cross-report"]       # 3003 = 2983 + 20 now
    assert not [f for f in report.findings if f.sheet == name and f.code == "formula-altered"]
    recalculated = soffice.recalculate(book, tmp_path / "recalculated.xlsx")
    ws = openpyxl.load_workbook(recalculated, data_only=True)
    row, _ = cross_cell(SPEC)
    assert ws[SPEC.reports["dept"].sheet][a1(row, SPEC.reports['dept'].check_column)].value in (None, "")     # the 3D sum includes the new sheet
    assert ws[name][rep.cell("project_name")].value == "农村低保资金/2022年"
    assert ws[name][rep.cell("fund_spent_total")].value == 20
    # without the new sheet's spending the department sheet shows the gap, as check does, counting
    # the one sheet whose 实际支出 is filled
    fb.write_values({name: {rep.cell("fund_spent_county"): None}})
    ws = openpyxl.load_workbook(soffice.recalculate(book, tmp_path / "again.xlsx"), data_only=True)
    note = ws[SPEC.reports["dept"].sheet][a1(row, SPEC.reports['dept'].check_column)].value
    assert "20.00" in note and "计入 1 张项目表" in note, note
    assert macros.new_project(FileBook(book, answers=[])) is None              # cancelled: nothing changes
    assert macros.sheet_name_for("农村低保资金/2022年", names) == "农村低保资金_2022年 (2)"


def test_about_names_the_versions_and_the_log(book, monkeypatch, tmp_path):
    monkeypatch.setenv("XLTOOLS_LOG", str(tmp_path / "xltools.log"))
    text = macros.about(FileBook(book))
    assert "加载项：0.1.0 (xlwings 0.37.8)" in text and SPEC.fingerprint in text
    assert f"本工作簿的模板：临湘市2022年度模板（第{SPEC.form_version}版），{SPEC.fingerprint}" in text
    assert str(tmp_path / "xltools.log") in text


def test_export_packs_the_workbook_beside_it(book, soffice, pdf_text):
    message = macros.export(FileBook(book))
    folder = next(p for p in book.parent.iterdir() if p.is_dir() and p.name.endswith("_绩效自评"))
    assert str(folder) in message and "水印" in message                    # the seed has errors: a draft
    names = {p.name for p in folder.iterdir()}
    assert {"manifest.json", "SHA256SUMS", "数据.json"} <= names
    pdfs = sorted(p for p in folder.iterdir() if p.suffix == ".pdf")
    assert pdfs and "未通过校验" in pdf_text(pdfs[0])
    assert "部门" in pdf_text(pdfs[0])


def test_the_result_sheet_declares_its_namespace_whatever_the_writer_did(book):
    # Writers differ: openpyxl's standard writer declares the relationships prefix on the root of
    # workbook.xml, its lxml writer (and other programs) on each <sheet>. The sheet we add must
    # be well-formed XML either way: Excel refuses a workbook with an unbound prefix.
    import xml.etree.ElementTree as ET
    parts = members(book)
    root_decl = ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    wb = parts["xl/workbook.xml"].decode()
    assert root_decl in wb
    wb = wb.replace(root_decl, "", 1).replace("<sheet ", f"<sheet{root_decl} ")
    ET.fromstring(wb)                                                    # the changed file is well-formed
    parts["xl/workbook.xml"] = wb.encode()
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    macros.validate(FileBook(book))
    ET.fromstring(members(book)["xl/workbook.xml"])                      # still well-formed: no unbound prefix
    assert openpyxl.load_workbook(book).sheetnames[0] == marks.RESULT_SHEET


def test_new_project_refuses_the_sheet_names_excel_reserves(book):
    before = members(book)
    for name in ("History", " history ", "HISTORY"):
        with pytest.raises(BookError, match="保留"):
            macros.new_project(FileBook(book, answers=[name]))
    assert members(book) == before                                            # nothing written
    assert macros.sheet_name_for("History of 2022", []) == "History of 2022"  # only the name itself
    assert macros.sheet_name_for("'" + "项" * 30 + "'x", []) == "项" * 30    # no apostrophe at an end


def test_the_validate_buttons_address_strings_stay_under_excels_limit(book):
    report = check_file(book, SPEC)
    plan = marks.plan(report, FileBook(book).sheet_names())
    many = [f"{col}{row}" for col in ("A", "AB", "XFD") for row in range(1, 400, 3)]   # a badly filled book
    for cells in [*(refs for by in plan.cells.values() for refs in by.values()), many]:
        chunks = address_chunks(cells)
        assert all(len(c) < 255 for c in chunks)
        assert [c for chunk in chunks for c in chunk.split(",")] == cells                # every cell, once, in order
    assert len(address_chunks(many)) > 1


def test_excel_draws_the_mark_the_file_writer_draws():
    """LiveBook's FormatCondition (fill, bold coloured figures, thin frame) and the file's dxf come
    from the same constants: what docs/addin.md describes (浅红底、红框 / 浅黄底、橙框)."""
    for severity in marks.SEVERITIES:
        dxf = marks.dxf_xml("", severity)
        look = mark_format(severity)
        fill = re.search(r'<bgColor rgb="(\w+)"/>', dxf).group(1)
        ink = re.search(r'<font><b/><color rgb="(\w+)"/></font>', dxf).group(1)
        frames = re.findall(r'<(left|right|top|bottom) style="thin"><color rgb="(\w+)"/>', dxf)
        assert [side for side, _ in frames] == ["left", "right", "top", "bottom"]
        assert {colour(argb) for _, argb in frames} == {look["frame"]}
        assert (colour(fill), colour(ink)) == (look["fill"], look["ink"])
    assert colour("FFFF0000") == 255 and colour("FF0000FF") == 255 * 65536      # Excel's BGR order
    doc = (ROOT / "docs" / "addin.md").read_text(encoding="utf-8")
    assert "浅红底、红框" in doc and "浅黄底、橙框" in doc
