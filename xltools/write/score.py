"""`xltools score BOOK -o OUT`: fill each indicator's 得分 from 指标值, 实际完成值 and 分值.

Scores follow 财预〔2020〕10号 as scoring.py implements it; the composite score and grade then
follow by the template's formulas, whose cached values are rewritten with them. Only the score
cells and the formula results that depend on them change: the workbook goes through the cell
package editor, never through a load-and-save. An indicator that cannot be scored is left empty and
reported, for a person to score.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..ooxml.package import Package
from ..errors import BookError, DataError
from .fill import write_instances
from .. import catalogue, legacy
from ..findings import ERROR, Finding
from ..checker import read_book
from ..rules.integrity import package_findings
from ..rules.rule import m_str
from ..read.coerce import is_blank
from ..scoring import score_indicator
from ..xlsx import read_file
from ..spec.model import Spec
from ..spec.registry import Registry


CODES = ("score-manual",)      # the catalogue codes scoring emits (an indicator left to a person)


@dataclass
class ScoreResult:
    path: Path
    lines: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def score_instance(inst, spec: Spec, result: ScoreResult) -> dict:
    """New cells by field name for one report: each 得分 scored, or cleared and reported when it
    cannot be. A row the unit left blank (the national form's spare rows) is left alone; a 定性
    score the evaluator gave inside its band is kept where the spec says so (keep_chosen). A table
    in the old layout is not scored: its scores are the unit's own, and they move with its weights
    into the new columns (legacy.py)."""
    new = {}
    rules = spec.scoring
    for table in inst.report.indicator_tables:
        found = legacy.old_layout(inst.values, table)
        if found is not None:
            new.update(_old_layout(inst, found, result))
            continue
        for i, ind in enumerate(table.indicators, start=1):
            row = {c: inst.values.get(f"{table.id}_{c}_{i}") for c in table.columns}
            if not ind.name and all(is_blank(v) for v in row.values()):
                continue
            weight, score_name = row["weight"], f"{table.id}_score_{i}"
            label = (row["name"] or ind.name or inst.report.fields[score_name].label).splitlines()[0]
            if weight is None:
                scored = None
                reason = "分值为空，无法自动评分，须由评价人人工评分"
            else:
                s = score_indicator(row["target"], row["actual"], weight, lower_is_better=ind.lower_is_better,
                                    rules=rules, **{c: row[c] for c in ("nature", "unit") if c in row})
                scored, reason = s.score, s.reason
                if s.band and rules.keep_chosen and _in_band(rules.band(s.band), row["score"], weight):
                    scored, reason = row["score"], f"{reason}；保留评价人在档内给出的 {row['score']} 分"
            cell = inst.report.cell(score_name)
            kept = inst.values.get(score_name)
            if scored is None and isinstance(kept, Decimal):
                result.lines.append(f"  {inst.sheet}!{cell} {label}：保留评价人填写的 {kept} 分（{reason}）")
                continue        # a person's score where the scorer has none is never erased
            new[score_name] = scored
            if scored is None:
                result.findings.append(catalogue.finding("score-manual", inst.sheet, cell, label=label, reason=reason))
                result.lines.append(f"  {inst.sheet}!{cell} {label}：{reason}")
            else:
                result.lines.append(f"  {inst.sheet}!{cell} {label}：{scored}（{reason}）")
    return new


def _old_layout(inst, found: legacy.OldLayout, result: ScoreResult) -> dict:
    """The unit's scores and weights in the new columns, or nothing when a score is a word."""
    labels = found.table.column_labels
    moved = found.new_columns()
    if not moved:
        where = "、".join(inst.cell(a) for a in found.texts)
        result.lines.append(f"  {inst.sheet}：指标表按旧版表式填写，但 {where} 不是得分，未评分；请把分值、得分"
                            f"填入“{labels['weight']}”“{labels['score']}”列，{labels['target']}、{labels['actual']}"
                            "填实际的目标与完成情况，再评分")
        return {}
    result.lines.append(f"  {legacy.describe(inst, found)}")
    return moved


def _in_band(band, score, weight: Decimal) -> bool:
    return isinstance(score, Decimal) and weight > 0 and band.holds(score / weight)


def formulas_to_values(book: Package, filled) -> None:
    """An input cell that holds a formula (rules.integrity.InputFormulas) is written back as the
    value the checker read from it, and a formula over a label or in a blank cell
    (StrayFormulas) as the value it showed: the scored workbook carries no formula the unit typed."""
    for inst in filled.instances:
        sheet = book.sheet(inst.sheet)
        for name in inst.input_formulas:
            sheet.set(inst.cell(name), inst.values.get(name))
        for ref, (_formula, shown) in inst.stray_formulas.items():
            sheet.set(ref, shown)


def score_workbook(book_path, out, specs: Spec | Registry, in_place: bool = False) -> ScoreResult:
    """`specs`: the spec, or a registry that picks the workbook's own by its fingerprint."""
    if bool(out) == bool(in_place):
        raise DataError("请用 -o 指定输出文件，或用 --in-place 覆盖原文件（二者选一）")
    data = read_file(book_path)            # read once: the reader and the editor share the bytes
    spec, filled = read_book(book_path, specs, data)
    # --in-place still writes a complete new file first and renames it over the original.
    target = Path(book_path) if in_place else Path(out)
    result = ScoreResult(target)
    unsafe = [f for f in package_findings(filled.package) if f.severity == ERROR]     # links, macros
    if unsafe:
        raise BookError(f"文件 {book_path}：{unsafe[0].message}。xltools score 不处理含外部链接或宏的工作簿，未写入任何文件",
                        "unsafe-content")
    book = Package(data, str(book_path))
    formulas_to_values(book, filled)
    for inst in filled.instances:
        new = score_instance(inst, spec, result)
        inst.values.update(new)
        sheet = book.sheet(inst.sheet)
        for name, value in new.items():
            sheet.set(inst.report.cell(name), value)
    # Recompute the cached results of every formula from the workbook's own inputs.
    write_instances(book, spec, filled.instances, write_inputs=False, cross_sheets=filled.cross_sheets)
    book.save(target)
    result.lines.extend(summary_lines(filled, spec, result))
    return result


def summary_lines(filled, spec: Spec, result: ScoreResult) -> list[str]:
    """Per report: the composite score and grade the template now shows, or what is still missing
    (shared with the add-in's 计算得分 button)."""
    lines = []
    for inst in filled.instances:
        rep = inst.report
        for table in rep.indicator_tables:
            used = [i for i, ind in enumerate(table.indicators, start=1)
                    if ind.name or any(not is_blank(inst.values.get(f"{table.id}_{c}_{i}")) for c in table.columns)]
            scores = [inst.values.get(f"{table.id}_score_{i}") for i in used]
            scored = [v for v in scores if isinstance(v, Decimal)]
            total_label, grade_label = rep.fields[table.score_field].label, rep.fields[table.grade_field].label
            if not scored:
                lines.append(f"{inst.sheet}：没有可自动评分的指标，{total_label}与{grade_label}待人工评分后由模板计算")
                continue
            extra = [v for v in map(inst.values.get, table.extra_scores) if isinstance(v, Decimal)]
            total = sum(scored + extra, Decimal(0))
            missing = len(scores) - len(scored)
            if missing:
                lines.append(f"{inst.sheet}：已评 {len(scored)} 项共 {sum(scored, Decimal(0))} 分，另有 {missing} 项待人工评分，"
                             f"评分完成后模板给出{total_label}与{grade_label}")
            else:
                over = ("；" + catalogue.message("score-over", full=m_str(table.full_mark), total=m_str(total))
                        if total > table.full_mark else "")
                lines.append(f"{inst.sheet}：{total_label} {total}，{grade_label} {spec.grade_of(total)}{over}")
    return lines
