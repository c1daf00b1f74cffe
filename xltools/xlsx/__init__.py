"""A small, fast, read-only .xlsx reader for checking filled-in report workbooks.

It reads what the checker needs and nothing else: sheet names, defined names, and for each sheet
the cells' cached values, formulas (shared formulas expanded), style index and whether the style
is a date format. For a file that is not a usable workbook, `open_book` and `Book.sheet` raise one
BookError whose message is one line of Simplified Chinese naming the file; nothing else escapes.

Safety. The file is read once into memory (it is never opened for writing) and the zip central
directory is checked (member count, sizes, compression ratio) before any member is inflated. Every
XML part is brought to UTF-8 and refused if it contains a DTD: Excel, WPS and LibreOffice never
write one, and without a DTD no entity can be declared, so billion-laughs and external-entity
attacks have nothing to work with. Both parsers below only ever see DTD-free UTF-8, and we never
expand an entity ourselves: texts with "&" go through expat.

Speed. defusedxml's ElementTree uses the pure-Python parser (slow); lxml is not a dependency and
its per-element Python proxies cost as much as ElementTree's Elements. The C ElementTree builds an
Element for every run property in LibreOffice's rich-text shared strings (2.7 ms for a 100 KB
sharedStrings.xml), so the two hot parts, sheetData and the shared strings, take a fast path over
the canonical form that Excel, WPS, LibreOffice and openpyxl all write:

- a worksheet is inflated only as far as </sheetData> and cut into one piece per cell by a
  C-level split on `<c r="`; where each cell falls is learnt once per layout (all workbooks of one
  template write the same cells in the same order) and verified for every cell read;
- a cell is decoded only when read, by one regex match, and a sheet with any cell the regex cannot
  account for (a namespace prefix, a comment, CDATA, attributes in another order...) is read again
  with the C ElementTree, which handles any well-formed XML;
- the shared strings are all read by one findall that must account for every <si>, else
  ElementTree reads them;
- parts that repeat byte for byte across one template's workbooks (the workbook part and its
  names, the rels) are parsed once, keyed by their stored (compressed) bytes.

Small parts (workbook, rels, styles) always use ElementTree.
"""
from ..a1 import column_letters, column_number, shift_formula, split_a1, split_cell_ref
from .book import Book, open_book, read_file
from .parts import excel_date, is_date_format
from .sheet import Cell, ExcelError, Sheet

__all__ = ["Book", "Cell", "ExcelError", "Sheet", "open_book", "read_file", "excel_date", "is_date_format", "column_letters",
           "column_number", "shift_formula", "split_a1", "split_cell_ref"]
