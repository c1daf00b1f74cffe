"""Reading an indicator's 指标值 and 实际完成值: operator, number and unit, or a conclusion word.

Pure: text and numbers in, Target and Measured out, never an exception (an unusable text comes
back with `error` set, in Chinese). How a reading is scored is rules.py and indicator.py.

Ambiguities resolved on purpose (callers should know them):
- a bare actual number with |x| ≤ 1 against a percent target is a fraction (0.98 → 98%, 1 → 100%);
  a larger bare number is already a percent (98 → 98%). So "0.5" means 50%, never 0.5%.
- a bare actual number borrows the target's unit as written ("2983" against "2983万元" is 万元).
  A unit-bearing actual against a bare target is refused: we cannot tell which scale the target used.
- strict < and > are read as ≤ and ≥: the tables use them loosely, and a strict reading would call an
  actual equal to the target "not met" while weight × t/t still gives the full weight.
- 工作日 and 天 are different units (working vs calendar days), so they do not compare.
- A form with a 指标性质 column (the national 项目支出绩效自评表: ≥ ≤ = 定性, then 指标值 and
  度量单位 apart) is read as the one text they make together (`target_text`).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Target", "Measured", "parse_target", "parse_actual", "target_text",
           "GE", "LE", "EQ", "RANGE", "QUALITATIVE", "QUALITATIVE_WORDS"]

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
    "%": ("%", 1), "百分比": ("%", 1), "分": ("分", 1),
    "天": ("天", 1), "日": ("天", 1), "个工作日": ("工作日", 1), "工作日": ("工作日", 1),
    "小时": ("小时", 1), "个月": ("月", 1), "月": ("月", 1), "年": ("年", 1),
    "元": ("万元", Decimal("0.0001")), "万元": ("万元", 1), "亿元": ("万元", 10000),
    **{u: (u, 1) for u in ("个", "人", "人次", "户", "户次", "项", "次", "件", "家", "所", "座", "场",
                           "套", "台", "辆", "份", "篇", "批", "条", "处", "吨", "亩", "米", "平方米", "公里")},
}

# Qualitative conclusions -> band, when a spec declares no option words of its own (rules.py). 好/较好/一般/差 map by the grade bands they stand for
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
# (e.g. 是否发生安全事故); with these words only, not with a spec's own option words.
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


def parse_actual(value: str | int | float | Decimal | None, target: Target | None = None,
                 words: dict[str, str] | None = None) -> Measured:
    """Read a 实际完成值 and align its unit with the target's. Never raises: see `error`.
    `words`: conclusion word -> band (a spec's option words); default QUALITATIVE_WORDS."""
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
        if words is None and any(word in pair and target_word in pair for pair in POLAR_PAIRS):
            return Measured(raw, word=word, band="达成" if word == target_word else "未达成")
        vocabulary = QUALITATIVE_WORDS if words is None else words
        if word in vocabulary:
            return Measured(raw, word=word, band=vocabulary[word])
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
            return Measured(raw, percent, "%", note=f"{fmt(number)} 未写单位，按小数计为 {fmt(percent)}%")
        note = f"未写单位，按指标值单位“{target.written_unit}”计" if target.written_unit else None
        return Measured(raw, _scaled(number, target.written_unit), target.unit, note=note)
    if target.unit is None:
        return Measured(raw, error=f"指标值未写单位，而实际完成值单位为“{written}”，无法确定口径")
    if _unit_of(written) != target.unit:
        return Measured(raw, error=f"单位不一致：指标值为“{target.written_unit}”，实际完成值为“{written}”")
    return Measured(raw, _scaled(number, written), target.unit)


def target_text(nature, target, unit) -> str | None:
    """The 指标值 of a form that writes 指标性质, 指标值 and 度量单位 apart, as one text:
    ("≥", "95", "%") -> "≥95%"; a unit already written with the value is not repeated; 定性 or
    no nature: the 指标值 itself. (A blank 指标值 stays None.)"""
    value = _raw(target)
    if not value:
        return None
    nature, unit = _normalise(_raw(nature)), _normalise(_raw(unit))
    if not nature or nature == "定性":
        return value
    if unit and _normalise(value).endswith(unit):
        unit = ""
    return f"{nature}{value}{unit}"


# ---------------------------------------------------------------- helpers







def _bounded(raw: str, op: str, value: Decimal, written: str | None) -> Target:
    value, unit = _scaled(value, written), _unit_of(written)
    return Target(raw, op, None if op == LE else value, None if op == GE else value, unit, written)


def _raw(value) -> str:
    """A cell's value as the unit sees it in the cell (quoted back in a reason)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):      # the shortest round trip, as Excel's General shows it: 5, 0.98, 1E+16
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text.upper()
    return str(value)


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


def describe(target: Target) -> str:
    """A target as the scorer's reasons write it: ≥95%, ≤10天, 90%-100%."""
    unit = target.unit or ""
    if target.op == RANGE:
        return f"{fmt(target.low)}{unit}-{fmt(target.high)}{unit}"
    value = target.high if target.op == LE else target.low
    return f"{_OP_SYMBOLS[target.op]}{fmt(value)}{unit}"


def fmt(value: Decimal) -> str:
    """A number without trailing zeros: 95, 4.5."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
