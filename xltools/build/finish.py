"""Finish an openpyxl workbook as a file: cached values for every formula, deterministic bytes.

openpyxl writes formulas with an empty `<v/>`: pandas, calamine, previewers and WPS's preview then
show blanks until a spreadsheet program recalculates. The cell patcher (the same one fill and score
write through) puts the value Python computed (the same rule as the formula, see formulas.py) into
each `<v>`. Timestamps and zip metadata are pinned so that building twice gives the same bytes.
"""
from __future__ import annotations

import io
import re
import zipfile

from ..ooxml.patch import Workbook as Patched

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_W3CDTF = "2000-01-01T00:00:00Z"


def workbook_bytes(wb, cached: dict[str, dict[str, object]],
                   auto_heights: dict[str, dict[int, float]] | None = None) -> bytes:
    """`wb` as .xlsx bytes with cached formula values (`{sheet: {A1: value}}`) and the heights of
    rows the programs may fit (`{sheet: {row: pt}}`, not marked as set by hand: openpyxl marks
    every height it writes)."""
    raw = io.BytesIO()
    wb.save(raw)
    book = Patched(raw.getvalue())
    for sheet, values in cached.items():
        xml = book.sheet(sheet)
        for ref, value in values.items():
            xml.cached(ref, value)
        for row, pt in (auto_heights or {}).get(sheet, {}).items():
            xml.row_height(row, round(pt, 1), custom=False)
    return _pinned(book.to_bytes())


def _pinned(data: bytes) -> bytes:
    """The same package with fixed member times and document timestamps."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            part = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                part = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + FIXED_W3CDTF.encode(), part)
            zi = zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, part)
    return out.getvalue()
