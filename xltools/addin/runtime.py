"""The xlwings runtime the add-in embeds, patched so that a workbook it opens chooses nothing.

The runtime is xlwings's own custom add-in module (`xlwings_custom_addin.bas` of the pinned
xlwings, what `xlwings quickstart --addin` uses). As shipped it lets the *active workbook* choose
what runs: its settings come first from a sheet named `<project>.conf` in the active workbook (even
a veryHidden one), then from a `<project>.conf` file beside it, and only then from the user's file;
and both ways of starting Python (RunPython for the buttons, the UDF server for the functions) put
the active workbook's folder and `<name>.zip` first on sys.path. A received workbook, or a folder
it arrived in, could pick the interpreter, the import path and the code.

Each patch below replaces one exact passage of the pinned text (lines compared without trailing
blanks) that must occur exactly as often as stated: a passage that moved or changed stops the
generation, so an xlwings upgrade fails `xltools addin vba` and the tests instead of shipping an
unpatched runtime. After the patches:

- settings come only from the user's own file (%USERPROFILE%\\.xltools\\xltools.conf) and a conf
  sheet inside the add-in itself; the active workbook's sheet and the folder's file are never read;
- sys.path gets nothing from a workbook: xlwings.utils.prepare_sys_path receives "false" and five
  empty fields (no workbook folder, no <name>.zip, no PYTHONPATH setting), and Python runs with -I
  (isolated: no current folder or script folder on sys.path, no PYTHON* environment variables);
- the interpreter is the full path written at install time: a bare "python" (looked up on PATH and
  in the current folder by cmd.exe) or a missing file is refused, so the xlwings DLL is loaded only
  from beside that interpreter;
- no code comes from a workbook's sheets named *.py (xlwings's "embedded code");
- the module is private (Option Private Module): none of its public functions, some of which start
  cmd.exe, can be called from a worksheet formula.

The license header of xlwings (BSD 3-clause) stays at the top of the module, as it requires.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .table import PROJECT_NAME, XLWINGS_VERSION

MODULE = "xltools_runtime"
UPSTREAM_FILE = "xlwings_custom_addin.bas"
CONF_FILE = rf"%USERPROFILE%\.{PROJECT_NAME}\{PROJECT_NAME}.conf"
# What prepare_sys_path reads: add the workbook's folder? ; active and add-in FullName ; three
# OneDrive/SharePoint roots ; then the PYTHONPATH entries. "false" and nothing after the fields.
SYS_PATH_ARGS = "false;;;;;"


# The two lines that start Python (RunPython's command line, the UDF server's), as shipped.
_RUN_COMMAND = ('        RunCommand = CondaCmd & PythonInterpreter & " -B -c ""import xlwings.utils;'
                'xlwings.utils.prepare_sys_path(\\""" & PYTHONPATH & "\\""); " & PythonCommand & """ "')
_SERVER_TAIL = ('        tail = " -B -c ""import sys, os;" & LicenseKeyEnvString & "import xlwings.utils;'
                'xlwings.utils.prepare_sys_path(\\""" & PYTHONPATH & "\\"");import xlwings; '
                'xlwings.serve(\'$(CLSID)\')"""')


def _isolated(line: str) -> str:
    """Python's -I: no current or script folder on sys.path, no PYTHON* environment variables."""
    return line.replace(' " -B -c ', ' " -I -B -c ', 1)


@dataclass(frozen=True)
class Patch:
    why: str
    old: str
    new: str
    count: int = 1


