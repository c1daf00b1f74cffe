"""A cell's value -> Decimal for money, percent and count fields.

Accountants type numbers in every shape Excel lets them: real numbers, text with thousands
separators or full-width digits (Chinese input methods), a unit typed after the number, a dash for
"nothing". We normalise what has one reading, say in Chinese what we did (so a finding can show
it), and refuse what has two readings ("1,2,3", "50.74元" in a 万元 column) rather than guess.
Blank is kept apart from 0: blank is 0 in a sum but "not filled" for a required field.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation

__all__ = ["Parsed", "parse_amount", "parse_percent", "parse_count", "parse_number", "parse_score", "round_half_up",
           "float_to_decimal", "COUNT_UNITS", "CENT"]

# Excel stores doubles but shows and compares 15 significant digits; LibreOffice writes 56.6 as
# 56.600000000000001 and SUM gives 3612.5299999999997. Rounding to 15 digits undoes exactly
# that binary noise and never touches a digit a person typed (Excel keeps no more than 15).
FLOAT_DIGITS = 15
CENT = Decimal("0.01")   # amounts are exact to the cent of 万元
_FLOAT_CONTEXT = Context(prec=FLOAT_DIGITS, rounding=ROUND_HALF_EVEN)

COUNT_UNITS = ("人", "名", "个", "项", "次", "家", "户", "所", "台", "辆", "套", "件", "篇", "场", "期", "天")
# Units a person might type into a money cell; any of them other than the column's is a mismatch.
_MONEY_UNITS = ("亿元", "万元", "千元", "百元", "元", "亿", "万", "千")

_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，－＋％\u2212\u2013\uff0e", "0123456789.,-+%--.")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_PLACEHOLDERS = {"-", "--", "—", "——", "－", "–", "―", "/", "／", "\\"}
_EXCEL_ERROR = re.compile(r"#(?:NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA|SPILL!|CALC!)")
_PLAIN = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_NUMBER_THEN_SUFFIX = re.compile(r"([+\-0-9.,]*[0-9][+\-0-9.,]*)\s*(\S*)")


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a cell's value means as a number.

    value            the number, or None when blank or unreadable
    blank            nothing was filled in (None, "", spaces, or a dash placeholder)
    normalized_from  Chinese note on the text we normalised, quoting it; None for a real number
    error            Chinese reason the value cannot be read unambiguously; None when fine
    """

    value: Decimal | None
    blank: bool = False
    normalized_from: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def for_sum(self) -> Decimal | None:
        """The value as a term of a sum: blank counts as 0; None when the value is unreadable."""
        if self.error is not None:
            return None
        return Decimal(0) if self.blank else self.value


def float_to_decimal(number: float) -> Decimal:
    """A float from a cell as the Decimal Excel shows: 56.600000000000001 -> 56.6."""
    text = repr(number)
    if len(text) <= FLOAT_DIGITS + 1 and "e" not in text and "n" not in text:
        # At most 15 digits in plain notation (the common case, read fast): repr has no trailing
        # zeros but the ".0" of a whole number, so this is what _tidy below would give.
        return Decimal(text[:-2] if text.endswith(".0") else text)
    exact = Decimal(text)
    return _tidy(_FLOAT_CONTEXT.plus(exact) if len(exact.as_tuple().digits) > FLOAT_DIGITS else exact)


