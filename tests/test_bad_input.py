"""Files the tools cannot use: `xltools check` refuses each one with exit 2 and one Chinese line
naming the file, no traceback, little memory, and the file untouched. Bad data files given to
`xltools fill` likewise: exit 2, a message naming the key, and no output file.

Memory: each run goes through a tiny wrapper process whose only child is `xltools`; the wrapper
reads getrusage(RUSAGE_CHILDREN).ru_maxrss, the peak RSS of that one child (Linux, KB). Measuring
from the test process instead would report the largest child it ever waited for (LibreOffice in
other tests), and an RLIMIT_AS cap would only show that the run dies, not that it stays small.
"""
from __future__ import annotations

import json
import re
import shutil
import struct
import zipfile
from pathlib import Path

import openpyxl
import pytest

from helpers import CJK, ROOT, SEED, load_seed, rezip, run_cli, run_measured, sha256, write_json, zip_members, sheet_parts
from xltools.build.names import FINGERPRINT_NAME
from xltools.write.fill import fill
from xltools.spec import load_spec

SPEC = load_spec()
PEAK_LIMIT_KB = 200 * 1024
BOMB_BYTES = 1100 * 2**20          # > 1 GB of zeros once inflated


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return fill(SEED, tmp_path_factory.mktemp("good") / "good.xlsx", SPEC).path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory, good) -> Path:
    """A valid-looking workbook whose department sheet inflates to > 1 GB of zeros.

    Written streaming through zipfile (1 MB at a time): the test never holds the gigabyte."""
    path = tmp_path_factory.mktemp("bomb") / "炸弹.xlsx"
    members = zip_members(good)
    sheet = sheet_parts(good)[SPEC.reports["dept"].sheet]
    head = members[sheet][:members[sheet].index(b"<sheetData")] + b"<sheetData>"
    chunk = bytes(2**20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            if name != sheet:
                z.writestr(name, data)
                continue
            with z.open(name, "w", force_zip64=True) as member:
                member.write(head)
                for _ in range(BOMB_BYTES // len(chunk)):
                    member.write(chunk)
    return path


# --- the bad files ---------------------------------------------------------------------------------
def not_a_workbook(tmp, good):
    p = tmp / "报表.xlsx"
    p.write_text("这是一个文本文件，不是工作簿。\n", encoding="utf-8")
    return p


def encrypted(tmp, good):
    # What Excel writes for a workbook with an open password: an OLE2 (CFB) container holding an
    # EncryptedPackage stream, whose directory entry names it in UTF-16-LE.
    p = tmp / "加密.xlsx"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptedInfo".encode("utf-16-le")
                  + bytes(100) + "EncryptedPackage".encode("utf-16-le") + bytes(2000))
    return p


def old_xls(tmp, good):
    p = tmp / "旧版.xls"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "Workbook".encode("utf-16-le") + bytes(4000))
    return p


def old_xls_named_xlsx(tmp, good):
    p = old_xls(tmp, good)
    return p.rename(tmp / "改了扩展名.xlsx")


def empty(tmp, good):
    p = tmp / "空.xlsx"
    p.write_bytes(b"")
    return p


def truncated(tmp, good):
    p = tmp / "下载中断.xlsx"
    data = good.read_bytes()
    p.write_bytes(data[:len(data) // 2])
    return p


def zip_bomb(tmp, good, bomb):
    return bomb


def zip_bomb_lying_size(tmp, good, bomb):
    """The same bomb with its central directory claiming 4 KB: only the CRC can tell."""
    data = bytearray(bomb.read_bytes())
    sheet = sheet_parts(good)[SPEC.reports["dept"].sheet].encode()
    at = 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46: at + 46 + name_len]) == sheet:
            break
        at += 4
    assert struct.unpack_from("<I", data, at + 24)[0] == 0xFFFFFFFF or struct.unpack_from("<I", data, at + 24)[0] > 2**30
    struct.pack_into("<I", data, at + 24, 4096)
    p = tmp / "谎报大小.xlsx"
    p.write_bytes(bytes(data))
    with zipfile.ZipFile(p) as z:          # the lie is what a zip reader sees
        assert z.getinfo(sheet.decode()).file_size == 4096
    return p


