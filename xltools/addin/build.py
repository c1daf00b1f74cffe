"""`xltools addin build | install | conf`: the Windows admin's steps, and what they need.

build:   a new workbook in Excel (COM), the generated modules imported (ours and the patched xlwings
         runtime, vba.py and runtime.py), the function wizard's descriptions registered, saved as
         xltools.xlam; then the ribbon part is written into the file by our own code (ribbon.py).
         Needs "Trust access to the VBA project object model" for whoever builds, once; nobody who
         only uses the add-in needs it.
install: the .xlam copied into the user's AddIns folder and switched on, in the Excel the user has
         open if there is one (a second Excel's add-in list would be overwritten by the first one's
         when it closes); and the conf file written: install fixes the interpreter.
conf:    %USERPROFILE%\\.xltools\\xltools.conf, the one settings file the add-in reads: the full path
         of the interpreter (INTERPRETER_WIN), in the code page VBA's `Input #` reads: the system's
         ANSI code page, GBK (cp936) on Chinese Windows. Nothing else: the add-in's runtime puts
         nothing from a setting or a workbook on sys.path (runtime.py).
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path, PureWindowsPath

from ..a1 import quote_sheet
from ..errors import XltoolsError
from ..files import write_atomic
from . import ribbon, vba
from .table import DISTRIBUTION, PROJECT_NAME

ADDIN_FILE = "xltools.xlam"
CONF_ENCODING = "cp936"           # what VBA's Open ... For Input reads on Chinese Windows
XL_OPENXML_ADDIN = 55             # xlOpenXMLAddIn
NEEDS_WINDOWS = "xltools addin {what} 需要在装有桌面版 Excel 的 Windows 电脑上运行（本机不是 Windows）；" \
                "xltools addin vba 与 xltools addin ribbon 在任何电脑上都可运行"


class AddinError(XltoolsError):
    """The add-in cannot be built, installed or configured here."""


def require_windows(what: str) -> None:
    if sys.platform != "win32":
        raise AddinError(NEEDS_WINDOWS.format(what=what))


# -- the config file ------------------------------------------------------------------------------
def conf_path() -> Path:
    home = Path(os.environ.get("USERPROFILE") or Path.home())
    return home / f".{PROJECT_NAME}" / f"{PROJECT_NAME}.conf"


def _vba_quoted(value: str) -> str:
    if '"' in value:
        raise AddinError(f"配置值不能含有双引号：{value}")
    return f'"{value}"'


def conf_text(interpreter: str) -> str:
    """The line xlwings's GetConfigFromFile reads with `Input #`: "KEY","VALUE", CRLF."""
    if not PureWindowsPath(interpreter).is_absolute():
        raise AddinError(f"解释器应写完整路径（如 C:\\Users\\…\\pythonw.exe），现为“{interpreter}”")
    return f"{_vba_quoted('INTERPRETER_WIN')},{_vba_quoted(interpreter)}\r\n"


def conf_bytes(interpreter: str) -> bytes:
    text = conf_text(interpreter)
    try:
        return text.encode(CONF_ENCODING)
    except UnicodeEncodeError as err:
        raise AddinError(f"路径中的“{text[err.start:err.end]}”无法用 GBK 编码，VBA 读不出来："
                         "请把 Python 装在只含中英文字符的路径下") from None


def default_interpreter() -> str:
    exe = Path(sys.executable)
    windowed = exe.with_name("pythonw.exe")          # no console window flashing on every click
    return str(windowed if windowed.exists() else exe)


def write_conf(interpreter: str | None = None) -> Path:
    require_windows("conf")
    interpreter = interpreter or default_interpreter()
    if "WindowsApps" in interpreter:
        raise AddinError("检测到 Microsoft Store 版的 Python（WindowsApps），Excel 无法启动它："
                         "请改用 python.org 的安装包，并重新运行 xltools addin install")
    if not Path(interpreter).is_file():
        raise AddinError(f"找不到解释器 {interpreter}")
    path = conf_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, conf_bytes(interpreter))


