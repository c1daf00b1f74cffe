"""The catalogue of findings (xltools/catalogue.py): one declaration of each code.

- The README's rule table is the catalogue's generation (as sqlite-utils' test_docs does).
- Every code the checker emits over a corpus (the seed, its workbook, reports changed to break
  every rule, damaged cells) is in the catalogue, and every catalogued code is emitted by some
  member of the corpus (except the ones listed with their reason).
- The Python and Excel renderings of a template are one sentence.
"""
from __future__ import annotations

import ast
import copy
import random
import re
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl.utils import get_column_letter

from helpers import CJK, ROOT, SEED, checked_by_declared_rules, consistent_data, load_seed, write_json
from xltools import catalogue
from xltools.a1 import a1
from xltools.errors import BookError, DataError
from xltools.ooxml.package import Package
from xltools.checker import check_file
from xltools.write.fill import fill, write_instances
from xltools.read.workbook import read_workbook
from xltools.write.score import score_workbook
from xltools.spec import load_spec

SPEC = load_spec()


def test_readme_rule_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == catalogue.readme_with_table(readme), \
        "README.md 的规则表与 xltools/catalogue.py 不一致：请运行 python -m xltools.catalogue --readme"
    # and the table lists every code of every shipped spec, once
    table = readme[readme.index(catalogue.README_BEGIN):readme.index(catalogue.README_END)]
    codes = [e.code for e in catalogue.all_entries(*catalogue.shipped_specs())]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert table.count(f"| `{code}` |") == 1, code


def test_the_spec_rules_keep_their_wording():
    entries = {e.code: e for e in catalogue.spec_entries(SPEC)}
    basic = next(r for r in SPEC.reports["dept"].sums if r.code == "basic")
    assert entries["basic"].title == basic.message and entries["basic"].hint == basic.hint
    assert entries["cross-report"].severity == SPEC.cross.severity == "warning"
    assert entries["staff"].severity == "warning" and entries["staff"].twin == catalogue.INLINE
    # detail names two relations, each with its own code
    assert entries["detail-sum"].twin == catalogue.FORMULA and entries["detail-spent"].twin == catalogue.INLINE


def test_python_and_excel_render_one_template():
    e = catalogue.entry("weight-sum")
    args = dict(target="100", total="95.00", direction="少", gap="5.00")
    assert e.text(**args) == "各指标分值合计应为 100，现为 95.00，少 5.00 分"
    # every argument a literal: the Excel string is that sentence, quoted
    assert e.excel(**args) == '"各指标分值合计应为 100，现为 95.00，少 5.00 分"'
    excel = e.excel(target="100", total=catalogue.excel_figure("SUM(H2:H5)", "score"),
                    direction=catalogue.excel_direction("SUM(H2:H5)-100"),
                    gap=catalogue.excel_figure("ABS(SUM(H2:H5)-100)", "score"))
    assert excel == ('"各指标分值合计应为 100，现为 "&TEXT(SUM(H2:H5),"0.00")&"，"&IF(SUM(H2:H5)-100<0,"少","多")'
                     '&" "&TEXT(ABS(SUM(H2:H5)-100),"0.00")&" 分"')
    assert catalogue.figure(Decimal("-45"), "万元") == "-45.00" and catalogue.figure(Decimal("55"), "人") == "55"
    assert catalogue.entry("text-amount").excel(phrase='"', quoted="1", wan="0", label="", cell="A1",
                                                value="0").startswith('"综述中"" 1 元')   # quotes doubled
    # Excel refuses a text constant over 255 characters: a long spec message is split
    long = catalogue.Entry("x", "error", "长" * 600, "{title}").excel()
    assert long == "&".join(['"' + "长" * 255 + '"'] * 2 + ['"' + "长" * 90 + '"'])


