"""`xltools check --write OUT.xlsx`: a copy of the workbook with a 校验结果 sheet.

One row per finding with a hyperlink to its cell, and the offending cells filled red. This is a
report for people, so openpyxl's load-and-save is fine here: the original file is only read.
"""
from __future__ import annotations

import io
from pathlib import Path

from .catalogue import result_header, result_row
from .findings import ERROR, Report

RESULT_SHEET = "校验结果"


def write_annotated(src, out, report: Report) -> Path:
    from openpyxl import load_workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.hyperlink import Hyperlink

    from .ooxml import write_atomic

    wb = load_workbook(src)
    red = PatternFill("solid", fgColor="FFC7CE")
    amber = PatternFill("solid", fgColor="FFEB9C")
    if RESULT_SHEET in wb.sheetnames:
        del wb[RESULT_SHEET]
    ws = wb.create_sheet(RESULT_SHEET, 0)
    ws.append(result_header())
    for c in ws[1]:
        c.font = Font(bold=True)
    for f in report.findings:
        ws.append(result_row(f))
        row = ws.max_row
        if f.cell and f.sheet in wb.sheetnames:
            link = ws.cell(row, 4)
            # An internal link (location=), not a "#…" URL: Excel, WPS and LibreOffice all follow it.
            link.hyperlink = Hyperlink(ref=link.coordinate,
                                       location=f"'{f.sheet.replace(chr(39), chr(39) * 2)}'!{f.cell}")
            link.font = Font(color="0563C1", underline="single")
            wb[f.sheet][f.cell].fill = red if f.severity == ERROR else amber
        for c in ws[row]:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    for col, width in zip("ABCDEFGH", (6, 16, 14, 8, 60, 14, 14, 40)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    wb.active = 0
    buf = io.BytesIO()
    wb.save(buf)
    return write_atomic(out, buf.getvalue())
