"""Reading a unit's submission: a workbook (workbook.py, over the fast reader in xltools/xlsx/) or a
data file (data.py) -> Filled (filled.py): values by field name, and where each came from.
coerce.py turns a cell's raw value into the field's value (numbers, dates, months) or a reason."""
