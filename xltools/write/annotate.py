"""`xltools check --write OUT.xlsx`: a copy of the workbook with a 校验结果 sheet and marked cells;
the add-in's 校验 and 清除标记 on a file write through here too.

One row per finding with a link to its cell, the sheet first and the one the copy opens on, and
each cell with a finding marked (red for errors, amber for warnings) by a conditional format of our
own that leaves the cell's formatting alone, and a note saying why; all of it comes off with
清除标记 (see marks.py, ooxml/comments.py). The copy goes through the package editor (ooxml/package.py),
never loaded and re-saved: a marked sheet streams through with only its tail edited, so memory
stays bounded whatever the size the reader admitted, and every part we do not touch is copied.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import BookError
from ..findings import Report
from ..ooxml import comments
from ..ooxml.package import Package
from ..ooxml.workbook import flavour, opened_on
from . import marks
from .marks import RESULT_SHEET, plan

__all__ = ["RESULT_SHEET", "write_annotated", "write_cleared", "write_marked"]


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


_TAB_SELECTED = re.compile(r"""\stabSelected\s*=\s*["'](?:1|true)["']""")


def clear(pkg: Package) -> None:
    """Take away our marks, notes and 校验结果 sheet (nothing else)."""
    if RESULT_SHEET in [name for name, _ in pkg.sheets()]:
        pkg.remove_sheet(RESULT_SHEET)
    for _, part in pkg.worksheets():
        pkg.edit_tail(part, lambda p, tail: marks.remove_marks_from_tail(tail))
        comments.remove_notes(pkg, part)
    for styles in pkg.related(pkg.workbook_part, "styles")[:1]:
        pkg.set_text(styles, marks.remove_wrap_xf(marks.remove_dxfs(pkg.text(styles))))


def mark(pkg: Package, mp: marks.MarkPlan) -> None:
    """Add the 校验结果 sheet (first, opened on), the marks of `mp` and their notes (after
    clear(): one set at a time)."""
    styles = pkg.related(pkg.workbook_part, "styles")
    if not styles:
        raise BookError(f"文件 {pkg.label} 缺少样式部件（styles.xml），无法写出校验结果")
    text, wrap = marks.add_wrap_xf(pkg.text(styles[0]))
    xml = marks.result_sheet_xml(mp, flavour(pkg.text(pkg.workbook_part)), wrap)
    for _, part in pkg.worksheets():           # only ours is selected: the copy opens on it
        if _TAB_SELECTED.search(pkg.head(part)):
            pkg.edit_head(part, lambda p, head: _TAB_SELECTED.sub("", head))
    pkg.add_sheet(RESULT_SHEET, xml.encode("utf-8"), at=0, part=marks.RESULT_PART, rel_id=marks.RESULT_REL_ID)
    pkg.edit(pkg.workbook_part, lambda wb: opened_on(wb, 0))
    if mp.cells:
        text, dxf_ids = marks.add_dxfs(text)
    pkg.set_text(styles[0], text)
    parts = dict(pkg.worksheets())
    for n, (sheet, cells) in enumerate(mp.cells.items(), start=1):
        if sheet in parts:
            pkg.edit_tail(parts[sheet], lambda p, tail, cells=cells: marks.add_marks_to_tail(tail, p, cells, dxf_ids))
            comments.add_notes(pkg, parts[sheet], mp.notes.get(sheet, {}), n)


def _structure(pkg: Package, action, what: str) -> None:
    try:
        action()
    except (KeyError, ValueError, IndexError, AttributeError, UnicodeError) as err:
        raise BookError(f"文件 {pkg.label} 的结构无法识别，无法{what}（{type(err).__name__}）") from None


def write_annotated(src, out, report: Report, entries: dict | None = None) -> Path:
    """`entries`: the catalogue by code with the checked spec's rules (catalogue.entries_by_code)."""
    if _same_file(src, out):
        raise BookError(f"--write 的输出 {out} 就是被校验的文件，不能覆盖原文件；请另指定一个文件名")
    pkg = Package(src, str(src))
    mp = plan(report, [name for name, _ in pkg.sheets()], entries)
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