def ratio_bomb(tmp, good):
    """40 MB of zeros: under the per-member size limit, but compressed 1000:1."""
    members = zip_members(good)
    members["xl/worksheets/sheet1.xml"] = members["xl/worksheets/sheet1.xml"] + bytes(40 * 2**20)
    return rezip(members, tmp / "高压缩比.xlsx")


BILLION_LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                            for i in range(1, 10))
                  + "]>")


def _with_doctype(good, tmp, name, part, doctype, entity):
    members = zip_members(good)
    xml = members[part].decode("utf-8")
    decl = re.match(r"<\?xml[^>]*\?>", xml)
    cut = decl.end() if decl else 0
    xml = xml[:cut] + doctype + xml[cut:]
    # use the entity where a reader would expand it: inside the fingerprint's defined name
    xml = xml.replace(f'name="{FINGERPRINT_NAME}">', f'name="{FINGERPRINT_NAME}">&{entity};', 1) \
        if part == "xl/workbook.xml" else xml.replace("<sheetData>", f"<sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&{entity};</t></is></c></row>", 1)
    members[part] = xml.encode("utf-8")
    return rezip(members, tmp / name)


def billion_laughs(tmp, good):
    return _with_doctype(good, tmp, "笑.xlsx", "xl/workbook.xml", BILLION_LAUGHS, "lol9")


