"""Each input unit declared once: its limits, and from them both the template's data validation
(an Excel condition, a Chinese prompt and error) and the checker's test of a value.

A unit's limits are plain data (a minimum, decimals, a number of digits, a window of years
around the spec's year). `condition(ref, where)` renders them as the Excel formula that is TRUE
for an accepted cell value; `accepts(value, where)` applies the very same limits to the value
the checker read (values.coerce parses first, with numbers.py). tests/test_units.py feeds one
list of good and bad cell values through both, the formula recalculated by LibreOffice, and
requires the same verdicts.

The formulas stay within what Excel, WPS and LibreOffice evaluate alike: no array constants
(Excel refuses them in validation), no FIND of an empty text (LibreOffice gives #VALUE!, Excel
1), no locale-dependent TEXT codes (only "0"), text-to-number only inside IFERROR; and under
Excel's 255-character limit for a validation formula.

This module imports no openpyxl: the checker imports it. The builder turns a `Validation` into
openpyxl's DataValidation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cached_property
from datetime import date
from decimal import Decimal

EXCEL_EPOCH = date(1899, 12, 30)     # serial 0 of the 1900 date system (dates after 1900-03-01)
NUMBER_MAX = Decimal(10) ** 15       # Excel keeps 15 digits; a report's figures are far below this
_CENT = Decimal("0.01")
TEXT_MAX = 32767                     # characters Excel keeps in one cell
YEARS_BEFORE, YEARS_AFTER = 10, 2    # date and month windows around the spec's year
FORMULA_MAX = 255                    # Excel refuses a longer validation formula
_CHINESE_DIGITS = "零一两三四五六七八九"


def serial(d: date) -> int:
    return (d - EXCEL_EPOCH).days


@dataclass(frozen=True)
class Where:
    """What a unit's limits depend on besides the value."""
    year: int                         # the spec's year: date and month windows
    choices: tuple[str, ...] = ()     # choice fields
    bound_ref: str | None = None      # score: the cell of its row's weight (Excel side)
    bound: Decimal | None = None      # score: that weight's value, when known (Python side)

    @property
    def first_year(self) -> int:
        return self.year - YEARS_BEFORE

    @property
    def last_year(self) -> int:
        return self.year + YEARS_AFTER

    @property
    def window(self) -> tuple[date, date]:
        """[first day, day after the last day)."""
        return date(self.first_year, 1, 1), date(self.last_year + 1, 1, 1)


@dataclass(frozen=True)
class Validation:
    """The data validation of one input cell, as the builder writes it."""
    type: str          # "custom" or "list"
    formula1: str
    prompt: str
    error: str


class Unit:
    """A unit: subclasses declare the limits and render them both ways."""
    name = ""
    kind = "text"        # how values.coerce parses it: "number", "date", "month" or "text"

    def rule(self, where: Where) -> str:
        """What an accepted value is, in Chinese: the error text, the checker's message."""
        raise NotImplementedError

    def prompt(self, where: Where) -> str:
        return f"填{_spaced(self.rule(where))}。"

    def condition(self, ref: str, where: Where) -> str:
        """Excel formula, TRUE when the value in `ref` is accepted."""
        raise NotImplementedError

    def accepts(self, value, where: Where) -> bool:
        """The checker's test of a parsed value (Decimal, date or text)."""
        raise NotImplementedError

    def refused(self, label: str, shown: str, where: Where) -> str:
        """The checker's message for a refused value: the template's error text, with the value."""
        return f"{label} {shown} 须为{_spaced(self.rule(where))}"

    def validation(self, label: str, ref: str, where: Where, note: str = "") -> Validation:
        formula = self.condition(ref, where)
        if len(formula) > FORMULA_MAX:      # Excel would drop the validation: a bug here, not in a spec
            raise ValueError(f"{self.name}: validation formula of {len(formula)} characters: {formula}")
        prompt = f"{label}：{self.prompt(where)}{note}"
        return Validation("custom", formula, prompt[:255], f"{label}须为{_spaced(self.rule(where))}。"[:225])


