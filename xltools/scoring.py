"""Score one performance indicator the way a self-evaluation does (财预〔2020〕10号, as commonly applied).

Pure: text and numbers in, Decimal scores and a Chinese explanation out. No workbook objects here.

- quantitative: met earns the full weight; short of it earns weight × actual/target, inverted where
  lower is better (weight × target/actual), clamped to [0, weight]. "=" targets score by closeness
  (min/max); a range scores against the bound that was missed. A bare number target means ≥, or ≤
  when the caller says the indicator is lower-is-better. An explicit operator always wins.
- qualitative: the actual's word falls in a band (达成 80–100%, 部分达成 60–80%, 未达成 0–60% of the
  weight); the evaluator chooses inside the band, so we propose a configurable point (the upper bound
  by default) and report the band.
- method "rate" (预算执行率): weight × rate, capped at the weight.
- anything we cannot score returns score None with a Chinese reason asking a person to score it.

Ambiguities resolved on purpose (callers should know them):
- a bare actual number with |x| ≤ 1 against a percent target is a fraction (0.98 → 98%, 1 → 100%);
  a larger bare number is already a percent (98 → 98%). So "0.5" means 50%, never 0.5%.
- a bare actual number borrows the target's unit as written ("2983" against "2983万元" is 万元).
  A unit-bearing actual against a bare target is refused: we cannot tell which scale the target used.
- strict < and > are read as ≤ and ≥: the tables use them loosely, and a strict reading would call an
  actual equal to the target "not met" while weight × t/t still gives the full weight.
- 工作日 and 天 are different units (working vs calendar days), so they do not compare.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import SpecError
from .numbers import CENT

__all__ = ["Target", "Measured", "Scored", "parse_target", "parse_actual", "score_indicator",
           "GE", "LE", "EQ", "RANGE", "QUALITATIVE", "QUALITATIVE_BANDS", "DEFAULT_QUALITATIVE_POINTS"]

# ---------------------------------------------------------------- vocabulary, declared once

GE, LE, EQ, RANGE, QUALITATIVE = ">=", "<=", "=", "range", "qualitative"

# Operator words as they appear before the number, after NFKC folding (which turns ＞＝ into >=).
OPERATOR_WORDS = {
    ">=": GE, "≥": GE, "≧": GE, "⩾": GE, ">": GE, "不低于": GE, "不少于": GE, "不小于": GE,
    "大于等于": GE, "大于或等于": GE, "至少": GE, "高于": GE, "大于": GE, "超过": GE,
    "<=": LE, "≤": LE, "≦": LE, "⩽": LE, "<": LE, "不超过": LE, "不高于": LE, "不多于": LE,
    "不大于": LE, "小于等于": LE, "小于或等于": LE, "至多": LE, "低于": LE, "小于": LE, "少于": LE,
    "=": EQ, "==": EQ, "等于": EQ,
}
# Direction words written after the number: "95%以上", "10天以内", "2个工作日内".
SUFFIX_WORDS = {"及以上": GE, "或以上": GE, "以上": GE,
                "及以下": LE, "或以下": LE, "以下": LE, "以内": LE, "之内": LE, "内": LE}
RANGE_SEPARATORS = ("-", "~", "〜", "—", "–", "至", "到")

# Written unit -> (normalised unit, factor to the normalised unit). Money compares in 万元.
UNITS = {
    "%": ("%", 1), "分": ("分", 1),
    "天": ("天", 1), "日": ("天", 1), "个工作日": ("工作日", 1), "工作日": ("工作日", 1),
    "小时": ("小时", 1), "个月": ("月", 1), "月": ("月", 1), "年": ("年", 1),
    "元": ("万元", Decimal("0.0001")), "万元": ("万元", 1), "亿元": ("万元", 10000),
    **{u: (u, 1) for u in ("个", "人", "人次", "户", "户次", "项", "次", "件", "家", "所", "座", "场",
                           "套", "台", "辆", "份", "篇", "批", "条", "处", "吨", "亩", "米", "平方米", "公里")},
}

# Band -> share of the weight the evaluator may give, (low, high).
QUALITATIVE_BANDS = {"达成": (Decimal("0.8"), Decimal("1")),
                     "部分达成": (Decimal("0.6"), Decimal("0.8")),
                     "未达成": (Decimal("0"), Decimal("0.6"))}
DEFAULT_QUALITATIVE_POINTS = {band: high for band, (_low, high) in QUALITATIVE_BANDS.items()}

# Qualitative conclusions -> band. 好/较好/一般/差 map by the grade bands they stand for
# (优 ≥90, 良 80–90, 中 60–80, 差 <60), so 较好 lands in 达成 and 一般 in 部分达成.
QUALITATIVE_WORDS = {
    **dict.fromkeys(("达成", "已达成", "全部达成", "完成", "已完成", "全部完成", "达标", "合格",
                     "好", "较好", "是", "及时", "按时", "满意", "非常满意"), "达成"),
    **dict.fromkeys(("部分达成", "基本达成", "基本完成", "部分完成", "基本达标", "基本合格",
                     "一般", "基本及时", "基本满意"), "部分达成"),
    **dict.fromkeys(("未达成", "未完成", "未达标", "不达标", "不合格", "差", "较差", "否",
                     "不及时", "未按时", "不满意", "很不满意"), "未达成"),
}
# Yes/no answers are judged against the target's own answer: "否" meets a target of "否"
# (e.g. 是否发生安全事故).
POLAR_PAIRS = (("是", "否"), ("有", "无"))

_OP_SYMBOLS = {GE: "≥", LE: "≤", EQ: "="}
_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_UNIT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_SEP = "|".join(re.escape(s) for s in RANGE_SEPARATORS)
_OPERATOR_RE = re.compile("|".join(re.escape(w) for w in sorted(OPERATOR_WORDS, key=len, reverse=True)))
_SUFFIX_RE = re.compile("(?:" + "|".join(sorted(SUFFIX_WORDS, key=len, reverse=True)) + ")$")
_AMOUNT_RE = re.compile(rf"({_NUM})({_UNIT})?")
_RANGE_RE = re.compile(rf"({_NUM})({_UNIT})?(?:{_SEP})({_NUM})({_UNIT})?")
# NFKC leaves these alone; fold them to the ASCII the patterns expect.
_EXTRA_FOLDS = str.maketrans({"−": "-", "﹣": "-"})
_PUNCTUATION = "。.，,；;！!“”\"'‘’"


# ---------------------------------------------------------------- records

@dataclass(frozen=True)
class Target:
    raw: str                          # the 指标值 as typed ("" when blank)
    op: str | None                    # GE, LE, EQ, RANGE or QUALITATIVE; None when unusable
    low: Decimal | None = None        # lower bound in `unit` (GE, EQ, RANGE)
    high: Decimal | None = None       # upper bound in `unit` (LE, EQ, RANGE)
    unit: str | None = None           # normalised unit ("%", "天", "万元"...); None for a bare number
    written_unit: str | None = None   # unit as typed ("元"); a bare actual borrows its scale
    word: str | None = None           # text of a qualitative target ("及时", "有效提升")
    error: str | None = None          # Chinese: why the target cannot be used


@dataclass(frozen=True)
class Measured:
    raw: str                          # the 实际完成值 as typed or str() of the number
    value: Decimal | None = None      # in the target's unit when one was aligned
    unit: str | None = None
    word: str | None = None           # a qualitative conclusion ("部分达成")
    band: str | None = None           # its band, when the word is known
    note: str | None = None           # Chinese: how a bare number was read
    error: str | None = None          # Chinese: why the actual cannot be used


@dataclass(frozen=True)
class Scored:
    score: Decimal | None             # rounded half-up to 0.01; None: a person must give the score
    met: bool | None                  # quantitative and rate only (met ⇒ score == weight); else None
    reason: str                       # Chinese explanation fit to show beside the cell
    band: str | None = None           # qualitative band ("达成", "部分达成", "未达成")


# ---------------------------------------------------------------- parsing

def parse_target(text: str | int | float | Decimal | None, *, lower_is_better: bool = False) -> Target:
    """Read a 指标值. Never raises: an unusable target comes back with `error` set."""
    raw = _raw(text)
    if not raw:
        return Target(raw, None, error="未填写指标值")
    bare_op = LE if lower_is_better else GE
    if not isinstance(text, str):
        value = _number(text)
        if value is None:
            return Target(raw, None, error=f"指标值“{raw}”不是有效数字")
        return _bounded(raw, bare_op, value, None)
    s = _normalise(raw)
    if not re.search(r"\d", s):
        # No number at all: a qualitative goal ("及时", "有效提升"); only a qualitative actual can score it.
        return Target(raw, QUALITATIVE, word=s.strip(_PUNCTUATION))
    prefix_op = suffix_op = None
    found = _OPERATOR_RE.search(s)
    if found and not re.search(r"\d", s[:found.start()]):  # text before it is a label ("满意度≥90%")
        prefix_op, s = OPERATOR_WORDS[found.group()], s[found.end():]
    found = _SUFFIX_RE.search(s)
    if found:
        suffix_op, s = SUFFIX_WORDS[found.group()], s[:found.start()]
    if prefix_op and suffix_op and prefix_op != suffix_op:
        return Target(raw, None, error=f"指标值“{raw}”前后写了相反的方向")
    if m := _RANGE_RE.fullmatch(s):
        low, unit1, high, unit2 = m.groups()
        if prefix_op or suffix_op:
            return Target(raw, None, error=f"指标值“{raw}”是区间，不应再带比较符")
        if unit1 and unit2 and UNITS[unit1][0] != UNITS[unit2][0]:
            return Target(raw, None, error=f"指标值“{raw}”区间两端单位不一致")
        written = unit1 or unit2
        low_v, high_v = _scaled(Decimal(low), written), _scaled(Decimal(high), written)
        if low_v > high_v:
            return Target(raw, None, error=f"指标值“{raw}”区间下限大于上限")
        return Target(raw, RANGE, low_v, high_v, _unit_of(written), written)
    if m := _AMOUNT_RE.fullmatch(s):
        return _bounded(raw, prefix_op or suffix_op or bare_op, Decimal(m.group(1)), m.group(2))
    return Target(raw, None, error=f"无法识别指标值“{raw}”")


def parse_actual(value: str | int | float | Decimal | None, target: Target | None = None) -> Measured:
    """Read a 实际完成值 and align its unit with the target's. Never raises: see `error`."""
    raw = _raw(value)
    if not raw:
        return Measured(raw, error="未填写实际完成值")
    if isinstance(value, bool):
        return Measured(raw, error=f"实际完成值“{raw}”不是数字也不是定性结论")
    written = None
    if isinstance(value, str):
        s = _normalise(raw)
        word = s.strip(_PUNCTUATION)
        target_word = target.word if target else None
        if any(word in pair and target_word in pair for pair in POLAR_PAIRS):
            return Measured(raw, word=word, band="达成" if word == target_word else "未达成")
        if word in QUALITATIVE_WORDS:
            return Measured(raw, word=word, band=QUALITATIVE_WORDS[word])
        if not (m := _AMOUNT_RE.fullmatch(s)):
            return Measured(raw, word=word or None, error=f"无法识别实际完成值“{raw}”")
        number, written = Decimal(m.group(1)), m.group(2)
    elif (number := _number(value)) is None:
        return Measured(raw, error=f"实际完成值“{raw}”不是有效数字")
    if target is None or target.op in (None, QUALITATIVE):
        return Measured(raw, _scaled(number, written), _unit_of(written))
    if written is None:  # a bare number: read it in the target's unit
        if target.unit == "%" and abs(number) <= 1:
            percent = number * 100
            return Measured(raw, percent, "%", note=f"{_fmt(number)} 未写单位，按小数计为 {_fmt(percent)}%")
        note = f"未写单位，按指标值单位“{target.written_unit}”计" if target.written_unit else None
        return Measured(raw, _scaled(number, target.written_unit), target.unit, note=note)
    if target.unit is None:
        return Measured(raw, error=f"指标值未写单位，而实际完成值单位为“{written}”，无法确定口径")
    if _unit_of(written) != target.unit:
        return Measured(raw, error=f"单位不一致：指标值为“{target.written_unit}”，实际完成值为“{written}”")
    return Measured(raw, _scaled(number, written), target.unit)


