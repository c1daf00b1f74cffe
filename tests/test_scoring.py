"""Indicator scoring: worked examples per case, then properties that must hold for any input."""
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xltools.errors import SpecError
from xltools.scoring import EQ, GE, LE, QUALITATIVE, RANGE, parse_actual, parse_target, score_indicator

MANUAL = "人工评分"


# ---------------------------------------------------------------- parsing the target

@pytest.mark.parametrize("text, op, low, high, unit", [
    ("≥95%", GE, D(95), None, "%"),
    (">=95%", GE, D(95), None, "%"),
    ("≧95%", GE, D(95), None, "%"),
    ("＞＝９５％", GE, D(95), None, "%"),
    ("≥ 95 %", GE, D(95), None, "%"),
    ("不低于95%", GE, D(95), None, "%"),
    ("不少于50个", GE, D(50), None, "个"),
    ("95%以上", GE, D(95), None, "%"),
    ("满意度≥90%", GE, D(90), None, "%"),
    ("≥50个", GE, D(50), None, "个"),
    ("2983万元", GE, D(2983), None, "万元"),
    ("2,983元", GE, D("0.2983"), None, "万元"),
    ("100%", GE, D(100), None, "%"),
    ("≤10天", LE, None, D(10), "天"),
    ("不高于10天", LE, None, D(10), "天"),
    ("不超过10日", LE, None, D(10), "天"),
    ("10天以内", LE, None, D(10), "天"),
    ("≤2个工作日", LE, None, D(2), "工作日"),
    ("2个工作日内", LE, None, D(2), "工作日"),
    ("=100%", EQ, D(100), D(100), "%"),
    ("＝１００％", EQ, D(100), D(100), "%"),
    ("90%-100%", RANGE, D(90), D(100), "%"),
    ("90～100%", RANGE, D(90), D(100), "%"),
    ("90%至100%", RANGE, D(90), D(100), "%"),
    ("-5%-0%", RANGE, D(-5), D(0), "%"),
])
def test_parse_target_quantitative(text, op, low, high, unit):
    target = parse_target(text)
    assert (target.op, target.low, target.high, target.unit, target.error) == (op, low, high, unit, None)
    assert target.raw == text.strip()


def test_bare_target_follows_the_configured_direction():
    assert parse_target("10天", lower_is_better=True).op == LE
    assert parse_target("≥10天", lower_is_better=True).op == GE  # an explicit operator wins
    assert parse_target(D(95)).op == GE and parse_target(D(95)).unit is None


@pytest.mark.parametrize("text", ["达成", "及时", "是", "有效提升"])
def test_parse_target_qualitative(text):
    target = parse_target(text)
    assert (target.op, target.word, target.error) == (QUALITATIVE, text, None)


@pytest.mark.parametrize("text, says", [
    ("", "未填写"), (None, "未填写"), ("≥95%以下", "相反"), ("100%-90%", "下限大于上限"),
    ("90%-100天", "单位不一致"), ("≥90%-100%", "区间"), ("≥95斤", "无法识别"), ("2022年≥95%", "无法识别"),
])
def test_parse_target_errors_never_raise(text, says):
    target = parse_target(text)
    assert target.op is None and says in target.error


# ---------------------------------------------------------------- parsing the actual

@pytest.mark.parametrize("actual, target, value, unit", [
    ("98%", "≥95%", D(98), "%"),
    ("0.98", "≥95%", D(98), "%"),
    (0.98, "≥95%", D(98), "%"),
    ("1", "≥95%", D(100), "%"),
    ("98", "≥95%", D(98), "%"),       # larger than 1: already a percent
    ("１２天", "≤10天", D(12), "天"),
    ("2983", "2983万元", D(2983), "万元"),
    ("29,830,000元", "2983万元", D(2983), "万元"),
    ("2983", "2983元", D("0.2983"), "万元"),  # a bare number borrows the target's written unit
])
def test_parse_actual_aligns_units(actual, target, value, unit):
    measured = parse_actual(actual, parse_target(target))
    assert (measured.value, measured.unit, measured.error) == (value, unit, None)


@pytest.mark.parametrize("actual, target, says", [
    ("12天", "≥95%", "单位不一致"), ("3天", "≤2个工作日", "单位不一致"), ("98%", "100", "未写单位"),
    ("", "≥95%", "未填写"), ("大约九成", "≥95%", "无法识别"), (True, "≥95%", "不是数字"),
    (float("nan"), "≥95%", "不是有效数字"),
])
def test_parse_actual_errors(actual, target, says):
    assert says in parse_actual(actual, parse_target(target)).error


# ---------------------------------------------------------------- scoring, worked examples

