"""Relationships (.rels parts): where a part's relationships are kept, which part a Target names,
and the two edits the editor makes (add one, remove some).

As the Open Packaging Conventions say (ECMA-376 Part 2, 9.3; openpyxl's packaging/relationship.py
reads them the same way): the relationships of part `xl/workbook.xml` are in
`xl/_rels/workbook.xml.rels`, those of the package in `_rels/.rels`; a Target is a URI relative to
the folder of the source part (`worksheets/sheet1.xml`, `../media/a.png`) or absolute from the
package root (`/xl/worksheets/sheet1.xml`), percent-escapes standing for their characters; a
TargetMode="External" target is no part of the package. The reader (xlsx/book.py) and the editor
both resolve through here.
"""
from __future__ import annotations

import posixpath
import re

from .ns import PACKAGE_RELS_NS
from .xmltext import Tag, append_child, attr, elements, find, prefix_for, replace_all

_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def rels_path(part: str) -> str:
    """The .rels part holding a part's relationships ("" is the package itself)."""
    folder, _, leaf = part.rpartition("/")
    return f"{folder}/_rels/{leaf}.rels" if folder else f"_rels/{leaf}.rels"


def resolve(source: str, target: str) -> str:
    """The part name (no leading slash) that `target`, written in the .rels of part `source`,
    points at. `..` never climbs above the package root."""
    target = _PERCENT.sub(lambda m: bytes.fromhex(m.group(0).replace("%", "")).decode("utf-8", "replace"),
                          target.split("#", 1)[0])
    if not target.startswith("/"):
        folder = source.rpartition("/")[0]
        target = f"{folder}/{target}" if folder else target
    return posixpath.normpath("/" + target).lstrip("/")


def target_for(source: str, part: str) -> str:
    """The Target that names `part` from the .rels of `source`: relative when the part lies in
    the source's folder (as Excel writes it), else absolute."""
    folder = source.rpartition("/")[0]
    if not folder:
        return part
    return part[len(folder) + 1:] if part.startswith(folder + "/") else "/" + part


class Relationship:
    """One relationship: `target` is the part it points at (resolved), or the raw URI when
    `external`; `tag` where it is written."""

    __slots__ = ("id", "type", "target", "external", "tag")

    def __init__(self, id: str, type: str, target: str, external: bool, tag: Tag):
        self.id, self.type, self.target, self.external, self.tag = id, type, target, external, tag

    @property
    def kind(self) -> str:
        """The type's last word ("worksheet", "styles", "officeDocument"...): the same in the
        transitional and the strict flavour."""
        return self.type.rsplit("/", 1)[-1]


def parse(text: str, source: str) -> list[Relationship]:
    """The relationships of a .rels part's text; `source`: the part they belong to."""
    out = []
    for tag in find(elements(text), "Relationship", (PACKAGE_RELS_NS,)):
        rid, target = tag.get("Id"), tag.get("Target")
        if rid is None or target is None:
            continue
        external = (tag.get("TargetMode") or "").lower() == "external"
        out.append(Relationship(rid, tag.get("Type") or "", target if external else resolve(source, target),
                                external, tag))
    return out


def new_id(rels: list[Relationship], wanted: str = "rId") -> str:
    """An Id not taken yet: `wanted` itself when free and not "rId", else rId<n+1>."""
    taken = {r.id for r in rels}
    if wanted != "rId" and wanted not in taken:
        return wanted
    numbers = [int(r.id[3:]) for r in rels if r.id.startswith("rId") and r.id[3:].isdigit()]
    return f"rId{max(numbers, default=0) + 1}"


def add(text: str, source: str, rid: str, type_: str, part: str) -> str:
    """The .rels text of part `source` with one more relationship, to `part`, in the prefix the
    .rels part already uses."""
    tags = elements(text)
    root = tags[0]
    if root.local != "Relationships" or root.ns != PACKAGE_RELS_NS:
        raise ValueError("not a .rels part")
    p = prefix_for(root.scope, PACKAGE_RELS_NS)
    element = f"<{p}Relationship Id={attr(rid)} Type={attr(type_)} Target={attr(target_for(source, part))}/>"
    return append_child(text, root, element)


def remove(text: str, rels: list[Relationship], ids) -> str:
    """The .rels text without the relationships whose Id is in `ids` (`rels`: parse(text))."""
    return replace_all(text, [(r.tag.start, r.tag.outer_end, "") for r in rels if r.id in ids])
