"""xltools.xlsx on real files: openpyxl-written, LibreOffice re-saved, hand-written XML, hostile."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import struct
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings, strategies as st
from openpyxl.workbook.defined_name import DefinedName
from python_calamine import CalamineWorkbook

from xltools import xlsx
from xltools.ooxml import container
from xltools.xlsx import parts as xlsx_parts
from xltools.xlsx import chunks as xlsx_chunks, sheet as xlsx_sheet
from xltools.errors import BookError
from xltools.xlsx import ExcelError, open_book, shift_formula, split_cell_ref

DEPT = "部门整体支出"
PROJECTS = ["项目支出", "项目支出 (2)", "Bob's 项目"]


# ---------------------------------------------------------------------------------------------
# Workbooks made here


def make_realistic(path: Path) -> Path:
    """Three sheets, ~600 cells (half Chinese text), ~110 formulas, ~260 defined names incl.
    sheet-scoped ones on each copy of the project sheet, a date, a bool, an error, a constant name."""
    wb = openpyxl.Workbook()
    dept = wb.active
    dept.title = DEPT
    for r in range(1, 71):
        dept.cell(r, 1, f"收入项目（第{r}项）说明")
        dept.cell(r, 2, f"备注：按照县财政局要求填写 {r} & <ok>")
        dept.cell(r, 3, 1000 + r * 3.17).number_format = "#,##0.00"
        dept.cell(r, 4, f"=C{r}*2")
        wb.defined_names[f"dept_f{r}"] = DefinedName(f"dept_f{r}", attr_text=f"'{DEPT}'!$C${r}")
        wb.defined_names[f"dept_g{r}"] = DefinedName(f"dept_g{r}", attr_text=f"'{DEPT}'!$D${r}")
    dept["E1"] = dt.date(2023, 1, 1)
    dept["E1"].number_format = "yyyy-mm-dd"
    dept["E2"] = "５０％"
    dept["E3"] = True
    dept["E4"] = "=1/0"
    dept["E5"] = "=SUM(C1:C70)"
    dept["E6"] = 0.125
    dept["E6"].number_format = "0.00%"
    dept["E7"] = dt.date(2022, 12, 31)
    dept["E7"].number_format = 'yyyy"年"m"月"d"日"'
    dept["E8"] = "line1\nline2"
    wb.defined_names["xltools_version"] = DefinedName("xltools_version", attr_text='"xltools:2022:abc"')
    wb.defined_names["dept_total"] = DefinedName("dept_total", attr_text=f"'{DEPT}'!$C$1:$C$70")
    for k, title in enumerate(PROJECTS):
        ws = wb.create_sheet(title)
        quoted = "'" + title.replace("'", "''") + "'"
        for r in range(1, 31):
            ws.cell(r, 1, f"项目{k}绩效指标{r}：产出数量")
            ws.cell(r, 2, r * 1.5 + k)
            ws.cell(r, 3, f"=B{r}/2+'{DEPT}'!$C$1")
            ws.cell(r, 4, f"完成情况良好{r}")
            ws.defined_names[f"proj_f{r}"] = DefinedName(f"proj_f{r}", attr_text=f"{quoted}!$B${r}")
        ws.defined_names["dept_f1"] = DefinedName("dept_f1", attr_text=f"{quoted}!$B$30")  # shadows
    wb.save(path)
    return path


SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CT_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def worksheet(rows: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="{SHEET_NS}"><sheetData>{rows}</sheetData></worksheet>'


def write_xlsx(path: Path, sheets: list[tuple[str, str]], *, names: str = "", shared_strings: str | None = None,
               styles: str | None = None, workbook_pr: str = "") -> Path:
    """A minimal workbook from hand-written parts (what a writer outside openpyxl might produce)."""
    overrides = [f'<Override PartName="/xl/workbook.xml" ContentType="{CT_MAIN}.sheet.main+xml"/>']
    rels = []
    sheet_tags = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (name, xml) in enumerate(sheets, 1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", xml)
            overrides.append(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{CT_MAIN}.worksheet+xml"/>')
            rels.append(f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>')
            sheet_tags.append(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>')
        if shared_strings is not None:
            z.writestr("xl/sharedStrings.xml", shared_strings)
            overrides.append(f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT_MAIN}.sharedStrings+xml"/>')
            rels.append(f'<Relationship Id="rIdS" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>')
        if styles is not None:
            z.writestr("xl/styles.xml", styles)
            overrides.append(f'<Override PartName="/xl/styles.xml" ContentType="{CT_MAIN}.styles+xml"/>')
            rels.append(f'<Relationship Id="rIdY" Type="{REL_NS}/styles" Target="/xl/styles.xml"/>')
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>' + "".join(overrides) + "</Types>")
        z.writestr("_rels/.rels",
                   '<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   + "".join(rels) + "</Relationships>")
        z.writestr("xl/workbook.xml",
                   f'<?xml version="1.0" encoding="UTF-8"?>\n<workbook xmlns="{SHEET_NS}" xmlns:r="{REL_NS}">{workbook_pr}'
                   f'<sheets>{"".join(sheet_tags)}</sheets>'
                   + (f"<definedNames>{names}</definedNames>" if names else "") + "</workbook>")
    return path


# Shared formulas the way Excel writes them: text on the master only, followers by si.
SHARED_ROWS = "".join(
    f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}"><v>{r * 10}</v></c>'
    + (f'<c r="C{r}"><f t="shared" ref="C1:C5" si="0">A1+$B$1+B1</f><v>0</v></c>' if r == 1
       else f'<c r="C{r}"><f t="shared" si="0"/><v>0</v></c>')
    + "".join(
        (f'<c r="{col}{r}"><f t="shared" ref="D1:F3" si="1">SUM($A$1:A1)*2+B$1</f><v>0</v></c>'
         if (col, r) == ("D", 1) else f'<c r="{col}{r}"><f t="shared" si="1"/><v>0</v></c>')
        for col in "DEF" if r <= 3)
    + (f'<c r="G{r}" t="str"><f t="shared" ref="G1:G3" si="2">IF(A1&gt;0,"A1 stays",\'Other Sheet\'!B1&amp;Other!C$1)</f><v>x</v></c>'
       if r == 1 else f'<c r="G{r}" t="str"><f t="shared" si="2"/><v>x</v></c>' if r <= 3 else "")
    + (f'<c r="H{r}"><f t="shared" ref="H1:H3" si="3">LOG10(A1)+ROUND(B1,2)+SUM(A:A)</f><v>0</v></c>'
       if r == 1 else f'<c r="H{r}"><f t="shared" si="3"/><v>0</v></c>' if r <= 3 else "")
    + "</row>"
    for r in range(1, 6))
SHARED_EXPECTED = {
    "C1": "A1+$B$1+B1", "C2": "A2+$B$1+B2", "C5": "A5+$B$1+B5",
    "D1": "SUM($A$1:A1)*2+B$1", "E1": "SUM($A$1:B1)*2+C$1", "F3": "SUM($A$1:C3)*2+D$1",
    "D3": "SUM($A$1:A3)*2+B$1",
    "G2": "IF(A2>0,\"A1 stays\",'Other Sheet'!B2&Other!C$1)",
    "H3": "LOG10(A3)+ROUND(B3,2)+SUM(A:A)",
}


def make_shared(path: Path) -> Path:
    empty = worksheet('<row r="1"><c r="B1"><v>1</v></c><c r="C1"><v>2</v></c></row>')
    return write_xlsx(path, [("S", worksheet(SHARED_ROWS)), ("Other Sheet", empty), ("Other", empty)])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def books(tmp_path_factory, request):
    """{"openpyxl": path, "shared": path} plus LibreOffice re-saves when available."""
    base = tmp_path_factory.mktemp("books")
    out = {"openpyxl": make_realistic(base / "realistic.xlsx"), "shared": make_shared(base / "shared.xlsx")}
    return out


@pytest.fixture(scope="module")
def lo_books(books, tmp_path_factory, request):
    soffice = request.getfixturevalue("soffice")
    outdir = tmp_path_factory.mktemp("lo")
    realistic, shared = soffice.convert_many([books["openpyxl"], books["shared"]], outdir, recalc=True)
    return {"libreoffice": realistic, "shared_lo": shared}


def all_sheets(path):
    book = open_book(path)
    return book, {name: book.sheet(name) for name in book.sheets}


# ---------------------------------------------------------------------------------------------
# Reading good files


def test_openpyxl_file_reads_like_openpyxl(books):
    path = books["openpyxl"]
    before = sha256(path), os.stat(path).st_mtime_ns
    book, sheets = all_sheets(path)
    wb = openpyxl.load_workbook(path)
    assert book.sheets == wb.sheetnames == [DEPT, *PROJECTS]
    for ws in wb.worksheets:
        ours = sheets[ws.title]
        for row in ws.iter_rows():
            for c in row:
                cell = ours.get(c.coordinate)
                if cell is None:  # openpyxl fills the grid; the file has no such cell
                    assert c.value is None
                elif isinstance(c.value, str) and c.value.startswith("="):
                    assert cell.formula == c.value[1:]
                elif isinstance(c.value, dt.datetime):
                    assert cell.is_date and xlsx.excel_date(cell.value) == c.value
                else:
                    assert cell.value == c.value, c.coordinate
                    assert cell.formula is None
    assert (sha256(path), os.stat(path).st_mtime_ns) == before


def test_names_and_scopes(books):
    book = open_book(books["openpyxl"])
    assert book.defined_names[(None, "dept_f3")] == f"'{DEPT}'!$C$3"
    assert book.defined_names[(None, "xltools_version")] == '"xltools:2022:abc"'
    assert book.defined_names[("项目支出 (2)", "proj_f7")] == "'项目支出 (2)'!$B$7"
    assert book.defined_names[("Bob's 项目", "proj_f7")] == "'Bob''s 项目'!$B$7"
    assert len(book.defined_names) == 2 * 70 + 2 + 3 * 31
    # each copy of the project sheet resolves its own names
    assert book.name_cell("proj_f7", "项目支出") == ("项目支出", "B7")
    assert book.name_cell("proj_f7", "项目支出 (2)") == ("项目支出 (2)", "B7")
    assert book.name_cell("PROJ_F7", "Bob's 项目") == ("Bob's 项目", "B7")  # case-insensitive, as Excel
    # a sheet's own name shadows the workbook's, as in Excel; elsewhere the workbook's applies
    assert book.name_cell("dept_f1", "项目支出") == ("项目支出", "B30")
    assert book.name_cell("dept_f1", DEPT) == (DEPT, "C1")
    assert book.name_cell("dept_f1") == (DEPT, "C1")
    assert book.name_cell("proj_f7") is None  # no workbook-level proj_f7
    assert book.name_cell("xltools_version") is None and book.name_cell("dept_total") is None
    assert book.defined_name("nope") is None


def test_values_types_styles(books):
    book = open_book(books["openpyxl"])
    dept = book.sheet(DEPT)
    assert dept.get("A1").value == "收入项目（第1项）说明"
    assert dept.get("B1").value == "备注：按照县财政局要求填写 1 & <ok>"
    assert dept.get("$C$2").value == 1000 + 2 * 3.17 and dept.get("c2") is dept.get("C2")
    assert book.number_format(dept.get("C2").style) == "#,##0.00" and not dept.get("C2").is_date
    assert dept.get("E1").is_date and xlsx.excel_date(dept.get("E1").value) == dt.datetime(2023, 1, 1)
    assert dept.get("E7").is_date and xlsx.excel_date(dept.get("E7").value) == dt.datetime(2022, 12, 31)
    assert dept.get("E3").value is True
    assert dept.get("E6").value == 0.125 and book.number_format(dept.get("E6").style) == "0.00%"
    assert dept.get("E8").value == "line1\nline2"
    assert dept.get("Z99") is None
    assert not book.date1904
    assert book.sheet(DEPT) is dept  # parsed once


def test_libreoffice_resave_matches_calamine_and_openpyxl(books, lo_books):
    path = lo_books["libreoffice"]
    before = sha256(path)
    book, sheets = all_sheets(path)
    part = book.read_part("xl/sharedStrings.xml")
    assert b"<si>" in part  # LibreOffice writes shared strings, and rich runs for mixed scripts
    cal = CalamineWorkbook.from_path(str(path))
    formulas = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    assert book.sheets == cal.sheet_names
    for name, sheet in sheets.items():
        rows = cal.get_sheet_by_name(name).to_python(skip_empty_area=False)
        for a1, cell in sheet.cells.items():
            r, c = xlsx.split_a1(a1)
            theirs = rows[r - 1][c - 1] if r <= len(rows) and c <= len(rows[r - 1]) else ""
            if cell.is_error:
                assert cell.value == "#DIV/0!" and cached[name][a1].value == "#DIV/0!"
            elif cell.is_date:
                assert xlsx.excel_date(cell.value).date() == theirs
            elif cell.value is None:
                assert theirs == ""
            else:
                assert cell.value == theirs, (name, a1)
            assert cell.value == cached[name][a1].value or cell.is_date
            f = formulas[name][a1].value
            assert cell.formula == (f[1:] if isinstance(f, str) and f.startswith("=") else None), (name, a1)
    assert sheets[DEPT].get("D3").value == (1000 + 3 * 3.17) * 2 and sheets[DEPT].get("D3").formula == "C3*2"
    assert sheets[DEPT].get("E4").is_error and sheets[DEPT].get("E4").formula == "1/0"
    assert book.name_cell("proj_f7", "项目支出 (2)") == ("项目支出 (2)", "B7")
    assert book.name_cell("proj_f7", "Bob's 项目") == ("Bob's 项目", "B7")
    assert book.defined_name("xltools_version") == '"xltools:2022:abc"'
    wb_names = {(None, n) for n in formulas.defined_names} | {
        (ws.title, n) for ws in formulas.worksheets for n in ws.defined_names}
    assert set(book.defined_names) == wb_names
    assert sha256(path) == before


@pytest.mark.parametrize("which", ["openpyxl", "libreoffice", "shared", "shared_lo"])
def test_fast_path_agrees_with_elementtree(books, lo_books, which):
    path = {**books, **lo_books}[which]
    book = open_book(path)
    strings, dates = book._strings(), book._date_styles
    if "sharedStrings" in book._parts:
        data = book._xml(book._parts["sharedStrings"])
        assert xlsx_parts._parse_shared_strings(data) == xlsx_parts._parse_shared_strings_etree(data)
    for name in book.sheets:
        data = book._xml(book._sheet_parts[name][1])
        slow = xlsx_sheet._parse_sheet_etree(data, strings, dates)
        index = xlsx_chunks.index_sheet(data)
        assert index is not None  # all these writers produce the canonical form
        assert xlsx_sheet._cells_fast(index, strings, dates) == slow
        assert list(book.sheet(name).cells.items()) == list(slow.items())
        # the checker's batch read, cell by cell and lazily, agrees too
        fresh = open_book(path).sheet(name)
        assert fresh.values(list(slow)) == [c.value for c in slow.values()]
        assert [type(v) is ExcelError for v in fresh.values(list(slow))] == [c.is_error for c in slow.values()]
        assert fresh.formulas(list(slow)) == [c.formula for c in slow.values()]


_SST = b'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
_LO = '<si><t xml:space="preserve">{}</t></si>'
_EXCEL = "<si><t>{}</t></si>"


@pytest.mark.parametrize("strings", [
    [_LO.format(t) for t in ("临湘市", " 两端有空格 ", "", "A &amp; B &lt;si&gt;", "行一&#10;行二", "_x000D_")],
    [_EXCEL.format(t) for t in ("临湘市", "", "&quot;引号&quot;")],
    [_EXCEL.format("Excel"), _LO.format(" 空格 "), _EXCEL.format("再一个")],      # both forms in one part
    [_LO.format("前"), "<si><t/></si>", _LO.format("后")],                          # an empty <t/>
    [_LO.format("前"), _LO.format("中"), "<si><t/></si>"],                          # … as the last string
    ["<si/>", _LO.format("后")],                                                     # an empty <si/> first
    [_LO.format("富"), '<si><r><rPr><b/></rPr><t>文</t></r><r><t xml:space="preserve">本 </t></r></si>'],
])
def test_shared_strings_of_every_form_read_as_elementtree_reads_them(strings):
    """The plain path (every <si> one <t>, cut at the tags between them) and the regex paths give
    what ElementTree gives, in order, for each way a part may be written."""
    data = _SST + "".join(strings).encode() + b"</sst>"
    assert xlsx_parts._parse_shared_strings(data) == xlsx_parts._parse_shared_strings_etree(data)


def test_shared_formulas_expanded(books):
    sheet = open_book(books["shared"]).sheet("S")
    for a1, formula in SHARED_EXPECTED.items():
        assert sheet.get(a1).formula == formula, a1
    # openpyxl translates shared formulas with its own tokenizer: an independent check
    ws = openpyxl.load_workbook(books["shared"])["S"]
    for a1, cell in sheet.cells.items():
        if cell.formula:
            assert ws[a1].value == "=" + cell.formula, a1


def test_shared_formulas_as_libreoffice_expands_them(books, lo_books):
    ours = open_book(books["shared"]).sheet("S")
    theirs = open_book(lo_books["shared_lo"]).sheet("S")  # LibreOffice writes every formula out
    assert {a1: c.formula for a1, c in ours.cells.items() if c.formula} == \
        {a1: c.formula for a1, c in theirs.cells.items() if c.formula}
    assert theirs.get("C3").value == 3 + 10 + 30


def test_non_canonical_xml_takes_the_elementtree_path(tmp_path):
    """Prefixes, pretty-printing, r-less cells, comments, CDATA, single quotes, phonetic runs."""
    sheet = f"""<?xml version='1.0' encoding='UTF-8'?>