@pytest.mark.parametrize("target, actual, weight, score, met", [
    ("≥95%", "98%", 5, "5.00", True),
    ("≥95%", "0.98", 5, "5.00", True),
    ("≥95%", "95%", 5, "5.00", True),
    ("≥95%", "90%", 5, "4.74", False),       # 5 × 90/95 = 4.736…
    ("≥50个", "40个", 10, "8.00", False),
    ("2983万元", "2983", 5, "5.00", True),
    ("2983万元", "2000万元", 5, "3.35", False),  # 5 × 2000/2983 = 3.352…
    ("100%", "98%", 10, "9.80", False),
    ("≤10天", "8天", 5, "5.00", True),
    ("≤10天", "12天", 5, "4.17", False),     # 5 × 10/12
    ("不高于10天", "20天", 5, "2.50", False),
    ("=100%", "100%", 5, "5.00", True),
    ("=100%", "98%", 5, "4.90", False),
    ("=100%", "102%", 5, "4.90", False),     # closeness: 100/102 = 0.980… → 4.90
    ("90%-100%", "95%", 10, "10.00", True),
    ("90%-100%", "85%", 10, "9.44", False),  # below: 85/90
    ("90%-100%", "105%", 10, "9.52", False), # above: 100/105
    ("≥95%", "-5%", 5, "0.00", False),       # never below 0
    ("≥95%", "0", 5, "0.00", False),
    ("≥ 95 %", "９８％", 5, "5.00", True),
])
def test_score_quantitative(target, actual, weight, score, met):
    scored = score_indicator(target, actual, D(weight))
    assert (scored.score, scored.met, scored.band) == (D(score), met, None)


def test_reasons_read_like_the_form():
    assert score_indicator("≥95%", "98%", D(5)).reason == "目标≥95%，完成98%，达标，得满分5"
    assert score_indicator("≤10天", "12天", D(5)).reason == "目标≤10天，完成12天，未达标，按 10/12 计 4.17 分"


def test_lower_is_better_inverts_a_bare_target():
    assert score_indicator("10天", "12天", D(5), lower_is_better=True).score == D("4.17")
    assert score_indicator("10天", "12天", D(5)).met is True


@pytest.mark.parametrize("target, actual, band, score", [
    ("达成", "达成", "达成", "5.00"),
    ("达成", "部分达成", "部分达成", "4.00"),
    ("达成", "未达成", "未达成", "3.00"),
    ("≥95%", "部分达成", "部分达成", "4.00"),  # a qualitative actual decides even for a numeric target
    ("及时", "及时", "达成", "5.00"),
    ("及时", "不及时", "未达成", "3.00"),
    ("好", "较好", "达成", "5.00"),
    ("好", "一般", "部分达成", "4.00"),
    ("好", "差", "未达成", "3.00"),
    ("满意", "基本满意", "部分达成", "4.00"),
    ("是", "否", "未达成", "3.00"),
    ("否", "否", "达成", "5.00"),             # 是否发生安全事故：否 meets a target of 否
    ("无", "有", "未达成", "3.00"),
    ("有", "是", "达成", "5.00"),             # different yes/no pairs: 是 reads as a plain conclusion
    ("有效提升", "达成。", "达成", "5.00"),
])
def test_score_qualitative_proposes_the_band_top(target, actual, band, score):
    scored = score_indicator(target, actual, D(5))
    assert (scored.band, scored.score, scored.met) == (band, D(score), None)
    assert "评价人在档内确定" in scored.reason


def test_qualitative_points_are_configurable_within_the_band():
    points = {"达成": 0.9, "部分达成": D("0.7"), "未达成": "0"}
    assert score_indicator("达成", "达成", D(10), qualitative_points=points).score == D("9.00")
    assert score_indicator("达成", "部分达成", D(10), qualitative_points=points).score == D("7.00")
    assert score_indicator("达成", "未达成", D(10), qualitative_points=points).score == D("0.00")


@pytest.mark.parametrize("actual, score, met", [
    ("98%", "9.80", False), ("0.97", "9.70", False), (D("0.9712"), "9.71", False),
    ("100%", "10.00", True), ("105%", "10.00", True), ("-3%", "0.00", False),
])
def test_score_rate(actual, score, met):
    scored = score_indicator("", actual, D(10), method="rate")
    assert (scored.score, scored.met) == (D(score), met)


@pytest.mark.parametrize("target, actual, kwargs", [
    ("", "98%", {}), (None, "达成", {}), ("≥95%", "", {}), ("≥95%", "12天", {}), ("≤2个工作日", "3天", {}),
    ("≥95斤", "98%", {}), ("有效提升", "98%", {}), ("是", "无", {}), ("≥95%", "还行", {}), ("≥0%", "-5%", {}),
    ("≤0%", "5%", {}), ("100", "98%", {}), ("", "达成", {"method": "rate"}), ("", "2983万元", {"method": "rate"}),
])
def test_unscorable_asks_a_person(target, actual, kwargs):
    scored = score_indicator(target, actual, D(5), **kwargs)
    assert scored.score is None and scored.met is None and MANUAL in scored.reason


