"""A workbook a bureau receives chooses nothing the add-in runs: proved on the committed VBA.

The add-in's VBA (macros/*.bas, regenerated and compared by test_addin.py) is read as text: which
modules are private, where settings are read from, what reaches sys.path, which interpreter starts.
The two command lines that start Python are evaluated as VBA would build them and run here, in a
folder where a hostile `xltools` package was planted beside the workbook: ours is imported, and the
same lines as xlwings ships them import the planted one (so the test can tell).
"""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, SEED, rezip, run_cli, sha256, zip_members
from xltools.addin import build, runtime, table, vba

pytest.importorskip("xlwings")


def module(name: str) -> str:
    return (ROOT / "macros" / f"{name}.bas").read_bytes().decode("ascii").replace("\r\n", "\n")


RUNTIME = module(runtime.MODULE)
UPSTREAM = runtime.upstream_text().replace("\r\n", "\n")


def procedures(text: str) -> dict[str, str]:
    """name -> body of every Function/Sub (the #If variants of one signature share a body)."""
    out = {}
    for m in re.finditer(r"^(?:(?:Public|Private|Friend) )?(?:Static )?(?:Function|Sub) (\w+)\(.*?^End (?:Function|Sub)$",
                         text, re.M | re.S):
        out[m.group(1)] = m.group(0)
    return out


def worksheet_callable(text: str) -> set[str]:
    """Functions a formula in any workbook can call: public (VBA's default) in a module that is not
    Option Private Module."""
    if re.search(r"^Option Private Module$", text, re.M):
        return set()
    return set(re.findall(r"^(?:Public )?(?:Static )?Function (\w+)\(", text, re.M))


# -- private modules ---------------------------------------------------------------------------------
def test_only_the_declared_functions_are_worksheet_functions():
    assert re.search(r"^Option Private Module$", RUNTIME, re.M)
    assert re.search(r"^Option Private Module$", module("xltools_ribbon"), re.M)
    callable_ = set().union(*(worksheet_callable(module(m)) for m in vba.MODULES))
    assert callable_ == {f.name for f in table.FUNCTIONS}
    # What the runtime offered before: ~33 functions, among them the ones that start cmd.exe.
    upstream = worksheet_callable(UPSTREAM)
    assert len(upstream) > 30 and {"RunPython", "ExecuteWindows", "RunFrozenPython"} <= upstream


# -- settings -----------------------------------------------------------------------------------------
def test_settings_come_only_from_the_users_file_and_the_addin_itself():
    procs = procedures(RUNTIME)
    get_config = procs["GetConfig"]
    assert "ActiveWorkbook" not in get_config
    # the only sheet read is the add-in's own, the only file the user's
    assert set(re.findall(r"GetConfigFromSheet\((\w+)\)", RUNTIME)) == {"ThisWorkbook"}
    assert set(re.findall(r"SheetExists\((\w+), PROJECT_NAME", RUNTIME)) == {"ThisWorkbook"}
    assert set(re.findall(r"(?<!Function )GetConfigFromFile\(([^,]+),", RUNTIME)) == {"GetConfigFilePath()"}
    assert 'Environ("USERPROFILE") & "\\." & PROJECT_NAME & "\\" & PROJECT_NAME & ".conf"' in procs["GetConfigFilePath"]
    assert 'Public Const PROJECT_NAME As String = "xltools"' in RUNTIME
    assert "GetDirectoryConfigFilePath" not in RUNTIME
    # ... where xlwings read the active workbook's sheet first and a file beside it next
    assert "GetConfigFromSheet(ActiveWorkbook)" in UPSTREAM and "GetDirectoryConfigFilePath()" in UPSTREAM
    # The conf file `xltools addin install` writes holds the interpreter and nothing else.
    assert [line.split(",")[0] for line in build.conf_text(r"C:\py\pythonw.exe").splitlines()] == ['"INTERPRETER_WIN"']


def test_no_code_from_a_workbooks_sheets():
    assert '".py"' not in RUNTIME and '".py"' in UPSTREAM           # xlwings's "embedded code" sheets
    functions = module("xltools_functions")
    calls = re.findall(r"XLPy\.CallUDF\(([^\n]*)\)$", functions, re.M)
    assert len(calls) == len(table.FUNCTIONS)
    assert all(c.endswith(", ThisWorkbook, Application.Caller") for c in calls)   # the add-in, not the active book
    assert f'"{table.UDF_MODULE}"' in functions and "GetUdfModules" not in functions


