"""Score one indicator by a spec's rules (rules.py): met earns the full 分值, short of it the share
the rule of its direction gives, rounded half up to the cent; a qualitative conclusion falls in a
band and the spec's point in it is proposed; anything that cannot be scored returns score None
with a Chinese reason asking a person to score it.

- A bare number target means ≥, or ≤ when the caller says lower is better; an explicit operator
  (or the form's 指标性质 column, `nature`) always wins. A range scores against the bound missed.
- method "rate" (预算执行率): 分值 × rate, capped at 分值 unless the rules say otherwise.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ..errors import SpecError
from ..numbers import CENT
from .parse import (GE, LE, QUALITATIVE, RANGE, Measured, Target, describe, fmt, parse_actual, parse_target,
                    target_text)
from .rules import DEFAULT_RULES, Band, ScoringRules, share_above, share_below, share_equal

QUANTITATIVE_NATURES = ("≥", ">", "≤", "<", "=")


@dataclass(frozen=True)
class Scored:
    score: Decimal | None             # rounded half-up to 0.01; None: a person must give the score
    met: bool | None                  # quantitative and rate only (met ⇒ score == weight); else None
    reason: str                       # Chinese explanation fit to show beside the cell
    band: str | None = None           # qualitative band ("达成", "部分达成", "未达成")
    target: Target | None = None      # what was read, for the checker's judgement
    measured: Measured | None = None


def score_indicator(target_text_: str | int | float | Decimal | None,
                    actual: str | int | float | Decimal | None,
                    weight: Decimal | int, *, method: str = "auto", lower_is_better: bool = False,
                    qualitative_points: dict[str, float | Decimal | str] | None = None,
                    rules: ScoringRules | None = None, nature=None, unit=None) -> Scored:
    """Score one indicator. Configuration mistakes (weight, method, points) raise SpecError;
    data that cannot be scored returns Scored(score=None, reason=...).

    method "auto": qualitative when the actual is a known conclusion word, else quantitative against
    the target. method "rate": `actual` is the execution rate and the target text is ignored.
    qualitative_points: share of the weight proposed per band, e.g. {"达成": 0.9}, instead of the
    rules' (a share outside its band is a SpecError). `nature`, `unit`: the 指标性质 and 度量单位
    of a form that writes them apart from the 指标值 (≥ ≤ = 定性)."""
    rules = rules or DEFAULT_RULES
    weight = _checked_weight(weight)
    bands = _proposals(rules.bands, qualitative_points)
    if method == "rate":
        return _score_rate(actual, weight, rules)
    if method != "auto":
        raise SpecError(f"未知的评分方法“{method}”，应为 auto 或 rate")
    stated_nature = "" if nature is None else str(nature).strip()
    text = target_text(nature, target_text_, unit) if nature is not None or unit is not None else target_text_
    target = parse_target(text, lower_is_better=lower_is_better)
    if stated_nature == "定性":
        target = replace(target, op=QUALITATIVE, low=None, high=None, error=None, word=target.raw or None)
    if not target.raw:
        return _manual("未填写指标值")
    if unit is not None:        # the form's 度量单位 is the actual's too: "95" in a "%" row is 95%
        actual = target_text("=", actual, unit)[1:] if _bare(actual) else actual
    measured = parse_actual(actual, target, rules.words)
    if measured.band and stated_nature in QUANTITATIVE_NATURES:
        return _manual(f"指标性质为“{stated_nature}”，实际完成值“{measured.raw}”应为数值", target, measured)
    if measured.band:
        return _score_band(target, measured, weight, bands)
    if target.error:
        return _manual(target.error, target, measured)
    if measured.error:
        return _manual(measured.error, target, measured)
    if target.op == QUALITATIVE:
        return _manual(f"指标值“{target.raw}”为定性表述，而实际完成值“{measured.raw}”不是定性结论"
                       f"（如 {rules.option_words if rules.words else '、'.join(b.name for b in bands)}）",
                       target, measured)
    if rules.negative_zero and measured.value < 0:
        measured = replace(measured, value=Decimal(0), note=f"完成值 {fmt(measured.value)} 为负，按 0 计")
    return _score_quantity(target, measured, weight, rules)


def _score_quantity(target: Target, measured: Measured, weight: Decimal, rules: ScoringRules) -> Scored:
    actual, op = measured.value, target.op
    head = f"目标{describe(target)}，完成{fmt(actual)}{target.unit or ''}"
    if measured.note:
        head += f"（{measured.note}）"
    side = ""
    if op == GE:
        share, bound = share_above(rules.above, actual, target.low), target.low
    elif op == LE:
        share, bound = share_below(rules.below, actual, target.high), target.high
    elif op == RANGE and actual < target.low:
        share, bound, side = share_above(rules.above, actual, target.low), target.low, "低于下限，"
    elif op == RANGE:
        share, bound, side = share_below(rules.below, actual, target.high), target.high, "高于上限，"
    else:
        share, bound = share_equal(rules.equal, actual, target.low), target.low
    if share == 1:
        return Scored(cents(weight), True, f"{head}，达标，得满分{fmt(weight)}", target=target, measured=measured)
    if share is None:   # a ratio needs a positive target: "≤0" has none a person would accept
        return _manual(f"{head}，未达标；目标值不大于 0，不能按比例计分", target, measured)
    score = cents(weight * share)
    how = _how(op if not side else (GE if side == "低于下限，" else LE), rules, actual, bound, share)
    return Scored(score, False, f"{head}，未达标，{side}{how} 计 {fmt(score)} 分", target=target, measured=measured)


def _how(op: str, rules: ScoringRules, actual: Decimal, bound: Decimal, share: Decimal) -> str:
    """How the rule reached the share, in the reason's words."""
    method = rules.above if op == GE else rules.below if op == LE else rules.equal
    if method == "inverse":
        return f"按 {fmt(bound)}/{fmt(actual)}"
    if method == "linear":
        return f"按 1-({fmt(actual)}-{fmt(bound)})/{fmt(bound)}" if share else "达到指标值的两倍及以上，"
    if method == "closeness":
        return f"按 {fmt(min(actual, bound))}/{fmt(max(actual, bound))}"
    if method == "at-least" and bound == 0:
        return "指标值为 0 而完成值大于 0，"
    return f"按 {fmt(actual)}/{fmt(bound)}"