<x:worksheet xmlns:x="{SHEET_NS}">
  <x:sheetData>
    <!-- a comment with <x:c r="Z1"> inside -->
    <x:row r='2'>
      <x:c r='A2' t='s'><x:v>0</x:v></x:c>
      <x:c t="inlineStr"><x:is><x:t><![CDATA[<b>&amp;</b>]]></x:t></x:is></x:c>
      <x:c s="1"><x:v>44927</x:v></x:c>
    </x:row>
    <x:row><x:c><x:v>-5</x:v></x:c><x:c t="b"><x:v>0</x:v></x:c><x:c t="e"><x:f>1/0</x:f><x:v>#DIV/0!</x:v></x:c></x:row>
  </x:sheetData>
</x:worksheet>"""
    sst = (f'<x:sst xmlns:x="{SHEET_NS}"><x:si><x:r><x:t>东</x:t></x:r><x:r><x:rPr><x:b/></x:rPr><x:t xml:space="preserve">京 </x:t></x:r>'
           '<x:rPh sb="0" eb="1"><x:t>とう</x:t></x:rPh><x:phoneticPr fontId="0"/></x:si></x:sst>')
    styles = (f'<styleSheet xmlns="{SHEET_NS}"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="31"/></cellXfs>'
              '<dxfs><dxf><numFmt numFmtId="0" formatCode="yyyy"/></dxf></dxfs></styleSheet>')
    path = write_xlsx(tmp_path / "odd.xlsx", [("表", sheet)], shared_strings=sst, styles=styles)
    book = open_book(path)
    cells = book.sheet("表").cells
    assert {a1: c.value for a1, c in cells.items()} == {
        "A2": "东京 ", "B2": "<b>&amp;</b>", "C2": 44927, "A3": -5, "B3": False, "C3": "#DIV/0!"}
    assert cells["C2"].is_date and not cells["A2"].is_date  # 31 is the Chinese yyyy"年"m"月"d"日"
    assert cells["C3"].is_error and cells["C3"].formula == "1/0"
    assert xlsx_chunks.index_sheet(book._xml("xl/worksheets/sheet1.xml")) is None


def test_one_odd_cell_among_canonical_ones_sends_the_sheet_to_elementtree(tmp_path):
    """The batch reads decode lazily: a cell written in another attribute order (t before s) is
    found when it is read, and the whole sheet is then read by ElementTree, answers unchanged."""
    rows = ('<row r="1"><c r="A1"><v>1</v></c><c r="B1" t="str" s="0"><v>odd</v></c>'
            '<c r="C1" s="0"/><c r="D1" t="s"><v>0</v></c></row>')
    sst = f'<sst xmlns="{SHEET_NS}"><si><t>共享</t></si></sst>'
    path = write_xlsx(tmp_path / "odd_cell.xlsx", [("S", worksheet(rows))], shared_strings=sst)
    expected = [1, "odd", None, "共享", None]
    assert open_book(path).sheet("S").values(["A1", "B1", "C1", "D1", "Z9"]) == expected
    sheet = open_book(path).sheet("S")
    assert sheet.values(["A1"]) == [1]                          # canonical so far: still lazy
    assert sheet.get("B1").value == "odd"                       # the odd one: ElementTree
    assert sheet.values(["D1", "B1"]) == ["共享", "odd"]


def test_cells_found_where_another_workbook_had_them_differently(tmp_path):
    """Positions in the split are learnt from the first sheet of a layout and only verified after:
    a sheet with the same number of cells in another order still reads right."""
    first = worksheet('<row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c><c r="C1"><v>3</v></c></row>')
    second = worksheet('<row r="1"><c r="A1"><v>1</v></c><c r="C1"><v>30</v></c><c r="B1"><v>20</v></c></row>')
    a = write_xlsx(tmp_path / "a.xlsx", [("S", first)])
    b = write_xlsx(tmp_path / "b.xlsx", [("S", second)])
    assert open_book(a).sheet("S").values(["A1", "B1", "C1"]) == [1, 2, 3]
    assert open_book(b).sheet("S").values(["A1", "B1", "C1"]) == [1, 20, 30]
    assert open_book(a).sheet("S").values(["C1", "B1"]) == [3, 2]


def test_values_and_formulas_of_one_list_of_cells_do_not_mix(tmp_path):
    """What each batch read remembers per cell is its own: formulas, then values, of the same
    cells in two workbooks of one layout give formulas and values."""
    rows = '<row r="1"><c r="A1"><v>2</v></c><c r="B1"><f>A1*2</f><v>4</v></c><c r="C1" t="s"><v>0</v></c></row>'
    sst = f'<sst xmlns="{SHEET_NS}"><si><t>文字</t></si></sst>'
    paths = [write_xlsx(tmp_path / f"{i}.xlsx", [("S", worksheet(rows))], shared_strings=sst) for i in range(2)]
    refs = ["A1", "B1", "C1"]
    for path in paths + paths:
        sheet = open_book(path).sheet("S")
        assert sheet.formulas(refs) == [None, "A1*2", None]
        assert sheet.values(refs) == [2, 4, "文字"]


def test_encodings_and_escapes(tmp_path):
    rows = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>a_x000D_b &#20013;</t></is></c>'
            '<c r="C1" t="str"><f>"x&amp;"&amp;"y"</f><v>x&amp;y</v></c></row>')
    sst = f'<?xml version="1.0" encoding="UTF-16"?><sst xmlns="{SHEET_NS}"><si><t>中文_x005F_x0041_</t></si></sst>'
    path = write_xlsx(tmp_path / "enc.xlsx", [("S", worksheet(rows))], shared_strings=sst)
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    parts["xl/sharedStrings.xml"] = sst.encode("utf-16")
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    sheet = open_book(path).sheet("S")
    assert sheet.get("A1").value == "中文_x0041_"
    assert sheet.get("B1").value == "a\rb 中"
    assert sheet.get("C1").value == "x&y" and sheet.get("C1").formula == '"x&"&"y"'


# ---------------------------------------------------------------------------------------------
# References, formulas, formats


@pytest.mark.parametrize("formula, rows, cols, expected", [
    ("A1+$B$1+B1", 1, 0, "A2+$B$1+B2"),
    ("A1+$B$1+B1", 0, 2, "C1+$B$1+D1"),
    ("SUM($A$1:A1)", 2, 1, "SUM($A$1:B3)"),
    ("A$1+$A1", 3, 3, "D$1+$A4"),
    ('"A1"&A1', 1, 0, '"A1"&A2'),
    ("'My A1'!A1+Sheet2!B2", 1, 1, "'My A1'!B2+Sheet2!C3"),
    ("LOG10(A1)+ATAN2(B1,C1)", 1, 0, "LOG10(A2)+ATAN2(B2,C2)"),
    ("SUM(A:A)+SUM(B:C)", 5, 1, "SUM(B:B)+SUM(C:D)"),
    ("SUM(1:1)+SUM($2:3)", 2, 0, "SUM(3:3)+SUM($2:5)"),
    ("Table1[[#This Row],[A1]]+A1", 1, 0, "Table1[[#This Row],[A1]]+A2"),
    ("A1*1E5+1.5", 1, 0, "A2*1E5+1.5"),
    ("A1", -1, 0, "#REF!"),
    ("XFD1+A1", 0, 1, "#REF!+B1"),
    ("TAX2023+ZZZZ1", 1, 0, "TAX2024+ZZZZ1"),  # TAX2023 is a cell; ZZZZ1 cannot be (a name)
    ("部门A1+A1", 1, 0, "部门A1+A2"),
])
def test_shift_formula(formula, rows, cols, expected):
    assert shift_formula(formula, rows, cols) == expected


@pytest.mark.parametrize("text, expected", [
    ("'部门整体支出'!$C$5", ("部门整体支出", "C5")),
    ("部门整体支出!$C$5", ("部门整体支出", "C5")),
    ("='Bob''s 项目'!c5", ("Bob's 项目", "C5")),
    ("'项目支出 (2)'!$B$7:$B$7", ("项目支出 (2)", "B7")),
    ("$C$5", (None, "C5")),
    ("'部门整体支出'!$C$5:$C$6", None),
    ('"xltools:2022:abc"', None),
    ("#REF!", None),
    ("'部门整体支出'!#REF!", None),
    ("[1]Sheet1!$A$1", None),
    ("'[1]Sheet1'!$A$1", None),
    ("Sheet1!$XFE$1", None),
    ("SUM(A1:A2)", None),
    ("'unterminated!A1", None),
])
def test_split_cell_ref(text, expected):
    assert split_cell_ref(text) == expected


@pytest.mark.parametrize("code, is_date", [
    ("yyyy-mm-dd", True), ("yyyy\\-mm\\-dd", True), ('[$-804]yyyy"年"m"月"d"日"', True),
    ("[h]:mm:ss", True), ("h:mm AM/PM", True), ("mmm-yy", True),
    ("General", False), ("0.00%", False), ('#,##0.00"元"', False), ("[Red]#,##0.00;[Blue]-0", False),
    ('0.00" days"', False), ("0.0\\d", False), ("_(* #,##0_);_(* (#,##0)", False), ("@", False),
    ("0.00E+00", False), ('[DBNum2][$-804]General', False),
])
def test_is_date_format(code, is_date):
    assert xlsx.is_date_format(code) is is_date


def test_excel_date():
    assert xlsx.excel_date(1) == dt.datetime(1900, 1, 1)
    assert xlsx.excel_date(59) == dt.datetime(1900, 2, 28)
    assert xlsx.excel_date(61) == dt.datetime(1900, 3, 1)
    assert xlsx.excel_date(44927.5) == dt.datetime(2023, 1, 1, 12)
    assert xlsx.excel_date(0, date1904=True) == dt.datetime(1904, 1, 1)
    with pytest.raises(ValueError):
        xlsx.excel_date(60)  # Excel's 1900-02-29 never existed


# ---------------------------------------------------------------------------------------------
# Bad files: one Chinese BookError naming the file, and the file left as it was


def assert_refused(path: Path, *words: str, at_sheet: str | None = None) -> str:
    before = sha256(path)
    with pytest.raises(BookError) as info:
        book = open_book(path)
        if at_sheet is not None:
            book.sheet(at_sheet).cells      # cells decode on demand: ask for all of them
    message = str(info.value)
    assert message.startswith(f"文件 {path} ") and "\n" not in message
    for word in words:
        assert word in message
    assert sha256(path) == before
    return message


def good_parts(tmp_path) -> dict[str, bytes]:
    path = write_xlsx(tmp_path / "good.xlsx", [("S", worksheet('<row r="1"><c r="A1"><v>1</v></c></row>'))])
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def rezip(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def test_empty_file(tmp_path):
    path = tmp_path / "空.xlsx"
    path.write_bytes(b"")
    assert_refused(path, "空文件")


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.xlsx"
    path.write_bytes(os.urandom(4096).replace(b"PK", b"pk").replace(b"\xd0\xcf", b"xx"))
    assert_refused(path, "不是 Excel 工作簿")


def test_html_disguised_as_xls(tmp_path):
    path = tmp_path / "导出.xls"
    path.write_text("<html><table><tr><td>1</td></tr></table></html>", encoding="utf-8")
    assert_refused(path, "网页")


def test_missing_file(tmp_path):
    with pytest.raises(BookError, match="无法打开"):
        open_book(tmp_path / "nope.xlsx")


def test_truncated_zip(tmp_path, books):
    data = books["openpyxl"].read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: len(data) // 2])
    assert_refused(path, "已损坏或不完整")


def test_old_xls_and_encrypted_cfb(tmp_path):
    sector = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    old = tmp_path / "旧.xls"
    old.write_bytes(sector + "Workbook".encode("utf-16-le") + bytes(1000))
    assert_refused(old, ".xls", "另存为")
    locked = tmp_path / "locked.xlsx"
    locked.write_bytes(sector + "EncryptedInfo".encode("utf-16-le") + bytes(64)
                       + "EncryptedPackage".encode("utf-16-le") + bytes(1000))
    assert_refused(locked, "加密", "密码")


def test_missing_workbook_part_and_ods(tmp_path):
    path = rezip(tmp_path / "bare.xlsx", {"[Content_Types].xml": b"<Types/>"})
    assert_refused(path, "缺少 xl/workbook.xml")
    ods = rezip(tmp_path / "calc.xlsx", {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                                         "content.xml": b"<office:document-content/>"})
    assert_refused(ods, ".ods")


def test_zip_bomb_1gb_member(tmp_path):
    path = tmp_path / "bomb.xlsx"
    parts = good_parts(tmp_path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, data in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                z.writestr(name, data)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            zeros = bytes(1 << 20)
            for _ in range(1024):  # 1 GB of zeros streams through zlib to ~5 MB on disk
                member.write(zeros)
    assert path.stat().st_size < 10 * 2**20
    assert_refused(path, "可疑", "1024 MB")


def test_zip_bomb_by_ratio_and_by_total(tmp_path, monkeypatch):
    parts = good_parts(tmp_path)
    ratio = rezip(tmp_path / "ratio.xlsx", {**parts, "xl/media/pad.bin": bytes(20 * 2**20)})
    assert_refused(ratio, "压缩比")
    # The total limit with a small budget: members of ordinary ratio that add up too much.
    monkeypatch.setattr(container, "MAX_TOTAL_BYTES", 3 * 2**20)
    text = os.urandom(2**20).translate(bytes(b"ACGT"[i % 4] for i in range(256)))  # ~4:1
    total = rezip(tmp_path / "total.xlsx", {**parts, **{f"xl/media/p{i}.bin": text for i in range(4)}})
    assert_refused(total, "超过上限 3 MB")


def test_lying_sizes_cannot_inflate_past_the_header(tmp_path):
    """A central directory that understates a member's size: zipfile stops at the declared size
    and the CRC fails, so the reader reports damage instead of inflating 20 MB."""
    parts = good_parts(tmp_path)
    body = parts["xl/workbook.xml"]
    parts["xl/workbook.xml"] = body.replace(b"</workbook>", b" " * (20 * 2**20) + b"</workbook>")
    path = rezip(tmp_path / "liar.xlsx", parts)
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo("xl/workbook.xml")
    struct.pack_into("<I", data, info.header_offset + 22, 1000)  # local header size
    central = data.find(b"PK\x01\x02" + data[info.header_offset + 4: info.header_offset + 6])
    while data[central + 46: central + 46 + len(b"xl/workbook.xml")] != b"xl/workbook.xml":
        central = data.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, 1000)  # central directory size
    path.write_bytes(bytes(data))
    assert_refused(path, "已损坏", "xl/workbook.xml")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>"""


