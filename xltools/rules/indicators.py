"""The indicator tables: the composite score against the scores and the full mark, the grade
against its band, and the old layout of the table (legacy.py: scores in 实际完成值, weights in
指标值), read as such. Runs before the other rules of its report: they then see the old
layout's figures where they were read."""
from __future__ import annotations

from decimal import Decimal

from ..formulas import num
from ..legacy import old_layout
from ..read.coerce import is_blank
from ..spec.model import IndicatorTable
from .rule import Context, ReportRule, differs, m_str


class Indicators(ReportRule):
    codes = ("legacy-indicators", "score-range", "score-sum", "score-over", "grade")

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
            and differs(num(stated) or Decimal(0), computed):
        ctx.add("score-sum", table.score_field, variant="with-execution" if table.extra_scores else "",
                expected=computed, actual=num(stated), computed=m_str(computed),
                stated=stated if stated is not None else "（空）")
    if computed > table.full_mark:
        ctx.add("score-over", table.score_field, expected=table.full_mark, actual=computed,
                total=m_str(computed), full=m_str(table.full_mark))
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
    """The old layout (legacy.py): its figures read as 得分/分值 (ctx.eff); findings on 得分/分值
    are then placed at the cells the figures were read from (ctx.moved)."""
    found = old_layout(ctx.inst.values, table)
    if found is None:
        return
    ctx.add("legacy-indicators", table.names("actual")[0], variant="with-weights" if found.with_weights else "",
            **{f"{k}_col": v for k, v in table.column_labels.items()})
    ctx.moved.update(found.moved)
    ctx.eff.update(found.scores)
    ctx.eff.update(found.weights)
    for s, a in found.moved.items():
        if a in found.texts:      # a word among the scores: no score can be read there
            ctx.add("score-range", s, variant="not-number", subject=ctx.rep.fields[a].label,
                    actual=ctx.eff.get(a), value=ctx.eff.get(a))


def _same_grade(stated: str, expected: str) -> bool:
    """优/优秀, 良/良好: the short and long names of a band are the same grade."""
    s = stated.strip()
    return bool(s) and (expected.startswith(s) or s.startswith(expected))


def _plain(v):
    return m_str(v) if isinstance(v, Decimal) else (v if v not in ("",) else None)
