"""Reading a unit's submission: a workbook (workbook.py, over the fast reader in xltools/xlsx/) or a
data file (data.py) -> Filled (filled.py): values by field name, where each came from, and the
facts the rules judge (xltools/rules/). coerce.py turns a cell's raw value into the field's value
(numbers, dates, months) or a reason: the reader's only words are refusals and those notes."""
