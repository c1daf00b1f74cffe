"""Pure rules: Filled values -> findings. No openpyxl or xlwings objects in here.

Every identity comes from the spec (spec/load.py expands it); this module only knows how to
compare stated values with what the identity gives. Stated values are used as they are, also
when they feed another rule, so that one wrong figure fires exactly the rules that read it.
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from .. import catalogue
from ..catalogue import figure
from ..read.filled import Filled, Instance
from ..findings import Finding, Report
from .longtext import text_row_findings
from .narrative import footings
from ..formulas import CENT, check_args, input_defaults, num, quote_args, value_cross, value_sum
from ..spec import topo_order
from ..spec.model import IndicatorTable, Spec, SumRule
from ..read.coerce import is_blank

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
        self.moved: dict[str, str] = {}   # field -> the field its figure was read from (old form)

    def add(self, code, name_or_cell, /, near: str = "", **args):
        """A finding of a catalogue entry (or code) at a field (or an A1 cell) of this sheet; a
        field of the old indicator form is placed where its figure was read (self.moved); one
        about the words `near` in a long text, at the row that holds them."""
        name_or_cell = self.moved.get(name_or_cell, name_or_cell)
        cell = self.rep.shown_cell(name_or_cell) if name_or_cell in self.rep.fields else name_or_cell
        if near:
            cell = next((at for at, text in self.inst.rows.get(name_or_cell, ()) if near in text), cell)
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
                self.quotes(check)
                continue
            args = check_args(check, self.eff.get)
            if args is None:
                continue
            if check.kind == "score-range":
                self.add(check.code, check.left, subject=self.rep.fields[self.moved.get(check.left, check.left)].label,
                         expected=num(self.eff.get(check.right)), actual=self.eff.get(check.left), **args)
            elif check.kind == "weights":
                total = sum((num(self.eff.get(n)) or Decimal(0) for n in check.left), Decimal(0))
                self.add(check.code, self._odd_weight(check.left), expected=check.right, actual=total, **args)
            else:
                left, right = num(self.eff.get(check.left)), num(self.eff.get(check.right))
                self.add(catalogue.check_entry(check), check.left, expected=right, actual=left, **args)

    def quotes(self, check):
        """The 元 amounts a 机构's sentence of the narrative quotes, each against its 万元 cell (or
        the sum of the items the spec says the cell holds)."""
        org, narr = (self.eff.get(n) for n in check.left)
        bounds = [self.eff.get(n) for n in check.bounds]
        for (phrases, name), where in zip(check.right, check.labels):
            cell = num(self.eff.get(name)) or Decimal(0)
            args = quote_args(narr, org, phrases, cell, check.lead, bounds, where)
            if args is None:
                continue
            # the row of the quoted amount; of the 机构's name for a sum of several items
            near = org if args.get("variant") == "sum" else args["quoted"]
            self.add(check.code, check.left[1], near=str(near or ""), expected=f"{m_str(cell * 10000)}元",
                     actual=f"{args['quoted']}元", **args)

    def _odd_weight(self, weights) -> str:
        """Where a weight sum that is not 100 is reported: at the one weight that differs from the
        template's (a typo is found at its cell), else at the first weight of the table."""
        template = self.rep.defaults
        odd = [n for n in weights if num(self.eff.get(n)) != num(template.get(n))]
        return odd[0] if len(odd) == 1 else weights[0]

    def text_footings(self):
        """Totals the free texts state against the parts they list (narrative.py)."""
        for name, v in self.inst.values.items():
            if type(v) is str and "其中" in v and self.rep.fields[name].unit == "text":
                for f in footings(v):
                    self.add("text-footing", name, near=f.quote, expected=f.parts, actual=f.stated, detail=f.message)

    def required(self):
        for f in self.rep.inputs:
            if f.required and is_blank(self.eff.get(f.name)):
                self.add("required", f.name, label=f.label)

    def legacy_indicators(self, table: IndicatorTable) -> None:
        """The old form (the seed's habit): scores in 实际完成值, weights in 指标值, 得分 empty.

        Told by the shape of the columns, not by their sums, so that one wrong figure is found at
        its cell instead of switching the reading off: the 实际完成值 column is read as scores when
        at least half of it holds bare numbers (a sign too: a negative score is a wrong score);
        the 指标值 column as weights the same way (blank rows then weigh 0), or, with fewer
        numbers, where it holds one (the spec's weight elsewhere). Findings on 得分/分值 are then
        placed at the cells the figures were read from (self.moved)."""
        scores, weights = table.names("score"), table.names("weight")
        actuals, targets = table.names("actual"), table.names("target")
        bare = [_bare_number(self.eff.get(n)) for n in actuals]
        if 2 * sum(b is not None for b in bare) < len(bare):
            return
        tgt = [_bare_number(self.eff.get(n)) for n in targets]
        numbers = sum(t is not None for t in tgt)
        self.add("legacy-indicators", actuals[0], variant="with-weights" if numbers else "",
                 **{f"{k}_col": v for k, v in table.column_labels.items()})
        for s, a, b in zip(scores, actuals, bare):
            self.moved[s] = a
            if b is not None or is_blank(self.eff.get(a)):
                self.eff[s] = b
            else:          # text among the scores: no score can be read there
                self.eff[s] = None
                self.add("score-range", s, variant="not-number", subject=self.rep.fields[a].label,
                         actual=self.eff.get(a), value=self.eff.get(a))
        if numbers:
            whole = 2 * numbers >= len(tgt)
            for w, t, b in zip(weights, targets, tgt):
                if b is not None or whole:
                    self.eff[w] = b if b is not None else Decimal(0)
                    self.moved[w] = t

    def indicators(self, table: IndicatorTable) -> dict:
        """Score sum, legacy columns and grade; returns the score summary of this report."""
        scores = table.names("score")
        stated_scores = [self.inst.values.get(n) for n in scores]
        if all(is_blank(s) for s in stated_scores):
            self.legacy_indicators(table)
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
    if isinstance(v, str) and re.fullmatch(r"\s*[-+]?\d+(\.\d+)?\s*", v, re.ASCII):
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
    rep = spec.dept
    if not filled.projects:
        out.append(catalogue.finding(entry, rep.sheet, rep.cell(c.dept[0]), variant="no-project", expected=None,
                                     actual=_q(dept), hint=f"如有项目须做项目自评，请在“{spec.project.sheet}”表中填写"
                                     "（多个项目复制该表）", dept=figure(dept), sheet=spec.project.sheet))
        return
    hint = entry.hint
    lines = explain_gap(gap, *texts_of(spec.dept, dept_vals))
    project_items = " ".join(str(v) for p in filled.projects for n, v in p.values.items()
                             if isinstance(v, str))
    lines = [line for line in lines if re.sub(_AMOUNT + r"\s*(万元|元)$", "", line) not in project_items] or lines
    if lines:
        hint = catalogue.HINT_CROSS_IN_TEXT.format(lines=catalogue.quoted_lines(lines))
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
        chk.text_footings()
        out.extend(text_row_findings(inst, spec))
    cross_report(filled, spec, out)
    return Report(filled.path, out, scores)