# ---------------------------------------------------------------- scoring

def score_indicator(target_text: str | int | float | Decimal | None,
                    actual: str | int | float | Decimal | None,
                    weight: Decimal | int, *, method: str = "auto", lower_is_better: bool = False,
                    qualitative_points: dict[str, float | Decimal | str] | None = None) -> Scored:
    """Score one indicator. Configuration mistakes (weight, method, points) raise SpecError;
    data that cannot be scored returns Scored(score=None, reason=...).

    method "auto": qualitative when the actual is a known conclusion word, else quantitative against
    the target. method "rate": `actual` is the execution rate and the target text is ignored.
    qualitative_points: share of the weight proposed per band, e.g. {"达成": 0.9}; bands left out
    keep their upper bound; a share outside its band is a SpecError."""
    weight = _checked_weight(weight)
    points = _checked_points(qualitative_points)
    if method == "rate":
        return _score_rate(actual, weight)
    if method != "auto":
        raise SpecError(f"未知的评分方法“{method}”，应为 auto 或 rate")
    target = parse_target(target_text, lower_is_better=lower_is_better)
    if not target.raw:
        return _manual("未填写指标值")
    measured = parse_actual(actual, target)
    if measured.band:
        return _score_band(target, measured, weight, points)
    if target.error:
        return _manual(target.error)
    if measured.error:
        return _manual(measured.error)
    if target.op == QUALITATIVE:
        return _manual(f"指标值“{target.raw}”为定性表述，而实际完成值“{measured.raw}”不是定性结论"
                       f"（如 {'、'.join(QUALITATIVE_BANDS)}）")
    return _score_quantity(target, measured, weight)


