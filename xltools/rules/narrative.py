"""The narrative's own arithmetic: a total and the items it lists ("其中：…"), and the units'
sentences against the all-unit sentence; and the lines a text quotes whose amount is the gap a
table rule found (explain_gap). Pure text -> footings and lines; rules/texts.py turns the
footings into findings, the table and cross-report rules put the lines into their hints.

A sentence (up to 。 or a line end) that states an amount and then "其中" lists its parts:

    临湘市民政局机关预算支出35125167.01元，其中：基本支出5095167.01元（工资福利支出4520887.01元、
    一般商品和服务支出506000元、对个人和家庭的补助8280元）；项目支出30030000元。

foots twice: 预算支出 = 基本支出 + 项目支出, and 基本支出 = the three items in its brackets. A list
that ends with 等 ("…100万元等") says it is not complete and is not footed. A sentence whose
subject is a total (基本预算总支出…, …合计…) followed by sentences with the same items (one per
unit) foots item by item against their sum. Amounts are exact decimals; 万元 counts 10000 元.
"""
from __future__ import annotations

import re
from decimal import Decimal

from ..catalogue import direction
from ..memo import Memo
from .rule import cents, m_str

_LABEL_MAX = 30
# An amount, its unit and its label, matched on the sentence reversed (searched from the unit, a
# literal: five times faster than from the label or the figure, which may start anywhere):
# - the unit, then the amount, which may be absent ("基本支出元": a figure left out);
# - the label, looked at but not taken (it may hold the unit of the item before): the characters
#   before the amount up to a figure, a punctuation mark or a space, at most _LABEL_MAX.
# What follows the unit must end its phrase (600元/月 is a rate, not an item): _PHRASE_ENDS.
_ITEM_REVERSED = re.compile(r"(元万|元)\s*((?:\d+\.)?[\d,]*\d[-+−]?)?"
                            r"(?=[ \t\u3000]*([^\d，,、；;：:（(）)。\s\-+−]{1,%d})|)" % _LABEL_MAX)
_PHRASE_ENDS = "，,、；;。）)（(等"     # or a space, or the end: what may follow an amount's unit
_SPACES = re.compile(r"\s*")
_WHICH = re.compile(r"[，,\s]*其中[：:，,]?")
_WHICH_AFTER_AMOUNT = re.compile(r"元[，,\s]*其中")
_TOTAL_WORDS = ("总支出", "总收入", "总额", "总计", "合计", "全部", "整体")
_OPEN = "（("


# Plain classes, not dataclasses: a dataclass costs ~2 M instructions to create at import, and
# every `xltools check` imports this module.
class Amount:
    __slots__ = ("label", "text", "unit", "start", "end", "depth", "children", "partial", "yuan")

    def __init__(self, label: str, text: str, unit: str, start: int, end: int, depth: int):
        self.label = label
        self.text = text            # as written, e.g. "4,520,887.01"
        self.unit = unit            # 元 or 万元
        self.start = start
        self.end = end              # just after the unit
        self.depth = depth          # bracket depth (0 outside any bracket)
        self.children: list[Amount] = []
        self.partial = False        # its bracketed list ends with 等
        if "," in text or "−" in text:
            text = text.replace(",", "").replace("−", "-")
        value = Decimal(text) if text else Decimal(0)
        self.yuan = value * 10000 if unit == "万元" else value

    @property
    def shown(self) -> str:
        return f"{self.label}{self.text}{self.unit}"


class Sentence:
    __slots__ = ("text", "head", "items", "partial")

    def __init__(self, text: str, head: Amount, items: list[Amount], partial: bool):
        self.text, self.head, self.items = text, head, items
        self.partial = partial      # the list after 其中 ends with 等

    @property
    def is_total(self) -> bool:
        return any(w in self.head.label for w in _TOTAL_WORDS)


class Footing:
    """A total the narrative states and the sum of the parts it lists for it (both in 元)."""
    __slots__ = ("message", "stated", "parts", "quote")

    def __init__(self, message: str, stated: Decimal, parts: Decimal, quote: str = ""):
        self.message, self.stated, self.parts = message, stated, parts
        self.quote = quote          # the total as written ("基本支出5095167.01元"): where the finding points


def _sentences(text: str):
    """The sentences (up to 。 or a line end) that say 其中, in order."""
    at = text.find("其中")
    while at >= 0:
        start = max(text.rfind("。", 0, at), text.rfind("\n", 0, at)) + 1
        ends = [i for i in (text.find("。", at), text.find("\n", at)) if i >= 0]
        end = min(ends) if ends else len(text)
        yield text[start:end]
        at = text.find("其中", end)


def _depths(text: str, positions: list[int]) -> list[int]:
    """The bracket depth at each of `positions` (ascending): the brackets opened before it less
    those closed, at least 0. The brackets are found once (counting them before each position
    reads the text again for each)."""
    marks = []
    for bracket in "（()）":
        at = text.find(bracket)
        while at >= 0:
            marks.append((at, bracket in _OPEN))
            at = text.find(bracket, at + 1)
    marks.sort()
    out, level, k = [], 0, 0
    for at in positions:
        while k < len(marks) and marks[k][0] < at:
            level += 1 if marks[k][1] else -1
            k += 1
        out.append(max(0, level))
    return out


