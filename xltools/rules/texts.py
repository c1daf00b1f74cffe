"""What the long texts state: the 元 amounts the narrative quotes against the tables' 万元 cells
(the inline check the template shows beside each 机构's row), the whole department's totals it
states against the tables' columns summed over every 机构 (collect's figures), and the totals a
text states against the parts it lists (narrative.py). A finding points at the row holding the
words."""
from __future__ import annotations

import re
from decimal import Decimal

from ..formulas import num, quote_args
from .narrative import amounts_in_text, footings
from .rule import Context, ReportRule, cents, m_str


class Quotes(ReportRule):
    """The spec's quotes checks (spec/load.py puts them after the other checks of a report, so
    this rule runs right after Checks and the findings keep the spec's order)."""
    codes = ("text-amount",)

    def report(self, ctx: Context) -> None:
        for check in ctx.rep.checks:
            if check.kind == "quotes":
                _quotes(ctx, check)


def _quotes(ctx: Context, check) -> None:
    """The 元 amounts a 机构's sentence of the narrative quotes, each against its 万元 cell (or
    the sum of the items the spec says the cell holds)."""
    org, narr = (ctx.eff.get(n) for n in check.left)
    bounds = [ctx.eff.get(n) for n in check.bounds]
    for (phrases, name), where in zip(check.right, check.labels):
        cell = num(ctx.eff.get(name)) or Decimal(0)
        args = quote_args(narr, org, phrases, cell, check.lead, bounds, where)
        if args is None:
            continue
        # the row of the quoted amount; of the 机构's name for a sum of several items
        near = org if args.get("variant") == "sum" else args["quoted"]
        ctx.add(check.code, check.left[1], near=str(near or ""), expected=f"{m_str(cell * 10000)}元",
                actual=f"{args['quoted']}元", **args)


class TextFootings(ReportRule):
    """Totals the free texts state against the parts they list."""
    codes = ("text-footing",)

    def report(self, ctx: Context) -> None:
        for name, v in ctx.inst.values.items():
            if type(v) is str and "其中" in v and ctx.rep.fields[name].unit == "text":
                for f in footings(v):
                    ctx.add("text-footing", name, near=f.quote, expected=f.parts, actual=f.stated, detail=f.message)


# The ways units write the whole department's totals (gathered from the example and the reports
# the tests hold): "基本预算总支出…元，其中：基本支出…元；项目支出…元", "全年部门整体支出…元，其中基本
# 支出…元，项目支出…元", "支出合计…元", "全年收入…元", "收入合计…元". A label names the whole when it
# has one of these words and no 机构's name (those sentences are the quotes checks').
_WHOLE = ("总", "整体", "合计", "全年", "全部", "共计", "本年度", "部门")
_TOTALS = (("income", re.compile(r"收入(?:合计|总额|总计)?$")), ("spend", re.compile(r"支出(?:合计|总额|总计)?$")))
_PARTS = {"基本支出": "basic", "项目支出": "project"}      # listed after a whole-department 支出
# A label _whole_kind takes ends with 收入 or 支出 (or their 合计, 总额, 总计), and its amount
# follows, spaces between but no line end: a sentence (up to 。 or a line end) without this is
# passed over, unread.
_TOTAL_THEN_AMOUNT = re.compile(r"(?:收入|支出)(?:合计|总额|总计)?[^\S\n]*\d")


def _sentences_stating_totals(text: str):
    """The sentences of `text` that hold a _TOTAL_THEN_AMOUNT, in order: one regex scan of the
    text, instead of a look at each of its sentences."""
    end = 0
    for m in _TOTAL_THEN_AMOUNT.finditer(text):
        if m.start() < end:
            continue            # in the sentence given already
        start = max(text.rfind("。", 0, m.start()), text.rfind("\n", 0, m.start())) + 1
        ends = [i for i in (text.find("。", m.start()), text.find("\n", m.start())) if i >= 0]
        end = min(ends) if ends else len(text)
        yield text[start:end]


def _may_state_a_total(sentence: str) -> bool:
    """Whether any label in the sentence could pass _whole_kind (a label is part of its sentence):
    most sentences are passed over without looking for their amounts."""
    return ("支出" in sentence or "收入" in sentence) and any(w in sentence for w in _WHOLE)


def _whole_kind(label: str) -> str | None:
    if any(w in label for w in _WHOLE) and not any(p in label for p in _PARTS):
        return next((key for key, pattern in _TOTALS if pattern.search(label)), None)
    return None


class TextTotals(ReportRule):
    """The whole department's 收入/支出 (and the 基本支出, 项目支出 listed under it) a text states,
    in 元 or 万元, against the table columns collect sums for it over every 机构 ([summary]
    figures): equal to within the rounding of each 机构's 万元 cent. A warning: the usual cause is
    a table that lists fewer 机构 than the text counts (the published seed's), which the unit
    knows and the checker cannot."""
    codes = ("text-total",)

    def report(self, ctx: Context) -> None:
        figures = {f.key: f for f in ctx.spec.figures if f.report == ctx.rep.id and len(f.fields) > 1}
        orgs: dict[str, list] = {}          # each quoted text -> the 机构 names its quotes checks read
        for check in ctx.rep.checks:
            if check.kind == "quotes" and figures:
                orgs.setdefault(check.left[1], []).extend(ctx.eff.get(n) for n in (check.left[0], *check.bounds))
        for field, names in orgs.items():
            _totals(ctx, field, names, figures)


def _totals(ctx: Context, field: str, orgs: list, figures: dict) -> None:
    text = ctx.eff.get(field)
    if type(text) is not str:
        return
    names = [o.strip() for o in orgs if isinstance(o, str) and o.strip()]
    for sentence in _sentences_stating_totals(text):
        if any(n in sentence for n in names) or not _may_state_a_total(sentence):
            continue
        found = amounts_in_text(sentence)
        if not found or (kind := _whole_kind(found[0][0])) is None:
            continue
        stated = [(kind, found[0])]
        if kind == "spend":
            stated += [(key, a) for a in found[1:] for word, key in _PARTS.items() if a[0].endswith(word)]
        for key, (label, amount, unit) in stated:
            figure = figures.get(key)
            if figure is None:
                continue
            terms = [v for v in (num(ctx.eff.get(n)) for n in figure.fields) if v is not None]
            table = sum(terms, Decimal(0))
            wan = amount if unit == "万元" else amount / 10000
            if abs(wan - table) * 200 <= max(sum(1 for t in terms if t), 1):   # each 机构's rounding
                continue
            yuan = amount * 10000 if unit == "万元" else amount
            ctx.add("text-total", field, near=sentence.strip(), expected=f"{m_str(table * 10000)}元", actual=f"{m_str(yuan)}元",
                    phrase=label.removeprefix("其中"), quoted=m_str(yuan), wan=m_str(cents(wan)),
                    label=figure.label, value=f"{cents(table)}")
