"""The record of one submission as it passes from a worker (worker.py) through the ledger
(ledger.py) to the summary (summary.py), typed.

A worker's Result is the shape of `check --json` plus who sent it, which spec read it, and the
figures its spec declares (`[summary] figures` and `copy_figures`), each with its label: the
summary's columns are the labels the records carry, so an inbox that mixes report kinds shows
each kind's own figures. The ledger keeps a Result as a Row, with the figures and copies in its
`detail` (JSON); `detail_of` reads that back.
"""
from __future__ import annotations

import json
import pickle
from dataclasses import replace
from datetime import datetime
from typing import TypedDict

from ..findings import ERROR
from ..formulas import effective
from ..usertext import visible


class FigureValue(TypedDict):
    key: str                      # the spec's stable name (income, spent…)
    label: str                    # the summary's column (收入合计…)
    value: str | None             # Decimal as text: exact on every database


class CopyRecord(TypedDict):
    """One copy of the report copied per project (a project sheet)."""
    sheet: str
    name: str | None
    figures: list[FigureValue]
    score_stated: str | None
    score_computed: str | None
    grade_stated: str | None
    grade_computed: str | None
    errors: int
    warnings: int


class Result(TypedDict, total=False):
    """One submission as a worker returns it (and `collect --json` prints it)."""
    file: str
    ok: bool
    refused: str | None           # a refusal code (catalogue.REFUSALS)
    message: str
    findings: list[dict]          # Finding.to_json()
    score: dict                   # sheet -> its scores, as check --json
    fingerprint: str | None
    year: int | None
    region: str | None
    bureau: str | None
    xltools_version: str
    unit: str | None
    figures: list[FigureValue]
    score_stated: str | None      # of the report held once (the department's)
    score_computed: str | None
    grade_stated: str | None
    grade_computed: str | None
    projects: list[CopyRecord]
    year_start: dict              # this year's side of the spec's [previous] rules (rules/previous.py)
    year_end: dict                # what next year's report is compared with
    previous: list[dict]          # the figures with last year's (上年数, 增减率), when the ledger has it
    # added by the run (run.py)
    version: int
    sha256: str
    skipped: bool


class Detail(TypedDict):
    """A Row's `detail`, read back."""
    figures: list[FigureValue]
    projects: list[CopyRecord]
    score: dict
    bureau: str | None
    year_start: dict
    year_end: dict
    previous: list[dict]


class Row(TypedDict):
    """A submission as the ledger keeps it (schema.submissions)."""
    id: int
    sha256: str
    unit_key: str
    unit: str | None
    year: int | None
    region: str | None
    file_name: str
    source: str
    size: int
    received_at: str | None
    collected_at: str
    fingerprint: str | None
    xltools_version: str | None
    status: str                   # a key of catalogue.STATUS_LABEL
    refused: str | None
    message: str | None
    errors: int
    warnings: int
    score_stated: str | None
    score_computed: str | None
    grade_stated: str | None
    grade_computed: str | None
    version: int
    detail: str                   # Detail as JSON
    link: str | None


def stored(value):
    """`value` (a Result, or any JSON-shaped part of one) with every text as the ledger stores
    and shows it (usertext.visible: one readable line, exact): what a run prints of the files it
    checked is what a later run prints from the ledger."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {stored(k): stored(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [stored(v) for v in value]
    return value


def packed(result: Result) -> bytes:
    """A result held as bytes until it is needed: collect holds a run's results until they are
    recorded and printed, and a province's 7,000 take ~65 MB as Python objects, a sixth pickled."""
    return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)


def unpacked(held: Result | bytes) -> Result:
    """A result, packed (our own bytes, from `packed`) or not."""
    return pickle.loads(held) if isinstance(held, bytes) else held


def local_time(iso: str | None) -> datetime | None:
    """A recorded time (ISO, UTC) on the clerk's clock, without a zone (as a cell holds it)."""
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso).astimezone().replace(tzinfo=None)
    except ValueError:
        return None


def refusal(code: str, message: str, label: str) -> Result:
    return {"file": label, "ok": False, "refused": code, "message": message, "findings": [], "score": {}}


def status_of(result: Result) -> str:
    """ok / errors / refused (the words: catalogue.STATUS_LABEL)."""
    if result.get("refused"):
        return "refused"
    return "errors" if any(f["severity"] == ERROR for f in result["findings"]) else "ok"


def _text(v) -> str | None:
    return None if v is None else str(v)


def _values(figures, instances) -> list[FigureValue]:
    """The figures as the report shows them: a total a data file leaves out is its terms' sum."""
    shown = [replace(inst, values=effective(inst.report, inst.values)) for inst in instances]
    return [f.stated(shown) for f in figures]


def record_of(filled, report, spec) -> Result:
    """Who sent it, its figures, scores and copies: what the ledger and the summary show."""
    once = [i for i in filled.instances if not i.report.copied]
    scored = next((i for i in once if i.report.indicator_tables), None)
    score = report.score.get(scored.sheet, {}) if scored else {}
    by_sheet: dict[str, list] = {}
    for f in report.findings:
        by_sheet.setdefault(f.sheet, []).append(f.severity)
    projects: list[CopyRecord] = []
    for inst in filled.copies:
        s = report.score.get(inst.sheet, {})
        sev = by_sheet.get(inst.sheet, [])
        projects.append({"sheet": inst.sheet, "name": _text(inst.values.get(spec.identity.copy_name)),
                         "figures": _values(spec.copy_figures, [inst]),
                         "score_stated": s.get("stated_score"), "score_computed": s.get("computed_score"),
                         "grade_stated": s.get("stated_grade"), "grade_computed": s.get("computed_grade"),
                         "errors": sev.count(ERROR), "warnings": len(sev) - sev.count(ERROR)})
    from ..rules.previous import year_end, year_start
    return {"unit": spec.unit_of(filled), "figures": _values(spec.figures, filled.instances),
            "score_stated": score.get("stated_score"), "score_computed": score.get("computed_score"),
            "grade_stated": score.get("stated_grade"), "grade_computed": score.get("computed_grade"),
            "projects": projects, "year_start": year_start(filled, spec), "year_end": year_end(filled, spec)}


def detail_of(row: Row) -> Detail:
    """A row's detail. A ledger written before figures carried their labels holds them as a
    mapping by key (then always the 2022 pair's): they are labelled by the default spec."""
    detail = json.loads(row.get("detail") or "{}")
    figures, projects = detail.get("figures") or [], detail.get("projects") or []
    if isinstance(figures, dict) or any("figures" not in p for p in projects):
        from ..spec.registry import spec_at
        from ..spec.shipped import default_spec
        spec = spec_at(default_spec())
        figures = _labelled(figures, spec.figures) if isinstance(figures, dict) else figures
        projects = [p if "figures" in p else {**p, "figures": _labelled(p, spec.copy_figures)} for p in projects]
    return {"figures": figures, "projects": projects, "score": detail.get("score") or {},
            "bureau": detail.get("bureau"), "year_start": detail.get("year_start") or {},
            "year_end": detail.get("year_end") or {}, "previous": detail.get("previous") or []}


def _labelled(by_key: dict, declared) -> list[FigureValue]:
    return [{"key": f.key, "label": f.label, "value": _text(by_key.get(f.key))} for f in declared if f.key in by_key]