def test_finding_from_a_code():
    f = catalogue.finding("required", "部门整体支出", "B5", label="联系人")
    assert (f.code, f.severity, f.sheet, f.cell, f.message) == ("required", "error", "部门整体支出", "B5",
                                                                "必填项未填：联系人")
    f = catalogue.finding("number-text", "部门整体支出", "C20", where="dept.income[0].total", note="x")
    assert f.severity == "warning" and f.message == "x（dept.income[0].total）"
    assert f.hint == catalogue.entry("number-text").hint
    f = catalogue.finding("text-amount", "部门整体支出", "A88", phrase="预算支出", quoted="35125167.01",
                          wan="3512.52", label="支出合计", cell="B28", value="3511.69")
    assert f.message == "综述中预算支出 35125167.01 元（3512.52 万元）与支出合计 B28 的 3511.69 万元不符"
    assert f.hint == "核对综述中的金额与表中 B28"


# --- the corpus: every code the checker can emit ------------------------------------------------
# Codes of the catalogue that nothing in the corpus emits, each with its reason. (A spec whose
# table has a total row without a `total_rule` id would add rows-to-total, from the spec.)
_PACK = "emitted by `xltools collect` on a received pack, not by the checker (tests/test_collect.py)"
NOT_EMITTED: dict[str, str] = {
    # workbooks built to carry them, checked through the command line: tests/test_book_trust.py
    "input-formula": "test_book_trust.py: formulas typed into input cells",
    "label-formula": "test_book_trust.py: formulas over labels and in blank cells",
    "external-link": "test_book_trust.py: an externalLinks part",
    "hyperlink": "test_book_trust.py: a hyperlink relationship",
    "macro-part": "test_book_trust.py: a vbaProject.bin part",
    "project-outside-bookends": "test_book_trust.py: a project sheet moved first or last",
    "conf-sheet": "test_addin_security.py: a veryHidden xltools.conf sheet, through check, the API and collect",
    "pack-missing": _PACK, "pack-hash": _PACK, "pack-unlisted": _PACK,
    "values-copy": "test_inbox.py: the values-only workbook of a real pack, checked alone and in a pack",
    "pack-name-taken": "test_pack_batch.py: two units whose names clean to one in a batch",
    "pack-name-shortened": "test_pack_batch.py: a unit whose name is too long for a file name",
    "carryover-previous": "test_previous.py: this year's report against last year's (check --previous, collect)",
}


def _bump(value: str) -> str:
    return str(Decimal(value) + 1)


def _data_corpus(tmp_path) -> list:
    """Reports as data files: the seed, a consistent report with each stated figure changed in
    turn (fires every identity and check of the spec), and reports with one bad entry each."""
    docs = [load_seed()]
    base = consistent_data(SPEC, random.Random(11).randint, n_orgs=2, n_projects=2)
    sections = [("dept", base["dept"])] + [(i, p) for i, p in enumerate(base["projects"])]
    for key, section in sections:
        rep = SPEC.reports["dept"] if key == "dept" else SPEC.reports["project"]
        for name, raw in section.items():
            if rep.fields[name].numeric and raw not in ("", None):
                doc = copy.deepcopy(base)
                (doc["dept"] if key == "dept" else doc["projects"][key])[name] = _bump(raw)
                docs.append(doc)
    edits = [
        lambda d: d["dept"].__setitem__("contact", ""),                           # required
        lambda d: d["dept"].__setitem__("income_other_1", "五十"),                 # unreadable
        lambda d: d["dept"].__setitem__("income_other_1", "1,000.00"),            # number-text
        lambda d: d["dept"].update(staff_quota="51", staff_actual="55"),          # staff
        lambda d: d["dept"].__setitem__("grade", "差"),                            # grade
        lambda d: d["projects"][0].__setitem__("proj_ind_score_1", "7"),          # score-range
        lambda d: d["dept"].__setitem__("assets_org_2", d["dept"]["income_org_2"] + "（二级）"),  # copy-differs
        lambda d: d["dept"].__setitem__("dept_ind_name_2", "指标1：政府采购执行率"),   # indicator-order
    ]
    for edit in edits:
        doc = copy.deepcopy(base)
        edit(doc)
        docs.append(doc)
    return [write_json(tmp_path / f"data{i}.json", doc) for i, doc in enumerate(docs)]


