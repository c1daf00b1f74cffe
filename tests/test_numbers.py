"""parse_amount / parse_percent / parse_count / round_half_up: what is normalised, what is refused."""

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from xltools.numbers import (Parsed, float_to_decimal, parse_amount, parse_count, parse_percent,
                             round_half_up)


@pytest.mark.parametrize("value, expected", [
    (3512.52, "3512.52"),
    (56.600000000000001, "56.6"),          # what LibreOffice writes for 56.6
    (3512.52 + 100.01, "3612.53"),         # a cached SUM with binary noise
    (0.1 + 0.2, "0.3"),
    (100.0, "100"),
    (44, "44"),
    (-12.5, "-12.5"),
    (1e20, "100000000000000000000"),
    (Decimal("1.10"), "1.10"),
])
def test_numbers_are_clean(value, expected):
    parsed = parse_amount(value)
    assert parsed == Parsed(Decimal(expected))
    assert str(parsed.value) == expected


@pytest.mark.parametrize("text, expected, note", [
    ("3,512.52", "3512.52", "去掉千分位逗号"),
    ("３５１２.５２", "3512.52", "全角字符改为半角"),
    ("３，５１２．５２", "3512.52", "全角字符改为半角、去掉千分位逗号"),
    ("3512.52万元", "3512.52", "去掉单位「万元」"),
    ("140万元", "140", "去掉单位「万元」"),
    ("140 万", "140", "去掉单位「万」"),
    (" 50.74 ", "50.74", "去掉首尾空白"),
    ("\u3000５０.７４\u200b", "50.74", "去掉首尾空白、全角字符改为半角"),
    ("-1,234.5", "-1234.5", "去掉千分位逗号"),
    ("－12", "-12", "全角字符改为半角"),
    ("12", "12", None),
    (".5", "0.5", None),
])
def test_text_is_normalised_and_said_so(text, expected, note):
    parsed = parse_amount(text)
    assert parsed.ok and not parsed.blank
    assert parsed.value == Decimal(expected)
    # A number typed as text is itself worth telling: Excel's SUM skips it.
    assert parsed.normalized_from == f"文本「{text}」" + (f"：{note}" if note else "")


@pytest.mark.parametrize("text, words", [
    ("50.74元", "单位「元」与本栏单位「万元」不符"),
    ("3亿元", "单位「亿元」"),
    ("44人", "单位「人」"),
    ("1,2,3", "逗号位置不对"),
    ("12,5", "逗号位置不对"),            # decimal comma or a slip: two readings
    ("1.234,56", "逗号位置不对"),
    ("12.3.4", "不止一个小数点"),
    ("3 512", "中间有空格"),
    ("￥12", "货币符号"),
    ("(12)", "括号"),
    ("abc", "不是金额"),
    ("1.5E3", "不是金额"),
    ("12-", "不是金额"),
    ("#REF!", "错误值 #REF!"),
    ("#DIV/0!", "错误值 #DIV/0!"),
])
def test_ambiguous_text_is_refused(text, words):
    parsed = parse_amount(text)
    assert not parsed.ok and parsed.value is None and not parsed.blank
    assert words in parsed.error
    assert parsed.for_sum is None


@pytest.mark.parametrize("value", [None, "", "   ", "\u3000", "-", "—", "——", "－", "/"])
def test_blank_is_not_zero(value):
    parsed = parse_amount(value)
    assert parsed.blank and parsed.ok and parsed.value is None
    assert parsed.for_sum == 0
    assert parse_amount(0).blank is False and parse_amount(0).for_sum == 0


@pytest.mark.parametrize("value", [True, False, float("nan"), float("inf"), Decimal("NaN"), object()])
def test_non_numbers_are_errors(value):
    assert parse_amount(value).error


def test_unit_of_the_column_decides():
    assert parse_amount("50.74元", unit="元").value == Decimal("50.74")
    assert "不符" in parse_amount("140万元", unit="元").error
    assert "不符" in parse_amount("140万", unit="元").error


def test_percent_in_points():
    assert parse_percent("５０％").value == Decimal("50")
    assert parse_percent("50 %").value == Decimal("50")
    assert parse_percent(50).value == Decimal("50")
    assert parse_percent(0.5, stored_as_fraction=True) == Parsed(Decimal("50"))
    assert parse_percent(0.125, stored_as_fraction=True).value == Decimal("12.5")
    # text keeps its own meaning even in a percent-formatted cell
    assert parse_percent("50%", stored_as_fraction=True).value == Decimal("50")
    assert "不符" in parse_percent("5‰").error
    assert parse_percent("").blank


def test_counts_are_whole():
    assert parse_count("44人").value == Decimal("44")
    assert parse_count("44人").normalized_from == "文本「44人」：去掉单位「人」"
    assert parse_count(44.0) == Parsed(Decimal("44"))
    assert "整数" in parse_count("44.5").error
    assert "整数" in parse_count(3.5).error
    assert "不符" in parse_count("44万元").error
    assert parse_count("３个").value == 3


@pytest.mark.parametrize("value, places, expected", [
    ("0.125", 2, "0.13"), ("-0.125", 2, "-0.13"), ("2.675", 2, "2.68"), ("2.665", 2, "2.67"),
    ("1.5", 0, "2"), ("2.5", 0, "3"), ("12345678901234567890.125", 2, "12345678901234567890.13"),
])
def test_round_half_up(value, places, expected):
    assert str(round_half_up(Decimal(value), places)) == expected


def test_round_half_up_refuses_float():
    with pytest.raises(TypeError):
        round_half_up(2.675)


_FULL = str.maketrans("0123456789.,-", "０１２３４５６７８９．，－")
amounts = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2,
                      allow_nan=False, allow_infinity=False)


@given(amounts, st.booleans(), st.booleans(), st.sampled_from(["", "万元", "万", " 万元"]),
       st.sampled_from(["", " ", "\u3000", "  \t"]))
def test_formatted_amount_parses_back(amount, grouped, full_width, suffix, pad):
    text = f"{amount:,.2f}" if grouped else f"{amount:.2f}"
    if full_width:
        text = text.translate(_FULL)
    text = pad + text + suffix + pad
    parsed = parse_amount(text)
    assert parsed.ok, parsed
    assert parsed.value == amount
    assert parsed.normalized_from.startswith(f"文本「{text}」")


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_float_to_decimal_is_what_excel_shows(number):
    d = float_to_decimal(number)
    assert float(d) == pytest.approx(number, rel=1e-14, abs=1e-300)
    assert len(d.as_tuple().digits) <= 15 or d == Decimal(repr(number))
    # two-place money round-trips exactly
    money = round(number, 2)
    assert float_to_decimal(money) == Decimal(f"{money:.2f}")
