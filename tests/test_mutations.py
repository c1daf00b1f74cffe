"""One typo at a time, on every figure of consistent reports: found at its cell, and nothing false.

The corpus is enumerated (deterministic): four consistent reports (tests/helpers.py
consistent_data), two in the new indicator form (分值/得分 filled) and two in the old one (scores
in 实际完成值, the project's weights in 指标值, as the seed writes them), with several 机构 rows,
leaves left blank, and narratives that quote each 机构's row in 元 (sub-cent amounts, half-up
edges, thousands separators, sentences that leave out zero items) and foot. Every stated figure
of the tables, every amount in the narratives and every blank leaf gets each typo of TYPOS.

"Found at its cell": some finding is at the typo's own cell or at the cell of a rule the spec says
reads that field (the target of its sum, its check, 综合得分/等次 for a score, the narrative for a
quoted cell, the department's cross check for 项目支出); for a typo in a narrative, a finding on
that narrative naming the figure as it now reads. "Nothing false": no error anywhere else, and
none at all on the consistent reports. A few typos break no identity (a head count still within
quota; a one-item "其中" list whose part stays within its whole, which a list that need not be
complete allows, where no quote or all-unit sentence pins it): those must still give no error
elsewhere.

Most variants run as data files; a sample goes through real workbooks (fill, then check), and
LibreOffice recalculates those workbooks to show the template's column-I checks compute what the
Python twin cached.
"""
from __future__ import annotations

import copy
import json
import random
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from helpers import ORG_TOTALS, consistent_data, org_sentence
from xltools.a1 import a1
from xltools.checker import check_file
from xltools.errors import DataError
from xltools.write.fill import fill
from xltools.findings import ERROR
from xltools.spec import load_spec

SPEC = load_spec()
DEPT, PROJ = SPEC.reports["dept"], SPEC.reports["project"]
TYPOS = ("cent", "plus-one", "shift-right", "shift-left", "swap", "sign", "blank", "double")
# A 机构名称 mistyped (the tables after 收入 repeat it: the spec's `same_as`); "width" writes the
# same name with half-width brackets and a space, which is no typo.
NAME_TYPOS = ("name-drop", "name-suffix", "name-swap", "name-blank", "name-width")
COPIES = {rep.id: rep.copies for rep in (DEPT, PROJ)}
NARRATIVES = {"narrative", "p_narrative"}
_FIGURE = re.compile(r"(?<![\d.,])\d[\d,]*(?:\.\d+)?(?=\s*(?:万元|元))")


# --- the corpus -------------------------------------------------------------------------------------
def old_form(doc: dict) -> dict:
    """The same report written the old way: 得分 into 实际完成值, 分值 into the project's 指标值
    (the department's old form prints no weights: the spec's apply), 得分/分值 columns empty."""
    doc = copy.deepcopy(doc)
    for rep, section in [(DEPT, doc["dept"])] + [(PROJ, p) for p in doc["projects"]]:
        for table in rep.indicator_tables:
            for i in range(1, len(table.indicators) + 1):
                weight, score = section.pop(f"{table.id}_weight_{i}"), section.pop(f"{table.id}_score_{i}")
                section[f"{table.id}_actual_{i}"] = score
                section[f"{table.id}_target_{i}"] = weight if rep is PROJ else ""
    return doc


def _base(seed: int, old: bool, **kw) -> dict:
    doc = consistent_data(SPEC, random.Random(seed).randint, blank_leaves=True, **kw)
    return old_form(doc) if old else doc


BASES = {
    "new, 3 机构, 2 projects": _base(50, False, n_orgs=3, n_projects=2, n_details=3),
    "old, 2 机构, 2 projects": _base(21, True, n_orgs=2, n_projects=2, n_details=2),
    "new, 1 机构, decimal scores": _base(23, False, n_orgs=1, n_projects=1, n_details=4, decimal_scores=True),
    "old, 4 机构, 1 project": _base(40, True, n_orgs=4, n_projects=1, n_details=2),
}


