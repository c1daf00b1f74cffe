"""The Windows test script (tests/windows/) cannot run here: no Windows, no Excel. What can be held
here: it exercises every button and every function the table declares, each VBA check it calls
exists, the files are in the encodings Windows PowerShell 5.1 and the VBA editor read, and the
docs say how to run it."""
import re

from helpers import ROOT
from xltools.addin import table

FOLDER = ROOT / "tests" / "windows"
SCRIPT = FOLDER / "run_addin_test.ps1"
MODULE = FOLDER / "XltoolsAddinTest.bas"


def script() -> str:
    return SCRIPT.read_bytes().decode("utf-8-sig")


def module() -> str:
    return MODULE.read_bytes().decode("ascii")


def test_the_files_are_what_powershell_and_the_vba_editor_read():
    data = SCRIPT.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "without a BOM PowerShell 5.1 reads the script as ANSI"
    assert data.count(b"\n") == data.count(b"\r\n")
    text = script()
    for opening, closing in ("{}", "()", "[]"):
        assert text.count(opening) == text.count(closing), opening + closing
    bas = MODULE.read_bytes()
    assert bas.isascii() and bas.count(b"\n") == bas.count(b"\r\n")
    assert module().startswith('Attribute VB_Name = "XltoolsAddinTest"\r\n')


def test_every_button_and_every_function_is_exercised():
    text = script()
    clicked = set(re.findall(r'Click \$xl \$test \S+ "(\w+)"', text))
    assert clicked == {m.callback for m in table.MACROS}
    vba = module()
    for f in table.FUNCTIONS:
        assert f"={f.name}(" in vba, f.name
    assert "=XLT_TOTAL(A:A)" in vba and '"=NA()"' in vba and '"=1/0"' in vba     # whole column, error cells
    assert 'FormulaArray = "=XLT_CHECK()"' in vba                                 # Excel 2016/2019's array formula
    assert '"History")' in text and "=RunPython(" in vba                         # reserved name, private runtime


def test_each_vba_check_the_script_calls_exists():
    public = set(re.findall(r"^Public (?:Function|Sub) (\w+)\(", module(), re.M))
    called = set(re.findall(r'Test-Vba \$xl \$test "[^"]+" "(\w+)"', script()))
    called |= set(re.findall(r"'\$\(\$test\.Name\)'!(\w+)", script()))
    assert called and called <= public, called - public
    assert {"Click", "MakeHostile", "FunctionTests", "CheckFunctionTests"} <= called


def test_the_script_covers_build_install_with_excel_open_a_hostile_workbook_and_reopening():
    text = script()
    assert "addin build -o $xlam" in text
    assert text.count("addin install $xlam --interpreter $pythonw") == 2 and "Start-UserExcel" in text
    assert 'ws.Name = "xltools.conf"' in module() and "XL_VERY_HIDDEN" in module()
    assert 'Join-Path $inbox "xltools.conf"' in text and 'Join-Path $inbox "xltools"' in text
    assert "重新打开 Excel" in text and "AccessVBOM" in text and "exit 1" in text
    doc = (ROOT / "docs" / "addin.md").read_text(encoding="utf-8")
    assert r"tests\windows\run_addin_test.ps1" in doc and "XltoolsAddinTest.bas" in doc