def _closing(text: str, open_at: int) -> int:
    """The index of the bracket that closes the one at open_at (or the end of the text)."""
    ends = [i for i in (text.find("）", open_at + 1), text.find(")", open_at + 1)) if i >= 0]
    return min(ends) if ends else len(text)


def parse_sentence(text: str) -> Sentence | None:
    """A "total, 其中 parts" sentence; None when the sentence is not one."""
    if not _WHICH_AFTER_AMOUNT.search(text):
        return None          # no amount right before 其中: not a footing (most sentences)
    n, backwards = len(text), text[::-1]
    found = []
    for m in _ITEM_REVERSED.finditer(backwards):
        after = m.start()           # (positions in the text are n - those in the reversed)
        if m.start(3) >= 0 and (not after or backwards[after - 1] in _PHRASE_ENDS or backwards[after - 1].isspace()):
            found.append(m)
    found.reverse()
    units = [n - m.end(1) for m in found]
    depths = _depths(text, units) if "（" in text or "(" in text else [0] * len(found)
    amounts = [Amount(m.group(3)[::-1], (m.group(2) or "")[::-1], m.group(1)[::-1], n - m.end(3), n - m.start(), depth)
               for m, depth in zip(found, depths)]
    for i, a in enumerate(amounts):
        if a.depth == 0 and _WHICH.match(text, a.end):
            head, rest = a, amounts[i + 1:]
            break
    else:
        return None
    items: list[Amount] = []
    for a in rest:
        if a.depth == 0:
            items.append(a)
            at = _SPACES.match(text, a.end).end()
            if at < n and text[at] in _OPEN:          # its own list, in brackets
                a.partial = text[at + 1:_closing(text, at)].rstrip().endswith("等")
        elif a.depth == 1 and items:
            items[-1].children.append(a)
    last = items[-1].end if items else head.end
    partial = text[last:].lstrip("）) ").startswith("等")
    return Sentence(text, head, items, partial)


def _sum(amounts: list[Amount]) -> Decimal:
    return sum((a.yuan for a in amounts), Decimal(0))


def _slack(figures: list[Amount]) -> Decimal:
    """How far a footing may be off in 元 only because its figures were rounded as written.

    Figures all in one unit foot exactly as written: the writer adds what he writes (the tables'
    万元 foot to the cent, a sentence in 元 to the 分). Where 万元 and 元 meet in one footing (one
    机构's totals in 万元, the others' and their sum in 元), each 万元 figure is a rounding of 元 to
    its last written digit and may be off by half of it: 3512.52万元 stands for 35125150 to
    35125250 元, 3003万元 for 30025000 to 30035000 元. (A 万元 figure with six decimals is exact.)"""
    if len({a.unit for a in figures}) < 2:
        return Decimal(0)
    slack = Decimal(0)
    for a in figures:
        if a.unit == "万元":
            decimals = len(a.text.partition(".")[2])
            slack += Decimal(10) ** (4 - decimals) / 2 if decimals < 6 else 0
    return slack


def _allowed(slack: Decimal) -> str:
    """What a finding adds about the rounding a footing was allowed."""
    return f"（已容许万元金额按所写位数四舍五入的误差 {_fmt(slack)}元）" if slack else ""


def _fmt(d: Decimal) -> str:
    return format(d.quantize(Decimal(1)) if d == d.to_integral_value() else d.normalize(), "f")


def _in_unit_of(total: Amount, yuan: Decimal) -> str:
    """A sum in 元 as the total it is compared with is written (万元 stays 万元)."""
    return f"{_fmt(yuan / 10000)}万元" if total.unit == "万元" else f"{_fmt(yuan)}元"


def _more_or_less(total: Amount, gap_yuan: Decimal) -> str:
    """多 60000元 / 少 8280元: a difference in words, never a signed figure."""
    return f"{direction(gap_yuan)} {_in_unit_of(total, abs(gap_yuan))}"


def _missing(s: Sentence) -> list[Footing]:
    every = [s.head, *s.items, *(c for i in s.items for c in i.children)]
    return [Footing(f"综述中“{a.label}{a.unit}”缺少金额（“其中”前后的合计与分项应写明金额）", Decimal(0), Decimal(0),
                    f"{a.label}{a.unit}")
            for a in every if not a.text]


