"""One typo at a time on every figure of consistent national forms: found at its cell, nothing false.

The corpus is enumerated (deterministic): consistent 项目支出绩效自评表 data files (random
amounts and indicators, every identity holding: 年度资金总额 the sum of its 其中 rows, 执行率 and
its score, the weights of each 一级 group its header's, the indicators 90 with the 预算执行率's 10,
every target met and scored in full, 总分 and the grade stated) with no finding at all. Every
stated figure (the 项目资金 table, 执行率, its score, each indicator's 分值, 得分, 指标值 and
实际完成值, 总分) gets each typo of TYPOS.

"Found at its cell": some finding is at the typo's own cell or at a cell of a rule that reads the
field (the 项目资金 total row, 执行率, its score, 总分 and the grade for a budget figure; the
indicator's row, 总分 and the grade for an indicator's). "Nothing false": no error anywhere else.
A typo that breaks no rule must still give no error elsewhere: a result moved further past its
target (under 130% of it), a sub-row's figure that is not stated anywhere else.
"""
from __future__ import annotations

import json
import random
from decimal import ROUND_HALF_UP, Decimal

import pytest

from helpers import ROOT, national_project
from test_mutations import TYPOS, typo
from xltools.checker import check_file
from xltools.findings import ERROR
from xltools.formulas import evaluate, input_defaults
from xltools.spec import load_spec

SPEC = load_spec(ROOT / "specs" / "national_2022.toml", region="测试省")
REP = SPEC.reports["project"]
TABLE = REP.indicator_tables[0]
CENT = Decimal("0.01")


def consistent(seed: int) -> dict:
    """A project whose every figure holds, its computed figures stated (formulas.evaluate)."""
    section = national_project(SPEC, random.Random(seed), f"测试项目{seed}", "测试单位")
    inputs = input_defaults(REP)
    inputs.update(section)
    values, _ = evaluate(REP, SPEC, inputs)
    for f in REP.computed:
        if values.get(f.name) not in (None, "") and (f.table != "budget" or f.row == "total"):
            section[f.name] = values[f.name]
    return {"year": SPEC.year, "region": SPEC.region, "projects": [{k: _text(v) for k, v in section.items()}]}


def _text(v) -> str:
    return format(v, "f") if isinstance(v, Decimal) else str(v)


BASES = {seed: consistent(seed) for seed in (31, 32, 33, 34)}
BUDGET_CELLS = {REP.cell(n) for n in (REP.budget.initial, REP.budget.budget, REP.budget.spent, REP.budget.rate,
                                      REP.budget.score, TABLE.score_field, TABLE.grade_field)}


def related(name: str) -> set[str]:
    """The cells where a finding about this field may point (a sum of weights is reported at the
    first weight it adds, the spec having none of its own to tell the odd one)."""
    if name.startswith("budget"):
        return BUDGET_CELLS | {REP.cell(name)}
    if name.startswith("ind_"):
        i = int(name.rsplit("_", 1)[1])
        level = TABLE.indicators[i - 1].group1
        first_of_level = next(k for k, ind in enumerate(TABLE.indicators, start=1) if ind.group1 == level)
        weights = {REP.cell(f"ind_weight_{k}") for k in (1, first_of_level)}    # the sums of weights' cells
        return {REP.cell(f"ind_{c}_{i}") for c in TABLE.columns} | weights | {REP.cell(TABLE.score_field),
                                                                            REP.cell(TABLE.grade_field)}
    return {REP.cell(name), REP.cell(TABLE.grade_field)}


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text not in ("", None) else None
    except ArithmeticError:
        return None


def must_find(section: dict, name: str, new: str) -> bool:
    """Whether the typo breaks a rule: any figure but a result (or target) moved further past its
    target, under the 130% the spec asks a reason for."""
    if not name.startswith(("ind_actual_", "ind_target_")):
        return True
    i = name.rsplit("_", 1)[1]
    target, actual = _number(section[f"ind_target_{i}"]), _number(section[f"ind_actual_{i}"])
    if name.startswith("ind_actual_"):
        actual = _number(new)
    else:
        target = _number(new)
    if actual is None or target is None:
        return True                                   # required
    actual = max(actual, Decimal(0))                  # a negative result counts as 0
    nature = section[f"ind_nature_{i}"]
    if nature == "≤":
        return not actual <= target
    met = actual >= target
    over = target > 0 and actual >= Decimal("1.3") * target
    return not met or over


