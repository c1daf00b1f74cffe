"""What a workbook may not be trusted with: names moved, formulas typed where values belong,
links to other files, macros, project sheets outside the bookends. Driven through the command
line as a bureau clerk runs it (exit code, one Chinese line, no traceback, input unchanged)."""
from __future__ import annotations

import copy
import io
import random
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest

from helpers import (CJK, ROOT, checked_by_declared_rules, consistent_data, load_seed, rezip, run_cli, sha256,
                     sheet_parts, write_json, zip_members)
from xltools.checker import check_file
from xltools.write.fill import fill
from xltools.formulas import FIRST_BOOKEND, LAST_BOOKEND, cross_cell
from xltools.spec import load_spec

SPEC = load_spec()
DEPT, PROJ = SPEC.reports["dept"], SPEC.reports["project"]
TEMPLATE = ROOT / "templates" / "self_eval.xlsx"


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("trust")
    doc = consistent_data(SPEC, random.Random(31).randint, n_orgs=2, n_projects=2)
    return fill(write_json(tmp / "data.json", doc), tmp / "book.xlsx", SPEC, template=TEMPLATE).path


def part_of(members: dict, sheet: str) -> str:
    return sheet_parts(rezip_bytes(members))[sheet]


def rezip_bytes(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def put_formula(xml: bytes, ref: str, formula: str, cached) -> bytes:
    """The cell at `ref` holding `formula` with a cached value (text or number), its style kept."""
    text = xml.decode("utf-8")
    m = re.search(rf'<c r="{ref}"([^>]*?)(/>|>.*?</c>)', text, re.S)
    assert m, ref
    attrs = re.sub(r'\s*t="[^"]*"', "", m.group(1))
    value = f' t="str"{attrs}><f>{escape(formula)}</f><v>{escape(str(cached))}</v></c>' if isinstance(cached, str) \
        else f"{attrs}><f>{escape(formula)}</f><v>{cached}</v></c>"
    return (text[:m.start()] + f'<c r="{ref}"' + value + text[m.end():]).encode("utf-8")


def one_line_refusal(done, path) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(path) in lines[0], done.stderr
    return lines[0]


# --- defined names ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,scope", [("staff_quota", None), ("narrative", None), ("fund_spent_total", "sheet")])
def test_a_name_moved_to_another_cell_is_refused_naming_it(book, tmp_path, name, scope):
    members = zip_members(book)
    xml = members["xl/workbook.xml"].decode("utf-8")
    rep = DEPT if scope is None else PROJ
    col = "".join(ch for ch in rep.cell(name) if ch.isalpha())
    row = int(rep.cell(name)[len(col):])
    pattern = rf'(<definedName name="{name}"[^>]*>[^<]*!\$){col}\${row}<'
    assert re.search(pattern, xml), name
    xml = re.sub(pattern, rf"\g<1>{col}${row + 1}<", xml, count=1)
    members["xl/workbook.xml"] = xml.encode("utf-8")
    moved = rezip(members, tmp_path / "moved.xlsx")
    before = sha256(moved)
    line = one_line_refusal(run_cli("check", moved), moved)
    assert name in line and rep.cell(name) in line and f"{col}{row + 1}" in line and "模板" in line
    assert sha256(moved) == before


# --- formulas where values belong, links, macros ----------------------------------------------------
def test_formulas_typed_into_input_cells_are_errors_at_their_cells_and_score_writes_values(book, tmp_path):
    members = zip_members(book)
    part = part_of(members, DEPT.sheet)
    planted = {
        "staff_quota": ("cmd|'/c calc'!A1", 0),                                # DDE
        "spend_public_1": ("'[other.xlsx]Sheet1'!A1", 12.5),                   # another workbook
        "contact": ('HYPERLINK("http://example.com","张三")', "张三"),
        "spend_personnel_1": ("1+1", 2),
    }
    xml = members[part]
    for name, (formula, cached) in planted.items():
        xml = put_formula(xml, DEPT.cell(name), formula, cached)
    members[part] = xml
    bad = rezip(members, tmp_path / "formulas.xlsx")
    report = check_file(bad, SPEC)
    found = {(f.sheet, f.cell) for f in report.findings if f.code == "input-formula"}
    assert found == {(DEPT.sheet, DEPT.cell(n)) for n in planted}
    assert all(f.severity == "error" for f in report.findings if f.code == "input-formula")
    dde = next(f for f in report.findings if f.code == "input-formula" and f.cell == DEPT.cell("staff_quota"))
    assert "cmd|" in dde.message and "不安全" in dde.message
    done = run_cli("check", bad)
    assert done.returncode == 1 and "input-formula" in done.stdout and "Traceback" not in done.stderr

    before = sha256(bad)
    out = tmp_path / "scored.xlsx"
    done = run_cli("score", bad, "-o", out)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
    assert sha256(bad) == before
    wb = openpyxl.load_workbook(out)
    for name, (formula, cached) in planted.items():
        value = wb[DEPT.sheet][DEPT.cell(name)].value
        assert not (isinstance(value, str) and value.startswith("=")), (name, value)
        assert value == cached or float(value) == float(cached), (name, value)
    assert not [f for f in check_file(out, SPEC).findings if f.code == "input-formula"]


# --- formulas over labels, in blank cells, in a long text's rows --------------------------------------
def put_new_cell(xml: bytes, ref: str, formula: str, cached: str) -> bytes:
    """A cell at `ref`, past the last cell of its row (the row exists), holding a formula."""
    text = xml.decode("utf-8")
    row = "".join(ch for ch in ref if ch.isdigit())
    m = re.search(rf'<row r="{row}"[^>]*>.*?(</row>)', text, re.S)
    assert m and f'<c r="{ref}"' not in m.group(0), ref
    cell = f'<c r="{ref}" t="str"><f>{escape(formula)}</f><v>{escape(cached)}</v></c>'
    return (text[:m.start(1)] + cell + text[m.start(1):]).encode("utf-8")


def label_cells(rep, n: int) -> list[tuple[str, str]]:
    """(A1, text) of the first `n` one-line labels of a report's layout (the spec's, not a list here)."""
    from xltools.a1 import a1
    return [(a1(p.row, p.col), p.text) for p in rep.placed if p.role == "label" and p.text and "\n" not in p.text][:n]


def test_a_formula_over_a_label_or_in_a_blank_cell_is_an_error_at_its_cell(book, tmp_path):
    """What the issue found: a HYPERLINK showing a label's own words passed silently. Labels and the
    cells the template leaves empty are locked; a formula there means the protection was taken off."""
    from xltools.a1 import a1
    members = zip_members(book)
    dept, proj = part_of(members, DEPT.sheet), part_of(members, f"{PROJ.sheet} (2)")
    (ref, text), (dde_ref, dde_text) = label_cells(DEPT, 2)
    (pref, ptext), = label_cells(PROJ, 1)
    blank = a1(DEPT.last_row // 2, max(p.col for p in DEPT.placed) + 2)   # right of every placed cell
    run = DEPT.runs["narrative"]
    text_row = a1(run.first + 1, run.col)                            # the narrative's second row: an input
    members[dept] = put_formula(members[dept], ref, f'HYPERLINK("http://example.com/x.exe","{text}")', text)
    members[dept] = put_formula(members[dept], dde_ref, "cmd|'/c calc'!A1", dde_text)
    members[dept] = put_new_cell(members[dept], blank, "1+1", "2")
    members[dept] = put_formula(members[dept], text_row, 'HYPERLINK("http://example.com","说明")', "说明")
    members[proj] = put_formula(members[proj], pref, f'"{ptext}"', ptext)
    bad = rezip(members, tmp_path / "labels.xlsx")
    before = sha256(bad)
    findings = {(f.code, f.sheet, f.cell): f for f in check_file(bad, SPEC).findings
                if f.code in ("label-formula", "input-formula")}
    assert set(findings) == {("label-formula", DEPT.sheet, ref), ("label-formula", DEPT.sheet, dde_ref),
                             ("label-formula", DEPT.sheet, blank), ("input-formula", DEPT.sheet, text_row),
                             ("label-formula", f"{PROJ.sheet} (2)", pref)}
    assert all(f.severity == "error" for f in findings.values())
    hyperlink = findings["label-formula", DEPT.sheet, ref]
    assert f"“{text}”" in hyperlink.message and "HYPERLINK" in hyperlink.message and "不安全" in hyperlink.message
    assert "不安全" in findings["label-formula", DEPT.sheet, dde_ref].message
    assert "为空" in findings["label-formula", DEPT.sheet, blank].message
    assert "不安全" not in findings["label-formula", f"{PROJ.sheet} (2)", pref].message
    assert DEPT.fields["narrative"].label in findings["input-formula", DEPT.sheet, text_row].message

    done = run_cli("check", bad)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    line = next(x for x in done.stdout.splitlines() if f"!{ref} " in x)
    assert "label-formula" in line and CJK.search(line)
    assert sha256(bad) == before

    # score writes each what it showed, as a value: the scored workbook carries none of them
    out = tmp_path / "scored.xlsx"
    assert run_cli("score", bad, "-o", out).returncode in (0, 1)
    assert sha256(bad) == before
    wb = openpyxl.load_workbook(out)
    for sheet, cell, shown in [(DEPT.sheet, ref, text), (DEPT.sheet, dde_ref, dde_text), (DEPT.sheet, blank, "2"),
                               (DEPT.sheet, text_row, "说明"), (f"{PROJ.sheet} (2)", pref, ptext)]:
        assert str(wb[sheet][cell].value) == shown, (sheet, cell, wb[sheet][cell].value)
    assert not {f.code for f in check_file(out, SPEC).findings} & {"label-formula", "input-formula"}


def _with_external_link(members: dict) -> dict:
    members = dict(members)
    members["xl/externalLinks/externalLink1.xml"] = (
        b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        b'<externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook></externalLink>')
    members["xl/externalLinks/_rels/externalLink1.xml.rels"] = (
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'externalLinkPath" Target="file:///C:/other.xlsx" TargetMode="External"/></Relationships>')
    rels = members["xl/_rels/workbook.xml.rels"]
    members["xl/_rels/workbook.xml.rels"] = rels.replace(b"</Relationships>", (
        b'<Relationship Id="rIdX1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'externalLink" Target="externalLinks/externalLink1.xml"/></Relationships>'))
    return members


def test_an_external_link_is_an_error_and_score_refuses_it(book, tmp_path):
    linked = rezip(_with_external_link(zip_members(book)), tmp_path / "linked.xlsx")
    report = check_file(linked, SPEC)
    codes = [(f.code, f.severity) for f in report.findings if f.code == "external-link"]
    assert codes and all(s == "error" for _, s in codes)
    assert not report.ok
    out = tmp_path / "scored.xlsx"
    line = one_line_refusal(run_cli("score", linked, "-o", out), linked)
    assert "外部链接" in line and not out.exists()


def test_a_macro_part_is_an_error(book, tmp_path):
    members = zip_members(book)
    members["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500)
    macro = rezip(members, tmp_path / "macro.xlsx")
    [f] = [f for f in check_file(macro, SPEC).findings if f.code == "macro-part"]
    assert f.severity == "error" and "vbaProject.bin" in f.message
    done = run_cli("check", macro)
    assert done.returncode == 1 and "macro-part" in done.stdout
    out = tmp_path / "scored.xlsx"
    one_line_refusal(run_cli("score", macro, "-o", out), macro)
    assert not out.exists()


def test_a_hyperlink_relationship_is_only_a_warning(book, tmp_path):
    members = zip_members(book)
    part = part_of(members, DEPT.sheet)
    folder, leaf = part.rsplit("/", 1)
    members[f"{folder}/_rels/{leaf}.rels"] = (
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'hyperlink" Target="mailto:zhangsan@example.com" TargetMode="External"/></Relationships>')
    report = check_file(rezip(members, tmp_path / "mail.xlsx"), SPEC)
    assert [(f.code, f.severity) for f in report.findings] == [("hyperlink", "warning")]


def test_the_integrity_rules_emit_only_the_codes_they_declare(book, tmp_path):
    """Everything above in one workbook, each finding checked against the declaration of the rule
    that made it (the date format on an amount and a typed-over total: test_catalogue.py's corpus)."""
    members = zip_members(book)
    part = part_of(members, DEPT.sheet)
    members[part] = put_formula(members[part], DEPT.cell("staff_quota"), "cmd|'/c calc'!A1", 0)
    (ref, text), = label_cells(DEPT, 1)
    members[part] = put_formula(members[part], ref, f'HYPERLINK("http://example.com","{text}")', text)
    members["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500)
    folder, leaf = part.rsplit("/", 1)
    members[f"{folder}/_rels/{leaf}.rels"] = (
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'hyperlink" Target="mailto:zhangsan@example.com" TargetMode="External"/></Relationships>')
    members = move_sheet(_with_external_link(members), f"{PROJ.sheet} (2)", -1)
    codes = {f.code for f in checked_by_declared_rules(rezip(members, tmp_path / "hostile.xlsx"), SPEC)}
    assert {"input-formula", "label-formula", "macro-part", "external-link", "hyperlink",
            "project-outside-bookends"} <= codes, codes


def test_the_template_and_a_consistent_book_carry_none_of_these(book):
    for path in (TEMPLATE, book):
        codes = {f.code for f in check_file(path, SPEC).findings} if path == book else set()
        assert not codes & {"input-formula", "label-formula", "external-link", "macro-part", "project-outside-bookends"}
    from xltools.read.workbook import package_of
    from xltools.rules.integrity import package_findings
    from xltools.xlsx import open_book
    assert package_findings(package_of(open_book(TEMPLATE))) == []


# --- project sheets outside 项目表头…项目表尾 ----------------------------------------------------------
def move_sheet(members: dict, name: str, to: int) -> dict:
    """The sheet tab `name` moved to position `to`, sheet-scoped names following it."""
    members = dict(members)
    xml = members["xl/workbook.xml"].decode("utf-8")
    sheets = re.findall(r"<sheet [^>]*/>", xml)
    names = [re.search(r'name="([^"]*)"', s).group(1) for s in sheets]
    order = [n for n in names if n != name]
    order.insert(to if to >= 0 else len(order) + 1 + to, name)
    new_index = {old: order.index(n) for old, n in enumerate(names)}
    block = "".join(sheets[names.index(n)] for n in order)
    xml = xml.replace("".join(sheets), block)
    xml = re.sub(r'localSheetId="(\d+)"', lambda m: f'localSheetId="{new_index[int(m.group(1))]}"', xml)
    members["xl/workbook.xml"] = xml.encode("utf-8")
    return members


@pytest.mark.parametrize("to", [0, -1])
def test_a_project_sheet_outside_the_bookends_is_reported(book, tmp_path, to):
    moved = rezip(move_sheet(zip_members(book), f"{PROJ.sheet} (2)", to), tmp_path / "moved.xlsx")
    report = check_file(moved, SPEC)
    [f] = [f for f in report.findings if f.code == "project-outside-bookends"]
    assert f.severity == "warning" and f.sheet == f"{PROJ.sheet} (2)"
    assert FIRST_BOOKEND in f.message and LAST_BOOKEND in f.hint and "拖到" in f.hint
    # the checker itself still counts it: its 项目支出 agrees with the department's
    assert not [x for x in report.findings if x.code == "cross-report"]


def test_the_department_sheet_says_how_many_project_sheets_its_cross_check_counts(book, tmp_path, soffice):
    """Put the second project last (outside the bookends): score rewrites the cached cross check as
    the template computes it (one sheet counted, a gap), and LibreOffice agrees."""
    moved = rezip(move_sheet(zip_members(book), f"{PROJ.sheet} (2)", -1), tmp_path / "moved.xlsx")
    scored = tmp_path / "scored.xlsx"
    assert run_cli("score", moved, "-o", scored).returncode in (0, 1)
    ref = f"{openpyxl.utils.get_column_letter(SPEC.reports['dept'].check_column)}{cross_cell(SPEC)[0]}"
    ours = openpyxl.load_workbook(scored, data_only=True)[DEPT.sheet][ref].value
    theirs = openpyxl.load_workbook(soffice.recalculate(scored, tmp_path / "recalc.xlsx"),
                                    data_only=True)[DEPT.sheet][ref].value
    assert ours == theirs and "（计入 1 张项目表）" in ours, (ours, theirs)


def test_cross_report_is_quiet_while_no_project_figure_is_filled(tmp_path):
    """Not every project needs a self-evaluation: with no project, or a project whose 实际支出
    nobody typed, there is nothing to compare the department's 项目支出 (3003.00) with, in the
    data file and in the workbook filled from it (whose template shows the same blank note)."""
    doc = load_seed()
    unspent = copy.deepcopy(doc["projects"][0])
    for row in unspent["fund"].values():          # the 实际支出 column of the 资金 table, total too
        row["spent"] = ""
    for case, projects in (("none", []), ("unspent", [unspent])):
        doc["projects"] = projects
        data = write_json(tmp_path / f"{case}.json", doc)
        book = fill(data, tmp_path / f"{case}.xlsx", SPEC, template=TEMPLATE).path
        for path in (data, book):
            assert not [f for f in check_file(path, SPEC).findings if f.code == "cross-report"], (case, path)
        done = run_cli("check", "--json", book)
        assert "Traceback" not in done.stderr and "cross-report" not in done.stdout
