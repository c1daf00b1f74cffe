"""One field's raw value (from a cell or a data file) -> the typed value the rules use.

Numbers become Decimal, dates become date, months the text "2022-01", text stays text, blank
becomes None. Text that is
unambiguously a number ("3,512.52", "３５１２.５２", "3512.52万元") is read with a note; what
cannot be read unambiguously is a problem, never a guess. Out-of-range values (a negative amount,
three decimals, a fractional head count) are problems too: the template's validation would have
refused them.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from dataclasses import replace
from typing import NamedTuple
from datetime import date, datetime
from decimal import Decimal

from ..memo import register
from ..numbers import float_to_decimal, parse_amount, parse_number, parse_percent, parse_score
from ..spec.model import NUMBER_UNITS, Field
from ..units import NUMBER_MAX, TEXT_MAX, Month, Where, unit_of
from ..xlsx import excel_date

MAX_NUMBER = NUMBER_MAX
_CHECKED_TEXT = {"date", "month", "phone", "postcode", "choice"}   # text units with a form to check
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:[-/.月]\s*(?:(\d{1,2})\s*日?)?)?\s*$")


class Coerced(NamedTuple):      # a tuple: the checker makes one per field of every workbook
    value: object                 # Decimal | str | date | None
    note: str | None = None       # normalised from text: a warning
    error: str | None = None      # unreadable or out of range: an error


_BLANK = Coerced(None)


def is_blank(value) -> bool:
    """Nothing in the cell: None or empty text. (Not `value in (None, "")`: comparing a Decimal
    with "" goes through the numbers ABCs, 150 times per workbook.)"""
    return value is None or (type(value) is str and not value)


def _number_text(value) -> str:
    """A number typed into a text cell (a phone number) back as the digits the user typed."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return str(value)


# Numbers read without a note or an error, by (unit, field kind, type, number): a score of 5, an
# amount of 0 recur in every workbook. (A note or an error names its field: not kept.) At most
# 4096, emptied when full. The workbook reader looks here before it calls coerce (a call per
# figure of every workbook).
NUMBERS_READ: dict[tuple, Coerced] = {}
register("numbers read", lambda: (len(NUMBERS_READ), 300 * len(NUMBERS_READ)), NUMBERS_READ.clear)


@lru_cache(maxsize=256)
def _where(year: int, choices: tuple[str, ...]) -> Where:
    return Where(year, choices)


register("input limits", lambda: (_where.cache_info().currsize, None), _where.cache_clear)


def _refused(field: Field, shown: str, where: Where) -> str:
    """The checker's words for a value the unit's limits refuse: the template's error text."""
    return unit_of(field).refused(field.label, shown, where)


def _serial_date(field: Field, raw) -> date | str:
    """A number in a date cell -> the date it shows, or the error."""
    try:
        return excel_date(int(raw)).date()
    except (ValueError, OverflowError):
        return f"{field.label}：{raw} 不是有效日期"


def _as_date(field: Field, raw, year: int, from_text_ok: bool) -> Coerced:
    """A date cell holds a serial (what Excel stores for a typed date); text in it was pasted or
    not recognised as a date: read when unambiguous, with a warning (the template refuses it)."""
    where = _where(year, ())
    note = None
    if isinstance(raw, datetime):
        value = raw.date()
    elif isinstance(raw, date):
        value = raw
    elif isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool):
        value = _serial_date(field, raw)
        if isinstance(value, str):
            return Coerced(None, error=value)
    else:
        m = _DATE.match(str(raw))
        if not m:
            return Coerced(None, error=f"{field.label}：“{raw}”不是日期（应如 {year + 1}-03-30）")
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
        try:
            value = date(y, mo, d)
        except ValueError:
            return Coerced(None, error=f"{field.label}：“{raw}”不是有效日期")
        if not (from_text_ok and isinstance(raw, str) and _ISO_DATE.fullmatch(raw)):
            note = f"{field.label}：日期按文字“{raw}”读作 {value.isoformat()}"
    if field.kind == "input" and not unit_of(field).accepts(value, where):
        return Coerced(value, note, _refused(field, value.isoformat(), where))
    return Coerced(value, note)


