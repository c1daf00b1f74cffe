"""The Excel add-in: one declared table of worksheet functions and ribbon macros (table.py), the VBA
and the ribbon generated from it (vba.py, ribbon.py) with xlwings's runtime patched so that a workbook
chooses nothing (runtime.py), the macros' logic over one small workbook interface (access.py,
macros.py), the Windows-only build/install/conf steps (build.py) and the offline bundle for IT
(bundle.py). Only xltools/addin/excel.py and access.LiveBook touch xlwings."""
