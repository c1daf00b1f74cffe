"""What a rule is, and what the rules of one report share.

A rule declares every catalogue code it may emit (as frictionless's checks declare their
`Errors`): fixed codes in `codes`, and, for a rule the spec declares (sums, compare checks, the
cross-report check), the spec's own codes in `declares(spec)`. tests/test_catalogue.py fails on a
finding whose code its rule did not declare, and on a catalogue code nobody declares (the reader's
notes, score and collect's pack check declare theirs in their modules).

Three kinds, by what they look at:
- SheetRule: each report sheet as read, blank project sheets too, right after the reader's notes
  on it (what the sheet carries that a value does not show: formulas typed into inputs, a date
  format on an amount);
- ReportRule: each filled report, through its Context (the stated values and those the template
  computes, shared so that the old indicator columns read by one rule are seen by the next);
- BookRule: the file as a whole (its package, its sheets, one report against the others).
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .. import catalogue
from ..findings import Finding
from ..formulas import CENT, effective
from ..read.filled import Filled, Instance
from ..spec.model import Spec


class Rule:
    codes: tuple[str, ...] = ()      # the fixed catalogue codes it may emit

    def declares(self, spec: Spec) -> set[str]:
        """Every code it may emit with this spec."""
        return set(self.codes)


class SheetRule(Rule):
    def sheet(self, inst: Instance, out: list[Finding]) -> None:
        raise NotImplementedError


class ReportRule(Rule):
    def report(self, ctx: "Context") -> None:
        raise NotImplementedError


class BookRule(Rule):
    def book(self, filled: Filled, spec: Spec, out: list[Finding]) -> None:
        raise NotImplementedError


def cents(d: Decimal) -> Decimal:
    return d.quantize(CENT, ROUND_HALF_UP)


def differs(stated: Decimal, expected: Decimal) -> bool:
    """A stated total against its computed value, to the cent when the terms carry sub-cent digits
    (an input with three decimals is its own finding); a stated total that carries them itself is
    a figure of its own (8418.422 for 8418.42, 99.844 for 99.84: a digit typed twice)."""
    return stated != expected and (cents(stated) != cents(expected) or stated != cents(stated))


def m_str(d: Decimal) -> str:
    return format(d.normalize(), "f") if d == d.to_integral_value() else format(d, "f")


def texts_of(rep, values: dict) -> list[str]:
    """The free texts of a report (narrative, achievements…), where lines and amounts are quoted."""
    return [v for name, v in values.items() if isinstance(v, str) and v and rep.fields[name].unit == "text"]


class Context:
    """One filled report as its rules see it: the stated values and, for what the data left out,
    what the template gives (`eff`); where a figure of the old indicator form was read (`moved`);
    the findings so far (`out`) and the score summaries (`scores`, by sheet)."""

    def __init__(self, spec: Spec, inst: Instance, out: list[Finding], scores: dict | None = None):
        self.spec, self.inst, self.out = spec, inst, out
        self.scores = {} if scores is None else scores
        self.rep = inst.report
        self.eff = effective(self.rep, inst.values)
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

