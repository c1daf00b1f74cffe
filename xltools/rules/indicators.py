"""The indicator tables: the composite score against the scores, the grade against its band, and
the old form of the table (scores in 实际完成值, weights in 指标值), read as such. Runs before the
other rules of its report: they then see the old form's figures where they were read."""
from __future__ import annotations

import re
from decimal import Decimal

from ..formulas import num
from ..read.coerce import is_blank
from ..spec.model import IndicatorTable
from .rule import Context, ReportRule, cents, m_str


class Indicators(ReportRule):
    codes = ("legacy-indicators", "score-range", "score-sum", "grade")

    def report(self, ctx: Context) -> None:
        for table in ctx.rep.indicator_tables:
            ctx.scores[ctx.inst.sheet] = _indicators(ctx, table)


def _indicators(ctx: Context, table: IndicatorTable) -> dict:
    """Score sum, legacy columns and grade; returns the score summary of this report."""
    inst = ctx.inst
    scores = table.names("score")
    stated_scores = [inst.values.get(n) for n in scores]
    if table.old_form and all(is_blank(s) for s in stated_scores):
        _legacy(ctx, table)
    computed = sum((num(ctx.eff.get(n)) or Decimal(0) for n in (*scores, *table.extra_scores)), Decimal(0))
    stated = inst.values.get(table.score_field)
    # In a workbook the composite is the template's own SUM of 得分: with old-style columns the
    # warning above already says why it is empty; the recomputed score is in the summary.
    legacy_in_book = table.old_form and inst.formulas is not None and all(is_blank(s) for s in stated_scores)
    if table.score_field in inst.values and not legacy_in_book \
            and cents(num(stated) or Decimal(0)) != cents(computed):
        ctx.add("score-sum", table.score_field, variant="with-execution" if table.extra_scores else "",
                expected=computed, actual=num(stated), computed=m_str(computed),
                stated=stated if stated is not None else "（空）")
    basis = num(stated) if num(stated) is not None else computed
    stated_grade = inst.values.get(table.grade_field)
    expected_grade = ctx.spec.grade_of(basis)
    if not is_blank(stated_grade) and not _same_grade(str(stated_grade), expected_grade):
        ctx.add("grade", table.grade_field, expected=expected_grade, actual=stated_grade,
                should=expected_grade, basis=m_str(basis), stated=stated_grade)
    if legacy_in_book:
        stated = None      # the template's SUM of an empty column, not a figure anyone stated
    return {"sheet": inst.sheet, "stated_score": _plain(stated), "computed_score": m_str(computed),
            "stated_grade": stated_grade or None, "computed_grade": ctx.spec.grade_of(computed)}


def _legacy(ctx: Context, table: IndicatorTable) -> None:
    """The old form (the seed's habit): scores in 实际完成值, weights in 指标值, 得分 empty.

    Told by the shape of the columns, not by their sums, so that one wrong figure is found at
    its cell instead of switching the reading off: the 实际完成值 column is read as scores when
    at least half of it holds bare numbers (a sign too: a negative score is a wrong score);
    the 指标值 column as weights the same way (blank rows then weigh 0), or, with fewer
    numbers, where it holds one (the spec's weight elsewhere). Findings on 得分/分值 are then
    placed at the cells the figures were read from (ctx.moved)."""
    eff = ctx.eff
    scores, weights = table.names("score"), table.names("weight")
    actuals, targets = table.names("actual"), table.names("target")
    bare = [_bare_number(eff.get(n)) for n in actuals]
    if 2 * sum(b is not None for b in bare) < len(bare):
        return
    tgt = [_bare_number(eff.get(n)) for n in targets]
    numbers = sum(t is not None for t in tgt)
    ctx.add("legacy-indicators", actuals[0], variant="with-weights" if numbers else "",
            **{f"{k}_col": v for k, v in table.column_labels.items()})
    for s, a, b in zip(scores, actuals, bare):
        ctx.moved[s] = a
        if b is not None or is_blank(eff.get(a)):
            eff[s] = b
        else:          # text among the scores: no score can be read there
            eff[s] = None
            ctx.add("score-range", s, variant="not-number", subject=ctx.rep.fields[a].label,
                    actual=eff.get(a), value=eff.get(a))
    if numbers:
        whole = 2 * numbers >= len(tgt)
        for w, t, b in zip(weights, targets, tgt):
            if b is not None or whole:
                eff[w] = b if b is not None else Decimal(0)
                ctx.moved[w] = t


def _bare_number(v) -> Decimal | None:
    if isinstance(v, Decimal):
        return v
    if isinstance(v, str) and re.fullmatch(r"\s*[-+]?\d+(\.\d+)?\s*", v, re.ASCII):
        return Decimal(v.strip())
    return None


def _same_grade(stated: str, expected: str) -> bool:
    """优/优秀, 良/良好: the short and long names of a band are the same grade."""
    s = stated.strip()
    return bool(s) and (expected.startswith(s) or s.startswith(expected))


def _plain(v):
    return m_str(v) if isinstance(v, Decimal) else (v if v not in ("",) else None)
