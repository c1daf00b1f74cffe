"""The one OOXML package editor: the only code that edits workbook.xml, .rels parts and
[Content_Types].xml, and the helpers the reader shares with it.

    package.py        Package: open, edit (sheets, cells, tails, parts), save atomically
    cells.py          a worksheet's cells and rows, edited as text
    workbook.py       workbook.xml: the sheet list (the one parser of it) and its edits
    rels.py           relationships: where they are kept, what a Target names, edits
    content_types.py  [Content_Types].xml: Override/Default, edits
    xmltext.py        parts as text: encodings, a namespace-aware scan of tags, escaping
    container.py      the zip: limits on what a file may hold, the fixed member time
    ns.py             namespaces (transitional and strict), types

Nothing is imported here: the reader imports the small helpers on the `xltools check` path.
"""
