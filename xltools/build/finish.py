"""Finish an openpyxl workbook as a file: cached values for every formula, deterministic bytes.

openpyxl writes formulas with an empty `<v/>`: pandas, calamine, previewers and WPS's preview then
show blanks until a spreadsheet program recalculates. We put the value Python computed (the same
rule as the formula, see formulas.py) into each `<v>`. We also pin timestamps and zip metadata so
that building twice gives the same bytes.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

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


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> part name, through workbook.xml and its relationships."""
    wb = zf.read("xl/workbook.xml").decode("utf-8")
    rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = {m.group(1): m.group(2) for m in re.finditer(r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels)}
    targets.update({m.group(2): m.group(1) for m in re.finditer(r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels)})
    out = {}
    for m in re.finditer(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', wb):
        from xml.sax.saxutils import unescape
        target = targets[m.group(2)].lstrip("/")
        out[unescape(m.group(1), {"&quot;": '"', "&apos;": "'"})] = target if target.startswith("xl/") else f"xl/{target}"
    return out


def save_workbook(wb, path: str | Path, cached: dict[str, dict[str, object]]) -> None:
    """Save `wb` to `path` with cached formula values (`{sheet: {A1: value}}`), atomically.

    The new file is written completely next to the target and then renamed over it, so an
    interrupted run never leaves a half-written workbook where the user's file was.
    """
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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".xltools-", suffix=".xlsx")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(out.getvalue())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes 0600; a workbook is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
