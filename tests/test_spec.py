"""The spec as a user meets it: `xltools spec fields --json`, and a bad spec refused with a
one-line Chinese message that names the file and the place in it, writing nothing.

The CLI is driven as a subprocess (`.venv/bin/xltools`), as a user or a script would run it.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import openpyxl
import pytest

from xltools import template_path
from xltools.spec import DEFAULT_SPEC, load_spec

XLTOOLS = Path(sys.executable).with_name("xltools")
SPEC_TEXT = DEFAULT_SPEC.read_text(encoding="utf-8")
SPEC_DOC = tomllib.loads(SPEC_TEXT)
CJK = re.compile(r"[\u4e00-\u9fff]")
SHEETS = {"部门整体支出": "workbook", "项目支出": "sheet"}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "XLTOOLS_PASSWORD"}
    return subprocess.run([str(XLTOOLS), *args], capture_output=True, text=True, env=env, timeout=120)


# --- xltools spec fields --json ----------------------------------------------------------------
@pytest.fixture(scope="module")
def fields_json() -> list[dict]:
    done = run_cli("spec", "fields", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_fields_json_has_every_key_and_unique_names(fields_json):
    assert len(fields_json) > 300          # both reports, every table cell
    runs = {n for r in load_spec().reports.values() for n in r.runs}
    for f in fields_json:
        assert set(f) == {"name", "label", "sheet", "cell", "typed", "scope", "kind", "unit"}, f
        assert all(isinstance(v, str) and v for k, v in f.items() if k != "typed"), f
        assert (f["typed"] is None) == (f["kind"] == "computed"), f
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", f["name"]), f     # usable as an Excel defined name
        assert CJK.search(f["label"]), f
        assert f["sheet"] in SHEETS and f["scope"] == SHEETS[f["sheet"]], f
        assert f["kind"] in ("input", "computed"), f
        # Printed columns A–H, but a long text: its name points at the cell in the hidden column J
        # that joins its rows (the rows themselves are in A–H).
        assert re.fullmatch(r"[A-H][1-9]\d*" if f["name"] not in runs else r"J[1-9]\d*", f["cell"]), f
    names = [f["name"] for f in fields_json]
    assert len(names) == len(set(names))
    cells = [(f["sheet"], f["cell"]) for f in fields_json]
    assert len(cells) == len(set(cells)), "two fields on one cell"


def test_fields_json_matches_the_python_api(fields_json):
    spec = load_spec()
    assert [(f["name"], f["cell"], f["kind"], f["unit"]) for f in fields_json] == \
           [(f.name, f.cell, f.kind, f.unit) for f in spec.fields()]
    # A few anchors a reader of the form can check against the printed template.
    by_name = {f["name"]: f for f in fields_json}
    assert by_name["dept_name"]["sheet"] == "部门整体支出" and by_name["dept_name"]["kind"] == "input"
    assert by_name["income_total_1"]["kind"] == "computed" and by_name["income_total_1"]["unit"] == "万元"
    assert by_name["project_name"]["scope"] == "sheet"
    assert by_name["p_score_total"]["kind"] == "computed"


def test_every_input_is_typed_where_the_template_holds_no_formula(fields_json):
    """A program writes a field where `typed` says (README: by name, not by cell). A long text's
    name and `cell` are its hidden join formula: written there, the text overwrote the formula and
    check called the workbook altered. Its rows are listed instead, and the join is left alone."""
    wb = openpyxl.load_workbook(template_path())
    inputs = [f for f in fields_json if f["kind"] == "input"]
    for f in inputs:
        cells = wb[f["sheet"]][f["typed"]]
        cells = [c for row in cells for c in row] if isinstance(cells, tuple) else [cells]
        assert not any(str(c.value or "").startswith("=") for c in cells), f
    texts = {f["name"]: f for f in inputs if ":" in f["typed"]}
    assert {"duties", "tasks", "achievements", "narrative", "p_narrative"} <= set(texts)
    for f in texts.values():
        assert str(wb[f["sheet"]][f["cell"]].value).startswith("=MID("), f     # the join, read only
    assert texts["narrative"]["typed"].startswith("A") and texts["duties"]["typed"].startswith("B13:")


def test_fields_plain_listing_names_every_field(fields_json):
    done = run_cli("spec", "fields")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [f["name"] for f in fields_json]


# --- a bad spec --------------------------------------------------------------------------------
def _index(items: list[dict], pred) -> int:
    return next(i for i, item in enumerate(items) if pred(item))


def _line_of(text: str) -> int:
    return SPEC_TEXT.splitlines().index(text) + 1


def _line_with(text: str, nth: int = 0) -> int:
    """The line of the nth occurrence of a piece of text (the place a message names)."""
    at = -1
    for _ in range(nth + 1):
        at = SPEC_TEXT.index(text, at + 1)
    return SPEC_TEXT.count("\n", 0, at) + 1


def _block_line(report: int, block: int) -> int:
    """The line of a block's [[reports.blocks]] header."""
    return _line_with("[[reports.blocks]]", sum(len(SPEC_DOC["reports"][r]["blocks"]) for r in range(report)) + block)