def sections(doc):
    """(report, sheet, section) of every report of a data file, sheets named as Excel names copies."""
    yield DEPT, DEPT.sheet, doc["dept"]
    for i, p in enumerate(doc["projects"]):
        yield PROJ, PROJ.sheet if i == 0 else f"{PROJ.sheet} ({i + 1})", p


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", "")) if text not in ("", None) else Decimal(0)


def typo(text: str, kind: str) -> str | None:
    """A figure as written, with one typo; None when that typo cannot change it."""
    v = _decimal(text)
    if kind == "cent":
        new = v + Decimal("0.01")
    elif kind == "plus-one":
        new = v + 1
    elif kind == "shift-right":
        new = v * 10
    elif kind == "shift-left":
        new = v / 10
    elif kind == "sign":
        new = -v
    elif kind == "blank":
        return "" if v else None
    elif kind == "double":           # the last digit typed twice: 8418.42 -> 8418.422, 23 -> 233
        digits = text.replace(",", "")
        doubled = digits + digits[-1] if digits and digits[-1].isdigit() else None
        return doubled if doubled is not None and _decimal(doubled) != v else None
    else:   # two adjacent digits swapped
        digits = format(v, "f")
        for i in range(len(digits) - 1):
            a, b = digits[i], digits[i + 1]
            if a.isdigit() and b.isdigit() and a != b:
                swapped = digits[:i] + b + a + digits[i + 2:]
                return swapped if Decimal(swapped) != v else None
        return None
    return format(new, "f") if new != v else None


def name_typo(text: str, kind: str) -> str | None:
    """A name as typed, with one typo (or, for "name-width", the same name written otherwise)."""
    if kind == "name-drop":
        new = text[:-1]
    elif kind == "name-suffix":
        new = text + "（二级）"
    elif kind == "name-swap":
        i = next((i for i in range(len(text) - 1) if text[i] != text[i + 1]), None)
        new = text if i is None else text[:i] + text[i + 1] + text[i] + text[i + 2:]
    elif kind == "name-blank":
        new = ""
    else:
        new = (text[:2] + " " + text[2:]).replace("（", "(").replace("）", ")")
    return new if new != text else None


# --- what reads a field, from the spec -----------------------------------------------------------------
def _indicator(rep, name):
    """(table, column, row) of an indicator field, or None."""
    for table in rep.indicator_tables:
        m = re.fullmatch(rf"{table.id}_(\w+?)_(\d+)", name)
        if m:
            return table, m.group(1), m.group(2)
    return None


def cells_of(rep, name: str) -> set[str]:
    """Where a finding about the field may point: a long text's rows (the one holding the figure
    read from a workbook, the first one from a data file), else its cell."""
    run = rep.runs.get(name)
    return {a1(r, run.col) for r in run.row_numbers} if run else {rep.shown_cell(name)}


def related(rep, sheet: str, name: str, old: bool) -> set[tuple[str, str]]:
    """(sheet, cell) of the field and of every rule the spec says reads it."""
    out = {(sheet, c) for c in cells_of(rep, name)}
    ind = _indicator(rep, name)
    if ind is not None:
        table, column, row = ind
        # the old form reads 得分 from 实际完成值 and 分值 from 指标值
        column = {"actual": "score", "target": "weight"}.get(column, column) if old else column
        if column == "score":
            out |= {(sheet, rep.shown_cell(table.score_field)), (sheet, rep.shown_cell(table.grade_field))}
        if column == "weight":
            score = f"{table.id}_{'actual' if old else 'score'}_{row}"
            out.add((sheet, rep.shown_cell(score)))
            out.add((sheet, rep.shown_cell(table.names("weight")[0])))
    for table in rep.indicator_tables:
        if name == table.score_field:
            out.add((sheet, rep.shown_cell(table.grade_field)))
    for rule in rep.sums:
        if name == rule.target or name in rule.plus or name in rule.minus:
            out.add((sheet, rep.shown_cell(rule.target)))
    for check in rep.checks:
        if check.kind == "compare" and name in (check.left, check.right):
            out.add((sheet, rep.shown_cell(check.left)))
        elif check.kind == "quotes" and name in {n for _, n in check.right}:
            out |= {(sheet, c) for c in cells_of(rep, check.left[1])}
    cross = SPEC.cross
    if (rep is DEPT and name in cross.fields) or (rep is PROJ and name == cross.copy_field):
        out.add((DEPT.sheet, DEPT.shown_cell(cross.fields[0])))
    return out


