"""Finish an openpyxl workbook as a file: cached values for every formula, deterministic bytes.

openpyxl writes formulas with an empty `<v/>`: pandas, calamine, previewers and WPS's preview then
show blanks until a spreadsheet program recalculates. The package editor (the same one fill and
score write through) puts the value Python computed (the same rule as the formula, see
formulas.py) into each `<v>`. Timestamps and zip metadata are pinned so that building twice gives
the same bytes.
"""
from __future__ import annotations

import io
import re

from ..ooxml.package import Package

FIXED_W3CDTF = "2000-01-01T00:00:00Z"
_CORE = "docProps/core.xml"


def workbook_bytes(wb, cached: dict[str, dict[str, object]],
                   auto_heights: dict[str, dict[int, float]] | None = None, limits: bool = True) -> bytes:
    """`wb` as .xlsx bytes with cached formula values (`{sheet: {A1: value}}`) and the heights of
    rows the programs may fit (`{sheet: {row: pt}}`, not marked as set by hand: openpyxl marks
    every height it writes). `limits`: Package's."""
    raw = io.BytesIO()
    wb.save(raw)
    book = Package(raw.getvalue(), limits=limits)
    for sheet, values in cached.items():
        xml = book.sheet(sheet)
        for ref, value in values.items():
            xml.cached(ref, value)
        for row, pt in (auto_heights or {}).get(sheet, {}).items():
            xml.row_height(row, round(pt, 1), custom=False)
    if book.member(_CORE):
        book.set_text(_CORE, re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*", r"\g<1>" + FIXED_W3CDTF,
                                    book.text(_CORE)))
    return book.to_bytes(reproducible=True)