def _recomputed(path: Path) -> Path:
    """The workbook as a spreadsheet application saves it after an edit: every formula's cached
    value recomputed from its inputs (by the template's Python twin, as `xltools score` does)."""
    filled = read_workbook(path, SPEC)
    book = Package(path.read_bytes())
    write_instances(book, SPEC, filled.instances, write_inputs=False)
    return book.save(path)


def _book_corpus(tmp_path) -> tuple[list[Path], list[Path]]:
    """Workbooks: the seed's; a consistent report's; copies of the latter with one cell changed
    as a user might (and saved as a spreadsheet application would)."""
    seed = fill(SEED, tmp_path / "seed.xlsx", SPEC).path
    doc = consistent_data(SPEC, random.Random(5).randint, n_orgs=1, n_projects=1)
    good = fill(write_json(tmp_path / "good.json", doc), tmp_path / "good.xlsx", SPEC).path
    dept, proj = SPEC.reports["dept"], SPEC.reports["project"]
    weight = Decimal(doc["dept"]["dept_ind_weight_1"])
    edits = {
        "typed-over": [(dept.sheet, dept.cell("income_total_1"), Decimal(doc["dept"]["income_total_1"]))],
        "number-text": [(dept.sheet, dept.cell("income_other_1"), f"{doc['dept']['income_other_1']}万元")],
        "staff": [(dept.sheet, dept.cell("staff_quota"), Decimal(51)), (dept.sheet, dept.cell("staff_actual"), Decimal(55))],
        "detail": [(proj.sheet, proj.cell("detail_amount_1"), Decimal(doc["projects"][0]["detail_amount_1"]) - 45)],
        "weight": [(dept.sheet, dept.cell("dept_ind_weight_1"), weight + 5)],
        "score": [(dept.sheet, dept.cell("dept_ind_score_1"), weight + 2)],
    }
    out = []
    for name, cells in edits.items():
        wb = Package(good.read_bytes())
        for sheet, ref, value in cells:
            wb.sheet(sheet).set(ref, value)
        out.append(_recomputed(wb.save(tmp_path / f"{name}.xlsx")))
    run = dept.runs["duties"]            # a long paragraph in a one-line row, and a row hidden (as
    wb = Package(good.read_bytes())           # Excel allows on the protected sheet): text-cut, text-hidden
    sheet = wb.sheet(dept.sheet)
    sheet.set(a1(run.first, run.col), "主要职责" * 75)
    sheet.row_height(run.first, 20, custom=False)
    sheet.set(a1(run.first + 1, run.col), "写在隐藏行里的一段")
    sheet.row_hidden(run.first + 1, True)
    out.append(_recomputed(wb.save(tmp_path / "text-rows.xlsx")))
    import openpyxl                      # an error value (t="e"), as Excel writes #DIV/0!: unreadable
    wb = openpyxl.load_workbook(good)
    wb[dept.sheet][dept.cell("income_other_1")] = "#DIV/0!"
    wb.save(tmp_path / "error-value.xlsx")
    out.append(_recomputed(tmp_path / "error-value.xlsx"))
    wb = openpyxl.load_workbook(good)    # an amount cell given a date format: amount-date-format
    wb[dept.sheet][dept.cell("income_public_budget_1")].number_format = "yyyy/m/d"
    wb.save(tmp_path / "date-format.xlsx")
    out.append(_recomputed(tmp_path / "date-format.xlsx"))
    return [seed, good], out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    (seed, good), changed = _book_corpus(tmp)
    books = [seed, good, *changed]
    files = _data_corpus(tmp) + books
    reports = [check_file(p, SPEC) for p in files]
    unscored = Package(seed.read_bytes())     # an indicator with no target, no completion, no score
    dept = SPEC.reports["dept"]
    unscored.sheet(dept.sheet).set(dept.cell("dept_ind_score_1"), None)
    scored = score_workbook(unscored.save(tmp / "unscored.xlsx"), tmp / "scored.xlsx", SPEC)
    return {"files": files, "books": books, "reports": reports, "score_findings": scored.findings}