PATCHES: tuple[Patch, ...] = (
    Patch("the module is ours and private: no public function of it is a worksheet function",
          'Attribute VB_Name = "xlwings"',
          f'Attribute VB_Name = "{MODULE}"\nOption Private Module'),
    Patch("our project name: the user's file is %USERPROFILE%\\.xltools\\xltools.conf; the fixed sys.path arguments",
          'Public Const PROJECT_NAME As String = "myaddin"',
          f'Public Const PROJECT_NAME As String = "{PROJECT_NAME}"\n'
          f'Private Const XLTOOLS_SYS_PATH As String = "{SYS_PATH_ARGS}"'),
    Patch("RunPython: the interpreter fixed at install time",
          """\
    #If Mac Then
        interpreter = GetConfig("INTERPRETER_MAC", "")
    #Else
        interpreter = GetConfig("INTERPRETER_WIN", "")
    #End If
    If interpreter = "" Then
        ' Legacy
        interpreter = GetConfig("INTERPRETER", "python")
    End If""",
          "    interpreter = XltoolsInterpreter()"),
    Patch("RunPython: no code from the workbook's *.py sheets, nothing from the workbook on sys.path",
          """\
    ' Check for embedded Python code
    uses_embedded_code = False
    For i = 1 To 2
        If i = 1 Then
            Set wb = ActiveWorkbook
        Else
            Set wb = ThisWorkbook
        End If
        For Each sht In wb.Worksheets
            If Right$(sht.Name, 3) = ".py" Then
                uses_embedded_code = True
                Exit For
            End If
        Next
    Next i

    If uses_embedded_code = True Then
        AddExcelDir = "false"
    Else
        AddExcelDir = GetConfig("ADD_WORKBOOK_TO_PYTHONPATH", "true")
    End If

    ' The first 5 args are not technically part of the PYTHONPATH, but it's just easier to add it here (used by xlwings.utils.prepare_sys_path)
    #If Mac Then
        If InStr(ActiveWorkbook.FullName, "://") = 0 Then
            ActiveFullName = ToPosixPath(ActiveWorkbook.FullName)
            ThisFullName = ToPosixPath(ThisWorkbook.FullName)
        Else
            ActiveFullName = ActiveWorkbook.FullName
            ThisFullName = ThisWorkbook.FullName
        End If
    #Else
        ActiveFullName = ActiveWorkbook.FullName
        ThisFullName = ThisWorkbook.FullName
    #End If

    #If Mac Then
        PYTHONPATH = AddExcelDir & ";" & ActiveFullName & ";" & ThisFullName & ";" & GetConfig("ONEDRIVE_CONSUMER_MAC") & ";" & GetConfig("ONEDRIVE_COMMERCIAL_MAC") & ";" & GetConfig("SHAREPOINT_MAC") & ";" & GetConfig("PYTHONPATH")
    #Else
        PYTHONPATH = AddExcelDir & ";" & ActiveFullName & ";" & ThisFullName & ";" & GetConfig("ONEDRIVE_CONSUMER_WIN") & ";" & GetConfig("ONEDRIVE_COMMERCIAL_WIN") & ";" & GetConfig("SHAREPOINT_WIN") & ";" & GetConfig("PYTHONPATH")
    #End If""",
          """\
    ' xltools: no code from a workbook's *.py sheets; nothing from a workbook on sys.path.
    uses_embedded_code = False
    PYTHONPATH = XLTOOLS_SYS_PATH"""),
    Patch("RunPython: isolated mode, no current folder on sys.path", _RUN_COMMAND, _isolated(_RUN_COMMAND)),
    Patch("GetUdfModules: no module named after a workbook or its *.py sheets",
          """\
    ' Automatically add embedded code sheets
    For Each sht In wb.Worksheets
        If Right$(sht.Name, 3) = ".py" Then
            If GetUdfModules = "" Then
                GetUdfModules = Left$(sht.Name, Len(sht.Name) - 3)
            Else
                GetUdfModules = GetUdfModules & ";" & Left$(sht.Name, Len(sht.Name) - 3)
            End If
        End If
    Next

    ' Default
    If GetUdfModules = "" Then
        GetUdfModules = Left$(wb.Name, Len(wb.Name) - 5) ' assume that it ends in .xls*
    End If
""",
          ""),
    Patch("the UDF server: nothing from a workbook on sys.path",
          """\
    ' TODO: Doesn't automatically check if code is embedded
    AddExcelDir = GetConfig("ADD_WORKBOOK_TO_PYTHONPATH", "true")

    ' The first 6 args are not technically part of the PYTHONPATH, but it's just easier to add it here (used by xlwings.utils.prepare_sys_path)
    #If App = "Microsoft Excel" Then
        PYTHONPATH = AddExcelDir & ";" & ActiveWorkbook.FullName & ";" & ThisWorkbook.FullName & ";" & GetConfig("ONEDRIVE_CONSUMER_WIN") & ";" & GetConfig("ONEDRIVE_COMMERCIAL_WIN") & ";" & GetConfig("SHAREPOINT_WIN") & ";" & GetConfig("PYTHONPATH")
    #Else
        ' Other office apps
        #If App = "Microsoft Word" Then
            FName = ThisDocument.FullName
        #ElseIf App = "Microsoft Access" Then
            FName = CurrentProject.FullName
        #ElseIf App = "Microsoft PowerPoint" Then
            FName = ActivePresentation.FullName
        #End If
        PYTHONPATH = FName & ";" & ";" & GetConfig("ONEDRIVE_CONSUMER_WIN") & ";" & GetConfig("ONEDRIVE_COMMERCIAL_WIN") & ";" & GetConfig("SHAREPOINT_WIN") & ";" & GetConfig("PYTHONPATH")
    #End If""",
          """\
    ' xltools: nothing from a workbook on sys.path.
    PYTHONPATH = XLTOOLS_SYS_PATH"""),
    Patch("the UDF server and the DLL: the interpreter fixed at install time",
          """\
    PYTHON_WIN = GetConfig("INTERPRETER_WIN", "")
    If PYTHON_WIN = "" Then
        ' Legacy
        PYTHON_WIN = GetConfig("INTERPRETER", "pythonw")
    End If""",
          "    PYTHON_WIN = XltoolsInterpreter()", count=2),
    Patch("the UDF server: isolated mode, no current folder on sys.path", _SERVER_TAIL, _isolated(_SERVER_TAIL)),
    Patch("no conf file beside the workbook: the function that named it goes",
          """\
Function GetDirectoryConfigFilePath() As String
    Dim pathSeparator As String
    
    #If Mac Then ' Application.PathSeparator doesn't seem to exist in Access...
        pathSeparator = "/"
    #Else
        pathSeparator = "\\"
    #End If
    
    GetDirectoryConfigFilePath = GetDirectoryPath(ActiveWorkbook) & pathSeparator & PROJECT_NAME & ".conf"
End Function

""",
          ""),
    Patch("GetConfig: never the active workbook's conf sheet",
          """\
            'Workbook Sheet Config
            If SheetExists(ActiveWorkbook, PROJECT_NAME & ".conf") = True Then
                If GetConfigFromSheet(ActiveWorkbook).Exists(configKey) = True Then
                    GetConfig = GetConfigFromSheet(ActiveWorkbook).Item(configKey)
                    GetConfig = ExpandEnvironmentStrings(GetConfig)
                    Exit Function
                End If
            End If
    
""",
          "            ' xltools: never the active workbook's conf sheet, only the add-in's own.\n"),
    Patch("GetConfig: never a conf file beside the workbook",
          """\
    ' Directory Config
    If source = "" Or source = "directory" Then
        #If App = "Microsoft Excel" Then
            If GetFullName(ActiveWorkbook) <> "" Then ' Empty if local dir can't be figured out (e.g. SharePoint)
        #Else
            If InStr(GetDirectoryPath(), "://") = 0 Then ' Other Office apps: skip for synced SharePoint/OneDrive files
        #End If
            If FileExists(GetDirectoryConfigFilePath()) = True Then
                If GetConfigFromFile(GetDirectoryConfigFilePath(), configKey, configValue) Then
                    GetConfig = configValue
                    GetConfig = ExpandEnvironmentStrings(GetConfig)
                    Exit Function
                End If
            End If
        End If
    End If

""",
          "    ' xltools: never a conf file beside the workbook.\n\n"),
)


