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
from .. import catalogue
from ..findings import ERROR, Finding
from ..checker import read_book
from ..rules.integrity import package_findings
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
    """New 得分 by field name for one report; unscorable indicators are cleared and reported."""
    new = {}
    for table in inst.report.indicator_tables:
        for i, ind in enumerate(table.indicators, start=1):
            name, target, actual = (inst.values.get(f"{table.id}_{c}_{i}") for c in ("name", "target", "actual"))
            weight = inst.values.get(f"{table.id}_weight_{i}")
            score_name = f"{table.id}_score_{i}"
            label = (name or ind.name).splitlines()[0]
            if weight is None:
                scored = None
                reason = "分值为空，无法自动评分，须由评价人人工评分"
            else:
                s = score_indicator(target, actual, weight, lower_is_better=ind.lower_is_better,
                                    qualitative_points=spec.qualitative or None)
                scored, reason = s.score, s.reason
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


def formulas_to_values(book: Package, filled) -> None:
    """An input cell that holds a formula (rules.integrity.InputFormulas) is written back as the
    value the checker read from it: the scored workbook carries no formula the unit typed."""
    for inst in filled.instances:
        for name in inst.input_formulas:
            book.sheet(inst.sheet).set(inst.cell(name), inst.values.get(name))


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
        for table in inst.report.indicator_tables:
            scores = [inst.values.get(n) for n in table.names("score")]
            scored = [v for v in scores if isinstance(v, Decimal)]
            if not scored:
                lines.append(f"{inst.sheet}：没有可自动评分的指标，综合得分与等次待人工评分后由模板计算")
                continue
            total = sum(scored, Decimal(0))
            missing = len(scores) - len(scored)
            if missing:
                lines.append(f"{inst.sheet}：已评 {len(scored)} 项共 {total} 分，另有 {missing} 项待人工评分，"
                             "评分完成后模板给出综合得分与等次")
            else:
                lines.append(f"{inst.sheet}：综合得分 {total}，评价等次 {spec.grade_of(total)}")
    return lines