def _staff_breaks(section, name, new) -> bool:
    values = {n: section.get(n, "") for n in ("staff_quota", "staff_actual")}
    values[name] = new
    try:
        quota, actual = (Decimal(values[n]) for n in ("staff_quota", "staff_actual"))
    except ArithmeticError:
        return True           # blank (required) or not a number
    whole = all(v >= 0 and v == v.to_integral_value() for v in (quota, actual))
    return not whole or actual > quota


def _breaks(doc, text: str, start: int, old_text: str, new_text: str) -> bool:
    """Whether a typo in a narrative figure breaks an identity. Only a one-item "其中" list can
    take one (such a list need not be complete: the part must not exceed the whole, no more),
    unless a 元 quote of its 机构 sentence no longer rounds to its cell, or an all-unit sentence
    sums that 机构's total; and a footing that mixes 万元 and 元 holds only within the 万元
    rounding (half the last written digit of each 万元 figure), which a small typo may stay in."""
    line_start = text.rfind("\n", 0, start) + 1
    end = min(i for i in (text.find("。", start), text.find("\n", start), len(text)) if i >= 0)
    sentence = text[line_start:end]
    figures = [m for m in _FIGURE.finditer(sentence)]
    index = next(i for i, m in enumerate(figures) if line_start + m.start() == start)
    values = [_decimal(m.group(0)) for m in figures]
    values[index] = _decimal(new_text)
    changed = text[:start] + new_text + text[start + len(old_text):]
    if not new_text:
        return True                  # a figure left out: said at once
    if sentence.startswith(ORG_TOTALS):
        total, *items = _figures(changed[line_start:end - len(old_text) + len(new_text)])
        return not _foots(total, items)
    if "预算支出" in sentence and "本部门预算总支出" not in sentence:
        if "；项目支出" in sentence or index != 0 or values[1] > values[0]:
            return True
        q = lambda t: (_decimal(t) / 10000).quantize(Decimal("0.01"), ROUND_HALF_UP)  # noqa: E731
        if "万元" not in sentence and q(old_text) != q(new_text):
            return True              # its 元 quote no longer rounds to the cell
        if "本部门预算总支出" not in changed:
            return False
        total, *_ = _figures(changed[changed.find("本部门预算总支出"):])
        heads = [_figures(changed[changed.find(o + "预算支出"):])[0] for o in _orgs(doc)]
        return not _foots(total, heads)
    if sentence.count("万元") == 2:
        return values[1] > values[0]
    return True


_UNIT_FIGURE = re.compile(r"(?<![\d.,])(-?\d[\d,]*(?:\.\d+)?)\s*(万元|元)")


def _figures(text: str) -> list[tuple[str, str]]:
    """(figure as written, unit) of each amount of a text, in order."""
    return [(m.group(1), m.group(2)) for m in _UNIT_FIGURE.finditer(text)]


def _foots(total: tuple[str, str], parts: list[tuple[str, str]]) -> bool:
    """A stated total against its parts, as the issue defines the tolerance: exact in one unit;
    where 万元 and 元 meet, each 万元 figure may be off by half its last written digit."""
    def yuan(figure):
        return _decimal(figure[0]) * (10000 if figure[1] == "万元" else 1)
    every = [total, *parts]
    slack = Decimal(0)
    if len({unit for _, unit in every}) > 1:
        for text, unit in every:
            decimals = len(text.partition(".")[2])
            if unit == "万元" and decimals < 6:
                slack += Decimal(10) ** (4 - decimals) / 2
    return abs(yuan(total) - sum(map(yuan, parts))) <= slack


def _orgs(doc) -> list[str]:
    return [v for k, v in doc["dept"].items() if k.startswith("income_org_") and v]