def upstream_text() -> str:
    """The pinned xlwings's module as the installed package ships it."""
    from .build import AddinError
    try:
        import xlwings
    except ImportError:
        raise AddinError("没有安装 xlwings：请运行 pip install \"xltools-jixiao[excel]\"") from None
    text = (Path(xlwings.__file__).parent / UPSTREAM_FILE).read_bytes().decode("ascii")
    if xlwings.__version__ != XLWINGS_VERSION or f"'Version: {XLWINGS_VERSION}\r\n" not in text:
        raise AddinError(f"已安装的 xlwings 是 {xlwings.__version__}，加载项需要 {XLWINGS_VERSION}："
                         f"请运行 pip install xlwings=={XLWINGS_VERSION}")
    return text


def apply(text: str, patches=PATCHES) -> str:
    """`text` (CRLF) with every patch applied; each passage must occur exactly `count` times."""
    from .build import AddinError
    lines = text.split("\r\n")
    for p in patches:
        old = p.old.split("\n")
        if old[-1] == "":
            old = old[:-1]
        new = p.new.split("\n")[:-1] if p.new.endswith("\n") else (p.new.split("\n") if p.new else [])
        want = [o.rstrip() for o in old]
        hits = [i for i in range(len(lines) - len(old) + 1)
                if [x.rstrip() for x in lines[i:i + len(old)]] == want]
        if len(hits) != p.count:
            raise AddinError(f"xlwings 加载项模块与本工具的补丁不符：以“{old[0].strip()}”开头的一段出现 "
                             f"{len(hits)} 次，应为 {p.count} 次（{p.why}）；请安装 xlwings=={XLWINGS_VERSION}")
        for i in reversed(hits):
            lines[i:i + len(old)] = new
    return "\r\n".join(lines)