def _score_quantity(target: Target, measured: Measured, weight: Decimal) -> Scored:
    actual, op = measured.value, target.op
    head = f"目标{_describe(target)}，完成{_fmt(actual)}{target.unit or ''}"
    if measured.note:
        head += f"（{measured.note}）"
    side = ""
    if op == GE:
        met, numerator, denominator = actual >= target.low, actual, target.low
    elif op == LE:
        met, numerator, denominator = actual <= target.high, target.high, actual
    elif op == EQ:
        met, numerator, denominator = actual == target.low, min(actual, target.low), max(actual, target.low)
    elif actual < target.low:
        met, numerator, denominator, side = False, actual, target.low, "低于下限，"
    else:
        met, numerator, denominator, side = actual <= target.high, target.high, actual, "高于上限，"
    if met:
        return Scored(_cents(weight), True, f"{head}，达标，得满分{_fmt(weight)}")
    # Proportional scoring means a positive target; "≤0" or a negative bound has no ratio a person would accept.
    bound = target.low if op in (GE, EQ) or side == "低于下限，" else target.high
    if bound <= 0:
        return _manual(f"{head}，未达标；目标值不大于 0，不能按比例计分")
    share = min(max(numerator / denominator, Decimal(0)), Decimal(1))
    score = _cents(weight * share)
    return Scored(score, False, f"{head}，未达标，{side}按 {_fmt(numerator)}/{_fmt(denominator)} 计 {_fmt(score)} 分")