def test_billion_laughs_in_sheet(tmp_path):
    parts = good_parts(tmp_path)
    parts["xl/worksheets/sheet1.xml"] = BILLION_LAUGHS
    path = rezip(tmp_path / "laughs.xlsx", parts)
    open_book(path)  # the sheet is only read when asked for
    assert_refused(path, "DTD", "xl/worksheets/sheet1.xml", at_sheet="S")


def test_external_entity_in_workbook(tmp_path):
    parts = good_parts(tmp_path)
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"\n<workbook", b'\n<!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<workbook').replace(
        b'name="S"', b'name="&xxe;"')
    path = rezip(tmp_path / "xxe.xlsx", parts)
    assert b"<!DOCTYPE" in parts["xl/workbook.xml"]
    message = assert_refused(path, "DTD", "xl/workbook.xml")
    assert "root:" not in message


def test_dtd_hidden_in_utf16_shared_strings(tmp_path):
    parts = good_parts(tmp_path)
    sst = (f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE s [<!ENTITY a "b">]>'
           f'<sst xmlns="{SHEET_NS}"><si><t>&a;</t></si></sst>')
    parts["xl/sharedStrings.xml"] = sst.encode("utf-16")
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", f'<Relationship Id="rIdS" Type="{REL_NS}/sharedStrings" '
                             f'Target="sharedStrings.xml"/></Relationships>'.encode())
    path = rezip(tmp_path / "sst.xlsx", parts)
    assert_refused(path, "DTD", "xl/sharedStrings.xml", at_sheet="S")


