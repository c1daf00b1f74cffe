"""One field's raw value (from a cell or a data file) -> the typed value the rules use.

Numbers become Decimal, dates become date, text stays text, blank becomes None. Text that is
unambiguously a number ("3,512.52", "３５１２.５２", "3512.52万元") is read with a note; what
cannot be read unambiguously is a problem, never a guess. Out-of-range values (a negative amount,
three decimals, a fractional head count) are problems too: the template's validation would have
refused them.
"""
from __future__ import annotations

import math
import re
from typing import NamedTuple
from datetime import date, datetime
from decimal import Decimal

from .numbers import CENT, float_to_decimal, parse_amount, parse_count, parse_percent, parse_score
from .spec.model import MONEY_UNITS, NUMBER_UNITS, Field
from .xlsx import excel_date

MAX_NUMBER = Decimal(10) ** 15   # Excel keeps 15 digits; a report's figures are far below this
_CHECKED_TEXT = {"date", "month", "phone", "postcode", "choice"}   # text units with a form to check
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
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


def _as_date(field: Field, raw) -> Coerced:
    if isinstance(raw, datetime):
        return Coerced(raw.date())
    if isinstance(raw, date):
        return Coerced(raw)
    if isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool):
        try:
            return Coerced(excel_date(int(raw)).date())
        except (ValueError, OverflowError):
            return Coerced(None, error=f"{field.label}：{raw} 不是有效日期")
    m = _DATE.match(str(raw))
    if not m:
        return Coerced(None, error=f"{field.label}：“{raw}”不是日期（应如 2023-03-30）")
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
    try:
        value = date(y, mo, d)
    except ValueError:
        return Coerced(None, error=f"{field.label}：“{raw}”不是有效日期")
    note = None if isinstance(raw, str) and re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", raw.strip()) else \
        f"{field.label}：日期按文字“{raw}”读作 {value.isoformat()}"
    return Coerced(value, note=note)


def _out_of_range(field: Field, value: Decimal) -> str | None:
    """Range rules are those of the template's validation, i.e. of inputs: a computed balance
    may well be negative."""
    unit = field.unit
    if unit == "人":
        if value < 0 or value != value.to_integral_value():
            return f"{field.label}：人数 {value} 须为不小于 0 的整数"
    elif field.kind == "input":
        if unit in MONEY_UNITS:
            if value < 0:
                return f"{field.label}：金额 {value} 不能为负数"
            if value != value.quantize(CENT):
                return f"{field.label}：金额 {value} 超过两位小数"
        elif unit == "score" and value < 0:
            return f"{field.label}：分数 {value} 不能为负数"
    return None


def coerce(field: Field, raw, *, from_text_ok: bool = False) -> Coerced:
    """`from_text_ok`: a data file writes every amount as a string, which is not a finding."""
    unit = field.unit
    if isinstance(raw, str):
        if not raw or raw.isspace():     # (no copy of a long text)
            return _BLANK
        if unit not in NUMBER_UNITS and unit not in _CHECKED_TEXT:
            return Coerced(raw)          # free text, the commonest field of a report
    elif raw is None:
        return _BLANK
    if unit in NUMBER_UNITS:
        kind = type(raw)
        if (kind is int or (kind is float and math.isfinite(raw))) and unit != "%":
            # The common case, a real number in a number cell: no text to normalise.
            value, note = (float_to_decimal(raw) if kind is float else Decimal(raw)), None
        else:
            if unit in ("万元", "元"):
                parsed = parse_amount(raw, unit=unit)
            elif unit == "%":
                parsed = parse_percent(raw, stored_as_fraction=not isinstance(raw, str))
            elif unit == "人":
                parsed = parse_count(raw, ("人", "名"))
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
        error = _out_of_range(field, value)
        return Coerced(value, note, error) if error or note else Coerced(value)
    if unit in ("date", "month"):
        return _as_date(field, raw)
    text = _number_text(raw) if isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool) else str(raw)
    if unit == "phone" and not re.fullmatch(r"[\d\- ]{7,20}", text.strip()):
        return Coerced(text, error=f"{field.label}：“{text}”不像电话号码")
    if unit == "postcode" and not re.fullmatch(r"\d{6}", text.strip()):
        return Coerced(text, error=f"{field.label}：邮编“{text}”应为 6 位数字")
    if unit == "choice" and text not in field.choices:
        return Coerced(text, error=f"{field.label}：“{text}”不是可选项（{'、'.join(field.choices)}）")
    return Coerced(text)
