"""Finish an openpyxl workbook as a file: cached values for every formula, deterministic bytes.

openpyxl writes formulas with an empty `<v/>`: pandas, calamine, previewers and WPS's preview then
show blanks until a spreadsheet program recalculates. We put the value Python computed (the same
rule as the formula, see formulas.py) into each `<v>`. We also pin timestamps and zip metadata so
that building twice gives the same bytes.
"""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from ..ooxml import sheet_parts, write_atomic

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_W3CDTF = "2000-01-01T00:00:00Z"
_FORMULA_CELL = re.compile(r'<c r="([A-Z]+\d+)"((?: s="\d+")?)(?: t="\w+")?><f>(.*?)</f><v ?/></c>', re.S)


def _cell_xml(ref: str, style: str, formula: str, value) -> str:
    if isinstance(value, bool):
        return f'<c r="{ref}"{style} t="b"><f>{formula}</f><v>{int(value)}</v></c>'
    if isinstance(value, (int, float, Decimal)):
        v = format(value, "f") if isinstance(value, Decimal) else repr(value)
        if "." in v:
            v = v.rstrip("0").rstrip(".")
        return f'<c r="{ref}"{style}><f>{formula}</f><v>{v or "0"}</v></c>'
    if isinstance(value, (date, datetime)):
        raise TypeError("date results are not cached")
    return f'<c r="{ref}"{style} t="str"><f>{formula}</f><v>{escape(str(value or ""))}</v></c>'


def _fill_sheet(xml: str, values: dict[str, object]) -> str:
    def sub(m):
        ref, style, formula = m.group(1), m.group(2), m.group(3)
        if ref not in values:
            return m.group(0)
        return _cell_xml(ref, style, formula, values[ref])
    return _FORMULA_CELL.sub(sub, xml)


def save_workbook(wb, path: str | Path, cached: dict[str, dict[str, object]]) -> None:
    """Save `wb` to `path` with cached formula values (`{sheet: {A1: value}}`), atomically."""
    write_atomic(path, workbook_bytes(wb, cached))


def workbook_bytes(wb, cached: dict[str, dict[str, object]]) -> bytes:
    raw = io.BytesIO()
    wb.save(raw)
    src = zipfile.ZipFile(raw)
    parts = {part: sheet for sheet, part in sheet_parts(src).items()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename in parts and parts[info.filename] in cached:
                data = _fill_sheet(data.decode("utf-8"), cached[parts[info.filename]]).encode("utf-8")
            elif info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + FIXED_W3CDTF.encode(), data)
            zi = zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, data)
    return out.getvalue()