def test_malformed_xml_and_broken_structure(tmp_path):
    parts = good_parts(tmp_path)
    broken = rezip(tmp_path / "broken.xlsx", {**parts, "xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row>"})
    assert_refused(broken, "不是有效的 XML", "xl/worksheets/sheet1.xml", at_sheet="S")
    orphan = rezip(tmp_path / "orphan.xlsx", {**parts, "xl/worksheets/sheet1.xml": worksheet(
        '<row r="2"><c r="A2"><f t="shared" si="7"/><v>1</v></c></row>').encode()})
    assert_refused(orphan, "共享公式", at_sheet="S")
    bad_index = rezip(tmp_path / "index.xlsx", {**parts, "xl/worksheets/sheet1.xml": worksheet(
        '<row r="1"><c r="A1" t="s"><v>5</v></c></row>').encode()})
    assert_refused(bad_index, "无法读取", at_sheet="S")
    bad_scope = rezip(tmp_path / "scope.xlsx", {**parts, "xl/workbook.xml": parts["xl/workbook.xml"].replace(
        b"</sheets>", b'</sheets><definedNames><definedName name="x" localSheetId="9">S!A1</definedName></definedNames>')})
    assert_refused(bad_scope, "xl/workbook.xml")
    bad_entity = rezip(tmp_path / "entity.xlsx", {**parts, "xl/worksheets/sheet1.xml": worksheet(
        '<row r="1"><c r="A1" t="str"><v>&nbsp;</v></c></row>').encode()})
    assert_refused(bad_entity, "xl/worksheets/sheet1.xml", at_sheet="S")


