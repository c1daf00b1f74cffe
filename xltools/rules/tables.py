"""The form's own arithmetic, as the spec declares it: required fields, sum rules (a total equals
its terms), and the checks the template shows inline in column I (compare, weights, score range).

Every identity comes from the spec (spec/load.py expands it); these rules only compare stated
values with what the identity gives. Stated values are used as they are, also when they feed
another rule, so that one wrong figure fires exactly the rules that read it.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from .. import catalogue
from ..catalogue import figure
from ..formulas import check_args, level_args, num, value_of, value_sum
from ..read.coerce import is_blank
from ..spec.model import Spec
from .narrative import explain_gap
from .rule import Context, ReportRule, cents, differs, texts_of


class Required(ReportRule):
    codes = ("required",)

    def report(self, ctx: Context) -> None:
        for f in ctx.rep.inputs:
            if f.required and is_blank(ctx.eff.get(f.name)):
                ctx.add("required", f.name, label=f.label)


class Copies(ReportRule):
    """Text the template repeats from another cell (the spec's `same_as`: the 机构名称 of the 支出,
    三公经费 and 固定资产 tables is the 收入 table's, row by row) stated otherwise: typed over in a
    workbook, or given in a data file. Names that differ only in spaces or in full- and half-width
    forms (（二级） and (二级)) are the same name."""
    codes = ("copy-differs",)

    def report(self, ctx: Context) -> None:
        rep = ctx.rep
        for rule in rep.copies:
            stated = ctx.inst.values.get(rule.target)
            if is_blank(stated):
                continue                  # not stated: the template shows the source
            source = ctx.eff.get(rule.source)
            if stated == source or not is_blank(source) and _folded(source) == _folded(stated):
                continue
            target, origin = rep.fields[rule.target], rep.fields[rule.source]
            ctx.add("copy-differs", rule.target, variant="no-source" if is_blank(source) else "",
                    expected=source, actual=stated, table=table_title(rep, target.table), cell=target.cell,
                    label=target.label, stated=stated, source_table=table_title(rep, origin.table),
                    source_cell=origin.cell, source=source)


def _folded(text) -> str:
    return unicodedata.normalize("NFKC", "".join(str(text).split()))


def table_title(rep, table_id: str | None) -> str:
    """A table as a bookkeeper names it: its caption without the unit (年度收入情况表), else after
    the total it states (三公经费合计 -> 三公经费表)."""
    table = rep.tables.get(table_id) if table_id else None
    if table is None:
        return rep.title
    if table.caption:
        return re.sub(r"[（(][^）)]*[）)]$", "", table.caption) + "表"
    fields = [rep.fields.get(table.name(c, table.rows[0])) for c in table.columns]
    total = next((f.label for f in fields if f is not None and "合计" in f.label), None)
    return total.split("（")[0].removesuffix("合计") + "表" if total else rep.title


def _score_fields(rep) -> set[str]:
    return {t.score_field for t in rep.indicator_tables}


class Sums(ReportRule):
    """Each stated total against the sum of its terms (a total the template computes and the data
    left out is not stated). The composite score is the indicators rule's."""

    def declares(self, spec: Spec) -> set[str]:
        return {rule.code for rep in spec.reports.values() for rule in rep.sums
                if rule.target not in _score_fields(rep)}

    def report(self, ctx: Context) -> None:
        score_fields = _score_fields(ctx.rep)
        for rule in ctx.rep.sums:
            if rule.target not in ctx.inst.values or rule.target in score_fields:
                continue
            stated = num(ctx.inst.values[rule.target]) or Decimal(0)
            expected = value_sum(rule, ctx.eff.get)
            if not differs(stated, expected):
                continue
            f = ctx.rep.fields[rule.target]
            entry = catalogue.sum_entry(rule, f.unit)
            hint = entry.hint
            if rule.code == "basic":
                found = explain_gap(expected - stated, *texts_of(ctx.rep, ctx.eff))
                if found:
                    hint += "；" + catalogue.HINT_GAP_IN_TEXT.format(lines=catalogue.quoted_lines(found))
            unit = catalogue.unit_word(f.unit)
            ctx.add(entry, rule.target, subject=f.label, expected=cents(expected), actual=cents(stated), hint=hint,
                    should=figure(expected, f.unit), stated=figure(stated, f.unit), unit=unit,
                    direction=catalogue.direction(stated - expected), gap=figure(abs(stated - expected), f.unit))


class Derived(ReportRule):
    """Each stated figure a spec rule derives other than by a sum (预算执行率 and its score)
    against what the rule gives: in a workbook these are the template's formulas, a data file
    states them."""

    def declares(self, spec: Spec) -> set[str]:
        return {rule.code for rep in spec.reports.values() for rule in rep.derived}

    def report(self, ctx: Context) -> None:
        for rule in ctx.rep.derived:
            if rule.target not in ctx.inst.values:
                continue
            stated, expected = ctx.inst.values[rule.target], value_of(rule, ctx.eff.get)
            if (num(stated) if not is_blank(stated) else None) == (num(expected) if expected != "" else None):
                continue
            unit = ctx.rep.fields[rule.target].unit
            ctx.add(catalogue.derived_entry(rule), rule.target, subject=ctx.rep.fields[rule.target].label,
                    expected=expected if expected != "" else None, actual=num(stated), should=_shown(expected, unit),
                    stated=_shown(stated, unit))


def _shown(value, unit: str) -> str:
    """A derived figure in a sentence: a rate as a percentage, a blank as such."""
    if is_blank(value) or num(value) is None:
        return "（空）"
    return f"{figure(num(value) * 100)}%" if unit == "rate" else figure(num(value), unit)


class Checks(ReportRule):
    """The inline checks but the narrative's quotes (rules/texts.py): the spec's compare checks,
    the indicators' weights adding up to 100 (and, per 一级指标, to its header's weight), each
    score within its weight."""
    codes = ("weight-sum", "score-range")

    def declares(self, spec: Spec) -> set[str]:
        return set(self.codes) | {check.code for rep in spec.reports.values() for check in rep.checks
                                  if check.kind in ("compare", "levels")}

    def report(self, ctx: Context) -> None:
        for check in ctx.rep.checks:
            if check.kind == "quotes":
                continue
            if check.kind == "levels":
                for args in level_args(check, ctx.eff.get):
                    names = args.pop("names")
                    ctx.add(check.code, _odd_weight(ctx, names), expected=Decimal(args["target"]),
                            actual=sum((num(ctx.eff.get(n)) or Decimal(0) for n in names), Decimal(0)), **args)
                continue
            args = check_args(check, ctx.eff.get)
            if args is None:
                continue
            if check.kind == "score-range":
                ctx.add(check.code, check.left, subject=ctx.rep.fields[ctx.moved.get(check.left, check.left)].label,
                        expected=num(ctx.eff.get(check.right)), actual=ctx.eff.get(check.left), **args)
            elif check.kind == "weights":
                total = sum((num(ctx.eff.get(n)) or Decimal(0) for n in check.left), Decimal(0))
                ctx.add(check.code, _odd_weight(ctx, check.left), expected=check.right, actual=total, **args)
            else:
                left, right = num(ctx.eff.get(check.left)), num(ctx.eff.get(check.right))
                ctx.add(catalogue.check_entry(check), check.left, expected=right, actual=left, **args)


def _odd_weight(ctx: Context, weights) -> str:
    """Where a weight sum that is not 100 is reported: at the one weight that differs from the
    template's (a typo is found at its cell), else at the first weight of the table."""
    template = ctx.rep.defaults
    if all(template.get(n) is None for n in weights):     # the unit gives every weight: none is odd
        return weights[0]
    odd = [n for n in weights if num(ctx.eff.get(n)) != num(template.get(n))]
    return odd[0] if len(odd) == 1 else weights[0]
