"""A spec's [scoring] and [warnings] tables -> scoring.ScoringRules (what the methods and their
parameters mean: xltools/scoring/rules.py). Every mistake is a SpecError naming its key."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ..errors import SpecError
from ..scoring.rules import (ABOVE_METHODS, BELOW_METHODS, DEFAULT_BANDS, EQUAL_METHODS, Band, ScoringRules)

_KEYS = {"above", "below", "equal", "negative", "qualitative", "keep_chosen", "execution_cap", "judge", "reason_over"}
_WARNING_KEYS = {"score_ahead", "unspent"}


def _dec(value, where: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise SpecError(f"{where}：{value!r} 不是数字") from None
    if not d.is_finite() or d < 0:
        raise SpecError(f"{where}：{value!r} 应为不小于 0 的数")
    return d


def _choice(table: dict, key: str, allowed: tuple[str, ...], default: str, where: str) -> str:
    value = table.get(key, default)
    if value not in allowed:
        raise SpecError(f"{where}.{key}：应为 {' 或 '.join(allowed)}，实为 {value!r}")
    return value


def _flag(table: dict, key: str, default: bool, where: str) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise SpecError(f"{where}.{key}：应为 true 或 false")
    return value


def _bands(declared: dict, where: str) -> tuple[Band, ...]:
    """[scoring.qualitative]: band name -> { low, high, propose, words } (or, as older specs write
    it, the share proposed in the default band of that name)."""
    if not declared:
        return DEFAULT_BANDS
    defaults = {b.name: b for b in DEFAULT_BANDS}
    out = []
    for name, d in declared.items():
        place = f"{where}.qualitative.{name}"
        if not isinstance(d, dict):
            if name not in defaults:
                raise SpecError(f"{place}：定性评分档应为 {'、'.join(defaults)}，或写明 low、high、propose")
            d = {"low": defaults[name].low, "high": defaults[name].high, "propose": d}
        try:
            low, high, propose = (_dec(d[k], f"{place}.{k}") for k in ("low", "high", "propose"))
        except KeyError as e:
            raise SpecError(f"{place}：缺少键 {e.args[0]}") from None
        words = d.get("words", [])
        if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            raise SpecError(f"{place}.words：应为选项文字的列表")
        if not low < high <= 1 or not low <= propose <= high:
            raise SpecError(f"{place}：应满足 0 ≤ low < high ≤ 1，且 propose 在 low 与 high 之间")
        out.append(Band(name, low, high, propose, tuple(words)))
    if any(b.words for b in out) and not all(b.words for b in out):
        raise SpecError(f"{where}.qualitative：各档都须给出 words，或都不给（按内置的完成情况用语）")
    if not any(b.words for b in out) and not {b.name for b in out} <= set(defaults):
        raise SpecError(f"{where}.qualitative：未给出 words 时，档名只能是 {'、'.join(defaults)}")
    return tuple(out)


def scoring_rules(doc: dict, where: str) -> ScoringRules:
    table, warnings = doc.get("scoring", {}), doc.get("warnings", {})
    place = f"{where}: scoring"
    for key in set(table) - _KEYS:
        raise SpecError(f"{place}：未知的键 {key}（可用 {'、'.join(sorted(_KEYS))}）")
    for key in set(warnings) - _WARNING_KEYS:
        raise SpecError(f"{where}: warnings：未知的键 {key}（可用 {'、'.join(sorted(_WARNING_KEYS))}）")
    negative = _choice(table, "negative", ("as-is", "zero"), "as-is", place)
    return ScoringRules(
        above=_choice(table, "above", ABOVE_METHODS, "proportional", place),
        below=_choice(table, "below", BELOW_METHODS, "inverse", place),
        equal=_choice(table, "equal", EQUAL_METHODS, "closeness", place),
        negative_zero=negative == "zero",
        bands=_bands(table.get("qualitative", {}), place),
        keep_chosen=_flag(table, "keep_chosen", False, place),
        execution_cap=_flag(table, "execution_cap", True, place),
        judge=_flag(table, "judge", False, place),
        reason_over=_dec(table["reason_over"], f"{place}.reason_over") if "reason_over" in table else None,
        score_ahead=_dec(warnings["score_ahead"], f"{where}: warnings.score_ahead") if "score_ahead" in warnings else None,
        unspent=_dec(warnings["unspent"], f"{where}: warnings.unspent") if "unspent" in warnings else None,
    )