def test_every_code_emitted_is_catalogued_and_every_catalogued_code_is_emitted(corpus):
    """Over the county form's corpus: every code its rules may emit for it (the national form's
    own codes: tests/test_national.py)."""
    mine = set().union(*_declared(SPEC).values())
    entries = {e.code: e for e in catalogue.all_entries(SPEC) if e.code in mine}
    findings = [f for r in corpus["reports"] for f in r.findings] + corpus["score_findings"]
    emitted = {f.code for f in findings}
    assert emitted - set(entries) == set(), "emitted but not in the catalogue"
    assert set(entries) - emitted == set(NOT_EMITTED), "in the catalogue but nothing in the corpus emits it"
    for f in findings:
        assert f.severity == entries[f.code].severity, f
        assert CJK.search(f.message), f


# --- who emits each code: every rule declares its codes -------------------------------------------
def _declared(spec) -> dict[str, set[str]]:
    """Who may emit what with this spec: each rule of xltools/rules/ (its declaration), and the
    three modules that make findings outside the rules, each declaring its own codes."""
    from xltools.collect import packs
    from xltools.pack import run as packer
    from xltools.read.filled import NOTE_CODES
    from xltools.rules import RULES, previous
    from xltools.write import score
    out = {type(rule).__name__: rule.declares(spec) for rule in RULES}
    assert len(out) == len(RULES)
    out.update({"the reader's notes": set(NOTE_CODES), "score": set(score.CODES), "collect's pack check": set(packs.CODES),
                "pack's output names": set(packer.CODES), "last year's report": previous.declares(spec)})
    return out


def test_every_catalogued_code_is_declared_by_whoever_emits_it():
    specs = catalogue.shipped_specs()
    catalogued = {e.code for e in catalogue.all_entries(*specs)}
    declared = [_declared(spec) for spec in specs]
    for who in declared[0]:
        codes = set().union(*(d[who] for d in declared))
        assert codes and codes <= catalogued, (who, codes - catalogued)
    assert catalogued - set().union(*(c for d in declared for c in d.values())) == set(), \
        "catalogued, but no rule declares it"
    # a spec rule's code is its own (not one the catalogue fixes for another rule)
    for spec, d in zip(specs, declared):
        assert d["Sums"] == {e.code for e in catalogue.spec_entries(spec) if e.template == catalogue.SUM_TEMPLATE}


def test_each_rule_emits_only_the_codes_it_declares(corpus):
    """Over the whole corpus (every code of the catalogue but those NOT_EMITTED, which
    test_book_trust.py checks the same way), with the rule that made each finding."""
    made = [f for path in corpus["files"] for f in checked_by_declared_rules(path, SPEC)]
    assert {f.code for f in made} == {f.code for r in corpus["reports"] for f in r.findings}
    assert {f.code for f in corpus["score_findings"]} <= _declared(SPEC)["score"]