# --- the variants ---------------------------------------------------------------------------------------
def variants(doc, old: bool):
    """(what, changed doc, cells where it must be found, cells where an error may be, must be found,
    the figure as it now reads or None)."""
    for rep, sheet, section in sections(doc):
        yield from _stray_names(doc, rep, sheet, section)
        for name, raw in list(section.items()):
            f = rep.fields[name]
            if name in NARRATIVES:
                yield from _narrative_variants(doc, rep, sheet, section, name, old)
                continue
            if any(name in (c.target, c.source) for c in COPIES[rep.id]):
                yield from _name_variants(doc, rep, sheet, section, name)
                continue
            ind = _indicator(rep, name)
            legacy_figure = old and ind is not None and ind[1] in ("actual", "target")
            if not (f.numeric or legacy_figure):
                continue
            where = related(rep, sheet, name, old)
            if raw in ("", None):
                stray = "3" if f.unit in ("score", "人") or legacy_figure else "12.34"
                if legacy_figure and ind[1] == "target" and rep is PROJ:
                    continue
                yield _changed(doc, section, name, stray, f"{sheet}!{f.cell} stray", where, True)
                continue
            for kind in TYPOS:
                new = typo(raw, kind)
                if new is None:
                    continue
                must = not name.startswith("staff_") or _staff_breaks(section, name, new)
                yield _changed(doc, section, name, new, f"{sheet}!{f.cell} {raw}→{new!r} ({kind})", where, must)


def _name_variants(doc, rep, sheet, section, name):
    """A 机构名称 mistyped: found at the copy that now differs from the 收入 table's name, or, when
    the 收入 table's name is mistyped, at each later table's name of that row; a name written
    otherwise (widths, a space) is the same name: nothing."""
    raw = section[name]
    copies = [c for c in COPIES[rep.id] if c.source == name and c.target in section]
    where = {(sheet, rep.shown_cell(name))} | {(sheet, rep.shown_cell(c.target)) for c in copies}
    for kind in NAME_TYPOS:
        new = name_typo(raw, kind)
        if new is None:
            continue
        # a copy left blank is not stated (the template shows the 收入 table's name)
        must = kind != "name-width" and (bool(copies) or bool(new))
        yield _changed(doc, section, name, new, f"{sheet}!{rep.cell(name)} {raw}→{new!r} ({kind})",
                       where if must else set(), must, figure=new or None)


def _stray_names(doc, rep, sheet, section):
    """A 机构名称 typed into a later table's row that the 收入 table leaves empty: found there."""
    for c in COPIES[rep.id]:
        if c.source not in section and c.target not in section:
            yield _changed(doc, section, c.target, "测试局新设机构", f"{sheet}!{rep.cell(c.target)} stray",
                           {(sheet, rep.shown_cell(c.target))}, True, figure="测试局新设机构")


def _changed(doc, section, name, new, what, where, must, figure=None):
    section_old = section.get(name, _ABSENT)
    section[name] = new
    changed = json.dumps(doc, ensure_ascii=False)
    if section_old is _ABSENT:
        del section[name]
    else:
        section[name] = section_old
    return what, changed, where, where, must, figure


_ABSENT = object()


def _narrative_variants(doc, rep, sheet, section, name, old):
    text = section[name]
    where = {(sheet, c) for c in cells_of(rep, name)}
    for m in _FIGURE.finditer(text):
        for kind in TYPOS:
            new = typo(m.group(0), kind)
            if new is None:
                continue
            must = _breaks(doc, text, m.start(), m.group(0), new)
            changed = text[:m.start()] + new + text[m.end():]
            yield _changed(doc, section, name, changed, f"{sheet} {name}: {m.group(0)}→{new!r} ({kind})",
                           where, must, figure=new if new else None)


def _findings(changed: str, tmp: Path):
    path = tmp / "variant.json"
    path.write_text(changed, encoding="utf-8")
    return check_file(path, SPEC).findings


def _verdict(findings, where, must, figure) -> str | None:
    """Why a variant fails, or None."""
    stray = [(f.code, f.sheet, f.cell) for f in findings if f.severity == ERROR and (f.sheet, f.cell) not in where]
    if stray:
        return f"error outside the typo's cells: {stray}"
    if not must:
        return None
    hits = [f for f in findings if (f.sheet, f.cell) in where and f.code != "legacy-indicators"]
    if figure is not None:
        hits = [f for f in hits if figure in f.message]
    return None if hits else f"not found (findings: {[(f.code, f.cell) for f in findings]})"


