"""Stated scores judged by the spec's scoring rules, where the spec asks for it ([scoring] judge:
the national 项目支出绩效自评表, as the deployed platforms check it): each indicator row the unit
used, against what the rule of its 指标性质 gives (xltools/scoring).

- a row in use has its 三级指标, 指标性质, 指标值, 实际完成值, 分值 and 得分 (required);
- a quantitative 指标性质 wants a number as 实际完成值 (actual-not-number, a warning: 核实);
- a score above what the rule gives (score-rule), a 定性 score outside its band (score-band);
- a 偏差原因 where the result falls short of the target, and, when the spec says so, where it
  reaches `reason_over` times the target (reason-required);
- a target met but scored below its 分值 with no 偏差原因 (score-deducted, a warning).
"""
from __future__ import annotations

from decimal import Decimal

from ..formulas import num
from ..read.coerce import is_blank
from ..scoring import EQ, GE, LE, QUANTITATIVE_NATURES, score_indicator
from ..scoring.parse import fmt
from ..spec.model import IndicatorTable
from .rule import Context, ReportRule

REQUIRED_COLUMNS = ("name", "nature", "target", "actual", "weight", "score")


class Judged(ReportRule):
    codes = ("required", "actual-not-number", "score-rule", "score-band", "reason-required", "score-deducted")

    def declares(self, spec) -> set[str]:
        return set(self.codes) if spec.scoring.judge else set()

    def report(self, ctx: Context) -> None:
        if ctx.spec.scoring.judge:
            for table in ctx.rep.indicator_tables:
                for i in range(1, len(table.indicators) + 1):
                    _row(ctx, table, i)


def _row(ctx: Context, table: IndicatorTable, i: int) -> None:
    eff, rules = ctx.eff, ctx.spec.scoring
    cell = {c: f"{table.id}_{c}_{i}" for c in table.columns}
    value = {c: eff.get(name) for c, name in cell.items()}
    if all(is_blank(v) for c, v in value.items() if ctx.rep.fields[cell[c]].default is None):
        return                                  # a row the unit did not use
    label = ctx.rep.fields[cell["name"]].label.rsplit("·", 1)[0] if is_blank(value["name"]) else \
        str(value["name"]).splitlines()[0]
    for column in REQUIRED_COLUMNS:
        if column in cell and is_blank(value[column]):
            ctx.add("required", cell[column], label=f"{label}·{table.column_labels[column]}")
    weight = num(value["weight"])
    if weight is None or weight < 0 or is_blank(value["target"]):
        return
    nature = value.get("nature")
    scored = score_indicator(value["target"], value["actual"], weight.quantize(Decimal("0.01")), rules=rules,
                             nature=nature if "nature" in cell else None, unit=value.get("unit"))
    measured, target = scored.measured, scored.target
    quantitative = str(nature or "").strip() in QUANTITATIVE_NATURES
    if quantitative and not is_blank(value["actual"]) and measured is not None and measured.value is None:
        ctx.add("actual-not-number", cell["actual"], actual=value["actual"], label=label, nature=str(nature).strip(),
                value=value["actual"], target=target.raw if target else value["target"])
    reason_given = "reason" not in cell or not is_blank(value["reason"])
    stated = num(value["score"])
    if scored.band:
        band = rules.band(scored.band)
        top = max(rules.bands, key=lambda b: b.high)
        in_band = stated is None or not weight or band.holds(stated / weight)
        if not in_band:
            ctx.add("score-band", cell["score"], expected=None, actual=stated, label=label, word=measured.word,
                    band=band.name, low=fmt(band.low * 100), high=fmt(band.high * 100),
                    edge="" if band.high == 1 else "（不含上限）", low_score=fmt(weight * band.low),
                    high_score=fmt(weight * band.high), stated=fmt(stated))
        if band is not top and not reason_given:
            ctx.add("reason-required", cell["reason"], label=label, detail=f"完成情况“{measured.word}”属{band.name}档")
        elif band is top and in_band and stated is not None and stated < weight and not reason_given:
            ctx.add("score-deducted", cell["reason"], label=label, detail=f"完成情况“{measured.word}”",
                    stated=fmt(stated), weight=fmt(weight))
        return
    met = _met(target, measured, rules)
    if met is None:
        return
    detail = f"指标值“{target.raw}”，实际完成值“{value['actual']}”"
    if scored.score is not None and stated is not None and stated > scored.score:
        ctx.add("score-rule", cell["score"], expected=scored.score, actual=stated, label=label, rule=scored.reason,
                should=fmt(scored.score), stated=fmt(stated))
    if not met and not reason_given:
        ctx.add("reason-required", cell["reason"], label=label, detail=detail)
    elif not reason_given:
        over = _over(target, measured, rules.reason_over)
        if over is not None:
            ctx.add("reason-required", cell["reason"], variant="over", label=label, detail=detail, ratio=fmt(over),
                    limit=fmt(rules.reason_over * 100))
        elif stated is not None and stated < weight:
            ctx.add("score-deducted", cell["reason"], label=label, detail=detail, stated=fmt(stated),
                    weight=fmt(weight))


def _met(target, measured, rules) -> bool | None:
    """Whether a quantitative result reaches its target (a negative result counting as 0 where
    the rules say so), whatever share of the weight the rule gives; None when it cannot be told."""
    if target is None or measured is None or measured.value is None or target.op not in (GE, LE, EQ):
        return None
    actual = max(measured.value, Decimal(0)) if rules.negative_zero else measured.value
    if target.op == LE:
        return actual <= target.high
    if target.op == EQ and rules.equal == "closeness":
        return actual == target.low
    if target.op == EQ and target.low == 0:
        return actual <= 0
    return actual >= target.low


def _over(target, measured, limit: Decimal | None) -> Decimal | None:
    """The result as a percentage of a 正向 or 等于 target when it reaches `limit` times it."""
    if limit is None or target.op not in (GE, EQ) or not target.low or target.low <= 0:
        return None
    ratio = measured.value / target.low
    return (ratio * 100).quantize(Decimal("0.1")) if ratio >= limit else None
