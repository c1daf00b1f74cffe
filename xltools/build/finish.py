"""Finish an openpyxl workbook as a file: cached values for every formula, deterministic bytes.

openpyxl writes formulas with an empty `<v/>`: pandas, calamine, previewers and WPS's preview then
show blanks until a spreadsheet program recalculates. The package editor (the same one fill and
score write through) puts the value Python computed (the same rule as the formula, see
formulas.py) into each `<v>`, row by row as each sheet streams through (Package.rows): a
province's summary is never held as text. Timestamps and zip metadata are pinned so that building
twice gives the same bytes.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

from ..ooxml.package import Package

FIXED_W3CDTF = "2000-01-01T00:00:00Z"
_CORE = "docProps/core.xml"


def _finished(wb, cached: dict[str, dict[str, object]], auto_heights, limits: bool) -> Package:
    """`wb` saved by openpyxl (into a temporary file: a write-only workbook's rows are on disk
    already), as a package whose sheets get their cached values and heights as they stream."""
    with tempfile.TemporaryFile() as raw:
        wb.save(raw)
        raw.seek(0)
        book = Package(raw.read(), limits=limits)
    for sheet, values in cached.items():
        rows = book.rows(sheet)
        for ref, value in values.items():
            rows.cached(ref, value)
    for sheet, heights in (auto_heights or {}).items():
        rows = book.rows(sheet)
        for row, pt in heights.items():
            rows.row_height(row, round(pt, 1), custom=False)
    if book.member(_CORE):
        book.set_text(_CORE, re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*", r"\g<1>" + FIXED_W3CDTF,
                                    book.text(_CORE)))
    return book


def workbook_bytes(wb, cached: dict[str, dict[str, object]],
                   auto_heights: dict[str, dict[int, float]] | None = None, limits: bool = True) -> bytes:
    """`wb` as .xlsx bytes with cached formula values (`{sheet: {A1: value}}`) and the heights of
    rows the programs may fit (`{sheet: {row: pt}}`, not marked as set by hand: openpyxl marks
    every height it writes). `limits`: Package's."""
    return _finished(wb, cached, auto_heights, limits).to_bytes(reproducible=True)


def save_workbook(wb, cached: dict[str, dict[str, object]], out, limits: bool = True) -> Path:
    """`wb` written to `out` as workbook_bytes makes it, streamed into the file (all or nothing)."""
    return _finished(wb, cached, None, limits).save(out, reproducible=True)
