"""Finding and Report: the flat records every rule produces.

Findings are made by `catalogue.finding(code, sheet, cell, **args)`: the code's severity, sentence
and hint are declared once, in xltools/catalogue.py (or, for the spec's rules, in the spec).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

ERROR = "error"
WARNING = "warning"


class Colours(NamedTuple):
    """How a finding of a severity looks wherever a workbook shows it (column I, a marked cell,
    the add-in's marks), as RGB hex: its text, its fill and a marked cell's frame."""
    ink: str
    fill: str
    frame: str


# Amber on yellow for a warning, apart from red on pink for an error. A mark is also framed: the
# template's own pale-yellow input cells look like the warning fill alone.
SEVERITY_COLOURS = {ERROR: Colours("C00000", "FFC7CE", "C00000"), WARNING: Colours("9C5700", "FFEB9C", "ED7D31")}


@dataclass(frozen=True)
class Finding:
    code: str            # stable, e.g. "income", "score-sum", "formula-altered" (catalogue.py lists all)
    severity: str        # ERROR or WARNING
    sheet: str           # sheet name as the user sees it ("" for a data file's top level)
    cell: str            # A1 address ("" when there is no single cell)
    message: str         # Chinese, for a bookkeeper
    expected: Any = None
    actual: Any = None
    hint: str = ""

    @property
    def difference(self) -> Decimal | None:
        if isinstance(self.expected, Decimal) and isinstance(self.actual, Decimal):
            return self.actual - self.expected
        return None

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ("expected", "actual"):
            if isinstance(d[k], Decimal):
                d[k] = str(d[k])
        diff = self.difference
        d["difference"] = str(diff) if diff is not None else None
        return d


@dataclass
class Report:
    """What checking one file gave: its findings, or, for a file that could not be read at all,
    `refused` (a stable code such as "encrypted", see api.REFUSED_REASONS) and its Chinese `message`."""
    file: str
    findings: list[Finding] = field(default_factory=list)
    score: dict = field(default_factory=dict)  # per report/sheet: {"stated":..., "computed":..., "grade":...}
    refused: str | None = None
    message: str | None = None
    previous: list[dict] | None = None   # checked against last year's: the main figures, 上年数, 增减率

    @property
    def ok(self) -> bool:
        return self.refused is None and not any(f.severity == ERROR for f in self.findings)

    def flat(self, severity: str | None = ERROR) -> list[tuple[str, str, str]]:
        """(code, sheet, cell) triples, for terse test assertions."""
        return [(f.code, f.sheet, f.cell) for f in self.findings if severity is None or f.severity == severity]

    def to_json(self) -> dict:
        out = {"file": self.file, "ok": self.ok, "refused": self.refused, "message": self.message,
               "findings": [f.to_json() for f in self.findings], "score": self.score}
        if self.previous is not None:
            out["previous"] = self.previous
        return out