def _spaced(rule: str) -> str:
    """A space between Chinese and a leading figure ("须为 0 至 100"), as everywhere else."""
    return f" {rule}" if rule[:1].isascii() and rule[:1].isalnum() else rule


# --- numbers ---------------------------------------------------------------------------------
def _number_condition(ref: str, *limits: str) -> str:
    # IF, not AND(ISNUMBER(…), …): AND evaluates every argument, and ROUND of a text is an error.
    return f"IF(ISNUMBER({ref}),AND({','.join(limits)}))"


@dataclass(frozen=True)
class Amount(Unit):
    name: str                 # 万元 or 元
    minimum: int = 0
    decimals: int = 2
    kind = "number"

    def rule(self, where):
        return f"不小于 {self.minimum} 的数字，最多{_CHINESE_DIGITS[self.decimals]}位小数（单位：{self.name}）"

    def prompt(self, where):
        return f"填数字，单位{self.name}，不小于 {self.minimum}，最多{_CHINESE_DIGITS[self.decimals]}位小数。"

    def condition(self, ref, where):
        return _number_condition(ref, f"{ref}>={self.minimum}", f"{ref}<1E+15",
                                 f"ROUND({ref},{self.decimals})={ref}")

    @cached_property
    def _limits(self) -> tuple[Decimal, Decimal]:
        return Decimal(self.minimum), Decimal(1).scaleb(-self.decimals)   # (Decimal with Decimal: faster)

    def accepts(self, value, where):
        minimum, quantum = self._limits
        return minimum <= value < NUMBER_MAX and value == value.quantize(quantum)


@dataclass(frozen=True)
class Count(Unit):
    name: str = "人"
    kind = "number"

    def rule(self, where):
        return f"不小于 0 的整数（单位：{self.name}）"

    def condition(self, ref, where):
        return _number_condition(ref, f"{ref}>=0", f"{ref}<1E+15", f"INT({ref})={ref}")

    def accepts(self, value, where):
        return 0 <= value < NUMBER_MAX and value == value.to_integral_value()


@dataclass(frozen=True)
class Percent(Unit):
    """A cell formatted as a percentage stores 95% as 0.95; the checker reads it as 95 points."""
    name: str = "%"
    kind = "number"

    def rule(self, where):
        return "百分比（如 95%）"

    def condition(self, ref, where):
        return _number_condition(ref, f"ABS({ref})<1E+13")      # 1E+15 points

    def accepts(self, value, where):
        return abs(value) < NUMBER_MAX


# Scores and weights are cents (scoring.indicator rounds every score to two decimals, the composite
# is compared to the cent): a third decimal is a typo, refused like an amount's.
_SCORE_PLACES = "最多两位小数"


def _in_cents_formula(ref: str) -> str:
    return f"ROUND({ref},2)={ref}"


def _in_cents(value: Decimal) -> bool:
    return value < NUMBER_MAX and value == value.quantize(_CENT)


@dataclass(frozen=True)
class Weight(Unit):
    name: str = "score"
    maximum: int = 100
    kind = "number"

    def rule(self, where):
        return f"0 至 {self.maximum} 之间的数字，{_SCORE_PLACES}"

    def prompt(self, where):
        return f"本指标分值，0 至 {self.maximum}，{_SCORE_PLACES}；各指标分值合计应为 {self.maximum}。"

    def condition(self, ref, where):
        return _number_condition(ref, f"{ref}>=0", f"{ref}<={self.maximum}", _in_cents_formula(ref))

    def accepts(self, value, where):
        return 0 <= value <= self.maximum and _in_cents(value)


@dataclass(frozen=True)
class Score(Unit):
    """得分: between 0 and its row's 分值 (the checker's score-range rule says so when the
    weight is known only from the workbook)."""
    name: str = "score"
    kind = "number"

    def rule(self, where):
        return f"0 至本行分值之间的数字，{_SCORE_PLACES}"

    def prompt(self, where):
        return f"0 至本行分值之间，{_SCORE_PLACES}；可由评分功能自动填写。"

    def condition(self, ref, where):
        return _number_condition(ref, f"{ref}>=0", f"{ref}<={where.bound_ref}", _in_cents_formula(ref))

    def accepts(self, value, where):
        return (value >= 0 and (where is None or where.bound is None or value <= where.bound)
                and _in_cents(value))