def _within(s: Sentence) -> list[Footing]:
    out = _missing(s)
    if out:
        return out           # the sums of a sentence with a figure left out say nothing more
    for total, parts, partial in [(s.head, s.items, s.partial)] + [(a, a.children, a.partial) for a in s.items]:
        got = _sum(parts)
        if not parts or got == total.yuan:
            continue
        slack = _slack([total, *parts])
        if abs(got - total.yuan) <= slack:
            continue
        if partial or len(parts) == 1:
            # "of which": a list that is not complete only says no part exceeds the whole
            if got <= total.yuan + slack:
                continue
        listed = "＋".join(p.shown for p in parts)
        out.append(Footing(f"综述中“{total.shown}”与其中所列各项之和不符：{listed} = {_in_unit_of(total, got)}，"
                           f"合计比各项之和{_more_or_less(total, total.yuan - got)}{_allowed(slack)}",
                           total.yuan, got, total.shown))
    return out


def _same_item(a: str, b: str) -> bool:
    return a == b or a.endswith(b) or b.endswith(a)


def _across(total: Sentence, units: list[Sentence]) -> list[Footing]:
    """The all-unit sentence's figures against the sum of the units' sentences, item by item."""
    out = []
    rows = [(total.head, [u.head for u in units], "合计")]
    for item in [*total.items, *(c for i in total.items for c in i.children)]:
        parts = []
        for u in units:
            for a in [*u.items, *(c for i in u.items for c in i.children)]:
                if _same_item(a.label, item.label):
                    parts.append(a)
                    break
        rows.append((item, parts, item.label))
    for stated, parts, what in rows:
        if not stated.text or any(not p.text for p in parts):
            continue          # said by _within
        got = _sum(parts)
        if got == stated.yuan:
            continue
        slack = _slack([stated, *parts])
        if abs(got - stated.yuan) <= slack:
            continue
        listed = "＋".join(f"{p.text}{p.unit}" for p in parts) or "0"
        out.append(Footing(f"综述中各单位的“{what}”之和 {listed} = {_in_unit_of(stated, got)}，与“{stated.shown}”不符，"
                           f"“{stated.shown}”比各单位之和{_more_or_less(stated, stated.yuan - got)}{_allowed(slack)}",
                           stated.yuan, got, stated.shown))
    return out


# A text's footings, by its content: the add-in's function server checks the same texts after
# every edit of the workbook, and collect sees a unit's resubmissions. Read only.
_FOOTINGS = Memo("text footings", max_entries=256, max_bytes=4 << 20)


def footings(text: str) -> list[Footing]:
    """Every footing of a text that does not hold."""
    if not text or "其中" not in text:
        return []
    hit = _FOOTINGS.get(text)
    if hit is None:
        hit = _footings(text)      # weight: the text (two bytes a character) and its footings
        _FOOTINGS.put(text, hit, 2 * len(text) + 100 + sum(300 + 2 * len(f.message) for f in hit))
    return hit


def _footings(text: str) -> list[Footing]:
    sentences = [s for s in map(parse_sentence, _sentences(text)) if s is not None]
    out = []
    for s in sentences:
        out.extend(_within(s))
    for i, s in enumerate(sentences):
        if not s.is_total:
            continue
        labels = {a.label for a in s.items}
        units = []
        for u in sentences[i + 1:]:
            if u.is_total or not any(_same_item(a.label, b) for a in u.items for b in labels):
                break
            units.append(u)
        if len(units) >= 1:
            out.extend(_across(s, units))
    return out


# -- the lines a text quotes, for a gap ------------------------------------------------------------
_QUOTED = r"(\d[\d,]*(?:\.\d+)?)"
# A label is the run of its characters right before the amount: taken whole at once (possessive),
# the same match as the shortest label that is followed by an amount (a label character is never
# a digit or a space), without trying the amount after every character (ten times the cost).
_LABELLED = re.compile(r"([^\d，,、；;：:（(）)。\s]{2,30}+)\s*" + _QUOTED + r"\s*(万元|元)")
_LINE_AMOUNT = re.compile(_QUOTED + r"\s*(万元|元)$")


def amounts_in_text(text: str) -> list[tuple[str, Decimal, str]]:
    """'其中：民政管理业务经费146万元，…' -> [('民政管理业务经费', Decimal('146'), '万元'), …]"""
    out = []
    for m in _LABELLED.finditer(text or ""):
        out.append((m.group(1), Decimal(m.group(2).replace(",", "")), m.group(3)))
    return out


def explain_gap(gap: Decimal, *texts: str) -> list[str]:
    """Lines quoted in the texts whose amount equals the gap (万元), e.g. '对个人和家庭的补助8280元'."""
    hits = []
    for text in texts:
        for label, amount, unit in amounts_in_text(text):
            wan = cents(amount / 10000) if unit == "元" else amount
            if wan == abs(cents(gap)):
                hits.append((label, f"{label}{m_str(amount)}{unit}"))
    # "实施基本养老服务补贴" and "基本养老服务补贴" name the same line: keep the shortest label.
    labels = {label for label, _ in hits}
    keep = []
    for label, text in hits:
        if not any(other != label and label.endswith(other) for other in labels) and text not in keep:
            keep.append(text)
    return keep


def line_label(line: str) -> str:
    """An explain_gap line without its amount: '对个人和家庭的补助8280元' -> '对个人和家庭的补助'."""
    return _LINE_AMOUNT.sub("", line)