# -- sys.path --------------------------------------------------------------------------------------
def test_nothing_from_a_workbook_reaches_the_python_path():
    assert f'Private Const XLTOOLS_SYS_PATH As String = "{runtime.SYS_PATH_ARGS}"' in RUNTIME
    assert runtime.SYS_PATH_ARGS.split(";") == ["false", "", "", "", "", ""]
    for rhs in re.findall(r"^\s*PYTHONPATH = (.*)$", RUNTIME, re.M):
        assert rhs == "XLTOOLS_SYS_PATH" or rhs.startswith("Replace(PYTHONPATH, "), rhs
    assert "ADD_WORKBOOK_TO_PYTHONPATH" not in RUNTIME and "ADD_WORKBOOK_TO_PYTHONPATH" in UPSTREAM
    starts = re.findall(r'" (-[-\w ]*)-c ""', RUNTIME)                # every command line that starts Python
    assert starts == ["-I -B ", "-I -B "]


def _vba_value(expression: str, variables: dict[str, str]) -> str:
    """A VBA string expression of literals, variables, Chr(n) and GetConfig(..) joined by &."""
    out = []
    for literal, call, arg, name in re.findall(r'"((?:[^"]|"")*)"|(\w+)\(("[^"]*"|\d+)\)|(\w+)', expression):
        if call == "Chr":
            out.append(chr(int(arg)))
        elif call:                                   # GetConfig("ONEDRIVE_…"): nothing configured
            assert call == "GetConfig", call
            out.append("")
        elif name:
            out.append(variables[name])
        else:
            out.append(literal.replace('""', '"'))
    return "".join(out)


def _assignment(text: str, procedure: str, variable: str, pick: int = -1) -> str:
    """The right-hand side of an assignment of `variable` in a procedure (the last: the Windows one)."""
    found = re.findall(rf"^\s*{variable} = (.*)$", procedures(text)[procedure], re.M)
    return found[pick]


PROBE = "import xltools.addin.excel, sys; print(xltools.__file__)"


@pytest.fixture
def received(tmp_path):
    """A folder as a unit's zip unpacks: the workbook, and a package named like ours beside it."""
    folder = tmp_path / "收件"
    (folder / "xltools").mkdir(parents=True)
    (folder / "xltools" / "__init__.py").write_text(
        "import pathlib; pathlib.Path(__file__).with_name('RAN').write_text('planted'); print('PLANTED')\n")
    (folder / "xlwings").mkdir()
    (folder / "xlwings" / "__init__.py").write_text("print('PLANTED XLWINGS')\n")
    (folder / "报表.xlsx").write_bytes(b"")
    return folder