def test_unknown_sheet_and_missing_part(tmp_path, books):
    assert_refused(books["openpyxl"], "没有名为「不存在」的工作表", at_sheet="不存在")
    book = open_book(books["openpyxl"])
    with pytest.raises(BookError, match="缺少部件 xl/nothing.xml"):
        book.read_part("xl/nothing.xml")


DAMAGE_REFS = [f"{col}{row}" for row in range(1, 30) for col in "ABCDEFGH"]
MUTATIONS = [b"<c>", b"</c>", b"&amp;", b"&#1;", b"&#xD800;", b"<!--", b"<![CDATA[x]]>", b"r=\"A0\"",
             b'<f t="shared" si="0"/>', b't="s"', b"<v>9999</v>", b's="99999"', b'localSheetId="7"']


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_damaged_files_raise_only_book_error(books, data):
    """Damage inside the XML parts, or in the zip bytes themselves: BookError or a readable book."""
    with zipfile.ZipFile(books["openpyxl"]) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    name = data.draw(st.sampled_from(sorted(parts)))
    body = bytearray(parts[name])
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(body) - 1))
        how = data.draw(st.sampled_from(["byte", "cut", "insert"]))
        if how == "byte":
            body[at] = data.draw(st.sampled_from(b'<>&"\'/=!?x0 #;:'))
        elif how == "cut":
            del body[at:at + data.draw(st.integers(1, 40))]
        else:
            body[at:at] = data.draw(st.sampled_from(MUTATIONS))
    parts[name] = bytes(body)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.xlsx"
        method = data.draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
        with zipfile.ZipFile(path, "w", compression=method) as z:
            for part, content in parts.items():
                z.writestr(part, content)
        if data.draw(st.booleans()):  # now damage the zip container too
            raw = bytearray(path.read_bytes())
            for _ in range(data.draw(st.integers(1, 6))):
                raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
            path.write_bytes(bytes(raw[: data.draw(st.integers(1, len(raw)))]))
        try:
            batch = open_book(path)       # the checker's batch reads, lazily decoded, first
            for sheet in batch.sheets:
                batch.sheet(sheet).values(DAMAGE_REFS)
                batch.sheet(sheet).formulas(DAMAGE_REFS)
            book = open_book(path)
            for sheet in book.sheets:
                for cell in book.sheet(sheet).cells.values():
                    book.number_format(cell.style)
            for scope, defined in book.defined_names:
                book.name_cell(defined, scope)
        except BookError as err:
            assert str(err).startswith(f"文件 {path} ") and "\n" not in str(err)