def variants(doc: dict):
    section = doc["projects"][0]
    for name, raw in list(section.items()):
        f = REP.fields[name]
        numeric = f.numeric or (name.startswith(("ind_actual_", "ind_target_")) and _number(raw) is not None)
        if not numeric:
            continue
        for kind in TYPOS:
            new = typo(raw, kind)
            if new is None or (f.unit == "rate" and kind == "shift-left" and _number(new) is not None
                               and _number(new).quantize(Decimal("0.0001"), ROUND_HALF_UP) != _number(new)):
                continue
            changed = json.loads(json.dumps(doc))
            changed["projects"][0][name] = new
            must = must_find(section, name, new)
            yield f"{f.cell} {name} {raw}→{new!r} ({kind})", changed, related(name), must


def findings_of(doc: dict, tmp_path):
    path = tmp_path / "variant.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return check_file(path, SPEC).findings


@pytest.mark.parametrize("seed", list(BASES))
def test_a_consistent_national_form_has_no_finding(seed, tmp_path):
    assert [(f.code, f.cell, f.message) for f in findings_of(BASES[seed], tmp_path)] == []


def test_the_corpus_uses_every_kind_of_row():
    rows = [v for doc in BASES.values() for k, v in doc["projects"][0].items() if k.startswith("ind_nature_")]
    assert {"≥", "≤", "=", "定性"} <= set(rows)
    assert all(doc["projects"][0].get("budget_spent_total") for doc in BASES.values())


def test_every_typo_is_found_at_its_cell_and_nothing_else_is_wrong(tmp_path):
    failures, counted, must = [], 0, 0
    kinds: dict[str, int] = {}
    for seed, doc in BASES.items():
        for what, changed, where, required in variants(doc):
            counted += 1
            must += required
            kinds[what.rsplit("(", 1)[1].rstrip(")")] = kinds.get(what.rsplit("(", 1)[1].rstrip(")"), 0) + 1
            found = findings_of(changed, tmp_path)
            stray = [(f.code, f.cell) for f in found if f.severity == ERROR and f.cell not in where]
            hits = [f for f in found if f.cell in where]
            if stray:
                failures.append(f"{seed}: {what}: error elsewhere {stray}")
            elif required and not hits:
                failures.append(f"{seed}: {what}: not found ({[(f.code, f.cell) for f in found]})")
    assert failures == [], f"{len(failures)} of {counted}:\n" + "\n".join(failures[:30])
    assert counted > 800 and must > 0.8 * counted and set(kinds) == set(TYPOS), (counted, must, kinds)


def test_the_inline_checks_of_column_k_say_what_libreoffice_computes(soffice, tmp_path):
    """Typos a workbook shows inline (a weight off, a weight blank, two levels off; fill itself
    refuses a score above its weight),
    filled into real workbooks: LibreOffice's column K is the cached one, and shows them."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    from xltools.write.fill import fill
    doc = BASES[31]
    section = doc["projects"][0]
    used = [k for k in section if k.startswith("ind_weight_")]
    edits = [{used[0]: typo(section[used[0]], "plus-one")}, {used[-1]: ""},
             {used[1]: typo(section[used[1]], "plus-one"), used[-1]: typo(section[used[-1]], "plus-one")}]
    column = get_column_letter(REP.check_column)
    shown = 0
    for k, edit in enumerate(edits):
        changed = json.loads(json.dumps(doc))
        changed["projects"][0].update(edit)
        for name in [n for n in changed["projects"][0] if REP.fields[n].kind == "computed"]:
            del changed["projects"][0][name]           # the template computes them
        data = tmp_path / f"v{k}.json"
        data.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
        book = fill(data, tmp_path / f"v{k}.xlsx", SPEC).path
        ours = openpyxl.load_workbook(book, data_only=True)[REP.sheet]
        theirs = openpyxl.load_workbook(soffice.recalculate(book, tmp_path / f"lo{k}.xlsx"), data_only=True)[REP.sheet]
        for cell in ours[column]:
            assert (cell.value or "") == (theirs[cell.coordinate].value or ""), (edit, cell.coordinate)
            shown += bool(cell.value)
        assert {f.code for f in check_file(book, SPEC).findings} & {"weight-sum", "level1-weight", "score-range"}
    assert shown >= 3
