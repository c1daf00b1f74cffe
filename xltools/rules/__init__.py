"""Pure rules: Filled -> findings. No openpyxl or xlwings objects in here.

One module per kind of rule, each rule declaring the catalogue codes it may emit (rule.py):

    integrity.py    what a workbook may not be trusted with (formulas altered or typed into
                    inputs, labels or blank cells, a date format on an amount, macros and links,
                    an add-in's settings sheet, sheets outside the bookends, pack's values-only copy)
    tables.py       required fields, copies, sum rules and the other derived figures, the inline
                    checks (compare, weights, 一级 weights, score range)
    indicators.py   the indicator tables: score sum, grade, the old form of the table
    judgement.py    stated scores against the spec's scoring rules, where it asks (the national form)
    budget.py       the 项目资金 table's warnings (执行率 over 100%, budget adjusted, the 自评预警)
    texts.py        the long texts: quoted 元 amounts against the tables, stated totals against their parts
    longtext.py     the long texts as the office program shows and prints them: rows hidden, rows cut
    cross.py        the department against its projects
    narrative.py    the texts' arithmetic (pure text), for texts.py and the hints

`run_rules` is the entry point; the order below is the order of the findings.
"""
from __future__ import annotations

from ..findings import Finding, Report
from ..read.filled import Filled
from ..spec.model import Spec
from .cross import CrossReport
from .indicators import Indicators
from .integrity import (AmountsShownAsDates, Bookends, FormulasAltered, InputFormulas, PackageContents,
                        SettingsSheets, StrayFormulas, ValuesCopy)
from .longtext import TextRows
from .rule import BookRule, Context, ReportRule, Rule, SheetRule
from .budget import BudgetWarnings
from .judgement import Judged
from .tables import Checks, Copies, Derived, Required, Sums
from .texts import Quotes, TextFootings, TextTotals

SHEET_RULES: tuple[SheetRule, ...] = (AmountsShownAsDates(), InputFormulas(), StrayFormulas())
BOOK_RULES: tuple[BookRule, ...] = (FormulasAltered(), PackageContents(), SettingsSheets(), Bookends(), ValuesCopy())
REPORT_RULES: tuple[ReportRule, ...] = (Required(), Copies(), Indicators(), Sums(), Derived(), Checks(), Quotes(),
                                        TextTotals(), TextFootings(), TextRows(), Judged(), BudgetWarnings())
ACROSS_RULES: tuple[BookRule, ...] = (CrossReport(),)
RULES: tuple[Rule, ...] = SHEET_RULES + BOOK_RULES + REPORT_RULES + ACROSS_RULES


def run_rules(filled: Filled, spec: Spec) -> Report:
    out: list[Finding] = []
    scores: dict = {}
    _run(filled, spec, out, scores, None)
    return Report(filled.path, out, scores)


def findings_by_rule(filled: Filled, spec: Spec) -> list[tuple[Rule | None, Finding]]:
    """run_rules' findings, each with the rule that made it (None: a note of the reader)."""
    out: list[Finding] = []
    made: list[tuple[Rule | None, Finding]] = []
    _run(filled, spec, out, {}, made)
    return made


def _run(filled: Filled, spec: Spec, out: list[Finding], scores: dict, made: list | None) -> None:
    def by(rule: Rule | None) -> None:     # the findings since the last call are the rule's
        if made is not None:
            made.extend((rule, f) for f in out[len(made):])

    for inst in filled.read:               # the reader's notes, then what the sheet itself carries
        out.extend(inst.notes)
        by(None)
        for rule in SHEET_RULES:
            rule.sheet(inst, out)
            by(rule)
    for rule in BOOK_RULES:
        rule.book(filled, spec, out)
        by(rule)
    for inst in filled.instances:
        ctx = Context(spec, inst, out, scores)
        for rule in REPORT_RULES:
            rule.report(ctx)
            by(rule)
    for rule in ACROSS_RULES:
        rule.book(filled, spec, out)
        by(rule)