def _run(command_line: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run a Python command line as Windows would split it (MSVCRT: \\" is a quote inside quotes)."""
    args = shlex.split(command_line)
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


def _escaped(path_args: str) -> str:
    """ExecuteWindows's escaping of PYTHONPATH before it goes into the command line."""
    return path_args.replace("&", "^&").replace("\\", "\\\\")


def test_the_button_command_line_imports_our_package_whatever_lies_beside_the_workbook(received):
    ours = _vba_value(_assignment(RUNTIME, "ExecuteWindows", "RunCommand", 0),
                      {"CondaCmd": "", "PythonInterpreter": f'"{sys.executable}"',
                       "PYTHONPATH": _escaped(runtime.SYS_PATH_ARGS), "PythonCommand": PROBE})
    done = _run(ours, cwd=received)                  # even run from the received folder
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).resolve() == (ROOT / "xltools" / "__init__.py").resolve()
    assert not (received / "xltools" / "RAN").exists()
    # The same line as xlwings ships it, with the workbook's path that RunPython passes: the planted
    # package runs (run from the interpreter's folder, where RunPython's `cd` puts it).
    workbook = str(received / "报表.xlsx")
    upstream_path = _vba_value(_assignment(UPSTREAM, "RunPython", "PYTHONPATH"),
                               {"AddExcelDir": "true", "ActiveFullName": workbook, "ThisFullName": "C:/addin.xlam"})
    theirs = _vba_value(_assignment(UPSTREAM, "ExecuteWindows", "RunCommand", 0),
                        {"CondaCmd": "", "PythonInterpreter": f'"{sys.executable}"',
                         "PYTHONPATH": _escaped(upstream_path), "PythonCommand": PROBE})
    done = _run(theirs, cwd=Path(sys.executable).parent)
    assert "PLANTED" in done.stdout and (received / "xltools" / "RAN").exists()


def test_the_function_server_command_line_imports_our_package_from_any_current_folder(received):
    def server_line(text: str, python_path: str) -> str:
        tail = _vba_value(_assignment(text, "XLPyCommand", "tail"),
                          {"LicenseKeyEnvString": "", "PYTHONPATH": python_path})
        assert tail.endswith("; xlwings.serve('$(CLSID)')\"")        # the server: Windows COM, not here
        return f'"{sys.executable}"' + tail.replace("xlwings.serve('$(CLSID)')", PROBE)

    def escaped(value: str) -> str:                  # XLPyCommand's escaping
        return value.replace("\\", "\\\\").replace("'", "\\'").replace("&", "^&")

    done = _run(server_line(RUNTIME, escaped(runtime.SYS_PATH_ARGS)), cwd=received)
    assert done.returncode == 0, done.stderr
    assert "PLANTED" not in done.stdout and not (received / "xltools" / "RAN").exists()
    assert Path(done.stdout.strip()).resolve() == (ROOT / "xltools" / "__init__.py").resolve()
    # xlwings's line: Excel's current folder (often the last one a file was opened from) comes first
    done = _run(server_line(UPSTREAM, escaped("false;;;;;;")), cwd=received)
    assert "PLANTED XLWINGS" in done.stdout


# -- the interpreter ----------------------------------------------------------------------------------
def test_the_interpreter_is_the_full_path_fixed_at_install_time():
    procs = procedures(RUNTIME)
    readers = {name for name, body in procs.items() if 'GetConfig("INTERPRETER' in body}
    assert readers == {"XltoolsInterpreter"}
    check = procs["XltoolsInterpreter"]
    assert 'found = GetConfig("INTERPRETER_WIN", "")' in check
    assert 'found Like "[A-Za-z]:\\*" Or Left$(found, 2) = "\\\\"' in check and "FileExists(found)" in check
    assert "Err.Raise" in check and 'GetConfig("INTERPRETER", "python' not in RUNTIME
    users = {name for name, body in procs.items() if "= XltoolsInterpreter()" in body}
    assert users == {"RunPython", "XLPyCommand", "XLPyLoadDLL"}
    # The DLL is loaded from beside that interpreter only: no bare name reaches LoadLibrary's branch.
    assert 'LoadLibrary(ParentFolder(PYTHON_WIN) + "\\" + XLPyDLLName)' in procs["XLPyLoadDLL"]
    # A button whose interpreter is refused shows one message box (XltoolsRun), not the debugger.
    ribbon = module("xltools_ribbon")
    assert "RunPython command" in procedures(ribbon)["XltoolsRun"] and "MsgBox Err.Description" in ribbon


# -- the patches are exact ---------------------------------------------------------------------------
def test_each_patch_matches_the_pinned_runtime_exactly_and_an_upgrade_that_moves_one_fails():
    pinned = runtime.upstream_text()
    patched = runtime.apply(pinned)
    assert (ROOT / "macros" / f"{runtime.MODULE}.bas").read_bytes().decode("ascii").startswith(patched)
    for patch in runtime.PATCHES:                       # each one took: its old lines gone, its new ones there
        assert max(patch.old.split("\n"), key=len) + "\r\n" not in patched, patch.why
        assert patch.new.replace("\n", "\r\n") in patched, patch.why
    for patch in runtime.PATCHES:
        line = max(patch.old.split("\n"), key=len)       # its most particular line, changed once
        changed = pinned.replace(line + "\r\n", line + " ' changed upstream\r\n", 1)
        assert changed != pinned, patch.why
        with pytest.raises(build.AddinError, match="补丁不符"):
            runtime.apply(changed)
    with pytest.raises(build.AddinError, match="出现 2 次"):            # a passage twice: ambiguous
        runtime.apply(pinned + "\r\n".join(runtime.PATCHES[-1].old.split("\n")))


def test_whole_columns_are_trimmed_before_xlwings_reads_them():
    functions = module("xltools_functions")
    trim = procedures(functions)["XltoolsTrim"]
    assert "arg.Rows.Count = arg.Worksheet.Rows.Count Or arg.Columns.Count = arg.Worksheet.Columns.Count" in trim
    assert "Application.Intersect(arg, arg.Worksheet.UsedRange)" in trim
    for f in table.FUNCTIONS:
        body = procedures(functions)[f.name]
        for a in f.args:
            if a.vararg:
                assert f"XltoolsTrim({a.name}(k))" in body, f.name
            elif not a.caller:
                assert f"XltoolsTrim({a.name})" in body, f.name


# -- a received workbook that carries a settings sheet ------------------------------------------------
def _with_settings_sheet(source: Path, target: Path, name: str, state: str) -> Path:
    """`source` with one more sheet, as a unit's Excel would store it: the settings an xlwings
    add-in would read (the interpreter, the import path)."""
    parts = zip_members(source)
    cells = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{k}</t></is></c>'
                    f'<c r="B{r}" t="inlineStr"><is><t>{v}</t></is></c></row>'
                    for r, (k, v) in enumerate([("INTERPRETER_WIN", r"C:\Windows\System32\calc.exe"),
                                                ("PYTHONPATH", r"\\server\share")], start=1))
    parts["xl/worksheets/conf.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{cells}'
        "</sheetData></worksheet>").encode()
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    workbook = parts["xl/workbook.xml"].decode()
    parts["xl/workbook.xml"] = workbook.replace("</sheets>", (
        f'<sheet xmlns:r="{rel}" name="{name}" sheetId="99" state="{state}" r:id="rIdConf"/></sheets>')).encode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    parts["xl/_rels/workbook.xml.rels"] = rels.replace("</Relationships>", (
        f'<Relationship Id="rIdConf" Type="{rel}/worksheet" Target="worksheets/conf.xml"/></Relationships>')).encode()
    types = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = types.replace("</Types>", (
        '<Override PartName="/xl/worksheets/conf.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')).encode()
    return rezip(parts, target)