# --- text with a form ------------------------------------------------------------------------
@dataclass(frozen=True)
class Phone(Unit):
    name: str = "phone"
    min_digits: int = 7
    max_digits: int = 12
    separators: str = "- "

    def rule(self, where):
        return f"{self.min_digits} 至 {self.max_digits} 位数字，可含“-”或空格"

    def prompt(self, where):
        return f"手机 11 位或带区号的固定电话，如 0730-1234567（{self.rule(where)}）。"

    def _digits(self, ref: str) -> str:
        out = ref
        for sep in self.separators:
            out = f'SUBSTITUTE({out},"{sep}","")'
        return out

    def condition(self, ref, where):
        d = self._digits(ref)
        # TEXT(--d, "000…") gives d back only when d is all ASCII digits (not 1E5, +1, 1.5, ２).
        centre = _plain(Decimal(self.min_digits + self.max_digits) / 2)
        half = _plain(Decimal(self.max_digits - self.min_digits) / 2)
        return (f"IFERROR(AND(ABS(LEN({d})-{centre})<={half},"      # (one LEN: 255 characters)
                f"TEXT(--{d},REPT(0,LEN({d})))={d}),FALSE)")

    def accepts(self, value, where):
        digits = value
        for sep in self.separators:
            digits = digits.replace(sep, "")
        return self.min_digits <= len(digits) <= self.max_digits and digits.isascii() and digits.isdigit()


@dataclass(frozen=True)
class Postcode(Unit):
    name: str = "postcode"
    digits: int = 6

    def rule(self, where):
        return f"{self.digits} 位数字"

    def condition(self, ref, where):
        zeros = "0" * self.digits
        return f'IFERROR(AND(LEN({ref})={self.digits},TEXT(--{ref},"{zeros}")={ref}&""),FALSE)'

    def accepts(self, value, where):
        return len(value) == self.digits and value.isascii() and value.isdigit()


@dataclass(frozen=True)
class Choice(Unit):
    """A dropdown list (the only unit whose validation is not a formula: Excel shows the list
    only for a list validation). `condition` is the same test as a formula, for the tests."""
    name: str = "choice"

    def rule(self, where):
        return f"下拉列表中的一项（{'、'.join(where.choices)}）"

    def prompt(self, where):
        return "从下拉列表中选择。"

    def condition(self, ref, where):
        return "OR(" + ",".join(f'{ref}="{c}"' for c in where.choices) + ")"

    def accepts(self, value, where):
        return value in where.choices

    def validation(self, label, ref, where, note=""):
        return Validation("list", '"' + ",".join(where.choices) + '"', f"{label}：{self.prompt(where)}{note}",
                          f"{label}只能从下拉列表中选择（{'、'.join(where.choices)}）。"[:225])


@dataclass(frozen=True)
class Text(Unit):
    name: str = "text"
    hint: str = "填文字"

    def rule(self, where):
        return f"不超过 {TEXT_MAX} 字的文字"

    def prompt(self, where):
        return f"{self.hint}。"

    def condition(self, ref, where):
        return f"LEN({ref})<={TEXT_MAX}"

    def accepts(self, value, where):
        return len(value) <= TEXT_MAX


# --- dates -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Day(Unit):
    """A date: the cell is formatted as a date, so what Excel, WPS and LibreOffice store for a
    typed 2023-3-30, 2023/3/30 or 2023年3月30日 is a serial number. Text in the cell (pasted,
    or a form the program did not recognise, such as 2023.3.30) is refused by the template; the
    checker reads it with a warning."""
    name: str = "date"
    kind = "date"

    def rule(self, where):
        return f"{where.first_year} 至 {where.last_year} 年间的日期（如 {where.year + 1}-3-30）"

    def condition(self, ref, where):
        lo, hi = where.window
        return _number_condition(ref, f"{ref}>={serial(lo)}", f"{ref}<{serial(hi)}")

    def accepts(self, value, where):
        lo, hi = where.window
        return lo <= value < hi


