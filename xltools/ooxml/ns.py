"""Namespaces, relationship types and content types of the parts the editor reads and writes.

Each SpreadsheetML namespace comes in two flavours: transitional (what Excel, WPS, LibreOffice and
openpyxl write) and strict (Excel's "Strict Open XML"). A part written into a package takes the
flavour of its workbook part (`Flavour.of`). The package-level namespaces (.rels, content types)
have one flavour only.
"""
from __future__ import annotations

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_MAIN_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
MAIN_NAMESPACES = (MAIN_NS, STRICT_MAIN_NS)
REL_NAMESPACES = (REL_NS, STRICT_REL_NS)
PACKAGE_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"

ROOT_RELS = "_rels/.rels"
CONTENT_TYPES = "[Content_Types].xml"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


class Flavour:
    """main: the SpreadsheetML namespace; rel: the relationships namespace (r:id), also the base
    of the relationship types. (A plain class: a NamedTuple costs the checker's cold start.)"""

    __slots__ = ("main", "rel")

    def __init__(self, main: str, rel: str):
        self.main, self.rel = main, rel

    @classmethod
    def of(cls, main_ns: str) -> "Flavour":
        return cls(STRICT_MAIN_NS, STRICT_REL_NS) if main_ns == STRICT_MAIN_NS else cls(MAIN_NS, REL_NS)

    def rel_type(self, kind: str) -> str:
        """A relationship type by its last word ("worksheet", "styles"...)."""
        return f"{self.rel}/{kind}"


TRANSITIONAL = Flavour(MAIN_NS, REL_NS)