def _tidy(d: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent form for whole numbers (100, not 1E+2)."""
    if d == d.to_integral_value():
        return d.quantize(Decimal(1)) if d.adjusted() < 27 else d
    return d.normalize()


def round_half_up(value: Decimal | int, places: int = 2) -> Decimal:
    """Round as the finance rules (and Excel's ROUND) do: 0.125 -> 0.13, -0.125 -> -0.13."""
    if isinstance(value, (float, bool)) or not isinstance(value, (Decimal, int)):
        raise TypeError("round_half_up 只接受 Decimal 或 int；浮点数请先用 parse_amount 转换")
    value = Decimal(value)
    exponent = Decimal(1).scaleb(-places)
    context = Context(prec=max(28, value.adjusted() + places + 2))
    return value.quantize(exponent, rounding=ROUND_HALF_UP, context=context)


def parse_amount(value, unit: str = "万元") -> Parsed:
    """A money cell. `unit` is the column's unit; the same unit typed after the number is dropped
    ("140万元" in a 万元 column; "140万" too), any other unit ("50.74元") is an error."""
    suffixes = (unit, "万") if unit == "万元" else (unit,)
    return _parse(value, suffixes, _MONEY_UNITS, "金额")


def parse_percent(value, *, stored_as_fraction: bool = False) -> Parsed:
    """A percent cell, in percent points: "50%", "５０％" and 50 all give 50.

    A number in a cell formatted as a percentage is stored as a fraction (50% is 0.5); pass
    `stored_as_fraction=True` for such cells (see xlsx.Book.number_format) to get 50 back.
    Text keeps its own meaning: "50%" and "50" typed as text are 50 points either way.
    """
    parsed = _parse(value, ("%",), ("‰",), "百分比")
    if stored_as_fraction and parsed.value is not None and not isinstance(value, str):
        return Parsed(_tidy(parsed.value * 100), parsed.blank, parsed.normalized_from, parsed.error)
    return parsed


def parse_count(value, units: tuple[str, ...] = COUNT_UNITS) -> Parsed:
    """A count (people, projects...): a whole number; "44人" gives 44, "44.5" is an error."""
    parsed = _parse(value, units, (), "数量")
    if parsed.value is not None and parsed.value != parsed.value.to_integral_value():
        return Parsed(None, False, parsed.normalized_from, f"「{_show(value)}」不是整数，数量应为整数")
    if parsed.value is not None:
        return Parsed(parsed.value.to_integral_value(), False, parsed.normalized_from, None)
    return parsed


def parse_number(value, units: tuple[str, ...], what: str) -> Parsed:
    """Any number, one of `units` typed after it dropped ("44人"); `what` names it in a message.
    Its limits (a whole number of people…) are the unit's (xltools.units), checked after."""
    return _parse(value, units, (), what)


def parse_score(value) -> Parsed:
    """A score or weight (分): any number, "4.17" and "5分" alike."""
    return _parse(value, ("分",), (), "分数")


def _show(value) -> str:
    return value if isinstance(value, str) else repr(value)


def _parse(value, own_suffixes: tuple[str, ...], foreign_suffixes: tuple[str, ...], what: str) -> Parsed:
    if value is None:
        return Parsed(None, blank=True)
    if isinstance(value, bool):  # before int: bool is an int subclass
        return Parsed(None, error=f"是逻辑值 {str(value).upper()}，不是{what}")
    if isinstance(value, int):
        return Parsed(Decimal(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            return Parsed(None, error=f"「{value!r}」不是有限的数")
        return Parsed(float_to_decimal(value))
    if isinstance(value, Decimal):
        return Parsed(value) if value.is_finite() else Parsed(None, error=f"「{value}」不是有限的数")
    if not isinstance(value, str):
        return Parsed(None, error=f"「{value!r}」不是{what}")
    return _parse_text(value, own_suffixes, foreign_suffixes, what)


def _parse_text(original: str, own_suffixes, foreign_suffixes, what: str) -> Parsed:
    done: list[str] = []
    text = original.translate(_INVISIBLE).strip()
    if text != original:
        done.append("去掉首尾空白")
    if not text:
        return Parsed(None, blank=True, normalized_from=f"只有空白的文本「{original}」" if original else None)
    if text in _PLACEHOLDERS:
        return Parsed(None, blank=True, normalized_from=f"文本「{original}」按未填处理")
    if _EXCEL_ERROR.fullmatch(text):
        return Parsed(None, error=f"单元格是错误值 {text}（公式出错）")
    half = text.translate(_FULL_WIDTH)
    if half != text:
        done.append("全角字符改为半角")
        text = half

    def fail(reason: str) -> Parsed:
        return Parsed(None, error=f"「{original}」{reason}")

    if text[:1] in "¥￥$" or text[-1:] in "¥￥$":
        return fail("带有货币符号，请只填数字")
    if text.startswith("(") and text.endswith(")"):
        return fail("用括号表示负数？无法确定，请填“-数字”")
    match = _NUMBER_THEN_SUFFIX.fullmatch(text)
    if match is None:
        return fail(f"不是{what}")
    number, suffix = match.groups()
    if suffix[:1].isdigit():
        return fail("的数字中间有空格，无法确定数值")
    if suffix:
        if suffix in own_suffixes:
            done.append(f"去掉单位「{suffix}」")
        elif suffix in foreign_suffixes or suffix in _MONEY_UNITS + COUNT_UNITS + ("%",):
            own = own_suffixes[0]
            return fail(f"的单位「{suffix}」与本栏单位「{own}」不符，无法确定数值")
        else:
            return fail(f"不是{what}（多了「{suffix}」）")
    if "," in number:
        if not _GROUPED.fullmatch(number):
            return fail("中的逗号位置不对，无法确定数值")
        number = number.replace(",", "")
        done.append("去掉千分位逗号")
    if number.count(".") > 1:
        return fail("有不止一个小数点")
    if not _PLAIN.fullmatch(number):
        return fail(f"不是{what}")
    try:
        parsed = Decimal(number)
    except InvalidOperation:  # unreachable after the pattern check, kept as a guard
        return fail(f"不是{what}")
    note = f"文本「{original}」" + ("：" + "、".join(done) if done else "")
    return Parsed(parsed, normalized_from=note)