def external_entity(tmp, good):
    return _with_doctype(good, tmp, "外部实体.xlsx", "xl/workbook.xml",
                         '<!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "xxe")


def external_entity_in_sheet(tmp, good):
    return _with_doctype(good, tmp, "外部实体2.xlsx", "xl/worksheets/sheet1.xml",
                         '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "xxe")


def other_year(tmp, good):
    """The template of a 2023 spec no command here knows (a copy of the 2022 one, edited; a
    template built with --year from a known spec's text is read with that spec)."""
    p, spec = tmp / "2023模板.xlsx", tmp / "2023.toml"
    spec.write_text((ROOT / "specs" / "2022.toml").read_text(encoding="utf-8").replace("year = 2022", "year = 2023", 1),
                    encoding="utf-8")
    done = run_cli("template", "--spec", spec, "-o", p)
    assert done.returncode == 0, done.stderr
    return p


def other_template_version(tmp, good):
    members = zip_members(good)
    wb = members["xl/workbook.xml"].decode("utf-8")
    assert SPEC.fingerprint in wb
    members["xl/workbook.xml"] = wb.replace(SPEC.fingerprint, SPEC.fingerprint[:-16] + "0123456789abcdef").encode()
    return rezip(members, tmp / "旧模板.xlsx")


def _openpyxl_edit(good, path, edit):
    wb = openpyxl.load_workbook(good)
    edit(wb)
    wb.save(path)
    return path


def fingerprint_removed(tmp, good):
    return _openpyxl_edit(good, tmp / "无标识.xlsx", lambda wb: wb.defined_names.pop(FINGERPRINT_NAME))


def dept_sheet_renamed(tmp, good):
    # renamed as openpyxl does it: the defined names still point at the old sheet name
    def edit(wb):
        wb[SPEC.reports["dept"].sheet].title = "整体支出"
    return _openpyxl_edit(good, tmp / "改名1.xlsx", edit)


def project_sheet_renamed(tmp, good):
    def edit(wb):
        wb[SPEC.reports["project"].sheet].title = "民政专项"
    return _openpyxl_edit(good, tmp / "改名2.xlsx", edit)


def dept_sheet_deleted(tmp, good):
    return _openpyxl_edit(good, tmp / "删表1.xlsx", lambda wb: wb.remove(wb[SPEC.reports["dept"].sheet]))


def project_sheet_deleted(tmp, good):
    return _openpyxl_edit(good, tmp / "删表2.xlsx", lambda wb: wb.remove(wb[SPEC.reports["project"].sheet]))


def dept_names_removed(tmp, good):
    def edit(wb):
        for name in SPEC.reports["dept"].fields:
            wb.defined_names.pop(name)
    return _openpyxl_edit(good, tmp / "无名称1.xlsx", edit)


def project_names_removed(tmp, good):
    def edit(wb):
        ws = wb[SPEC.reports["project"].sheet]
        for name in list(SPEC.reports["project"].fields)[:5]:
            ws.defined_names.pop(name)
    return _openpyxl_edit(good, tmp / "无名称2.xlsx", edit)


BAD = [not_a_workbook, encrypted, old_xls, old_xls_named_xlsx, empty, truncated, zip_bomb,
       zip_bomb_lying_size, ratio_bomb, billion_laughs, external_entity, external_entity_in_sheet,
       other_year, other_template_version, fingerprint_removed, dept_sheet_renamed, project_sheet_renamed,
       dept_sheet_deleted, project_sheet_deleted, dept_names_removed, project_names_removed]


@pytest.fixture(scope="module")
def build(tmp_path_factory, good, bomb):
    """build(make, tmp) -> a fresh copy in tmp of the bad file `make` gives (each made once)."""
    made = {}

    def get(make, tmp: Path) -> Path:
        if make not in made:
            where = tmp_path_factory.mktemp(make.__name__)
            made[make] = make(where, good, bomb) if make in (zip_bomb, zip_bomb_lying_size) else make(where, good)
        copy = tmp / made[make].name
        shutil.copyfile(made[make], copy)
        return copy
    return get


def assert_refused(run: dict, path: Path) -> str:
    assert run["rc"] == 2, run
    assert run["out"] == ""
    assert "Traceback" not in run["err"]
    lines = [line for line in run["err"].splitlines() if line.strip()]
    assert len(lines) == 1, run["err"]
    assert str(path) in lines[0] and CJK.search(lines[0]), lines[0]
    assert run["peak_kb"] < PEAK_LIMIT_KB, f"peak RSS {run['peak_kb'] // 1024} MB"
    return lines[0]


@pytest.mark.parametrize("make", BAD, ids=lambda f: f.__name__)
def test_check_refuses_with_one_chinese_line(make, tmp_path, build):
    path = build(make, tmp_path)
    before = sha256(path)
    line = assert_refused(run_measured("check", path), path)
    assert sha256(path) == before
    assert set(tmp_path.iterdir()) <= {path}, "check wrote a file"
    if make in (billion_laughs, external_entity, external_entity_in_sheet):
        assert "root:" not in line and "lol" not in line


@pytest.mark.parametrize("make", [truncated, zip_bomb, billion_laughs, other_year, dept_sheet_renamed],
                         ids=lambda f: f.__name__)
def test_score_refuses_and_writes_nothing(make, tmp_path, build):
    path = build(make, tmp_path)
    before = sha256(path)
    out = tmp_path / "scored.xlsx"
    run = run_measured("score", path, "-o", out)
    assert run["rc"] == 2 and "Traceback" not in run["err"] and str(path) in run["err"], run
    assert run["peak_kb"] < PEAK_LIMIT_KB
    assert not out.exists() and sha256(path) == before
    run = run_measured("score", path, "--in-place")
    assert run["rc"] == 2 and sha256(path) == before


# The stable code each bad file is refused with (xltools.check returns it as data).
REASONS = {not_a_workbook: "not-xlsx", encrypted: "encrypted", old_xls: "old-xls", old_xls_named_xlsx: "old-xls",
           empty: "empty", truncated: "damaged", zip_bomb: "zip-bomb", zip_bomb_lying_size: "damaged",
           ratio_bomb: "zip-bomb", billion_laughs: "entity-attack", external_entity: "entity-attack",
           external_entity_in_sheet: "entity-attack", other_year: "other-template",
           other_template_version: "other-template", fingerprint_removed: "other-template",
           dept_sheet_renamed: "sheet-missing", project_sheet_renamed: "names-missing",
           dept_sheet_deleted: "sheet-missing", project_sheet_deleted: "sheet-missing",
           dept_names_removed: "names-missing", project_names_removed: "names-missing"}


def test_every_bad_file_is_refused_with_its_code(tmp_path, build):
    """The API gives each refusal as data: a stable code and the same Chinese line, from the
    path and from the bytes alike (the collector checks zip members in memory)."""
    import xltools
    assert set(REASONS) == set(BAD)
    got = {}
    for make in BAD:
        path = build(make, tmp_path)
        by_path = xltools.check(path, SPEC)
        by_bytes = xltools.check(path.read_bytes(), SPEC, name=path.name)
        assert by_path.ok is False and by_path.findings == [] and str(path) in by_path.message
        assert by_path.refused in xltools.REFUSED_REASONS
        assert (by_bytes.refused, by_bytes.file) == (by_path.refused, path.name)
        assert by_bytes.message == by_path.message.replace(str(path), path.name)
        got[make.__name__] = by_path.refused
    assert got == {make.__name__: code for make, code in REASONS.items()}


def test_messages_say_what_is_wrong(tmp_path, build):
    """One word a bookkeeper can act on per kind of file."""
    expect = {encrypted: "密码", old_xls: ".xls", empty: "空文件", truncated: "损坏", zip_bomb: "可疑",
              ratio_bomb: "压缩比", billion_laughs: "DTD", other_year: "2023", dept_sheet_renamed: "部门整体支出",
              project_names_removed: "定义名称", fingerprint_removed: FINGERPRINT_NAME}
    for make, word in expect.items():
        path = build(make, tmp_path)
        done = run_cli("check", path)
        assert word in done.stderr, (make.__name__, done.stderr)


def test_renamed_project_sheet_with_its_names_fixed_is_still_read(tmp_path, good):
    """What Excel does on rename (names follow the sheet) is fine: the sheet is found by its mark."""
    members = zip_members(good)
    wb = members["xl/workbook.xml"].decode("utf-8")
    new, old = "民政专项资金", SPEC.reports["project"].sheet
    members["xl/workbook.xml"] = wb.replace(f'name="{old}"', f'name="{new}"') \
        .replace(f"'{old}'!", f"'{new}'!").encode("utf-8")
    path = rezip(members, tmp_path / "renamed.xlsx")
    done = run_cli("check", "--json", path)
    assert done.returncode == 1, done.stderr          # the seed's own errors, nothing about the file
    assert f'"sheet": "{new}"' in done.stdout


# --- fill with a bad data file ----------------------------------------------------------------------
def _edit_seed(change):
    doc = load_seed()
    change(doc)
    return doc


BAD_DATA = {
    "unknown_key": (lambda d: d["dept"].__setitem__("dept_nmae", "临湘市民政局"), "dept.dept_nmae"),
    "unknown_column": (lambda d: d["dept"]["income"][0].__setitem__("public", "1"), "dept.income[0].public"),
    "unknown_top_level": (lambda d: d.__setitem__("department", {}), "department"),
    "wrong_type": (lambda d: d["dept"]["income"][0].__setitem__("public_budget", "abc"),
                   "dept.income[0].public_budget"),
    "boolean_amount": (lambda d: d["dept"]["income"][0].__setitem__("other", True), "dept.income[0].other"),
    "negative_amount": (lambda d: d["dept"]["spend"][0].__setitem__("public", "-56.60"), "dept.spend[0].public"),
    "three_decimals": (lambda d: d["projects"][0]["detail"][0].__setitem__("amount", "140.005"),
                       "projects[0].detail[0].amount"),
    "fractional_head_count": (lambda d: d["dept"].__setitem__("staff_actual", "44.5"), "dept.staff_actual"),
    "bad_choice": (lambda d: d["projects"][0].__setitem__("eval_type", "结果评价"), "projects[0].eval_type"),
    "other_year": (lambda d: d.__setitem__("year", 2023), "2023"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_fill_refuses_bad_data_naming_the_key(case, tmp_path):
    change, key = BAD_DATA[case]
    data = write_json(tmp_path / "data.json", _edit_seed(change))
    out = tmp_path / "out.xlsx"
    done = run_cli("fill", data, "-o", out)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert key in done.stderr and CJK.search(done.stderr), done.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.json"]   # no temporary left behind either


def test_fill_writes_a_score_above_its_weight_and_says_so(tmp_path):
    """A score above its weight is a finding, not unreadable data: the published seed has one (the
    department's 满意度). fill writes it as stated and says so; check reports it at its cell."""
    doc = _edit_seed(lambda d: d["projects"][0]["proj_ind"][2].update(score="6", target="", actual=""))
    data, out = write_json(tmp_path / "data.json", doc), tmp_path / "out.xlsx"
    done = run_cli("fill", data, "-o", out)
    proj = SPEC.reports["project"]
    assert done.returncode == 0, done.stderr
    assert f"{proj.sheet}!{proj.cell('proj_ind_score_3')} " in done.stderr and "得分 6.00 超出 0 至分值 5.00" in done.stderr
    found = json.loads(run_cli("check", "--json", out).stdout)[0]["findings"]
    assert [(f["code"], f["cell"]) for f in found if f["sheet"] == proj.sheet and f["severity"] == "error"] == [
        ("score-range", proj.cell("proj_ind_score_3"))]


def test_fill_refuses_data_that_is_not_json(tmp_path):
    data = tmp_path / "data.json"
    data.write_text('{"dept": {"dept_name": "临湘市民政局",}', encoding="utf-8")
    done = run_cli("fill", data, "-o", tmp_path / "out.xlsx")
    assert done.returncode == 2 and "data.json" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out.xlsx").exists()


@pytest.mark.parametrize("template", ["text", "missing"])
def test_fill_refuses_a_bad_template(template, tmp_path):
    path = tmp_path / "模板.xlsx"
    if template == "text":
        path.write_text("不是模板", encoding="utf-8")
    done = run_cli("fill", SEED, "-o", tmp_path / "out.xlsx", "--template", path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert str(path.name) in done.stderr


@pytest.mark.parametrize("year", ["2022年", None])
def test_a_year_that_is_not_a_number_is_a_clear_error(year, tmp_path):
    data = write_json(tmp_path / "data.json", _edit_seed(lambda d: d.__setitem__("year", year)))
    for args in (("check", data), ("fill", data, "-o", tmp_path / "out.xlsx")):
        done = run_cli(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "year" in done.stderr or "年度" in done.stderr
    assert not (tmp_path / "out.xlsx").exists()


def test_an_absurdly_large_amount_in_a_data_file_is_a_clear_error(tmp_path):
    data = tmp_path / "data.json"
    text = json.dumps(load_seed(), ensure_ascii=False).replace('"other": "50.74"', '"other": 1e30', 1)
    assert "1e30" in text
    data.write_text(text, encoding="utf-8")
    done = run_cli("fill", data, "-o", tmp_path / "out.xlsx")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "dept.income[0].other" in done.stderr
    assert not (tmp_path / "out.xlsx").exists()


def test_an_absurd_number_in_a_workbook_cell_is_reported_not_a_crash(tmp_path, good):
    from xltools.ooxml.package import Package
    book = Package(good.read_bytes())
    cell = SPEC.reports["dept"].cell("income_other_1")
    book.sheet(SPEC.reports["dept"].sheet).set(cell, 1e300)
    path = book.save(tmp_path / "巨大.xlsx")
    done = run_cli("check", "--json", path)
    assert "Traceback" not in done.stderr, done.stderr[-300:]
    assert done.returncode in (1, 2)
    assert done.returncode == 2 or f'"cell": "{cell}"' in done.stdout


def test_an_error_value_in_a_workbook_cell_is_reported_at_its_cell(tmp_path, good):
    """A figure cell showing #DIV/0! (Excel, WPS and openpyxl write it as t="e") is unreadable."""
    import openpyxl
    wb = openpyxl.load_workbook(good)
    cell = SPEC.reports["dept"].cell("income_other_1")
    wb[SPEC.reports["dept"].sheet][cell] = "#DIV/0!"
    assert wb[SPEC.reports["dept"].sheet][cell].data_type == "e"
    path = tmp_path / "错误值.xlsx"
    wb.save(path)
    done = run_cli("check", "--json", path)
    assert done.returncode == 1, done.stderr[-300:]
    found = [f for f in json.loads(done.stdout)[0]["findings"] if f["cell"] == cell]
    assert [(f["code"], f["severity"], f["actual"]) for f in found] == [("unreadable", "error", "#DIV/0!")]
    assert "单元格显示错误值 #DIV/0!" in found[0]["message"]   # read as an error, not as text


def _check_json(path) -> tuple[int, list[dict]]:
    done = run_cli("check", "--json", path)
    assert "Traceback" not in done.stderr, done.stderr[-300:]
    doc = json.loads(done.stdout)
    doc = doc[0] if isinstance(doc, list) else doc      # one file: an object (an array of one, later)
    return done.returncode, doc["findings"]


def test_an_amount_cell_formatted_as_a_date_is_reported_at_its_cell(tmp_path, good):
    """Excel gives a cell a date format of its own when a date is typed into it: the bookkeeper
    sees 2022-12-31, the checker would read 44926 万元."""
    cell, other = SPEC.reports["dept"].cell("income_public_budget_1"), SPEC.reports["dept"].cell("staff_quota")
    runs = []
    for formatted in (False, True):          # the same openpyxl round trip without the format: the control
        wb = openpyxl.load_workbook(good)
        ws = wb[SPEC.reports["dept"].sheet]
        assert isinstance(ws[cell].value, (int, float)) and ws[cell].value > 0
        if formatted:
            ws[cell].number_format = "yyyy/m/d"
            ws[other].number_format = "yyyy/m/d"      # a 人 cell shown as a date: not an amount
        path = tmp_path / f"日期格式{int(formatted)}.xlsx"
        wb.save(path)
        runs.append(_check_json(path))
    before = {(f["code"], f["cell"]) for f in runs[0][1]}
    code, findings = runs[1]
    assert code == 1
    new = [(f["code"], f["severity"], f["cell"]) for f in findings if (f["code"], f["cell"]) not in before]
    assert new == [("amount-date-format", "error", cell)]
    message = next(f["message"] for f in findings if f["code"] == "amount-date-format")
    assert "日期格式" in message and "显示为日期" in message and "万元" in message, message


@pytest.mark.parametrize("typed", [44.5, "44.5", -3])
def test_a_head_count_that_is_not_a_whole_number_says_so(tmp_path, good, typed):
    wb = openpyxl.load_workbook(good)
    cell = SPEC.reports["dept"].cell("staff_actual")
    wb[SPEC.reports["dept"].sheet][cell] = typed
    path = tmp_path / "人数.xlsx"
    wb.save(path)
    code, findings = _check_json(path)
    assert code == 1
    errors = [f for f in findings if f["severity"] == "error" and f["cell"] == cell]
    assert [f["code"] for f in errors] == ["unreadable"]
    assert errors[0]["message"] == f"实有人数 {typed} 须为不小于 0 的整数（单位：人）"
    assert not any("必填项未填" in f["message"] for f in findings)
