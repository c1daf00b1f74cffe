"""Pure rules: Filled values -> findings. No openpyxl or xlwings objects in here.

Every identity comes from the spec (spec/load.py expands it); this module only knows how to
compare stated values with what the identity gives. Stated values are used as they are, also
when they feed another rule, so that one wrong figure fires exactly the rules that read it.
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from . import catalogue
from .catalogue import figure
from .data import Filled, Instance
from .findings import Finding, Report
from .formulas import CENT, check_args, input_defaults, num, quote_args, quoted_amount, value_cross, value_sum
from .spec import topo_order
from .spec.model import IndicatorTable, Spec, SumRule
from .values import is_blank

_AMOUNT = r"(\d[\d,]*(?:\.\d+)?)"
_LABELLED = re.compile(r"([^\d，,、；;：:（(）)。\s]{2,30}?)\s*" + _AMOUNT + r"\s*(万元|元)")


def _q(d: Decimal) -> Decimal:
    return d.quantize(CENT, ROUND_HALF_UP)


def amounts_in_text(text: str) -> list[tuple[str, Decimal, str]]:
    """'其中：民政管理业务经费146万元，…' -> [('民政管理业务经费', Decimal('146'), '万元'), …]"""
    out = []
    for m in _LABELLED.finditer(text or ""):
        out.append((m.group(1), Decimal(m.group(2).replace(",", "")), m.group(3)))
    return out


def explain_gap(gap: Decimal, *texts: str) -> list[str]:
    """Lines quoted in the narrative whose amount equals the gap (万元), e.g. '对个人和家庭的补助8280元'."""
    hits = []
    for text in texts:
        for label, amount, unit in amounts_in_text(text):
            wan = _q(amount / 10000) if unit == "元" else amount
            if wan == abs(_q(gap)):
                hits.append((label, f"{label}{m_str(amount)}{unit}"))
    # "实施基本养老服务补贴" and "基本养老服务补贴" name the same line: keep the shortest label.
    labels = {label for label, _ in hits}
    keep = []
    for label, text in hits:
        if not any(other != label and label.endswith(other) for other in labels) and text not in keep:
            keep.append(text)
    return keep


def m_str(d: Decimal) -> str:
    return format(d.normalize(), "f") if d == d.to_integral_value() else format(d, "f")


class _Checker:
    def __init__(self, spec: Spec, inst: Instance, out: list[Finding]):
        self.spec, self.inst, self.out = spec, inst, out
        self.rep = inst.report
        self.eff = self._effective()

    def add(self, code, name_or_cell, /, **args):
        """A finding of a catalogue entry (or code) at a field (or an A1 cell) of this sheet."""
        cell = self.rep.fields[name_or_cell].cell if name_or_cell in self.rep.fields else name_or_cell
        self.out.append(catalogue.finding(code, self.inst.sheet, cell, **args))

    def _effective(self) -> dict:
        """Stated values; what the data left out is taken from the template (defaults, formulas)."""
        eff = input_defaults(self.rep)
        eff.update(self.inst.values)
        for rule in topo_order(self.rep):
            if rule.target not in self.inst.values:
                eff[rule.target] = value_sum(rule, eff.get) if isinstance(rule, SumRule) else eff.get(rule.source)
        return eff

    # -- rules ------------------------------------------------------------------------------
    def sums(self):
        score_fields = {t.score_field for t in self.rep.indicator_tables}
        for rule in self.rep.sums:
            if rule.target not in self.inst.values or rule.target in score_fields:
                continue       # not stated (the template computes it), or scored in indicators()
            stated = num(self.inst.values[rule.target]) or Decimal(0)
            expected = value_sum(rule, self.eff.get)
            if stated == expected or _q(stated) == _q(expected):
                continue
            f = self.rep.fields[rule.target]
            entry = catalogue.sum_entry(rule)
            hint = entry.hint
            if rule.code == "basic":
                found = explain_gap(expected - stated, *texts_of(self.rep, self.eff))
                if found:
                    hint += "；" + catalogue.HINT_GAP_IN_TEXT.format(lines=catalogue.quoted_lines(found))
            unit = catalogue.unit_word(f.unit)
            self.add(entry, rule.target, subject=f.label, expected=_q(expected), actual=_q(stated), hint=hint,
                     should=figure(expected, f.unit), stated=figure(stated, f.unit), unit=unit,
                     direction=catalogue.direction(stated - expected), gap=figure(abs(stated - expected), f.unit))

    def checks(self):
        for check in self.rep.checks:
            if check.kind == "quotes":
                org, narr = (self.eff.get(n) for n in check.left)
                for (phrase, name), where in zip(check.right, check.labels):
                    quoted = quoted_amount(narr, org, phrase, check.lead)
                    cell = num(self.eff.get(name))
                    args = quote_args(narr, org, phrase, cell, check.lead, where) if quoted is not None else None
                    if args is None:
                        continue
                    self.add(check.code, check.left[1], expected=f"{m_str((cell or Decimal(0)) * 10000)}元",
                             actual=f"{quoted}元", **args)
                continue
            args = check_args(check, self.eff.get)
            if args is None:
                continue
            if check.kind == "score-range":
                self.add(check.code, check.left, subject=self.rep.fields[check.left].label,
                         expected=num(self.eff.get(check.right)), actual=self.eff.get(check.left), **args)
            elif check.kind == "weights":
                total = sum((num(self.eff.get(n)) or Decimal(0) for n in check.left), Decimal(0))
                self.add(check.code, check.left[0], expected=check.right, actual=total, **args)
            else:
                left, right = num(self.eff.get(check.left)), num(self.eff.get(check.right))
                self.add(catalogue.check_entry(check), check.left, expected=right, actual=left, **args)

    def required(self):
        for f in self.rep.inputs:
            if f.required and is_blank(self.eff.get(f.name)):
                self.add("required", f.name, label=f.label)

    def indicators(self, table: IndicatorTable) -> dict:
        """Score sum, legacy columns and grade; returns the score summary of this report."""
        scores, weights = table.names("score"), table.names("weight")
        actuals, targets = table.names("actual"), table.names("target")
        stated_scores = [self.inst.values.get(n) for n in scores]
        if all(is_blank(s) for s in stated_scores):
            bare = [_bare_number(self.eff.get(n)) for n in actuals]
            if any(b is not None for b in bare) and all(b is not None or is_blank(self.eff.get(n))
                                                         for b, n in zip(bare, actuals)):
                tgt = [_bare_number(self.eff.get(n)) for n in targets]
                legacy_weights = all(t is not None for t in tgt) and sum(tgt) == 100
                self.add("legacy-indicators", actuals[0], variant="with-weights" if legacy_weights else "",
                         **{f"{k}_col": v for k, v in table.column_labels.items()})
                for n, b in zip(scores, bare):
                    self.eff[n] = b
                if legacy_weights:
                    for n, t in zip(weights, tgt):
                        self.eff[n] = t
        computed = sum((num(self.eff.get(n)) or Decimal(0) for n in scores), Decimal(0))
        stated = self.inst.values.get(table.score_field)
        # In a workbook the composite is the template's own SUM of 得分: with old-style columns the
        # warning above already says why it is empty; the recomputed score is in the summary.
        legacy_in_book = self.inst.formulas is not None and all(is_blank(s) for s in stated_scores)
        if table.score_field in self.inst.values and not legacy_in_book \
                and _q(num(stated) or Decimal(0)) != _q(computed):
            self.add("score-sum", table.score_field, expected=computed, actual=num(stated),
                     computed=m_str(computed), stated=stated if stated is not None else "（空）")
        basis = num(stated) if num(stated) is not None else computed
        stated_grade = self.inst.values.get(table.grade_field)
        expected_grade = self.spec.grade_of(basis)
        if not is_blank(stated_grade) and not _same_grade(str(stated_grade), expected_grade):
            self.add("grade", table.grade_field, expected=expected_grade, actual=stated_grade,
                     should=expected_grade, basis=m_str(basis), stated=stated_grade)
        if legacy_in_book:
            stated = None      # the template's SUM of an empty column, not a figure anyone stated
        return {"sheet": self.inst.sheet, "stated_score": _plain(stated), "computed_score": m_str(computed),
                "stated_grade": stated_grade or None, "computed_grade": self.spec.grade_of(computed)}


def texts_of(rep, values: dict) -> list[str]:
    """The free texts of a report (narrative, achievements…), where lines and amounts are quoted."""
    return [v for name, v in values.items() if isinstance(v, str) and v and rep.fields[name].unit == "text"]


def _bare_number(v) -> Decimal | None:
    if isinstance(v, Decimal):
        return v
    if isinstance(v, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", v):
        return Decimal(v.strip())
    return None


def _same_grade(stated: str, expected: str) -> bool:
    """优/优秀, 良/良好: the short and long names of a band are the same grade."""
    s = stated.strip()
    return bool(s) and (expected.startswith(s) or s.startswith(expected))


def _plain(v):
    return m_str(v) if isinstance(v, Decimal) else (v if v not in ("",) else None)


def cross_report(filled: Filled, spec: Spec, out: list[Finding]):
    c = spec.cross
    if c is None:
        return
    dept_vals = filled.dept.values
    dept = sum((num(dept_vals.get(n)) or Decimal(0) for n in c.dept), Decimal(0))
    projects = sum((num(p.values.get(c.project)) or Decimal(0) for p in filled.projects), Decimal(0))
    gap = dept - projects
    if _q(gap) == 0:
        return
    entry = catalogue.cross_entry(c)
    hint = entry.hint
    lines = explain_gap(gap, *texts_of(spec.dept, dept_vals))
    project_items = " ".join(str(v) for p in filled.projects for n, v in p.values.items()
                             if isinstance(v, str))
    lines = [line for line in lines if re.sub(_AMOUNT + r"\s*(万元|元)$", "", line) not in project_items] or lines
    if lines:
        hint = catalogue.HINT_CROSS_IN_TEXT.format(lines=catalogue.quoted_lines(lines))
    rep = spec.dept
    # The sentence of the department sheet's inline cell, with the same figures.
    text = value_cross(spec, dept_vals.get, [num(p.values.get(c.project)) or Decimal(0) for p in filled.projects])
    out.append(Finding(entry.code, entry.severity, rep.sheet, rep.cell(c.dept[0]), text, _q(projects), _q(dept), hint))


def run_rules(filled: Filled, spec: Spec) -> Report:
    out: list[Finding] = list(filled.findings)
    scores = {}
    for inst in filled.instances:
        chk = _Checker(spec, inst, out)
        chk.required()
        for table in inst.report.indicator_tables:
            scores[inst.sheet] = chk.indicators(table)
        chk.sums()
        chk.checks()
    cross_report(filled, spec, out)
    return Report(filled.path, out, scores)