def test_styles_read_from_the_tags_equal_the_decoded_cells(books, tmp_path):
    """Sheet.styles (the checker's look at amount cells' formats) answers as Sheet.get does, for
    canonical tags, an s= after another attribute, absent cells, and a sheet read by ElementTree."""
    odd = write_xlsx(tmp_path / "odd.xlsx", [("S", worksheet(
        '<row r="1"><c r="A1" s="2"><v>1</v></c><c r="B1" t="n" s="3"><v>2</v></c><c r="C1"><v>3</v></c></row>'))])
    paths = [*books.values(), odd] if isinstance(books, dict) else [*books, odd]
    for path in paths:
        book = open_book(path)
        for name in book.sheets:
            sheet = book.sheet(name)
            refs = [*sheet.cells, "ZZ999"]
            fresh = open_book(path).sheet(name)      # not decoded yet: styles() reads the tags
            assert fresh.styles(refs) == [0 if sheet.get(r) is None else sheet.get(r).style for r in refs], (path, name)
    assert open_book(odd).sheet("S").styles(["A1", "B1", "C1"]) == [2, 3, 0]


@pytest.mark.parametrize("prefix", ["", "x:"])
def test_row_marks_read_each_rows_height_and_hidden_flag(tmp_path, prefix):
    """The rows of cells a long text is typed in: their height as stored (None: the sheet's
    default) and whether they are hidden (hidden="1"/"true", or a height of 0), the same from the
    canonical fast path as from the scan a prefixed sheet takes; in any order of attributes."""
    p = prefix
    rows = (f'<{p}row r="3" spans="1:9" ht="24.75" customHeight="1"><{p}c r="A3" t="inlineStr"><{p}is><{p}t>一</{p}t>'
            f'</{p}is></{p}c></{p}row>'
            f'<{p}row r="4" hidden="false" ht="3"><{p}c r="A4"><{p}v>1</{p}v></{p}c><{p}c r="B4"><{p}v>2</{p}v></{p}c>'
            f'</{p}row>'
            f'<{p}row r="5" hidden="1" ht="20"><{p}c r="B5"><{p}v>3</{p}v></{p}c></{p}row>'
            f'<{p}row r="6"><{p}c r="A6"><{p}v>4</{p}v></{p}c></{p}row>'
            f'<{p}row r="7" ht="0"><{p}c r="A7"><{p}v>5</{p}v></{p}c></{p}row>')
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<{p}worksheet xmlns{":x" if p else ""}="{SHEET_NS}">'
           f'<{p}sheetData>{rows}</{p}sheetData></{p}worksheet>')
    sheet = open_book(write_xlsx(tmp_path / "rows.xlsx", [("S", xml)])).sheet("S")
    assert sheet.row_marks(["A3", "B4", "B5", "A6", "A7"]) == {
        "A3": (24.75, False), "B4": (3.0, False), "B5": (20.0, True), "A6": (None, False), "A7": (0.0, True)}


