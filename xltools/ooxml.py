"""Small helpers over the OOXML package (.xlsx zip) shared by the builder and the cell patcher."""
from __future__ import annotations

import re
import zipfile
from xml.sax.saxutils import unescape

from .files import write_atomic  # noqa: F401  (its home is files.py; kept importable here)


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> part name, through workbook.xml and its relationships."""
    wb = zf.read("xl/workbook.xml").decode("utf-8")
    rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = {m.group(1): m.group(2) for m in re.finditer(r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels)}
    targets.update({m.group(2): m.group(1) for m in re.finditer(r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels)})
    out = {}
    for m in re.finditer(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', wb):
        target = targets[m.group(2)].lstrip("/")
        out[unescape(m.group(1), {"&quot;": '"', "&apos;": "'"})] = target if target.startswith("xl/") else f"xl/{target}"
    return out