DEPT, PROJECT = SPEC_DOC["reports"][0], SPEC_DOC["reports"][1]
# lines the messages name
CONTACT_LINE = _line_with('field = "contact"')
BALANCE_LINE = _line_with('{ name = "资金结余"')
SECTION_TWO_LINE = _line_with('text = "二、部门（单位）收支情况"')
BASIC_LINE = _line_with('指标1：基本支出')
BASIC_RULE_LINE = _line_with('\nid = "basic"')       # the \n ends the rule's [[reports.rules]] line
ECOLOGY_LINE = _line_with('indicators = [{ name = "殡葬改革生态化建设"')
CHOICES_LINE = _line_with('choices = [')
DEPT_SHEET_LINE = _line_with('sheet = "部门整体支出"')
PROJECT_SHEET_LINE = _line_with('sheet = "项目支出"')
DEPT_LINE = _line_with('[[reports]]')
# Each case: one edit of specs/2022.toml, and the place the message must name. Places are looked
# up in the parsed spec, so that inserting a block above does not break the test.
BAD_SPECS = {
    "weights-not-100": (
        '{ name = "指标1：基本支出", weight = 10 }', '{ name = "指标1：基本支出", weight = 11 }',
        f"reports[0].blocks[{_index(DEPT['blocks'], lambda b: b['kind'] == 'indicators')}]", "101"),
    "unknown-field-in-rule": (
        'expr = "spend.personnel + spend.public"', 'expr = "spend.personel + spend.public"',
        f"reports[0].rules[{_index(DEPT['rules'], lambda r: r['id'] == 'basic')}]", "spend.personel"),
    "duplicate-field": (
        '{ field = "eval_org", label = "评价机构"', '{ field = "eval_method", label = "评价机构"',
        f"reports[0].blocks[{_index(DEPT['blocks'], lambda b: 'eval_org' in str(b))}].cells[1]", "eval_method"),
    "duplicate-field-across-reports": (
        'field = "project_name"', 'field = "dept_name"', "reports[1]", "dept_name"),
    "unknown-severity": (
        'severity = "warning"\nleft = "staff_actual"', 'severity = "严重"\nleft = "staff_actual"',
        f"reports[0].checks[{_index(DEPT['checks'], lambda c: c['id'] == 'staff')}]", "严重"),
    "id-of-a-builtin-code": (
        'id = "three-public"', 'id = "required"',
        f"reports[0].rules[{_index(DEPT['rules'], lambda r: r['id'] == 'three-public')}]", "required"),
    "toml-syntax": (
        "year = 2022", "year = 2022 2023", f"第 {_line_of('year = 2022')} 行第 13 列", "TOML 语法错误"),
    # a misspelt key was ignored and the template came out wrong without a word (not required, not
    # lower-is-better, no page break, a block dropped); now each is named with its line
    "misspelt-required": (
        '{ field = "contact", label = "联系人", unit = "text", required = true',
        '{ field = "contact", label = "联系人", unit = "text", requried = true',
        f"第 {CONTACT_LINE} 行 reports[0].blocks[{_index(DEPT['blocks'], lambda b: 'contact' in str(b))}]"
        ".cells[1].requried", "未知的键 requried"),
    "misspelt-lower-is-better": (
        '{ name = "资金结余", weight = 5, lower_is_better = true }', '{ name = "资金结余", weight = 5, lower_better = true }',
        f"第 {BALANCE_LINE} 行 reports[1].blocks[{_index(PROJECT['blocks'], lambda b: b['kind'] == 'indicators')}]"
        ".groups[3].indicators[1].lower_better", "未知的键 lower_better"),
    "misspelt-break-before": (
        'text = "二、部门（单位）收支情况"\nbreak_before = true', 'text = "二、部门（单位）收支情况"\nbreak_befor = true',
        f"第 {SECTION_TWO_LINE + 1} 行", "未知的键 break_befor"),
    "misspelt-table-header": (
        '[[reports.blocks]]\nkind = "section"\ntext = "二、部门（单位）收支情况"',
        '[[reports.block]]\nkind = "section"\ntext = "二、部门（单位）收支情况"',
        f"第 {SECTION_TWO_LINE - 2} 行 reports[0].block", "未知的键 block"),
    "misspelt-weight": (
        '{ name = "指标1：基本支出", weight = 10 }', '{ name = "指标1：基本支出", wieght = 10 }',
        f"第 {BASIC_LINE} 行 reports[0].blocks[{_index(DEPT['blocks'], lambda b: b['kind'] == 'indicators')}]"
        ".groups[1].indicators[0]", "缺少键 weight"),
    "missing-message": (
        'message = "基本支出应等于人员支出与公用支出之和"\n', '',
        f"第 {BASIC_RULE_LINE} 行 reports[0].rules[{_index(DEPT['rules'], lambda r: r['id'] == 'basic')}]",
        "缺少键 message"),
    # a value of the wrong type was an internal error (a traceback's class name, no place)
    "rows-as-text": (
        'field = "narrative"\nrequired = true\nrows = 36', 'field = "narrative"\nrequired = true\nrows = "36"',
        f"第 {_block_line(0, _index(DEPT['blocks'], lambda b: b.get('field') == 'narrative'))} 行 "
        f"reports[0].blocks[{_index(DEPT['blocks'], lambda b: b.get('field') == 'narrative')}]", "类型或写法不对"),
    "indicators-not-a-list": (
        'indicators = [{ name = "殡葬改革生态化建设", weight = 10 }]', 'indicators = "殡葬改革生态化建设"',
        f"第 {ECOLOGY_LINE - 3} 行 reports[1].blocks[{_index(PROJECT['blocks'], lambda b: b['kind'] == 'indicators')}].groups[6]", "类型或写法不对"),
    "unknown-unit": (
        '{ field = "contact", label = "联系人", unit = "text"', '{ field = "contact", label = "联系人", unit = "文本"',
        f"第 {CONTACT_LINE} 行", "'文本' 不可用"),
    "choices-not-a-list": (
        'choices = ["项目实施过程评价", "项目完成结果评价"]', 'choices = "项目实施过程评价"',
        f"第 {CHOICES_LINE} 行 reports[1].blocks[1].cells[1].choices", "选项文字的列表"),
    # a sheet name Excel refuses was an internal error; a sheet named twice, a broken workbook
    "sheet-name-excel-refuses": ('sheet = "部门整体支出"', 'sheet = "部门/整体支出"',
                                 f"第 {DEPT_SHEET_LINE} 行 reports[0].sheet", "不可用"),
    "sheet-name-twice": ('sheet = "项目支出"', 'sheet = "部门整体支出"',
                         f"第 {PROJECT_SHEET_LINE} 行 reports[1].sheet", "已被"),
    "sheet-name-of-a-bookend": ('sheet = "项目支出"', 'sheet = "项目表尾"', "reports[1].sheet", "已被"),
    # what a workbook holds: report kinds, identity, names, summary figures (issue 15)
    "two-reports-copied": ('scope = "workbook"\ntitle', 'scope = "sheet"\ntitle', "reports", "至多一张按项目复制"),
    "spec-before-report-kinds": ('[identity]\nunit = "dept_name"\ncopy_name = "project_name"\n', '', "[identity]", "旧规格"),
    "unknown-unit-field": ('unit = "dept_name"', 'unit = "unit_name"', "identity.unit", "unit_name"),
    "copy-name-not-on-the-copy": ('copy_name = "project_name"', 'copy_name = "contact"', "identity.copy_name", "项目支出"),
    "pack-name-unknown-part": ('name = "{year}_{unit}_绩效自评"', 'name = "{year}_{region}"', "pack.name", "{unit}"),
    # rules reading their own target (through others): no file, no line, the field's internal name only
    "rule-cycle": ('expr = "spend.basic + spend.project"', 'expr = "spend.balance_cum + spend.project"',
                   f"第 {DEPT_LINE} 行 reports[0]：规则 spend 循环引用：支出合计（第1行）", "用到了它自己"),
    # grades are listed from high to low: a typo's band was sorted above the top one in silence
    "grades-out-of-order": ("min = 80", "min = 95", "grades[1].min", "“良好”的下限 95 高于上一档“优秀”的 90"),
    "pack-name-a-folder": ('name = "{year}_{unit}_绩效自评"', 'name = "{year}/{unit}"', "pack.name", "不能用作文件名"),
    "pdf-name-a-folder": ('pdf = "{sheet}_{name}"', 'pdf = "项目/{name}"', "reports[1].pdf", "不能用作文件名"),
    "data-key-taken": ('data = "projects"', 'data = "year"', "reports[1].data", "year"),
    "figure-unknown-column": ('column = "spend.basic"', 'column = "spend.basics"', "summary.figures[2]", "spend.basics"),
    "figure-of-a-text": ('column = "three_public.total"', 'column = "three_public.org"', "summary.figures[4]", "不是金额"),
    "figure-key-twice": ('key = "arrived"', 'key = "plan"', "summary.copy_figures[1].key", "不重复"),
    "copy-figure-of-the-department": ('field = "fund_plan_total"', 'column = "spend.total"', "summary.copy_figures[0]",
                                      "spend.total"),
    "cross-total-on-the-copy": ('total = "spend.project"', 'total = "detail.amount"', "cross.total", "只有一张"),
}


