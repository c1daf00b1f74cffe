"""What the long texts state: the 元 amounts the narrative quotes against the tables' 万元 cells
(the inline check the template shows beside each 机构's row), and the totals a text states
against the parts it lists (narrative.py). A finding points at the row holding the words."""
from __future__ import annotations

from decimal import Decimal

from ..formulas import num, quote_args
from .narrative import footings
from .rule import Context, ReportRule, m_str


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
