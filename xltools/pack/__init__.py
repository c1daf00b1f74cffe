"""`xltools pack`: a checked workbook -> what a unit hands in (run.py): the PDFs (through
xltools/office/), the values-only copy and the print copy (frozen.py), the data file, the manifest."""