def test_findings_made_outside_the_rules_are_declared_by_their_module():
    """A literal code given to catalogue.finding() outside xltools/rules/ is one its module
    declares: the reader's notes (read/, and the add-in's matrix check, which words a cell as the
    reader would), score's, collect's and pack's codes. No other module makes findings."""
    import re
    declared = _declared(SPEC)
    allowed = {"xltools/read/": declared["the reader's notes"], "xltools/addin/functions.py": declared["the reader's notes"],
               "xltools/write/score.py": declared["score"], "xltools/collect/packs.py": declared["collect's pack check"],
               "xltools/pack/run.py": declared["pack's output names"]}
    seen = set()
    for path in sorted((ROOT / "xltools").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("xltools/rules/"):
            continue
        for code in re.findall(r'catalogue\.finding\(\s*"([^"]+)"', path.read_text(encoding="utf-8")):
            where = next((k for k in allowed if rel.startswith(k)), None)
            assert where is not None and code in allowed[where], f"{rel} emits {code}, which it does not declare"
            seen.add(where)
    assert seen == set(allowed)


def test_column_i_says_what_the_checker_says(corpus, soffice, tmp_path):
    """Each inline finding of the changed workbooks, in column I as LibreOffice computes it:
    the same sentence (score-range's checker message names the indicator before it; the
    narrative's cell lists the text-amount sentences, each on its own line)."""
    import openpyxl

    mine = set().union(*_declared(SPEC).values())
    inline = {e.code for e in catalogue.all_entries(SPEC) if e.twin == catalogue.INLINE and e.code in mine}
    seen = set()
    books = corpus["books"]
    for path, report in zip(books, corpus["reports"][-len(books):]):
        assert report.file == str(path)
        wb = openpyxl.load_workbook(soffice.recalculate(path, tmp_path / f"lo-{path.name}"), data_only=True)
        # The checker also reads old-style indicator columns; the template's cells see only the new ones.
        legacy = {f.sheet for f in report.findings if f.code == "legacy-indicators"}
        for f in report.findings:
            if f.code not in inline or (f.code == "score-range" and f.sheet in legacy):
                continue
            texts = [c.value for c in wb[f.sheet][get_column_letter(SPEC.reports["dept"].check_column)] if isinstance(c.value, str)]
            assert any(t == f.message or f.message.endswith("：" + t) or f.message in t.split("\n") for t in texts), \
                (path.name, f.code, f.message, texts)
            seen.add(f.code)
    assert seen == inline


def test_the_sentences_have_figures_units_and_direction(corpus):
    by_name = {Path(r.file).stem: r for r in corpus["reports"]}
    [staff] = [f for f in by_name["staff"].findings if f.code == "staff"]
    assert staff.message == "实有人数超过人员编制（实有人数 55 人，人员编制 51 人）"
    [detail] = [f for f in by_name["detail"].findings if f.code == "detail-spent"]
    assert detail.message == "支出明细与资金表不一致：支出明细合计比实际支出合计少 45.00 万元"
    [weights] = [f for f in by_name["weight"].findings if f.code == "weight-sum"]
    assert weights.message == "各指标分值合计应为 100，现为 105.00，多 5.00 分"
    [score] = [f for f in by_name["score"].findings if f.code == "score-range"]
    weight = SPEC.reports["dept"].fields["dept_ind_weight_1"].default
    assert score.message == (f"{SPEC.reports['dept'].fields['dept_ind_score_1'].label}：得分 {weight + 2}.00 超出 0 至分值 "
                             f"{weight}.00 的范围")


# --- no second hand-written copy ---------------------------------------------------------------
def test_findings_and_severity_words_are_made_only_by_the_catalogue():
    """A reviewer's grep, kept: outside catalogue.py no module gives a Finding a code or severity
    of its own, writes a severity word, or spells a fixed code's sentence."""
    import re
    sources = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8")
               for p in (ROOT / "xltools").rglob("*.py") if p.name != "catalogue.py"}
    assert len(sources) > 20
    sentences = [re.split(r"\{\w+\}", t)[0] for e in catalogue.CATALOGUE.values()
                 for t in (e.template, *e.variants.values())]
    for path, text in sources.items():
        code = text if path != "xltools/findings.py" else text.split("class Finding")[0]
        # catalogue.finding() makes findings; a Finding built by hand takes its code and severity
        # from a catalogue entry (the cross-report one, whose sentence is its inline cell's)
        for m in re.finditer(r"\bFinding\(", code):
            assert code[m.end():].startswith("entry.code, entry.severity,"), \
                f"{path} builds a Finding by hand: use catalogue.finding()"
        for word in catalogue.SEVERITY_LABEL.values():
            assert f'"{word}"' not in text, f"{path} spells the severity word {word}"
        if path.startswith("xltools/build/") or path == "xltools/units.py":
            continue    # the template's input prompts belong to the input units (their own declaration)
        for sentence in sentences:
            if len(sentence) >= 4:
                assert sentence not in text, f"{path} repeats the catalogue's sentence {sentence!r}"


# --- refusals: one table ---------------------------------------------------------------------------
_CODE = re.compile(r"[a-z]+(-[a-z]+)*")
# Where a refusal code is given: raised with a file's error, made into a refused row, or returned
# as (code, message) by a reader's check (collect/submission.py).
_REFUSING = {"BookError", "DataError", "fail", "_error", "refusal", "refused"}


def _prose(node) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)
                                               and not node.value.isascii())


