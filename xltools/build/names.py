"""Defined names the template carries besides the fields (no openpyxl here: the checker imports it)."""

FINGERPRINT_NAME = "xltools_template"   # workbook-scoped: which spec built this workbook
REPORT_MARK = "xltools_report"          # sheet-scoped on every report sheet: its report id (copies keep it)
VALUES_NAME = "xltools_values"          # workbook-scoped: a values-only copy `xltools pack` wrote (pack/frozen.py)