def write_bad_spec(folder: Path, case: str) -> Path:
    old, new, _, _ = BAD_SPECS[case]
    assert SPEC_TEXT.count(old) == 1, f"the spec changed: {old!r} is no longer unique"
    path = folder / "2022 坏.toml"
    path.write_text(SPEC_TEXT.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", BAD_SPECS)
def test_bad_spec_fails_naming_the_place_and_writes_nothing(tmp_path, case):
    bad = write_bad_spec(tmp_path, case)
    out = tmp_path / "out" / "template.xlsx"
    done = run_cli("template", "--spec", str(bad), "-o", str(out))
    _, _, place, detail = BAD_SPECS[case]
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr            # one line, no traceback
    message = lines[0]
    assert "Traceback" not in done.stderr
    assert message.startswith("错误：") and CJK.search(message.removeprefix("错误："))
    assert str(bad) in message
    assert place in message and detail in message, message
    assert not re.search(r"\b(line|column|Expected|Invalid|None|True|False)\b", message), message   # no English
    assert not out.exists() and not out.parent.exists()
    assert [p.name for p in tmp_path.iterdir()] == [bad.name]


NATIONAL_TEXT = (DEFAULT_SPEC.parent / "national_2022.toml").read_text(encoding="utf-8")
NATIONAL_BAD = {   # the national form's own blocks: (edit, the message's place and words)
    # two groups of one id: a data file fills a group by id, the second could not be reached
    "group-id-twice": (('id = "social"', 'id = "economic"'), "groups[5].id", "指标组 id economic 重复"),
    # the 项目资金's weight as a word: an internal error (InvalidOperation)
    "budget-weight-a-word": (('weight = 10\ninitial', 'weight = "十"\ninitial'), "reports[0].blocks[3]", "类型或写法不对"),
    "any-region-a-word": (("any_region = true", 'any_region = "yes"'), "template.any_region", "true 或 false"),
}


@pytest.mark.parametrize("case", NATIONAL_BAD)
def test_bad_national_spec_fails_naming_the_place(tmp_path, case):
    (old, new), place, detail = NATIONAL_BAD[case]
    assert NATIONAL_TEXT.count(old) == 1, old
    bad = tmp_path / "国家表式.toml"
    bad.write_text(NATIONAL_TEXT.replace(old, new), encoding="utf-8")
    done = run_cli("template", "--spec", str(bad), "-o", str(tmp_path / "t.xlsx"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"{bad} 第 " in done.stderr and place in done.stderr and detail in done.stderr, done.stderr
    assert not (tmp_path / "t.xlsx").exists()


def test_bad_spec_leaves_an_existing_output_untouched(tmp_path):
    bad = write_bad_spec(tmp_path, "weights-not-100")
    out = tmp_path / "self_eval.xlsx"
    out.write_bytes(b"last year's template")
    done = run_cli("template", "--spec", str(bad), "-o", str(out))
    assert done.returncode == 2
    assert out.read_bytes() == b"last year's template"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([bad.name, out.name])


def test_a_copied_spec_without_o_keeps_last_years_template(tmp_path):
    """README's admin step is `cp specs/2022.toml specs/2023.toml`: the copy names the same default
    file, so `xltools template --spec specs/2023.toml` without -o overwrote templates/self_eval.xlsx,
    the 2022 template its workbooks are still checked against, without a word."""
    shipped = template_path()
    before = shipped.read_bytes()
    spec = tmp_path / "2023.toml"
    spec.write_text(SPEC_TEXT.replace("year = 2022", "year = 2023", 1), encoding="utf-8")
    try:
        done = run_cli("template", "--spec", str(spec))
    finally:
        after = shipped.read_bytes()
        if after != before:                 # (the repository's template, whatever the outcome; left
            shipped.write_bytes(before)     # untouched when unchanged: other test workers read it)
    assert after == before
    assert done.returncode == 2 and done.stdout == "", done
    assert done.stderr.count("\n") == 1 and "临湘市2022年度模板（第2版），不覆盖" in done.stderr and "-o" in done.stderr
    assert not [p for p in shipped.parent.iterdir() if p.name.startswith(".~xltools")]


def test_a_spec_saved_by_windows_notepad_builds_or_says_how_to_save_it(tmp_path):
    """Notepad saves UTF-8 with a BOM (a TOML syntax error at line 1, column 1 before), or GBK ("ANSI")."""
    bom = tmp_path / "2023.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + SPEC_TEXT.replace("year = 2022", "year = 2023", 1).encode("utf-8"))
    done = run_cli("template", "--spec", str(bom), "-o", str(tmp_path / "t.xlsx"))
    assert done.returncode == 0 and "临湘市2023年度模板" in done.stdout, done.stderr
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes("[template]\nyear = 2023\nregion = \"华容县\"\n".encode("gbk"))
    done = run_cli("template", "--spec", str(gbk), "-o", str(tmp_path / "g.xlsx"))
    assert done.returncode == 2 and "不是 UTF-8 编码" in done.stderr and "编码选 UTF-8" in done.stderr, done.stderr


def test_good_spec_copy_builds(tmp_path):
    """The bad-spec cases above fail because of their one edit, not because of the copy."""
    spec = tmp_path / "2023.toml"
    spec.write_text(SPEC_TEXT, encoding="utf-8")
    out = tmp_path / "t.xlsx"
    done = run_cli("template", "--spec", str(spec), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 10_000
