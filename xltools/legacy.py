"""The old layout of an indicator table, and its one reading in the new columns.

The 2022 form had no 分值 or 得分 column: units wrote each indicator's score into 实际完成值
(完成情况) and, on the project form, its weight into 指标值. Read in the new columns:

    实际完成值 (a score)   ->  得分
    指标值 (a weight)      ->  分值   (where 指标值 holds no numbers, 分值 keeps the spec's weight)
    指标值, 实际完成值      ->  blank  (the old form stated no target and no completion)

Every tool reads a report so: `fill` writes an old-layout data file in the new columns, `score`
and `pack` move a workbook's figures into them before scoring or printing, and the checker
reads the figures where they stand (rules/indicators.py), so that the workbook, its PDF, its
values copy, its data file, the manifest and the summary all show one score and one grade.

Told by the shape of the columns, not by their sums, so that one wrong figure is found at its
cell instead of switching the reading off: a table is in the old layout when its 得分 column is
blank and at least half of its 实际完成值 holds bare numbers (a sign too: a negative score is a
wrong score); its 指标值 holds the weights when it holds any bare number: in all rows when at
least half do (blank rows then weigh 0), else only in the rows that do.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from .read.coerce import is_blank
from .spec.model import IndicatorTable

_BARE = re.compile(r"\s*[-+]?\d+(\.\d+)?\s*", re.ASCII)


def bare_number(v) -> Decimal | None:
    """A number written with nothing else (no unit, no operator): a score or a weight."""
    if isinstance(v, Decimal):
        return v
    if isinstance(v, str) and _BARE.fullmatch(v):
        return Decimal(v.strip())
    return None


@dataclass
class OldLayout:
    table: IndicatorTable
    scores: dict[str, Decimal | None] = field(default_factory=dict)   # 得分 -> the score read (None: blank)
    weights: dict[str, Decimal] = field(default_factory=dict)         # 分值 -> the weight read from 指标值
    moved: dict[str, str] = field(default_factory=dict)               # 得分/分值 -> the field it was read from
    texts: list[str] = field(default_factory=list)                    # 实际完成值 fields holding words, not a score

    @property
    def with_weights(self) -> bool:
        return bool(self.weights)

    def new_columns(self) -> dict[str, object]:
        """The table's cells in the new layout: 得分 and 分值 as read, 指标值 and 实际完成值 blank
        (only when every score is a number: a word among them stays where the unit wrote it)."""
        if self.texts:
            return {}
        out: dict[str, object] = dict(self.scores)
        out.update(self.weights)
        for name in self.moved.values():
            out[name] = None
        return out


def old_layout(values: dict, table: IndicatorTable) -> OldLayout | None:
    """How `values` (a report's stated values, by field name) read in the new columns, or None
    when the table is not in the old layout."""
    scores, weights = table.names("score"), table.names("weight")
    actuals, targets = table.names("actual"), table.names("target")
    if not all(is_blank(values.get(n)) for n in scores):
        return None
    bare = [bare_number(values.get(n)) for n in actuals]
    if 2 * sum(b is not None for b in bare) < len(bare):
        return None
    found = OldLayout(table)
    for s, a, b in zip(scores, actuals, bare):
        found.moved[s] = a
        found.scores[s] = b
        if b is None and not is_blank(values.get(a)):
            found.texts.append(a)
    tgt = [bare_number(values.get(n)) for n in targets]
    numbers = sum(t is not None for t in tgt)
    if numbers:
        whole = 2 * numbers >= len(tgt)
        for w, t, b in zip(weights, targets, tgt):
            if b is not None or whole:
                found.weights[w] = b if b is not None else Decimal(0)
                found.moved[w] = t
    return found


def layouts(inst) -> list[OldLayout]:
    """The old-layout tables of one filled report (an Instance)."""
    return [found for table in inst.report.indicator_tables
            if (found := old_layout(inst.values, table)) is not None]


def to_new_columns(inst) -> dict[str, object]:
    """Rewrite an Instance's old-layout tables in the new columns (its `values` change); returns
    the fields changed with their new values (None: now blank), for a writer to put in cells."""
    changed: dict[str, object] = {}
    for found in layouts(inst):
        for name, value in found.new_columns().items():
            if value is None:
                inst.values.pop(name, None)
            else:
                inst.values[name] = value
            changed[name] = value
    return changed


def describe(inst, found: OldLayout) -> str:
    """What moving a table into the new columns did, in the words of its column headings."""
    labels = found.table.column_labels
    moved = f"“{labels['actual']}”列的得分移入“{labels['score']}”列"
    if found.with_weights:
        moved += f"、“{labels['target']}”列的分值移入“{labels['weight']}”列"
    return f"{inst.sheet}：指标表按旧版表式填写，已把{moved}（旧版表式没有分值、得分列）"
