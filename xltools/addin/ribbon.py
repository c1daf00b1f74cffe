"""The 绩效自评 ribbon tab: customUI XML from the table, written into the add-in's package.

The part follows MS-CUSTOMUI2 (namespace 2009/07, Office 2010 and later): customUI > ribbon > tabs >
tab > group > button, every button calling its VBA callback `Sub X(control As IRibbonControl)` in
the generated xltools_ribbon module. Icons are built-in (imageMso), so the package needs no image
parts. Writing it is a zip edit done by our own code: no Excel, no Custom UI Editor.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import BookError
from ..ooxml.ns import ROOT_RELS
from ..ooxml.package import Package
from ..ooxml.xmltext import attr
from .table import GROUPS, MACROS

NAMESPACE = "http://schemas.microsoft.com/office/2009/07/customui"
PART = "customUI/customUI14.xml"
REL_TYPE = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
TAB_ID = "xltoolsTab"
TAB_LABEL = "绩效自评"


def ribbon_xml() -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
             f'<customUI xmlns="{NAMESPACE}">',
             "  <ribbon>", "    <tabs>",
             f'      <tab id="{TAB_ID}" label={attr(TAB_LABEL)}>']
    for group, label in GROUPS.items():
        buttons = [m for m in MACROS if m.group == group]
        if not buttons:
            continue
        lines.append(f'        <group id="xltools_group_{group}" label={attr(label)}>')
        for m in buttons:
            lines.append(f'          <button id="xltools_{m.id}" label={attr(m.label)} size="large" '
                         f'imageMso="{m.image}" screentip={attr(m.screentip)} '
                         f'supertip={attr(m.supertip)} onAction="{m.callback}"/>')
        lines.append("        </group>")
    lines += ["      </tab>", "    </tabs>", "  </ribbon>", "</customUI>", ""]
    return "\n".join(lines)


def write_ribbon(path) -> Path:
    """Put the ribbon into an existing add-in file (the build step after Excel saved it): the
    ribbon part, its relationship from the package root and its content type; an older ribbon
    part of ours is replaced."""
    pkg = Package(path)
    if pkg.member(ROOT_RELS) is None:
        raise BookError(f"加载项文件 {path} 缺少 _rels/.rels，不是完整的 Office 文件")
    ours = [r for r in pkg.relationships("") if r.type == REL_TYPE]
    pkg.remove_relationships("", [r.id for r in ours])
    pkg.add(PART, ribbon_xml().encode("utf-8"))
    pkg.add_relationship("", REL_TYPE, PART)
    if pkg.content_type(PART) is None:
        pkg.set_content_type(PART, "application/xml")
    return pkg.save(path)