def _as_month(field: Field, raw, year: int) -> Coerced:
    """A month cell is text (2022-01, 2022年1月, 2022.1), or a real date pasted in (a serial).
    The value is the text 2022-01 either way."""
    where = _where(year, ())
    unit = unit_of(field)
    if isinstance(raw, (datetime, date)):
        value = raw.date() if isinstance(raw, datetime) else raw
    elif isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool):
        value = _serial_date(field, raw)
        if isinstance(value, str):
            return Coerced(None, error=value)
    else:
        value = str(raw)
    if not unit.accepts(value, where):
        shown = value.isoformat() if isinstance(value, date) else f"“{value}”"
        return Coerced(value if isinstance(value, str) else None, error=_refused(field, shown, where))
    return Coerced(Month.canonical(value))


def coerce(field: Field, raw, *, year: int, from_text_ok: bool = False, bound: Decimal | None = None) -> Coerced:
    """`year`: the spec's year (date and month windows). `from_text_ok`: a data file writes
    every amount as a string, which is not a finding. `bound`: a score's weight, when known
    (the checker leaves that to the score-range rule).

    The limits are those of the unit's declaration (xltools.units), the same the template's
    validation refuses; they apply to inputs (a computed balance may well be negative)."""
    unit = field.unit
    if isinstance(raw, str):
        if not raw or raw.isspace():     # (no copy of a long text)
            return _BLANK
        if unit not in NUMBER_UNITS and unit not in _CHECKED_TEXT:   # free text, the commonest field
            if len(raw) <= TEXT_MAX:
                return Coerced(raw)
            return Coerced(raw, error=f"{field.label}：文字有 {len(raw)} 字，须为{unit_of(field).rule(None)}")
    elif raw is None:
        return _BLANK
    if unit in NUMBER_UNITS:
        kind = type(raw)
        # (not a float 0, which may be -0.0, nor NaN or infinity: their keys are not what they read)
        key = (unit, field.kind, kind, raw) if bound is None and (
            kind is int or kind is float and raw and math.isfinite(raw)) else None
        if key is not None:
            hit = NUMBERS_READ.get(key)
            if hit is not None:
                return hit
        if (kind is int or (kind is float and math.isfinite(raw))) and unit != "%":
            # The common case, a real number in a number cell: no text to normalise.
            value, note = (float_to_decimal(raw) if kind is float else Decimal(raw)), None
        else:
            if unit in ("万元", "元"):
                parsed = parse_amount(raw, unit=unit)
            elif unit == "%":
                parsed = parse_percent(raw, stored_as_fraction=not isinstance(raw, str))
            elif unit == "rate" and isinstance(raw, str) and ("%" in raw or "％" in raw):
                parsed = parse_percent(raw)    # a rate written as a percentage: 99.97% is 0.9997
                parsed = replace(parsed, value=None if parsed.value is None else parsed.value / 100)
            elif unit == "人":
                parsed = parse_number(raw, ("人", "名"), "人数")   # its limits say what is wrong with 44.5
            else:
                parsed = parse_score(raw)
            if parsed.error:
                return Coerced(None, error=f"{field.label}：{parsed.error}")
            value = parsed.value
            plain = isinstance(raw, str) and _PLAIN_NUMBER.fullmatch(raw) is not None
            note = None if (from_text_ok and plain) or not parsed.normalized_from else \
                f"{field.label}：{parsed.normalized_from}"
        if value is None:
            return Coerced(None, note=note)
        if abs(value) >= MAX_NUMBER:
            return Coerced(None, note, f"{field.label}：数值 {raw} 大得不合理")
        if field.kind == "input":
            # (Number units other than 得分 need nothing but the value: no Where on this hot path.)
            where = None if bound is None else Where(year, bound=bound)
            if not unit_of(field).accepts(value, where):
                return Coerced(value, note, _refused(field, str(value), where or _where(year, ())))
        if note:
            return Coerced(value, note)
        out = Coerced(value)
        if key is not None:
            if len(NUMBERS_READ) >= 4096:
                NUMBERS_READ.clear()
            NUMBERS_READ[key] = out
        return out
    if unit == "date":
        return _as_date(field, raw, year, from_text_ok)
    if unit == "month":
        return _as_month(field, raw, year)
    text = _number_text(raw) if isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool) else str(raw)
    where = _where(year, field.choices)
    if field.kind == "input" and not unit_of(field).accepts(text, where):
        return Coerced(text, error=_refused(field, f"“{text}”", where))
    return Coerced(text)