def refusal_codes_in_source() -> dict[str, str]:
    """Every literal refusal code a source file gives, with where: a constant argument (or
    `reason=`) of a call that refuses a file, or the code of a (code, message) pair."""
    found = {}
    for path in (ROOT / "xltools").rglob("*.py"):
        where = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                args = [a for a in node.args if name in _REFUSING] + [k.value for k in node.keywords if k.arg == "reason"]
                found.update({a.value: where for a in args if isinstance(a, ast.Constant)
                              and isinstance(a.value, str) and _CODE.fullmatch(a.value)})
            elif isinstance(node, ast.Tuple) and len(node.elts) == 2 and _prose(node.elts[1]):
                code = node.elts[0]
                if isinstance(code, ast.Constant) and isinstance(code.value, str) and _CODE.fullmatch(code.value):
                    found[code.value] = where
    return found


def test_every_refusal_code_in_the_source_is_declared_once():
    """Fault 3 of issue 15: collect refused a file as `not-template`, a code declared nowhere
    (and collect's own codes lay in an unused table of their own)."""
    found = refusal_codes_in_source()
    assert len(found) >= 18, found
    undeclared = {code: where for code, where in found.items() if code not in catalogue.REFUSED_REASONS}
    assert not undeclared, f"未在 catalogue.REFUSALS 中声明的拒收代码：{undeclared}"
    codes = [r.code for r in catalogue.REFUSALS]
    assert len(codes) == len(set(codes))
    assert set(codes) <= set(found) | {BookError.reason, DataError.reason}, set(codes) - set(found)   # none is dead
    assert {BookError.reason, DataError.reason} <= set(catalogue.REFUSED_REASONS)
    import xltools
    assert xltools.REFUSED_REASONS is catalogue.REFUSED_REASONS        # the public view of the one table
    for path in (ROOT / "xltools").rglob("*.py"):
        if path.name != "catalogue.py":
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"(REFUSED|COLLECT)_REASONS\b[^=\n]*= *\{", text), f"{path}: a second table of refusals"


def test_the_readme_lists_the_refusal_codes_from_the_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index(catalogue.REFUSALS_BEGIN):readme.index(catalogue.REFUSALS_END)]
    for r in catalogue.REFUSALS:
        assert table.count(f"| `{r.code}` | {r.title} |") == 1, r.code


def test_no_sentence_a_bookkeeper_reads_names_a_command():
    """Hints and messages are read in 校验结果, column I and the letters: none names a command
    line a bookkeeper cannot run (issue 18)."""
    from xltools.spec.registry import Registry
    entries = catalogue.all_entries(*Registry.packaged().specs())
    words = [(e.code, text) for e in entries for text in (e.hint, e.template, *e.variants.values())]
    assert [(code, text) for code, text in words if "xltools" in text.lower() or "--" in text] == []


def test_the_result_rows_read_as_a_bookkeeper_reads_them():
    """Errors first (then by sheet and reading order), the rule's Chinese title, amounts in one
    format (two decimals and their unit: 元 where the text said 元), the code last."""
    f = catalogue.finding
    found = [f("text-amount", "部门整体支出", "A114", expected="35116900元", actual=Decimal("35125167.01"),
               phrase="预算支出", quoted="35125167.01", wan="3512.52", label="支出合计", cell="B46", value="3511.69"),
             f("score-sum", "部门整体支出", "D84", expected=Decimal(98), actual=Decimal(102), computed="98",
               stated="102"),
             f("legacy-indicators", "项目支出", "A20", actual_col="实际完成值", score_col="得分",
               weight_col="分值", target_col="指标值")]
    warning, *errors = [found[2], found[0], found[1]]
    ordered = catalogue.finding_order([warning, *errors], ["部门整体支出", "项目支出"])
    assert [x.cell for x in ordered] == ["D84", "A114", "A20"]
    rows = [catalogue.result_row(x) for x in ordered]
    assert rows[1][1] == catalogue.entry("text-amount").title and rows[1][-1] == "text-amount"
    assert rows[1][5:7] == ["35116900.00 元", "35125167.01 元"]
    assert rows[0][5:7] == ["98.00 分", "102.00 分"]
    assert catalogue.result_header()[-1] == "代码" and catalogue.result_header()[1] == "问题"
