"""The 项目资金 table of a form that scores its 预算执行率 (spec.model.Budget): what the platforms
warn of (核实, not 强制). Its identities (年度资金总额 = Σ 其中, 执行率, its score) are the spec's
rules, checked by tables.py.

- spending above the budget (执行率 > 100%): execution-over;
- 年初预算数 other than 全年预算数 with no reason given: budget-adjusted;
- the 自评预警: the indicators' score rate running ahead of the 执行率 by more than the spec's
  points (score-ahead), more than the spec's share of the budget unspent (budget-unspent).
"""
from __future__ import annotations

from decimal import Decimal

from ..catalogue import figure
from ..formulas import num
from ..read.coerce import is_blank
from ..scoring.parse import fmt
from .rule import Context, ReportRule

HUNDRED = Decimal(100)


def _percent(d: Decimal) -> str:
    return figure(d * HUNDRED)


class BudgetWarnings(ReportRule):
    codes = ("execution-over", "budget-adjusted", "score-ahead", "budget-unspent")

    def declares(self, spec) -> set[str]:
        return set(self.codes) if any(r.budget for r in spec.reports.values()) else set()

    def report(self, ctx: Context) -> None:
        b = ctx.rep.budget
        if b is None:
            return
        eff, warnings = ctx.eff, ctx.spec.scoring
        budget, spent, rate = num(eff.get(b.budget)), num(eff.get(b.spent)), num(eff.get(b.rate))
        initial = num(eff.get(b.initial))
        reason_given = not is_blank(eff.get(b.reason))
        reason = ctx.rep.fields[b.reason].label
        if rate is not None and rate > 1:
            ctx.add("execution-over", b.rate, expected=Decimal(1), actual=rate, rate=_percent(rate),
                    spent=figure(spent), budget=figure(budget))
        if budget and initial is not None and initial != budget and not reason_given:
            ctx.add("budget-adjusted", b.initial, expected=budget, actual=initial, initial=figure(initial),
                    budget=figure(budget), direction="少" if initial < budget else "多", gap=figure(abs(budget - initial)),
                    reason=reason)
        if warnings.unspent is not None and budget and spent is not None and (budget - spent) / budget > warnings.unspent:
            ctx.add("budget-unspent", b.spent, expected=budget, actual=spent, budget=figure(budget),
                    unspent=figure(budget - spent), share=figure((budget - spent) / budget * HUNDRED),
                    limit=fmt(warnings.unspent * HUNDRED), reason=reason)
        if warnings.score_ahead is not None and rate is not None:
            for table in ctx.rep.indicator_tables:
                _ahead(ctx, table, rate, warnings.score_ahead)


def _ahead(ctx: Context, table, rate: Decimal, limit: Decimal) -> None:
    scores = [num(ctx.eff.get(n)) for n in table.names("score")]
    weights = [num(ctx.eff.get(n)) for n in table.names("weight")]
    most = sum((w or Decimal(0) for w in weights), Decimal(0))
    if not most or all(s is None for s in scores):
        return
    got = sum((s for s in scores if s is not None), Decimal(0))
    score_rate = got / most * HUNDRED
    gap = score_rate - rate * HUNDRED
    if gap > limit:
        ctx.add("score-ahead", table.score_field, score_rate=figure(score_rate), scores=fmt(got), most=fmt(most),
                rate=_percent(rate), gap=figure(gap), limit=fmt(limit))
