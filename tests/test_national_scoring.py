"""The scoring rules as spec data: each rule's table of cases, from the rule text of issue 16 and
domain.md ("How an indicator is scored"), under the national spec's rules, beside the county
spec's own (the same cases, other rules: the rules come from the spec, not the code)."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from helpers import ROOT, write_json
from xltools.checker import check_file
from xltools.formulas import value_share_score
from xltools.scoring import score_indicator
from xltools.spec import load_spec
from xltools.spec.model import ShareScoreRule

NATIONAL = load_spec(ROOT / "specs" / "national_2022.toml")
COUNTY = load_spec()
N, C = NATIONAL.scoring, COUNTY.scoring


def score(rules, nature, target, unit, actual, weight="10"):
    s = score_indicator(target, actual, D(weight), rules=rules, nature=nature, unit=unit)
    return s.score


@pytest.mark.parametrize("nature, target, unit, actual, weight, national, county", [
    # 正向 (≥ >): full at or above the target, in proportion below it (both forms)
    ("≥", "95", "%", "95", "10", "10.00", "10.00"),
    ("≥", "95", "%", "99", "10", "10.00", "10.00"),
    ("≥", "95", "%", "90", "10", "9.47", "9.47"),          # 10 × 90/95 = 9.473…
    (">", "50", "个", "40", "8", "6.40", "6.40"),
    ("≥", "8", "个", "1", "5", "0.63", "0.63"),           # 5 × 1/8 = 0.625: two decimals, half up
    ("≥", "95", "%", "-5", "10", "0.00", "0.00"),          # a negative result counts as 0
    # 反向 (≤ <): full at or below; linear to 0 at twice the target (national); 指标值/完成值 (county)
    ("≤", "10", "天", "10", "10", "10.00", "10.00"),
    ("≤", "10", "天", "8", "10", "10.00", "10.00"),
    ("≤", "10", "天", "15", "10", "5.00", "6.67"),         # half marks at 1.5 times the target
    ("≤", "10", "天", "12", "10", "8.00", "8.33"),
    ("≤", "10", "天", "20", "10", "0.00", "5.00"),         # twice the target: 0
    ("≤", "10", "天", "35", "10", "0.00", "2.86"),
    ("<", "30", "万元", "33", "9", "8.10", "8.18"),        # 9 × (1 − 3/30); 9 × 30/33
    ("≤", "10", "天", "-3", "10", "10.00", "10.00"),        # a negative result counts as 0: met
    # 等于: as 正向 (national); by closeness, the smaller over the larger (county)
    ("=", "100", "%", "100", "10", "10.00", "10.00"),
    ("=", "100", "%", "98", "10", "9.80", "9.80"),
    ("=", "100", "%", "102", "10", "10.00", "9.80"),
    # 等于 with a target of 0: full when the result is ≤ 0, else 0 (national); a person scores it (county)
    ("=", "0", "次", "0", "10", "10.00", "10.00"),
    ("=", "0", "次", "1", "10", "0.00", None),
    ("=", "0", "次", "-1", "10", "10.00", None),
])
def test_each_direction_scores_by_the_spec_rule(nature, target, unit, actual, weight, national, county):
    assert score(N, nature, target, unit, actual, weight) == (D(national) if national else None)
    assert score(C, nature, target, unit, actual, weight) == (D(county) if county else None)


@pytest.mark.parametrize("word, band", [
    ("达成年度指标", "达成"), ("达成", "达成"), ("部分达成年度指标并具有一定效果", "部分达成"), ("部分达成", "部分达成"),
    ("未达成年度指标且效果较差", "未达成"), ("未达成", "未达成"),
])
def test_qualitative_option_words_pick_their_band(word, band):
    s = score_indicator("效果明显", word, D(10), rules=N, nature="定性")
    assert s.band == band and N.band(band).holds(s.score / 10)
    # the national rules name their option words: a county form's 较好 is not one of them
    assert score_indicator("效果明显", "较好", D(10), rules=N, nature="定性").score is None
    assert score_indicator("效果明显", "较好", D(10), rules=C).band == "达成"


@pytest.mark.parametrize("band, shares, inside", [
    ("达成", ("0.8", "0.9", "1"), ("0.79", "1.01")),
    ("部分达成", ("0.6", "0.7", "0.79"), ("0.59", "0.8")),       # [60%, 80%): 80% is 达成's
    ("未达成", ("0", "0.3", "0.59"), ("0.6",)),
])
def test_each_band_is_its_share_of_the_weight(band, shares, inside):
    b = N.band(band)
    assert all(b.holds(D(s)) for s in shares) and not any(b.holds(D(s)) for s in inside)


def _one_indicator(tmp_path, nature, target, unit, actual, weight, score, reason=""):
    doc = {"year": 2022, "region": "测试省", "projects": [{
        "project_name": "测试项目", "authority": "测试主管部门", "impl_unit": "测试单位",
        "goals_expected": "目标", "goals_actual": "完成",
        "budget": {"fiscal": {"initial": "100", "budget": "100", "spent": "100"}},
        "ind": {"quantity": [{"name": "测试指标", "nature": nature, "target": target, "unit": unit, "actual": actual,
                              "weight": weight, "score": score, "reason": reason}]}}]}
    spec = load_spec(ROOT / "specs" / "national_2022.toml", region="测试省")
    return {(f.code, f.severity) for f in check_file(write_json(tmp_path / "one.json", doc), spec).findings
            if f.code not in ("weight-sum", "level1-weight", "score-ahead")}


@pytest.mark.parametrize("case, row, found", [
    # 定性 达成 with 7 of 10: outside the band [80%, 100%]
    ("达成 7/10", ("定性", "效果明显", "", "达成年度指标", "10", "7"), {("score-band", "error")}),
    ("达成 8/10", ("定性", "效果明显", "", "达成年度指标", "10", "8"), {("score-deducted", "warning")}),
    ("达成 10/10", ("定性", "效果明显", "", "达成", "10", "10"), set()),
    ("部分达成 8/10", ("定性", "效果明显", "", "部分达成", "10", "8"), {("score-band", "error"), ("reason-required", "error")}),
    ("部分达成 7/10 with a reason", ("定性", "效果明显", "", "部分达成", "10", "7", "设备到货晚，已督促"), set()),
    # a score above what the rule gives; below it with the target met and no reason
    ("反向 15 vs 10, scored 10", ("≤", "10", "天", "15", "10", "10"), {("score-rule", "error"), ("reason-required", "error")}),
    ("反向 15 vs 10, scored 5", ("≤", "10", "天", "15", "10", "5"), {("reason-required", "error")}),
    ("反向 15 vs 10, scored 5, reason", ("≤", "10", "天", "15", "10", "5", "审批延误"), set()),
    ("正向 met, scored 9", ("≥", "95", "%", "96", "10", "9"), {("score-deducted", "warning")}),
    ("正向 met, scored 9, reason", ("≥", "95", "%", "96", "10", "9", "抽查发现个别差错"), set()),
    # the 130% switch: a result at 130% of the target or more wants a reason too
    ("正向 130%", ("≥", "100", "个", "130", "10", "10"), {("reason-required", "error")}),
    ("正向 129%", ("≥", "100", "个", "129", "10", "10"), set()),
    ("正向 130% with a reason", ("≥", "100", "个", "130", "10", "10", "超额完成，因追加任务"), set()),
    # a quantitative 指标性质 with words as the result (核实: a warning)
    ("≤30万元, 完成", ("≤", "30", "万元", "完成", "10", "10"), {("actual-not-number", "warning")}),
])
def test_the_checker_reports_scores_that_contradict_the_rules(case, row, found, tmp_path):
    assert _one_indicator(tmp_path, *row) == found, case


def test_the_130_percent_switch_is_the_specs(tmp_path):
    """Without `reason_over` (a province that does not ask for it), 130% needs no reason."""
    text = (ROOT / "specs" / "national_2022.toml").read_text(encoding="utf-8")
    (tmp_path / "no130.toml").write_text(text.replace('reason_over = "1.3"', "#"), encoding="utf-8")
    spec = load_spec(tmp_path / "no130.toml", region="测试省")
    assert spec.scoring.reason_over is None and NATIONAL.scoring.reason_over == D("1.3")


@pytest.mark.parametrize("rate, capped, uncapped", [
    ("1.03", "10.00", "10.30"), ("1", "10.00", "10.00"), ("0.9997", "10.00", "10.00"), ("0.9994", "9.99", "9.99"),
    ("0.5", "5.00", "5.00"), ("0", "0.00", "0.00"), ("", "", ""),
])
def test_execution_rate_score_capped_or_not_per_the_switch(rate, capped, uncapped):
    """预算执行率得分 = 执行率 × 10; 103% gives 10 with the cap (central guidance) and 10.30
    without it (some platforms)."""
    for cap, want in ((True, capped), (False, uncapped)):
        rule = ShareScoreRule("execution-score", "s", "r", D(10), cap, "")
        got = value_share_score(rule, {"r": D(rate) if rate else ""}.get)
        assert got == (D(want) if want else ""), (rate, cap)


def test_the_cap_is_the_specs_switch(tmp_path):
    text = (ROOT / "specs" / "national_2022.toml").read_text(encoding="utf-8")
    (tmp_path / "uncapped.toml").write_text(text.replace("execution_cap = true", "execution_cap = false"), encoding="utf-8")
    rule = next(r for r in load_spec(tmp_path / "uncapped.toml").reports["project"].derived if isinstance(r, ShareScoreRule))
    assert rule.cap is False
    assert next(r for r in NATIONAL.reports["project"].derived if isinstance(r, ShareScoreRule)).cap is True


@pytest.mark.parametrize("total, central, other", [
    (D("90"), "优", "优"), (D("89.99"), "良", "优"), (D("80"), "良", "优"), (D("79.99"), "中", "良"),
    (D("70"), "中", "良"), (D("69.99"), "中", "中"), (D("60"), "中", "中"), (D("59.99"), "差", "差"),
])
def test_grade_bands_per_region(total, central, other, tmp_path):
    """90/80/60 (the central standard, this spec) and 80/70/60 (some deployed configurations)."""
    text = (ROOT / "specs" / "national_2022.toml").read_text(encoding="utf-8")
    for old, new in (("min = 90", "min = 80"), ("min = 80\nlabel = \"良\"", "min = 70\nlabel = \"良\"")):
        text = text.replace(old, new, 1)
    (tmp_path / "bands.toml").write_text(text, encoding="utf-8")
    assert NATIONAL.grade_of(total) == central
    assert load_spec(tmp_path / "bands.toml").grade_of(total) == other
