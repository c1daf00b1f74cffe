"""Cell comments (notes): a comments part and the VML drawing Excel and WPS draw them with.

A sheet's comments are a comments part (the text, which LibreOffice reads) and a legacy VML
drawing (a hidden note shape per cell, which Excel and WPS need to show it: without one Excel
repairs the file), both related to the sheet, the drawing named by a <legacyDrawing> in the
sheet's tail. A sheet has at most one legacy drawing, so a sheet that has one already gets none
of ours. Our parts are named xltools_* (OURS), so that clearing the marks finds and removes
exactly them, their relationships, content types and the <legacyDrawing> naming them.
"""
from __future__ import annotations

import math
import re

from ..a1 import split_a1
from ..usertext import cell_text
from . import content_types, rels
from .ns import PACKAGE_RELS_NS, Flavour
from .xmltext import attr, escape

COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"
# Elements that follow legacyDrawing in CT_Worksheet: a <legacyDrawing> goes before the first.
AFTER_LEGACY_DRAWING = ("legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
                        "tableParts", "extLst")
OURS = "xltools_"              # the name our comment and drawing parts start with
FIRST_DRAWING_ID = 100         # our drawings' ids (shape id blocks) start above any a workbook has
NOTE_WIDTH_PT = 260            # a note's box: wide enough for a sentence of a finding a line
_CHARS_A_LINE = 24             # CJK characters a line of that box holds (9 pt)


def comments_xml(notes: dict[str, str], author: str, flavour: Flavour) -> str:
    """The comments part: `notes` by A1 reference, one author."""
    items = "".join(f'<comment ref={attr(ref)} authorId="0"><text><t xml:space="preserve">'
                    f"{escape(cell_text(text))}</t></text></comment>" for ref, text in notes.items())
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<comments xmlns="{flavour.main}"><authors><author>{escape(author)}</author></authors>'
            f"<commentList>{items}</commentList></comments>")


def _lines(text: str) -> int:
    return sum(max(1, math.ceil(len(part) / _CHARS_A_LINE)) for part in text.split("\n"))


def vml_xml(notes: dict[str, str], drawing_id: int) -> str:
    """The VML drawing of the notes: a hidden box beside each cell, as tall as its text.
    `drawing_id`: unique among the workbook's drawings (shape ids are drawing_id × 1024 + n)."""
    shapes = []
    for n, (ref, text) in enumerate(notes.items(), start=1):
        row, col = split_a1(ref)
        height = 12 * _lines(text) + 8
        rows = max(3, math.ceil(height / 15))
        shapes.append(
            f'<v:shape id="_x0000_s{drawing_id * 1024 + n}" type="#_x0000_t202" style="position:absolute;'
            f"margin-left:0;margin-top:0;width:{NOTE_WIDTH_PT}pt;height:{height}pt;z-index:{n};visibility:hidden\" "
            'fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
            '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
            '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"/></v:textbox>'
            '<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:Anchor>{col}, 15, {max(row - 2, 0)}, 2, {col + 4}, 15, {max(row - 2, 0) + rows}, 2</x:Anchor>"
            f"<x:AutoFill>False</x:AutoFill><x:Row>{row - 1}</x:Row><x:Column>{col - 1}</x:Column>"
            "</x:ClientData></v:shape>")
    return ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel">'
            f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{drawing_id}"/></o:shapelayout>'
            '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
            '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
            + "".join(shapes) + "</xml>")


def legacy_drawing(p: str, rel_prefix: str, declaration: str, rid: str) -> str:
    """The sheet's <legacyDrawing> naming the drawing's relationship."""
    return f"<{p}legacyDrawing{declaration} {rel_prefix}id={attr(rid)}/>"


def add_notes(pkg, part: str, notes: dict[str, str], n: int, author: str = "xltools 校验") -> bool:
    """The notes on the worksheet `part` (its n-th of ours); False, and nothing added, when the
    sheet has comments or a legacy drawing of its own (a sheet holds one)."""
    if any(r.kind in ("comments", "vmlDrawing") for r in pkg.relationships(part)):
        return False
    fl = Flavour.of(_main_ns(pkg.head(part)))
    comments, drawing = f"xl/{OURS}comments{n}.xml", f"xl/drawings/{OURS}notes{n}.vml"
    pkg.add(comments, comments_xml(notes, author, fl).encode("utf-8"))
    pkg.add(drawing, vml_xml(notes, FIRST_DRAWING_ID + n).encode("utf-8"))
    pkg.set_content_type(comments, COMMENTS_TYPE)
    pkg.set_content_type(drawing, VML_TYPE)
    if pkg.member(rels.rels_path(part)) is None:
        pkg.add(rels.rels_path(part), ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                       f'<Relationships xmlns="{PACKAGE_RELS_NS}"></Relationships>').encode("utf-8"))
    pkg.add_relationship(part, fl.rel_type("comments"), comments)
    rid = pkg.add_relationship(part, fl.rel_type("vmlDrawing"), drawing)
    declaration = f" xmlns:xlr={attr(fl.rel)}"
    pkg.edit_tail(part, lambda p, tail: _insert(tail, legacy_drawing(p, "xlr:", declaration, rid)))
    return True


def remove_notes(pkg, part: str) -> None:
    """Our notes off the worksheet `part`: parts, relationships, content types, <legacyDrawing>;
    the sheet's .rels goes too when nothing else is left in it."""
    ours = [r for r in pkg.relationships(part) if r.target.rpartition("/")[2].startswith(OURS) and not r.external]
    if not ours:
        return
    ids = {r.id for r in ours}
    pkg.remove_relationships(part, ids)
    targets = [t for t in (pkg.member(r.target) for r in ours) if t is not None]
    pkg.edit("[Content_Types].xml", lambda text: content_types.remove_overrides(text, targets))
    for t in targets:
        pkg.remove(t)
    if not pkg.relationships(part):
        pkg.remove(rels.rels_path(part))
    drop = re.compile(r'<(?:\w+:)?legacyDrawing\b[^>]*\bid="(?:' + "|".join(map(re.escape, ids)) + r')"[^>]*/>')
    pkg.edit_tail(part, lambda p, tail: drop.sub("", tail))


def _insert(tail: str, element: str) -> str:
    at = re.search(r"<(?:\w+:)?(?:" + "|".join(AFTER_LEGACY_DRAWING) + r")\b|</(?:\w+:)?worksheet>", tail)
    if at is None:
        raise ValueError("worksheet has no end")
    return tail[:at.start()] + element + tail[at.start():]


def _main_ns(head: str) -> str:
    m = re.search(r'<(?:\w+:)?worksheet\b[^>]*?\sxmlns(?::\w+)?="([^"]*spreadsheetml[^"]*)"', head)
    return m.group(1) if m else ""