# --- the tests --------------------------------------------------------------------------------------------
def test_the_corpus_has_what_the_issue_asks_for():
    """Both forms, weights, several 机构, sub-cent amounts at the half-up edge, thousands
    separators, a sentence that leaves out 项目支出 followed by another 机构's sentence."""
    narratives = [b["dept"]["narrative"] for b in BASES.values()]
    joined = "\n".join(narratives)
    assert re.search(r"\d,\d{3}", joined)                               # thousands separators
    assert re.search(r"\d\.\d[1-9]元|\d\.[1-9]\d元", joined)              # sub-cent of 万元 (fractional 元)
    amounts = [_decimal(m.group(0)) for m in re.finditer(r"\d[\d,]*(?:\.\d+)?(?=元)", joined)]
    assert any(a % 100 == 50 for a in amounts)                          # x.xx5 万元: the half-up edge
    assert any(org_sentence(n, o) and "项目支出" not in org_sentence(n, o) and
               n.find(o) < max(n.find(other) for other in orgs)
               for n, orgs in ((b["dept"]["narrative"], [v for k, v in b["dept"].items() if k.startswith("income_org_")])
                               for b in BASES.values()) for o in orgs)
    assert any("对个人和家庭的补助" not in org_sentence(n, o) for b in BASES.values()
               for n in [b["dept"]["narrative"]] for k, o in b["dept"].items() if k.startswith("income_org_"))
    # units mixed, as the issue found them: a 机构's sentence in 万元 beside others in 元 and their
    # sum; the list of every 机构's total, one in 万元; and a base where every footing is in 元
    assert sum("万元，其中：基本支出" in n for n in narratives) >= 2
    assert any(ORG_TOTALS in n and re.search(ORG_TOTALS + r"[^。]*万元", n) for n in narratives)
    assert any("万元，其中：基本支出" not in n and "本部门预算总支出" in n for n in narratives)
    olds = [label for label in BASES if label.startswith("old")]
    assert olds and all(any(k.startswith("proj_ind_target_") and v for p in BASES[label]["projects"]
                            for k, v in p.items()) for label in olds)
    assert max(sum(k.startswith("income_org_") for k in b["dept"]) for b in BASES.values()) == 4


@pytest.mark.parametrize("label", list(BASES))
def test_consistent_report_has_no_finding(label, tmp_path):
    findings = _findings(json.dumps(BASES[label], ensure_ascii=False), tmp_path)
    assert [(f.code, f.sheet, f.cell, f.message) for f in findings
            if f.code != "legacy-indicators"] == []
    assert all(f.code == "legacy-indicators" for f in findings) and (bool(findings) == label.startswith("old"))


def test_every_typo_is_found_at_its_cell_and_nothing_else_is_wrong(tmp_path):
    failures, counted, must = [], 0, 0
    by_kind: dict[str, int] = {}
    for label, doc in BASES.items():
        for what, changed, where, _, required, figure in variants(doc, label.startswith("old")):
            counted += 1
            must += required
            kind = what.rsplit("(", 1)[-1].rstrip(")") if "(" in what else "stray"
            by_kind[kind] = by_kind.get(kind, 0) + 1
            why = _verdict(_findings(changed, tmp_path), where, required, figure)
            if why:
                failures.append(f"{label}: {what}: {why}")
    assert failures == [], f"{len(failures)} of {counted} variants:\n" + "\n".join(failures[:30])
    # the corpus is what the docstring says: thousands of variants, each kind of typo
    assert counted > 3000 and must > 0.97 * counted, (counted, must)
    assert set(by_kind) == {*TYPOS, *NAME_TYPOS, "stray"}, by_kind
    assert min(by_kind[k] for k in (*TYPOS, "stray")) > 40 and min(by_kind[k] for k in NAME_TYPOS) >= 10, by_kind


