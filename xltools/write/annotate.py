"""`xltools check --write OUT.xlsx`: a copy of the workbook with a 校验结果 sheet and marked cells.

One row per finding with a link to its cell, and each cell with a finding marked (red for errors,
amber for warnings) by a conditional format of our own that leaves the cell's formatting alone and
comes off with the add-in's 清除标记 (see xltools/write/marks.py). The copy is streamed through
the package editor (addin/package.py), never loaded and re-saved: memory stays bounded whatever the
size the reader admitted, and every part we do not touch is copied unchanged.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import BookError
from ..findings import Report
from .marks import RESULT_SHEET, plan
from ..ooxml.package import Package, write_marked

__all__ = ["RESULT_SHEET", "write_annotated"]


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def write_annotated(src, out, report: Report) -> Path:
    if _same_file(src, out):
        raise BookError(f"--write 的输出 {out} 就是被校验的文件，不能覆盖原文件；请另指定一个文件名")
    sheets = [name for name, _ in Package(src, str(src)).sheets()]
    return write_marked(src, out, plan(report, sheets), label=str(src))
