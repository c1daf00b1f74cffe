"""LibreOffice headless, the independent engine: bridge.py drives one soffice process through the
UNO client worker.py (run by LibreOffice's own Python) to recalculate, export PDFs and re-save."""