# -- build and install ----------------------------------------------------------------------------
def _excel():
    try:
        import win32com.client
    except ImportError:
        raise AddinError(f"缺少 pywin32（随 xlwings 安装）：请运行 pip install \"{DISTRIBUTION}[excel]\"") from None
    try:
        return win32com.client.DispatchEx("Excel.Application")
    except Exception as err:      # COM errors are pywintypes.com_error, not importable elsewhere
        raise AddinError(f"无法启动 Excel：{err}") from None


def build(out: str | os.PathLike | None = None) -> Path:
    require_windows("build")
    out = Path(out or ADDIN_FILE).resolve()
    folder = Path(tempfile.mkdtemp(prefix="xltools-addin-"))
    modules = vba.modules()
    files = []
    for name, text in modules.items():
        path = folder / f"{name}.bas"
        path.write_bytes(text.encode("ascii"))
        files.append(path)
    app = _excel()
    try:
        app.DisplayAlerts = False
        wb = app.Workbooks.Add()
        try:
            project = wb.VBProject
            for path in files:
                project.VBComponents.Import(str(path))
        except Exception:
            raise AddinError("Excel 拒绝导入 VBA 模块：请在 Excel 的“文件 > 选项 > 信任中心 > 信任中心设置 > "
                             "宏设置”中勾选“信任对 VBA 工程对象模型的访问”（只有构建加载项的电脑需要）") from None
        app.Run(f"{quote_sheet(wb.Name)}!XltoolsRegisterFunctions")     # Run quotes a book as a sheet
        wb.SaveAs(str(out), FileFormat=XL_OPENXML_ADDIN)
        wb.Close(False)
    finally:
        app.Quit()
        shutil.rmtree(folder, ignore_errors=True)
    ribbon.write_ribbon(out)
    return out


def addins_folder() -> Path:
    return Path(os.environ.get("APPDATA") or Path.home()) / "Microsoft" / "AddIns"


def _running_excel():
    """The Excel the user has open, or None."""
    try:
        import win32com.client
        return win32com.client.GetActiveObject("Excel.Application")
    except Exception:             # pywintypes.com_error: no Excel running (or no pywin32: _excel says so)
        return None


def _ours(app):
    """Our entry in Excel's add-in list, or None."""
    for i in range(1, app.AddIns.Count + 1):
        entry = app.AddIns.Item(i)
        if str(entry.Name).lower() == ADDIN_FILE:
            return entry
    return None


def install(addin: str | os.PathLike | None = None, interpreter: str | None = None) -> Path:
    """Copy the add-in into the AddIns folder, switch it on, write the conf file. With Excel open,
    the user's own Excel does it: an older xltools.xlam it has loaded is switched off first (Excel
    holds the file open), the new one on after the copy; the user's workbooks stay as they are."""
    require_windows("install")
    src = Path(addin or ADDIN_FILE)
    if not src.is_file():
        raise AddinError(f"找不到加载项文件 {src}：请先运行 xltools addin build")
    write_conf(interpreter)
    target = addins_folder() / ADDIN_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    running = _running_excel()
    app = running or _excel()
    scratch = None
    try:
        if app.Workbooks.Count == 0:              # AddIns needs an open workbook
            scratch = app.Workbooks.Add()
        old = _ours(app)
        if old is not None and old.Installed:
            old.Installed = False                 # unloads it: the file can be replaced
        write_atomic(target, src.read_bytes())
        entry = old if old is not None and Path(str(old.FullName)) == target else app.AddIns.Add(str(target))
        entry.Installed = True
    except OSError as err:
        raise AddinError(f"无法写入 {target}：{err.strerror or err}（请关闭 Excel 后重试）") from None
    finally:
        if scratch is not None:
            scratch.Close(False)
        if running is None:
            app.Quit()
    return target
