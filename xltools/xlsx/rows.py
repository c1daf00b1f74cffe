"""How a worksheet shows its rows: a row's height and whether it is hidden, read from its <row>
tag (Sheet.row_marks; the long texts' text-cut and text-hidden rules judge them)."""
from __future__ import annotations

import re

from ..memo import register

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\b([^>]*)>")
_ROW_R = re.compile(rb'\br\s*=\s*["\'](\d+)["\']')
_ROW_HT = re.compile(rb'\bht\s*=\s*["\']([0-9.]+)["\']')
_ROW_HIDDEN = re.compile(rb'\bhidden\s*=\s*["\'](?:1|true)["\']')


def row_mark(attrs: bytes) -> tuple[float | None, bool]:
    """(height in points or None, hidden) from a <row> tag's attributes; a height of 0 hides.
    Kept by the attributes: a template's text rows carry the same few tags in every workbook."""
    mark = _MARKS.get(attrs)
    if mark is None:
        mark = _row_mark(attrs)
        if len(_MARKS) < 4096:
            _MARKS[attrs] = mark
    return mark


_MARKS: dict[bytes, tuple[float | None, bool]] = {}
register("row marks", lambda: (len(_MARKS), 200 * len(_MARKS)), _MARKS.clear)


def _row_mark(attrs: bytes) -> tuple[float | None, bool]:
    at = attrs.find(b' ht="')            # as every writer puts it; else the general way
    if at >= 0:
        end = attrs.find(b'"', at + 5)
        height = float(attrs[at + 5:end]) if end > at + 5 else None
    else:
        ht = _ROW_HT.search(attrs)
        height = float(ht.group(1)) if ht else None
    if b'hidden="1"' in attrs or b'hidden="true"' in attrs:
        hidden = True
    elif b"hidden" not in attrs or b'hidden="false"' in attrs or b'hidden="0"' in attrs:
        hidden = False
    else:
        hidden = _ROW_HIDDEN.search(attrs) is not None
    return height, hidden or height == 0


def scan_row_marks(xml: bytes, refs) -> dict[str, tuple[float | None, bool]]:
    """row_mark of the row of each cell of `refs` (canonical A1), by cell, from one scan of every
    row tag of a worksheet's XML (any prefix; a row without r= is the one after the last)."""
    by_row = {int(ref.lstrip(_LETTERS)): ref for ref in refs}
    out = dict.fromkeys(refs, (None, False))
    number = 0
    for m in _ROW_TAG.finditer(xml):
        at = _ROW_R.search(m.group(1))
        number = int(at.group(1)) if at else number + 1     # r is optional: the next row
        if number in by_row:
            out[by_row[number]] = row_mark(m.group(1))
    return out
