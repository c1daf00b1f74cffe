"""`xltools addin build | install | conf`: the Windows admin's steps, and what they need.

build:   a new workbook in Excel (COM), the generated modules and xlwings's own VBA imported, the
         function wizard's descriptions registered, saved as xltools.xlam; then the ribbon part is
         written into the file by our own code (ribbon.py). Needs "Trust access to the VBA project
         object model" for whoever builds, once; nobody who only uses the add-in needs it.
install: the .xlam copied into the user's AddIns folder and switched on in Excel.
conf:    %USERPROFILE%\\.xltools\\xltools.conf, the xlwings config file of our custom add-in
         (INTERPRETER_WIN, UDF MODULES, PYTHONPATH), in the code page VBA's `Input #` reads:
         the system's ANSI code page, GBK (cp936) on Chinese Windows.

xlwings's VBA is taken from the installed, pinned xlwings package (xlwings_custom_addin.bas, the
module `xlwings quickstart --addin` uses), with its project name set to ours, so our config file
never touches a user's own xlwings add-in settings.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..errors import XltoolsError
from ..files import write_atomic
from . import ribbon, vba
from .table import PROJECT_NAME, UDF_MODULE, XLWINGS_VERSION

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


# -- xlwings's VBA, from the installed package ---------------------------------------------------
def xlwings_vba() -> str:
    """xlwings's custom add-in module as the installed package ships it, named for our project."""
    try:
        import xlwings
    except ImportError:
        raise AddinError("没有安装 xlwings：请运行 pip install \"xltools[excel]\"") from None
    path = Path(xlwings.__file__).parent / "xlwings_custom_addin.bas"
    text = path.read_bytes().decode("ascii")
    if f"'Version: {XLWINGS_VERSION}" not in text or xlwings.__version__ != XLWINGS_VERSION:
        raise AddinError(f"已安装的 xlwings 是 {xlwings.__version__}，加载项需要 {XLWINGS_VERSION}："
                         f"请运行 pip install xlwings=={XLWINGS_VERSION}")
    old = 'Public Const PROJECT_NAME As String = "myaddin"'
    if old not in text:
        raise AddinError(f"xlwings {xlwings.__version__} 的加载项模块格式有变，无法生成加载项")
    return text.replace(old, f'Public Const PROJECT_NAME As String = "{PROJECT_NAME}"')


# -- the config file ------------------------------------------------------------------------------
def conf_path() -> Path:
    home = Path(os.environ.get("USERPROFILE") or Path.home())
    return home / f".{PROJECT_NAME}" / f"{PROJECT_NAME}.conf"


def _vba_quoted(value: str) -> str:
    if '"' in value:
        raise AddinError(f"配置值不能含有双引号：{value}")
    return f'"{value}"'


def conf_text(interpreter: str, pythonpath: str = "") -> str:
    """The lines xlwings's GetConfigFromFile reads with `Input #`: "KEY","VALUE", CRLF."""
    entries = {"INTERPRETER_WIN": interpreter, "UDF MODULES": UDF_MODULE, "PYTHONPATH": pythonpath}
    return "".join(f"{_vba_quoted(k)},{_vba_quoted(v)}\r\n" for k, v in entries.items())


def conf_bytes(interpreter: str, pythonpath: str = "") -> bytes:
    text = conf_text(interpreter, pythonpath)
    try:
        return text.encode(CONF_ENCODING)
    except UnicodeEncodeError as err:
        raise AddinError(f"路径中的“{text[err.start:err.end]}”无法用 GBK 编码，VBA 读不出来："
                         "请把 Python 装在只含中英文字符的路径下") from None


def default_interpreter() -> str:
    exe = Path(sys.executable)
    windowed = exe.with_name("pythonw.exe")          # no console window flashing on every click
    return str(windowed if windowed.exists() else exe)


def write_conf(interpreter: str | None = None, pythonpath: str = "") -> Path:
    require_windows("conf")
    if "WindowsApps" in (interpreter or default_interpreter()):
        raise AddinError("检测到 Microsoft Store 版的 Python（WindowsApps），Excel 无法启动它："
                         "请改用 python.org 的安装包，并重新运行 xltools addin conf")
    path = conf_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, conf_bytes(interpreter or default_interpreter(), pythonpath))
    return path


# -- build and install ----------------------------------------------------------------------------
def _excel():
    try:
        import win32com.client
    except ImportError:
        raise AddinError("缺少 pywin32（随 xlwings 安装）：请运行 pip install \"xltools[excel]\"") from None
    try:
        return win32com.client.DispatchEx("Excel.Application")
    except Exception as err:      # COM errors are pywintypes.com_error, not importable elsewhere
        raise AddinError(f"无法启动 Excel：{err}") from None


def build(out: str | os.PathLike | None = None) -> Path:
    require_windows("build")
    out = Path(out or ADDIN_FILE).resolve()
    folder = Path(tempfile.mkdtemp(prefix="xltools-addin-"))
    modules = {"xlwings": xlwings_vba(), **vba.modules()}
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
        app.Run(f"'{wb.Name}'!XltoolsRegisterFunctions")
        wb.SaveAs(str(out), FileFormat=XL_OPENXML_ADDIN)
        wb.Close(False)
    finally:
        app.Quit()
        shutil.rmtree(folder, ignore_errors=True)
    ribbon.write_ribbon(out)
    return out


def addins_folder() -> Path:
    return Path(os.environ.get("APPDATA") or Path.home()) / "Microsoft" / "AddIns"


def install(addin: str | os.PathLike | None = None) -> Path:
    require_windows("install")
    src = Path(addin or ADDIN_FILE)
    if not src.is_file():
        raise AddinError(f"找不到加载项文件 {src}：请先运行 xltools addin build")
    target = addins_folder() / ADDIN_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, target)
    app = _excel()
    try:
        app.Workbooks.Add()                       # AddIns needs an open workbook
        app.AddIns.Add(str(target)).Installed = True
    finally:
        app.Quit()
    return target
