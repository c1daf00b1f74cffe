"""Small helpers over the OOXML package (.xlsx zip) shared by the builder and the cell patcher."""
from __future__ import annotations

import re
import zipfile
from xml.sax.saxutils import unescape

from ..files import write_atomic  # noqa: F401  (its home is files.py; kept importable here)

REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"


def rel_ns(workbook: str) -> str:
    """The relationships namespace workbook.xml uses (strict or transitional). A <sheet> we add
    declares it itself: writers put that declaration on the root or on each <sheet> element."""
    return STRICT_REL_NS if STRICT_REL_NS in workbook else REL_NS


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