MONTH_SEPARATORS = "-./年"
# Year, separator, month (1-12, one leading zero allowed: 01, 010), an optional 月: 2022-01, 2022.1,
# 2022年1月, 2022/1.
_MONTH = re.compile(r"([0-9]{4})[" + re.escape(MONTH_SEPARATORS) + r"](0?(?:[1-9]|1[0-2]))月?")
_MONTHS = "|" + "|".join(str(m) for m in range(1, 13)) + "|"


@dataclass(frozen=True)
class Month(Unit):
    """A year and month, typed as text: the cell is text-formatted, because a date format would
    turn 2022.1 into the number 2022.1 (and 2022.10 into the same number). A real date pasted
    in (a serial) is accepted too. The checker's value is the text "2022-01"."""
    name: str = "month"
    kind = "month"

    def rule(self, where):
        return f"{where.first_year} 至 {where.last_year} 年间的年月（如 {where.year}-01、{where.year}年1月、{where.year}.1）"

    def condition(self, ref, where):
        lo, hi = where.window
        year = f"LEFT({ref},4)"
        # first <= year <= last as one comparison: |year - centre| <= half the span
        centre = _plain((Decimal(where.first_year) + where.last_year) / 2)
        half = _plain(Decimal(where.last_year - where.first_year) / 2)
        # (FIND gives a position, TRUE to AND, or an error, FALSE through IFERROR: no ISNUMBER,
        # to stay within 255 characters.)
        text = (f'({year}+0)&""={year},ABS({year}-{centre})<={half},'
                f'FIND(MID({ref},5,1),"{MONTH_SEPARATORS}"),'
                f'FIND(SUBSTITUTE(SUBSTITUTE("|"&MID({ref},6,9)&"|","月|","|"),"|0","|"),"{_MONTHS}")')
        s_centre = _plain((Decimal(serial(lo)) + serial(hi)) / 2)
        s_half = _plain(Decimal(serial(hi) - serial(lo)) / 2)
        return f"IFERROR(IF(ISNUMBER({ref}),ABS({ref}-{s_centre})<{s_half},AND({text})),FALSE)"

    def accepts(self, value, where):
        """`value`: a date (a serial in the cell) or the text typed."""
        if isinstance(value, date):
            lo, hi = where.window
            return lo <= value < hi
        m = _MONTH.fullmatch(value)
        return m is not None and where.first_year <= int(m.group(1)) <= where.last_year

    @staticmethod
    def canonical(value) -> str:
        """An accepted month as the checker keeps it: "2022-01"."""
        if isinstance(value, date):
            return f"{value.year:04d}-{value.month:02d}"
        m = _MONTH.fullmatch(value)
        return f"{m.group(1)}-{int(m.group(2)):02d}"


def _plain(d: Decimal) -> str:
    return format(d.normalize(), "f")


# --- the declaration -------------------------------------------------------------------------
UNITS: dict[str, Unit] = {
    "万元": Amount("万元"), "元": Amount("元"), "人": Count(), "%": Percent(),
    "weight": Weight(), "score": Score(), "phone": Phone(), "postcode": Postcode(),
    "date": Day(), "month": Month(), "choice": Choice(), "text": Text(),
}
_INDICATOR_TEXT = Text(hint="可填“≥95%”“≤10天”“达成”等")
_WEIGHT, _SCORE = UNITS["weight"], UNITS["score"]


def unit_of(field) -> Unit:
    """The unit of a spec field: a score column is 得分 or, in the 分值 column, a weight."""
    unit = field.unit
    if unit == "score":
        return _WEIGHT if field.column == "weight" else _SCORE
    if unit == "text" and field.column in ("target", "actual"):
        return _INDICATOR_TEXT
    return UNITS[unit]


def validation(field, year: int, cell_of) -> Validation:
    """The data validation of an input field; `cell_of(name)` gives another field's cell."""
    unit = unit_of(field)
    bound = cell_of(f"{field.table}_weight_{field.row}") if unit is UNITS["score"] else None
    label = field.label.replace("\n", "")[:60]
    v = unit.validation(label, field.cell, Where(year, field.choices, bound_ref=bound), field.note)
    return replace(v, prompt=f"{label}：{field.prompt}"[:255]) if field.prompt else v