def _score_band(target: Target, measured: Measured, weight: Decimal, points: dict[str, Decimal]) -> Scored:
    band, share = measured.band, points[measured.band]
    low, high = QUALITATIVE_BANDS[band]
    score = _cents(weight * share)
    goal = (f"目标“{target.word}”，" if target.op == QUALITATIVE
            else f"目标{_describe(target)}，" if target.op else "")
    return Scored(score, None, f"{goal}完成情况“{measured.word}”，属{band}档（分值的 {_fmt(low * 100)}%–"
                               f"{_fmt(high * 100)}%，由评价人在档内确定），建议按 {_fmt(share * 100)}% 计 "
                               f"{_fmt(score)} 分", band)


def _score_rate(actual, weight: Decimal) -> Scored:
    measured = parse_actual(actual, _RATE_TARGET)
    if measured.band or measured.error:
        return _manual(measured.error or f"执行率应为数值，而实际完成值为“{measured.raw}”")
    rate = measured.value
    head = f"执行率{_fmt(rate)}%" + (f"（{measured.note}）" if measured.note else "")
    if rate >= 100:
        return Scored(_cents(weight), True, f"{head}，得满分{_fmt(weight)}")
    score = _cents(weight * max(rate, Decimal(0)) / 100)
    return Scored(score, False, f"{head}，按 分值×执行率 计 {_fmt(score)} 分")