# --- a sample through real workbooks, and the template's own checks ---------------------------------------
def _sample(doc, old: bool, n: int) -> list:
    """Variants a workbook can show: typos in the narratives and in the cells they quote, and in
    weights (in a workbook the totals are the template's formulas, so the other figures break no
    identity there)."""
    texts, figures = [], []           # half of each: the cells' typos show in column I at once
    cells = {DEPT.cell(n) for c in DEPT.checks if c.kind == "quotes" for _, n in c.right
             if DEPT.fields[n].kind == "input"}
    if not old:
        cells |= {DEPT.cell(n) for n in DEPT.indicator_tables[0].names("weight")}
    for v in variants(doc, old):
        what = v[0]
        if v[4] and "stray" not in what:
            if "narrative" in what:
                texts.append(v)
            elif any(what.startswith(f"{DEPT.sheet}!{c} ") for c in cells):
                figures.append(v)
    rnd = random.Random(7)
    return rnd.sample(texts, min(n // 2, len(texts))) + rnd.sample(figures, min(n - n // 2, len(figures)))


def _inputs_only(changed: str) -> dict:
    """The variant as a unit fills the template: inputs only (the template computes the rest)."""
    doc = json.loads(changed)
    for rep, _, section in sections(doc):
        for name in [n for n in section if rep.fields[n].kind == "computed"]:
            del section[name]
    return doc


@pytest.fixture(scope="module")
def sample_books(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sample")
    out = []
    for k, (label, doc) in enumerate(list(BASES.items())[:2]):
        base = tmp / f"base{k}.json"
        base.write_text(json.dumps(_inputs_only(json.dumps(doc, ensure_ascii=False)), ensure_ascii=False), "utf-8")
        out.append((label, fill(base, tmp / f"base{k}.xlsx", SPEC).path, None))
        for i, (what, changed, where, _, _, figure) in enumerate(_sample(doc, label.startswith("old"), 8)):
            data = tmp / f"v{k}_{i}.json"
            data.write_text(json.dumps(_inputs_only(changed), ensure_ascii=False), encoding="utf-8")
            try:
                book = fill(data, tmp / f"v{k}_{i}.xlsx", SPEC).path
            except DataError:
                continue         # a negative amount, three decimals: fill refuses it (its own test)
            out.append((f"{label}: {what}", book, (where, figure)))
    return out


def test_a_sample_of_typos_through_real_workbooks(sample_books):
    assert len(sample_books) > 10
    for what, book, expect in sample_books:
        findings = check_file(book, SPEC).findings
        if expect is None:
            assert [f.code for f in findings if f.code != "legacy-indicators"] == [], what
            continue
        where, figure = expect
        assert _verdict(findings, where, True, figure) is None, (what, [(f.code, f.cell, f.message) for f in findings])


def test_libreoffice_computes_the_column_i_checks_the_python_twin_cached(sample_books, soffice, tmp_path):
    """The narrative checks of column I (sentences bounded per 机构, items summed, half-up edges,
    thousands separators, items left out), as LibreOffice recalculates them, are the cached ones."""
    import openpyxl
    column = openpyxl.utils.get_column_letter(DEPT.check_column)
    compared = shown = 0
    for i, (what, book, _) in enumerate(sample_books):
        ours = openpyxl.load_workbook(book, data_only=True)
        theirs = openpyxl.load_workbook(soffice.recalculate(book, tmp_path / f"lo{i}.xlsx"), data_only=True)
        for ws in ours.worksheets:
            for cell in ws[column]:
                a, b = cell.value, theirs[ws.title][cell.coordinate].value
                assert (a or "") == (b or ""), (what, ws.title, cell.coordinate, a, b)
                compared += 1
                shown += bool(a)
    assert compared > 100 and shown >= 5      # the sample's typos show in column I


def test_every_formula_fits_excel():
    """Excel refuses a formula longer than 8192 characters (the quote checks are the longest)."""
    from xltools.formulas import report_formulas
    for rep in (DEPT, PROJ):
        longest = max(len(text) for text in report_formulas(rep, SPEC).values())
        assert longest < 8192, (rep.id, longest)