def test_row_marks_of_one_layout_are_each_workbooks_own(tmp_path):
    """Where a row's tag was found is remembered per sheet layout (as many cells, the same first
    one): the next workbook of that layout reads its own heights and flags, and a row that starts
    at another cell there is still found."""
    def book(name: str, rows: str):
        xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="{SHEET_NS}"><sheetData>{rows}'
               '</sheetData></worksheet>')
        return open_book(write_xlsx(tmp_path / name, [("S", xml)])).sheet("S")

    first = book("a.xlsx", '<row r="3" ht="30" customHeight="1"><c r="A3"><v>1</v></c><c r="B3"><v>2</v></c></row>'
                           '<row r="4" ht="40"><c r="C4"><v>3</v></c></row>')
    assert first.row_marks(["A3", "C4"]) == {"A3": (30.0, False), "C4": (40.0, False)}
    again = book("b.xlsx", '<row r="3" ht="12" hidden="1"><c r="A3"><v>1</v></c><c r="B3"><v>2</v></c></row>'
                           '<row r="4"><c r="C4"><v>3</v></c></row>')
    assert again.row_marks(["A3", "C4"]) == {"A3": (12.0, True), "C4": (None, False)}
    moved = book("c.xlsx", '<row r="3" ht="15"><c r="A3"><v>1</v></c></row>'
                           '<row r="4" ht="50"><c r="B4"><v>2</v></c><c r="C4"><v>3</v></c></row>')
    assert moved.row_marks(["C4", "A3"]) == {"C4": (50.0, False), "A3": (15.0, False)}