_RATE_TARGET = Target("100%", GE, Decimal(100), unit="%", written_unit="%")


# ---------------------------------------------------------------- helpers

def _manual(reason: str) -> Scored:
    return Scored(None, None, f"{reason}，无法自动评分，须由评价人人工评分")


def _checked_weight(weight) -> Decimal:
    if isinstance(weight, bool) or not isinstance(weight, (int, Decimal)):
        raise SpecError(f"分值应为 Decimal 或整数，收到 {weight!r}")
    weight = Decimal(weight)
    if not weight.is_finite() or weight < 0:
        raise SpecError(f"分值应为不小于 0 的数，收到 {weight}")
    try:  # scores are cents: a finer weight could never be met exactly
        in_cents = weight == weight.quantize(CENT)
    except InvalidOperation:  # more digits than the decimal context holds
        in_cents = False
    if not in_cents:
        raise SpecError(f"分值最多两位小数且不超过 26 位整数，收到 {weight}")
    return weight


def _checked_points(points) -> dict[str, Decimal]:
    merged = dict(DEFAULT_QUALITATIVE_POINTS)
    for band, share in (points or {}).items():
        if band not in QUALITATIVE_BANDS:
            raise SpecError(f"定性评分档“{band}”不存在，应为 {'、'.join(QUALITATIVE_BANDS)}")
        try:
            value = Decimal(str(share))  # str(): 0.8 the float means 0.8, not its binary neighbour
        except InvalidOperation:
            raise SpecError(f"定性评分档“{band}”的比例“{share}”不是数字") from None
        low, high = QUALITATIVE_BANDS[band]
        if not low <= value <= high:
            raise SpecError(f"定性评分档“{band}”的比例 {share} 超出该档范围 {low}–{high}")
        merged[band] = value
    return merged


def _bounded(raw: str, op: str, value: Decimal, written: str | None) -> Target:
    value, unit = _scaled(value, written), _unit_of(written)
    return Target(raw, op, None if op == LE else value, None if op == GE else value, unit, written)


def _raw(value) -> str:
    return "" if value is None else value.strip() if isinstance(value, str) else str(value)


def _normalise(text: str) -> str:
    # NFKC folds full-width digits, ％, ＞＝, ～ and ideographic spaces; then drop spaces and 1,234 commas.
    text = unicodedata.normalize("NFKC", text).translate(_EXTRA_FOLDS)
    return re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", re.sub(r"\s+", "", text))


def _number(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    # str() of a float is its shortest round-trip form: 0.98 stays 0.98 rather than 0.979999...
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    return number if number.is_finite() else None


def _scaled(value: Decimal, written: str | None) -> Decimal:
    return value * UNITS[written][1] if written else value


def _unit_of(written: str | None) -> str | None:
    return UNITS[written][0] if written else None


def _describe(target: Target) -> str:
    unit = target.unit or ""
    if target.op == RANGE:
        return f"{_fmt(target.low)}{unit}-{_fmt(target.high)}{unit}"
    value = target.high if target.op == LE else target.low
    return f"{_OP_SYMBOLS[target.op]}{_fmt(value)}{unit}"


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _fmt(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