def _score_band(target: Target, measured: Measured, weight: Decimal, bands: tuple[Band, ...]) -> Scored:
    band = next(b for b in bands if b.name == measured.band)
    score = cents(weight * band.propose)
    goal = (f"目标“{target.word}”，" if target.op == QUALITATIVE
            else f"目标{describe(target)}，" if target.op else "")
    return Scored(score, None, f"{goal}完成情况“{measured.word}”，属{band.name}档（分值的 {fmt(band.low * 100)}%–"
                               f"{fmt(band.high * 100)}%，由评价人在档内确定），建议按 {fmt(band.propose * 100)}% 计 "
                               f"{fmt(score)} 分", band.name, target, measured)


def _score_rate(actual, weight: Decimal, rules: ScoringRules) -> Scored:
    measured = parse_actual(actual, _RATE_TARGET)
    if measured.band or measured.error:
        return _manual(measured.error or f"执行率应为数值，而实际完成值为“{measured.raw}”")
    rate = measured.value
    head = f"执行率{fmt(rate)}%" + (f"（{measured.note}）" if measured.note else "")
    if rate >= 100 and rules.execution_cap:
        return Scored(cents(weight), True, f"{head}，得满分{fmt(weight)}")
    score = cents(weight * max(rate, Decimal(0)) / 100)
    return Scored(score, rate >= 100, f"{head}，按 分值×执行率 计 {fmt(score)} 分")


_RATE_TARGET = Target("100%", GE, Decimal(100), unit="%", written_unit="%")


def _bare(value) -> bool:
    """A number with no unit written: 95, "95", " 0.5 "."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and re.fullmatch(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*", value) is not None


def _manual(reason: str, target: Target | None = None, measured: Measured | None = None) -> Scored:
    return Scored(None, None, f"{reason}，无法自动评分，须由评价人人工评分", target=target, measured=measured)


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


def _proposals(bands: tuple[Band, ...], points) -> tuple[Band, ...]:
    """The bands with the caller's proposed shares in place of the rules' (each within its band)."""
    names = [b.name for b in bands]
    out = {b.name: b for b in bands}
    for name, share in (points or {}).items():
        if name not in out:
            raise SpecError(f"定性评分档“{name}”不存在，应为 {'、'.join(names)}")
        try:
            value = Decimal(str(share))  # str(): 0.8 the float means 0.8, not its binary neighbour
        except InvalidOperation:
            raise SpecError(f"定性评分档“{name}”的比例“{share}”不是数字") from None
        if not out[name].low <= value <= out[name].high:
            raise SpecError(f"定性评分档“{name}”的比例 {share} 超出该档范围 {out[name].low}–{out[name].high}")
        out[name] = replace(out[name], propose=value)
    return tuple(out[n] for n in names)


def cents(value: Decimal) -> Decimal:
    """Two decimals, half up: every score."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)

