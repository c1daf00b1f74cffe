"""The 绩效自评 ribbon tab: customUI XML from the table, written into the add-in's package.

The part follows MS-CUSTOMUI2 (namespace 2009/07, Office 2010 and later): customUI > ribbon > tabs >
tab > group > button, every button calling its VBA callback `Sub X(control As IRibbonControl)` in
the generated xltools_ribbon module. Icons are built-in (imageMso), so the package needs no image
parts. Writing it is a zip edit done by our own code: no Excel, no Custom UI Editor.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ..errors import BookError
from ..ooxml import write_atomic
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
             f'      <tab id="{TAB_ID}" label={quoteattr(TAB_LABEL)}>']
    for group, label in GROUPS.items():
        buttons = [m for m in MACROS if m.group == group]
        if not buttons:
            continue
        lines.append(f'        <group id="xltools_group_{group}" label={quoteattr(label)}>')
        for m in buttons:
            lines.append(f'          <button id="xltools_{m.id}" label={quoteattr(m.label)} size="large" '
                         f'imageMso="{m.image}" screentip={quoteattr(m.screentip)} '
                         f'supertip={quoteattr(m.supertip)} onAction="{m.callback}"/>')
        lines.append("        </group>")
    lines += ["      </tab>", "    </tabs>", "  </ribbon>", "</customUI>", ""]
    return "\n".join(lines)


def add_ribbon(package: bytes, xml: str | None = None) -> bytes:
    """The package (.xlam/.xlsm/.xlsx bytes) with the ribbon part, its relationship from the
    package root and its content type; an older ribbon part of ours is replaced."""
    xml = xml or ribbon_xml()
    src = zipfile.ZipFile(io.BytesIO(package))
    names = src.namelist()
    rels = src.read("_rels/.rels").decode("utf-8")
    rels = re.sub(r'<Relationship\b[^>]*Type="' + re.escape(REL_TYPE) + r'"[^>]*/>', "", rels)
    ids = [int(n) for n in re.findall(r'Id="rId(\d+)"', rels)] or [0]
    rels = rels.replace("</Relationships>", f'<Relationship Id="rId{max(ids) + 1}" Type="{REL_TYPE}" '
                                            f'Target="{PART}"/></Relationships>')
    types = src.read("[Content_Types].xml").decode("utf-8")
    if not re.search(r'<Default\b[^>]*Extension="xml"', types) and f'PartName="/{PART}"' not in types:
        types = types.replace("</Types>", f'<Override PartName="/{PART}" ContentType="application/xml"/></Types>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == PART:
                continue
            data = {"_rels/.rels": rels.encode("utf-8"), "[Content_Types].xml": types.encode("utf-8")}.get(
                info.filename) or src.read(info.filename)
            dst.writestr(info, data)
        zi = zipfile.ZipInfo(PART, (1980, 1, 1, 0, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        dst.writestr(zi, xml.encode("utf-8"))
    if "_rels/.rels" not in names:
        raise BookError("加载项文件缺少 _rels/.rels，不是完整的 Office 文件")
    return out.getvalue()


def write_ribbon(path) -> Path:
    """Put the ribbon into an existing add-in file (the build step after Excel saved it)."""
    path = Path(path)
    try:
        data = path.read_bytes()
        return write_atomic(path, add_ribbon(data))
    except (OSError, zipfile.BadZipFile, KeyError) as err:
        raise BookError(f"无法把功能区写入 {path}：{err}") from None
