"""The Excel add-in: one declared table of worksheet functions and ribbon macros (table.py), the VBA
and the ribbon generated from it (vba.py, ribbon.py), the macros' logic over one small workbook
interface (access.py, macros.py), the marks and the 校验结果 sheet (marks.py), and the Windows-only
build/install/conf steps (build.py). Only xltools/addin/excel.py and access.LiveBook touch xlwings."""
