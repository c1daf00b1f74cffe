"""Text a unit sent, as we write it anywhere: into a workbook's cell, the ledger, the terminal.

Anything a submission carries (unit and project names, sheet, file and zip member names, the
texts of findings that quote it, a DDE formula a unit typed) is data. Two dangers, one answer each:

- **A cell never becomes a formula.** Every text goes into a workbook as a string cell (inline or
  shared string), whatever its first character: `=`, `+`, `-`, `@`, a tab or CR before them, DDE
  (`=cmd|'/c calc'!A1`) and HYPERLINK are text like any other. The writers force the type: the
  package editor writes `t="inlineStr"` (ooxml/cells.py, write/marks.py), openpyxl cells get
  `data_type = "s"` after the value (`text_cell`; openpyxl makes a str starting with "=" a formula
  and "#N/A" an error), Excel over COM gets the text after an apostrophe (`typed`: Excel keeps
  the apostrophe as the cell's quote prefix, not in its value).
- **A control character never breaks a file or a line.** In a cell it is escaped as Excel stores
  it (`_x0001_`; CR as `_x000D_`, since XML reads a raw CR as a line feed), and a literal `_x0041_`
  as `_x005F_x0041_`, so every reader (Excel, WPS, LibreOffice, openpyxl, ours) gets back exactly
  what was written. On the terminal and in the ledger every control character, line break, tab,
  bidirectional override and lone surrogate (a file name of undecodable bytes) is shown the same
  way (`visible`): one readable line that cannot move the cursor, reorder the text around it or
  fail to encode.
"""
from __future__ import annotations

import re

CELL_MAX = 32767                      # characters one cell holds (Excel's limit)
TRUNCATED = "…（超出单元格上限 32767 字，以下从略）"

# A literal escape, which a reader would otherwise decode: its underscore is escaped (_x005F_).
_LITERAL_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
# In a cell: what XML 1.0 cannot carry, CR (XML reads it as LF) and lone surrogates (no UTF-8).
# Tab and line feed stay: a cell holds them as they are.
_CELL_ESCAPED = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]")
# On a line: every C0 and C1 control and DEL (tab, CR, LF, ESC included), the line and paragraph
# separators, the bidirectional marks, embeddings, overrides and isolates, lone surrogates.
_LINE_ESCAPED = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
                           "\ufffe\uffff\ud800-\udfff]")


def _escape(m: re.Match) -> str:
    return f"_x{ord(m.group(0)):04X}_"


def cell_text(value) -> str:
    """The text of a string cell as a workbook stores it (for `t="inlineStr"`, a shared string or
    openpyxl's inline string): control characters as Excel escapes them, a literal escape kept
    literal, at most CELL_MAX characters as read back (a longer text is cut with a note saying so)."""
    text = str(value)
    if len(text) > CELL_MAX:
        cut = CELL_MAX - len(TRUNCATED)
        if "\ud800" <= text[cut - 1] <= "\udbff":     # not half a surrogate pair
            cut -= 1
        text = text[:cut] + TRUNCATED
    if "_x" in text:
        text = _LITERAL_ESCAPE.sub("_x005F_", text)
    return _CELL_ESCAPED.sub(_escape, text)


def visible(value) -> str:
    """`value` as one readable line for the terminal and the ledger: every control character,
    line break, tab, bidirectional control and lone surrogate as _xHHHH_ (how Excel writes them),
    a literal _xHHHH_ as _x005F_xHHHH_, so that the line reads back exactly as Excel's escapes do."""
    text = str(value)
    if "_x" in text:
        text = _LITERAL_ESCAPE.sub("_x005F_", text)
    return _LINE_ESCAPED.sub(_escape, text)


def text_cell(cell, value) -> None:
    """An openpyxl cell set to `value` as text, never a formula or an error value."""
    cell.value = cell_text(value)
    cell.data_type = "s"


def typed(value: str) -> str:
    """A text as Excel is given it over COM (Range.Value): after an apostrophe, so that Excel keeps
    it as text (a formula, a number, a date-like text alike); the apostrophe is not part of it."""
    return "'" + str(value)[:CELL_MAX]