def test_check_collect_and_uploads_flag_a_workbook_carrying_a_settings_sheet(tmp_path):
    from xltools import api
    from xltools.checker import check_file
    from xltools.read.workbook import read_workbook
    from xltools.rules import findings_by_rule
    from xltools.rules.integrity import SETTINGS_SHEETS
    from xltools.spec import load_spec
    from xltools.write.fill import fill
    assert f"{table.PROJECT_NAME}.conf" in SETTINGS_SHEETS and "xlwings.conf" in SETTINGS_SHEETS
    spec = load_spec()
    clean = tmp_path / "clean.xlsx"
    fill(SEED, clean, spec)
    base = check_file(clean, spec).flat(None)
    assert not [f for f in base if f[0] == "conf-sheet"]                       # the template carries none
    inbox = tmp_path / "收件"
    inbox.mkdir()
    hidden = _with_settings_sheet(clean, inbox / "隐藏设置表.xlsx", "xltools.conf", "veryHidden")
    shouting = _with_settings_sheet(clean, inbox / "大写.xlsx", "XLWINGS.CONF", "visible")
    before = {p.name: sha256(p) for p in inbox.iterdir()}
    for book, name in ((hidden, "xltools.conf"), (shouting, "XLWINGS.CONF")):
        report = check_file(book, spec)
        assert sorted(report.flat(None)) == sorted(base + [("conf-sheet", name, "")])   # one more, nothing else
        [f] = [f for f in report.findings if f.code == "conf-sheet"]
        assert f.severity == "error" and f"“{name}”" in f.message
        [rule] = [r for r, g in findings_by_rule(read_workbook(book, spec), spec) if g.code == "conf-sheet"]
        assert "conf-sheet" in rule.codes                                      # declared by the rule that emits it
        assert [g.code for g in api.check(book.read_bytes(), spec, name=book.name).findings] == \
            [g.code for g in report.findings]                                  # an upload: bytes, no path
        done = run_cli("check", book)
        assert done.returncode == 1 and f"“{name}”的工作表" in done.stdout
    done = run_cli("collect", inbox, "-o", tmp_path / "汇总" / "汇总.xlsx", "--json", timeout=300)
    assert done.returncode == 1, done.stderr
    import json
    got = {Path(r["file"]).name: [f["code"] for f in r["findings"]] for r in json.loads(done.stdout)}
    assert all("conf-sheet" in codes for codes in got.values()) and len(got) == 2
    assert {p.name: sha256(p) for p in inbox.iterdir()} == before              # the inbox is never touched
