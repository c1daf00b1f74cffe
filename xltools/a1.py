"""A1 references and formula text: the one place that converts between "C5" and (row 5, column 3).

Used by the reader (defined names, shared formulas), the layout (where each field sits) and the
package editor (which cell to edit, how a sheet name is quoted).
"""
from __future__ import annotations

import re
from functools import lru_cache

from .memo import register

MAX_ROW = 1_048_576
MAX_COL = 16_384
# What Excel takes as a sheet name: at most 31 characters, none of []:*?/\, not History.
MAX_SHEET_NAME = 31
BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
RESERVED_SHEET_NAMES = ("History",)     # Excel keeps it for the change history of shared workbooks
# A cell's own reference as a worksheet stores it (<c r="C5">): upper-case column A..XFD, row
# 1..1048576, no $ and no leading zero. Anything else in r= is a damaged file to Excel.
CELL_REF = (r"(?:[A-Z]{1,2}|[A-W][A-Z]{2}|X[A-E][A-Z]|XF[A-D])"
            r"(?:[1-9][0-9]{0,5}|10[0-3][0-9]{4}|104[0-7][0-9]{3}|1048[0-4][0-9]{2}|10485[0-6][0-9]|104857[0-6])")
_CELL_REF = re.compile(CELL_REF)


def is_cell_ref(text: str) -> bool:
    """Whether `text` is a cell's reference as a worksheet's r= must write it ("C5")."""
    return _CELL_REF.fullmatch(text) is not None


def column_number(letters: str) -> int:
    """"A" -> 1, "XFD" -> 16384."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(number: int) -> str:
    """1 -> "A", 16384 -> "XFD"."""
    out = ""
    while number:
        number, rem = divmod(number - 1, 26)
        out = chr(65 + rem) + out
    return out


_A1 = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")


def split_a1(a1: str) -> tuple[int, int]:
    """"$C$5" -> (row 5, column 3); ValueError for anything that is not one cell."""
    m = _A1.fullmatch(a1)
    if not m:
        raise ValueError(f"not an A1 reference: {a1!r}")
    row, col = int(m.group(2)), column_number(m.group(1))
    if not (1 <= row <= MAX_ROW and 1 <= col <= MAX_COL):
        raise ValueError(f"outside the sheet: {a1!r}")
    return row, col


def quote_sheet(name: str) -> str:
    """A sheet name as a formula or reference writes it: 'Bob''s' (always quoted: valid for any
    name, and what split_cell_ref reads back)."""
    return "'" + name.replace("'", "''") + "'"


@lru_cache(maxsize=8192)   # every workbook of one template repeats the same name texts
def split_cell_ref(text: str) -> tuple[str | None, str] | None:
    """A defined name's text -> (sheet or None, "C5") when it denotes exactly one cell.

    "'部门整体支出'!$C$5" -> ("部门整体支出", "C5"); "'Bob''s'!C5" -> ("Bob's", "C5");
    "部门整体支出!$C$5:$C$5" -> ("部门整体支出", "C5"); "$C$5" -> (None, "C5").
    Ranges, constants, formulas, "#REF!" and references into other workbooks give None.
    """
    text = text.strip()
    if text.startswith("="):
        text = text[1:]
    sheet = None
    if text.startswith("'"):
        i = 1
        while True:
            j = text.find("'", i)
            if j < 0:
                return None
            if text[j + 1:j + 2] == "'":
                i = j + 2
                continue
            break
        sheet, rest = text[1:j].replace("''", "'"), text[j + 1:]
        if not rest.startswith("!"):
            return None
        text = rest[1:]
    elif "!" in text:
        sheet, text = text.split("!", 1)
        if not sheet or sheet.startswith(("[", "#")) or "'" in sheet:
            return None
    if sheet is not None and sheet.startswith("["):  # '[1]Sheet'!A1: another workbook
        return None
    first, _, last = text.partition(":")
    try:
        cell = split_a1(first)
        if last and split_a1(last) != cell:
            return None
    except ValueError:
        return None
    return sheet, column_letters(cell[1]) + str(cell[0])


register("cell references", lambda: (split_cell_ref.cache_info().currsize, None), split_cell_ref.cache_clear)


_FORMULA_TOKEN = re.compile(
    r""""(?:[^"]|"")*"                                          # string literal: kept
    |'(?:[^']|'')*'                                             # quoted sheet name: kept
    |\[(?:[^\[\]]|\[[^\[\]]*\])*\]                              # table column / other book: kept
    |(?<![\w.$])(\$?)([A-Za-z]{1,3})(\$?)([0-9]{1,7})(?![\w.(!])   # A1
    |(?<![\w.$:])(\$?)([A-Za-z]{1,3}):(\$?)([A-Za-z]{1,3})(?![\w.(!:])  # A:C
    |(?<![\w.$:])(\$?)([0-9]{1,7}):(\$?)([0-9]{1,7})(?![\w.(!:])        # 1:3
    """,
    re.X,
)


def shift_formula(formula: str, rows: int, cols: int) -> str:
    """The formula as Excel writes it `rows` down and `cols` right: relative refs move, $ refs don't.

    This is how a shared-formula follower gets its own text. A reference pushed off the sheet
    becomes #REF!, as in Excel. Strings, quoted sheet names and [table] parts are left alone, and
    a word followed by "(" or "!" is a function or sheet name, never a reference.
    """
    if not rows and not cols:
        return formula

    def col(dollar, letters):
        if dollar:
            return dollar + letters.upper()
        n = column_number(letters) + cols
        return column_letters(n) if 1 <= n <= MAX_COL else None

    def row(dollar, digits):
        if dollar:
            return dollar + digits
        n = int(digits) + rows
        return str(n) if 1 <= n <= MAX_ROW else None

    def replace(m):
        g = m.groups()
        if g[1] is not None:  # A1
            if column_number(g[1]) > MAX_COL or not 1 <= int(g[3]) <= MAX_ROW:
                return m.group(0)  # looks like a ref but cannot be one: a name
            c, r = col(g[0], g[1]), row(g[2], g[3])
            return "#REF!" if c is None or r is None else f"{c}{r}"
        if g[5] is not None:  # A:C
            if max(column_number(g[5]), column_number(g[7])) > MAX_COL:
                return m.group(0)
            a, b = col(g[4], g[5]), col(g[6], g[7])
            return "#REF!" if a is None or b is None else f"{a}:{b}"
        if g[9] is not None:  # 1:3
            a, b = row(g[8], g[9]), row(g[10], g[11])
            return "#REF!" if a is None or b is None else f"{a}:{b}"
        return m.group(0)

    return _FORMULA_TOKEN.sub(replace, formula)


def a1(row: int, col: int) -> str:
    """(5, 3) -> "C5"."""
    return f"{column_letters(col)}{row}"
