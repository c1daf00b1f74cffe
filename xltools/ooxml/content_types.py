"""[Content_Types].xml: the content type of each part, and the two edits the editor makes.

A part's type is its Override (by part name) or else the Default for its extension (ECMA-376
Part 2, 10.1.2; openpyxl's packaging/manifest.py keeps the same two lists). Part names and
extensions compare case-insensitively, as the conventions say.
"""
from __future__ import annotations

from .ns import CONTENT_TYPES_NS
from .xmltext import append_child, attr, elements, find, prefix_for, replace_all

_NS = (CONTENT_TYPES_NS,)


def content_type(text: str, part: str) -> str | None:
    tags = elements(text)
    name = "/" + part.lower()
    for tag in find(tags, "Override", _NS):
        if (tag.get("PartName") or "").lower() == name:
            return tag.get("ContentType")
    ext = part.rpartition(".")[2].lower()
    for tag in find(tags, "Default", _NS):
        if (tag.get("Extension") or "").lower() == ext:
            return tag.get("ContentType")
    return None


def remove_overrides(text: str, parts) -> str:
    """Without the Overrides of `parts` (a Default stays: other parts share it)."""
    names = {"/" + p.lower() for p in parts}
    return replace_all(text, [(t.start, t.outer_end, "") for t in find(elements(text), "Override", _NS)
                              if (t.get("PartName") or "").lower() in names])


def set_override(text: str, part: str, content_type_: str) -> str:
    """With an Override giving `part` the type (an earlier one for the part is replaced)."""
    text = remove_overrides(text, [part])
    root = elements(text)[0]
    if root.local != "Types" or root.ns != CONTENT_TYPES_NS:
        raise ValueError("not a content types part")
    p = prefix_for(root.scope, CONTENT_TYPES_NS)
    element = f"<{p}Override PartName={attr('/' + part)} ContentType={attr(content_type_)}/>"
    return append_child(text, root, element)
