"""`xltools check --write OUT.xlsx`: a copy of the workbook with a 校验结果 sheet and marked cells;
the add-in's 校验 and 清除标记 on a file write through here too.

One row per finding with a link to its cell, and each cell with a finding marked (red for errors,
amber for warnings) by a conditional format of our own that leaves the cell's formatting alone and
comes off with 清除标记 (see marks.py). The copy goes through the package editor (ooxml/package.py),
never loaded and re-saved: a marked sheet streams through with only its tail edited, so memory
stays bounded whatever the size the reader admitted, and every part we do not touch is copied.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import BookError
from ..findings import Report
from ..ooxml.package import Package
from ..ooxml.workbook import flavour
from . import marks
from .marks import RESULT_SHEET, plan

__all__ = ["RESULT_SHEET", "write_annotated", "write_cleared", "write_marked"]


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def clear(pkg: Package) -> None:
    """Take away our marks and our 校验结果 sheet (nothing else)."""
    if RESULT_SHEET in [name for name, _ in pkg.sheets()]:
        pkg.remove_sheet(RESULT_SHEET)
    for _, part in pkg.worksheets():
        pkg.edit_tail(part, lambda p, tail: marks.remove_marks_from_tail(tail))
    for styles in pkg.related(pkg.workbook_part, "styles")[:1]:
        pkg.set_text(styles, marks.remove_dxfs(pkg.text(styles)))


def mark(pkg: Package, mp: marks.MarkPlan) -> None:
    """Add the 校验结果 sheet (last) and the marks of `mp` (after clear(): one set at a time)."""
    xml = marks.result_sheet_xml(mp, flavour(pkg.text(pkg.workbook_part)))
    pkg.add_sheet(RESULT_SHEET, xml.encode("utf-8"), part=marks.RESULT_PART, rel_id=marks.RESULT_REL_ID)
    if not mp.cells:
        return
    styles = pkg.related(pkg.workbook_part, "styles")
    if not styles:
        raise BookError(f"文件 {pkg.label} 缺少样式部件（styles.xml），无法在单元格上加标记")
    text, dxf_ids = marks.add_dxfs(pkg.text(styles[0]))
    pkg.set_text(styles[0], text)
    parts = dict(pkg.worksheets())
    for sheet, cells in mp.cells.items():
        if sheet in parts:
            pkg.edit_tail(parts[sheet], lambda p, tail, cells=cells: marks.add_marks_to_tail(tail, p, cells, dxf_ids))


def _structure(pkg: Package, action, what: str) -> None:
    try:
        action()
    except (KeyError, ValueError, IndexError, AttributeError, UnicodeError) as err:
        raise BookError(f"文件 {pkg.label} 的结构无法识别，无法{what}（{type(err).__name__}）") from None


def write_annotated(src, out, report: Report) -> Path:
    if _same_file(src, out):
        raise BookError(f"--write 的输出 {out} 就是被校验的文件，不能覆盖原文件；请另指定一个文件名")
    pkg = Package(src, str(src))
    mp = plan(report, [name for name, _ in pkg.sheets()])
    _structure(pkg, lambda: (clear(pkg), mark(pkg, mp)), "写出带校验结果的副本")
    return pkg.save(out, inputs=(src,))


def write_marked(path, mp: marks.MarkPlan, label: str | None = None) -> Path:
    """The workbook at `path` with our earlier marks replaced by those of `mp`, replaced as a
    whole once the new file is complete (the add-in's 校验 on a file)."""
    pkg = Package(path, label or str(path))
    _structure(pkg, lambda: (clear(pkg), mark(pkg, mp)), "加标记")
    return pkg.save(path)


def write_cleared(path, label: str | None = None) -> Path:
    pkg = Package(path, label or str(path))
    _structure(pkg, lambda: clear(pkg), "清除标记")
    return pkg.save(path)