@pytest.mark.parametrize("kwargs", [
    {"weight": -1}, {"weight": 5.0}, {"weight": D("1.005")}, {"weight": D("NaN")}, {"weight": True},
    {"weight": 5, "method": "ratio"},
    {"weight": 5, "qualitative_points": {"完成": 1}},
    {"weight": 5, "qualitative_points": {"达成": 0.5}},   # outside the 80–100% band
    {"weight": 5, "qualitative_points": {"达成": "九成"}},
])
def test_configuration_mistakes_raise(kwargs):
    with pytest.raises(SpecError):
        score_indicator("≥95%", "98%", **kwargs)


# ---------------------------------------------------------------- properties

OPERATORS = ["≥", ">=", "≧", "不低于", "不少于", "≤", "<=", "不超过", "不高于", "=", ""]
UNITS = ["%", "天", "个", "万元", "元", "个工作日", ""]
CONCLUSION_WORDS = ["达成", "部分达成", "未达成", "好", "较好", "一般", "差", "是", "否", "及时", "不及时",
               "满意", "基本满意", "不满意"]

weights = st.decimals(min_value=0, max_value=100, places=2)
amounts = st.decimals(min_value=-1000, max_value=100000, places=3)
positive = st.decimals(min_value=D("0.01"), max_value=100000, places=2)


@st.composite
def target_texts(draw):
    kind = draw(st.sampled_from(["op", "range", "word", "noise"]))
    unit = draw(st.sampled_from(UNITS))
    if kind == "op":
        return f"{draw(st.sampled_from(OPERATORS))}{draw(amounts)}{unit}{draw(st.sampled_from(['', '以上', '以内']))}"
    if kind == "range":
        return f"{draw(amounts)}{unit}{draw(st.sampled_from(['-', '～', '至']))}{draw(amounts)}{unit}"
    if kind == "word":
        return draw(st.sampled_from(CONCLUSION_WORDS + ["有效提升"]))
    return draw(st.text(max_size=12))


actuals = st.one_of(
    st.builds(lambda a, u: f"{a}{u}", amounts, st.sampled_from(UNITS)),
    amounts, st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
    st.sampled_from(CONCLUSION_WORDS), st.text(max_size=8), st.none())


@settings(max_examples=600)
@given(target_texts(), actuals, weights, st.booleans(), st.sampled_from(["auto", "rate"]))
def test_score_stays_within_the_weight_and_met_means_full(target, actual, weight, lower_is_better, method):
    scored = score_indicator(target, actual, weight, method=method, lower_is_better=lower_is_better)
    if scored.score is None:
        assert scored.met is None and MANUAL in scored.reason
    else:
        assert D(0) <= scored.score <= weight
        assert scored.score == scored.score.quantize(D("0.01"))
        if scored.met:
            assert scored.score == weight


@given(positive, amounts, amounts, st.sampled_from(["%", "天", "个", "万元"]), weights)
def test_greater_is_better_is_monotone(target, a, b, unit, weight):
    low, high = sorted((a, b))
    text = f"≥{target}{unit}"
    first, second = (score_indicator(text, f"{x}{unit}", weight).score for x in (low, high))
    assert first is not None and second is not None and first <= second


@given(positive, amounts, amounts, st.sampled_from(["%", "天", "个", "万元"]), weights)
def test_lower_is_better_is_monotone(target, a, b, unit, weight):
    low, high = sorted((a, b))
    text = f"≤{target}{unit}"
    first, second = (score_indicator(text, f"{x}{unit}", weight).score for x in (low, high))
    assert first is not None and second is not None and first >= second


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


spaces = st.sampled_from(["", " ", "  ", "\u3000", "\t"])


def variants(text: str, before: str, inside: str, after: str) -> list[str]:
    """The same text full-width, padded with spaces, and both."""
    padded = before + inside.join(text) + after
    return [full_width(text), padded, full_width(padded)]


def same_parse(a, b) -> bool:
    return a.__dict__ | {"raw": ""} == b.__dict__ | {"raw": ""}


@given(st.sampled_from([">=", "<=", "=", "≥", "不低于", "不超过", ""]), amounts,
       st.sampled_from(UNITS), spaces, spaces, spaces)
def test_parsing_ignores_full_width_and_spaces(op, value, unit, before, inside, after):
    target_text, actual_text = f"{op}{value}{unit}", f"{value}{unit}"
    against = parse_target("≥1" + unit)
    for variant in variants(target_text, before, inside, after):
        assert same_parse(parse_target(variant), parse_target(target_text)), variant
    for variant in variants(actual_text, before, inside, after):
        assert same_parse(parse_actual(variant, against), parse_actual(actual_text, against)), variant
