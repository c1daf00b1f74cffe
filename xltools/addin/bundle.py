"""`xltools addin bundle -o DIR`: all a Windows PC without internet needs to install the add-in.

    DIR/wheels/       our wheel and every dependency, for 64-bit CPython 3.11 and 3.12 on Windows
    DIR/xltools.xlam  when given (--xlam: built, and signed, elsewhere) or buildable here (Windows, Excel)
    DIR/install.ps1   offline: checks SHA256SUMS, checks the Python (64-bit, 3.11/3.12), makes a venv,
                      pip install --no-index --find-links wheels, `xltools addin install`
    DIR/README.txt    what is inside and how to run it, in Chinese
    DIR/SHA256SUMS    every other file, in sha256sum's format (sha256sum -c, or install.ps1)

The wheels are what pip resolves for that PC (pip download --platform win_amd64 --python-version
--implementation cp --abi --only-binary=:all:). One thing pip does not do for another platform is
read environment markers for it: it evaluates `pywin32; platform_system == "Windows"` (xlwings's)
on this machine. So the bundle then walks the wheels' own requirements with Windows's markers
(packaging) and downloads what is missing, until nothing is: `missing()` is that check.

The folder appears whole or not at all (built in a hidden folder beside it, then renamed).
"""
from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path

from .. import __version__
from .build import ADDIN_FILE, AddinError
from .table import DISTRIBUTION, XLWINGS_VERSION

PYTHONS = ("3.11", "3.12")
PLATFORM = "win_amd64"
WHEELS = "wheels"
SUMS = "SHA256SUMS"
SCRIPT = "install.ps1"
README = "README.txt"
GUIDE = "addin.md"            # docs/addin.md: signing, trusted publishers, AppLocker, Defender
# The sources a wheel is built from (a copy: building writes build/ and *.egg-info beside them).
SOURCES = ("pyproject.toml", "setup.py", "README.md", "xltools", "specs", "templates")


@dataclass
class Bundle:
    folder: Path
    files: list[str] = field(default_factory=list)
    note: str = ""                  # what the bundle lacks (the .xlam) and why


def windows_environment(python: str) -> dict[str, str]:
    """The marker environment of 64-bit CPython `python` ("3.11") on Windows."""
    return {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows",
            "platform_machine": "AMD64", "platform_release": "10", "platform_version": "10.0",
            "implementation_name": "cpython", "platform_python_implementation": "CPython",
            "python_version": python, "python_full_version": f"{python}.0", "implementation_version": f"{python}.0"}


def _wheel_metadata(path: Path):
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        return Parser().parsestr(z.read(name).decode("utf-8"))


def _supported(python: str):
    from packaging import tags
    version = tuple(int(p) for p in python.split("."))
    abi = f"cp{version[0]}{version[1]}"
    return set(tags.cpython_tags(version, [abi, "abi3", "none"], [PLATFORM])) | \
        set(tags.compatible_tags(version, f"cp{version[0]}{version[1]}", [PLATFORM]))


def missing(wheels: Path, root: str, python: str) -> list[str]:
    """Requirements (as pip takes them) that installing `root` ("name[extra]==version") on Windows
    for `python` needs and no wheel in `wheels` satisfies, with Windows's markers."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name, parse_wheel_filename
    supported = _supported(python)
    available: dict[str, list[tuple[object, Path]]] = {}
    for path in sorted(wheels.glob("*.whl")):
        name, version, _, wheel_tags = parse_wheel_filename(path.name)
        if wheel_tags & supported:
            available.setdefault(name, []).append((version, path))
    environment = windows_environment(python)
    todo, seen, lacking = [Requirement(root)], set(), []
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        found = [(v, p) for v, p in available.get(name, []) if req.specifier.contains(v, prereleases=True)]
        if not found:
            lacking.append(str(req))
            continue
        _, path = max(found, key=lambda vp: vp[0])
        for extra in sorted(req.extras) or [""]:
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for line in _wheel_metadata(path).get_all("Requires-Dist") or []:
                dep = Requirement(line)
                if dep.marker is None or dep.marker.evaluate({**environment, "extra": extra}):
                    todo.append(Requirement(str(dep).split(";")[0]))
    return sorted(set(lacking))


# -- steps ----------------------------------------------------------------------------------------
def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check"],
                          capture_output=True, text=True)
    if done.returncode:
        lines = [ln for ln in (done.stderr or done.stdout).strip().splitlines() if ln.startswith("ERROR")]
        raise AddinError("pip 下载失败（需要能访问包索引）：" + (lines[-1] if lines else f"退出码 {done.returncode}"))


def source_root() -> Path | None:
    """The checkout this xltools runs from, if it is one (a pyproject.toml naming our distribution)."""
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    return root if pyproject.is_file() and f'name = "{DISTRIBUTION}"' in pyproject.read_text(encoding="utf-8") else None


def own_wheel(out: Path) -> Path:
    """Our wheel, built from the checkout (offline when setuptools can, as tests/test_wheel.py)."""
    root = source_root()
    if root is None:
        raise AddinError("找不到本工具的源代码目录：请在源代码目录中运行，或用 --wheel 指定本工具的 wheel 文件")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xltools-src-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in SOURCES:
            if (root / name).is_dir():
                shutil.copytree(root / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(root / name, src / name)
        isolation = ["--no-build-isolation"] if _builds_offline() else []     # else: setuptools from the index
        _pip("wheel", "--no-deps", "-q", *isolation, "-w", str(out), str(src))
    [wheel] = out.glob(f"{DISTRIBUTION.replace('-', '_')}-*.whl")
    return wheel


def _builds_offline() -> bool:
    """setuptools >= 70.1 builds wheels by itself; older ones need the `wheel` package."""
    import importlib.util
    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def download(wheels: Path, requirements: list[str], python: str) -> None:
    major, minor = python.split(".")
    _pip("download", "-q", "--only-binary=:all:", "--platform", PLATFORM, "--python-version", python,
         "--implementation", "cp", "--abi", f"cp{major}{minor}", "-d", str(wheels), *requirements)


def fill_wheels(wheels: Path, wheel: Path) -> None:
    """Every wheel our wheel needs on Windows, for each Python, markers read for Windows."""
    root = f"{DISTRIBUTION}[excel]=={__version__}"
    for python in PYTHONS:
        download(wheels, [f"{wheel}[excel]"], python)
        for _ in range(5):                     # each round adds what Windows's markers ask for
            lacking = missing(wheels, root, python)
            if not lacking:
                break
            download(wheels, lacking, python)
        else:
            raise AddinError(f"Python {python} 所需的 wheel 下载不全：{', '.join(lacking)}")


def _xlam(folder: Path, given: Path | None) -> str:
    """The add-in file into the bundle; returns what to say when there is none."""
    target = folder / ADDIN_FILE
    if given is not None:
        if not given.is_file():
            raise AddinError(f"找不到加载项文件 {given}")
        shutil.copyfile(given, target)
        return ""
    if sys.platform == "win32":
        try:
            from .build import build
            build(target)
            return ""
        except AddinError as err:
            return f"未包含 {ADDIN_FILE}：{err}"
    return (f"未包含 {ADDIN_FILE}：加载项只能在装有桌面版 Excel 的 Windows 电脑上构建（本机不是 Windows）。"
            f"请在一台装有 Excel 的 Windows 电脑上运行 xltools addin build 并签名，再用 "
            f"xltools addin bundle --xlam {ADDIN_FILE} 重新打包（这样它也列在 {SUMS} 中，安装脚本才会安装它）")


def sums(folder: Path) -> str:
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != SUMS):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(folder).as_posix()}\n")
    return "".join(lines)


def make(out, *, wheel=None, xlam=None) -> Bundle:
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AddinError(f"{out} 已存在且不是空文件夹：请换一个输出文件夹")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        wheels = tmp / WHEELS
        wheels.mkdir()
        if wheel:
            ours = wheels / Path(wheel).name
            shutil.copyfile(wheel, ours)
        else:
            ours = own_wheel(wheels)
        fill_wheels(wheels, ours)
        note = _xlam(tmp, Path(xlam) if xlam else None)
        root = source_root()
        if root is not None and (root / "docs" / GUIDE).is_file():   # the trust guide, for IT
            shutil.copyfile(root / "docs" / GUIDE, tmp / GUIDE)
        (tmp / SCRIPT).write_bytes(_windows_text(install_script()))
        (tmp / README).write_bytes(_windows_text(readme(note)))
        (tmp / SUMS).write_text(sums(tmp), encoding="utf-8", newline="\n")
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    return Bundle(out, files, note)


def _windows_text(text: str) -> bytes:
    """UTF-8 with a BOM and CRLF: what Windows PowerShell 5.1 and Notepad read as UTF-8 (without
    the BOM, PowerShell 5.1 reads a script in the ANSI code page and garbles its Chinese)."""
    return b"\xef\xbb\xbf" + text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


# -- the texts ------------------------------------------------------------------------------------
def install_script() -> str:
    versions = ", ".join(f'"{p}"' for p in PYTHONS)
    return f"""\
# {DISTRIBUTION} {__version__}：离线安装（Windows 10/11，64 位 Python {' 或 '.join(PYTHONS)}；不需要外网，不需要管理员权限）
#   powershell -NoProfile -ExecutionPolicy Bypass -File install.ps1 [-Python C:\\路径\\python.exe] [-Target 安装目录]
param(
    [string]$Python = "",
    [string]$Target = "$env:USERPROFILE\\xltools-env"
)
# Native programs are judged by their exit code (with "Stop", Windows PowerShell 5.1 would end the
# script at the first line py or pip writes to stderr).
$ErrorActionPreference = "Continue"
$here = $PSScriptRoot
function Fail([string]$message) {{ Write-Host $message -ForegroundColor Red; exit 2 }}

# 1. 每个文件都与打包时相同（{SUMS}）
$listed = @{{}}
foreach ($line in Get-Content -Encoding UTF8 -LiteralPath (Join-Path $here "{SUMS}")) {{
    if (-not $line.Trim()) {{ continue }}
    $hash, $name = $line -split "\\s+\\*?", 2
    $listed[$name] = $true
    $file = Join-Path $here $name
    if (-not (Test-Path -LiteralPath $file)) {{ Fail "缺少文件 ${{name}}：安装包不完整，请重新拷贝" }}
    if ((Get-FileHash -Algorithm SHA256 -LiteralPath $file).Hash -ne $hash.ToUpper()) {{
        Fail "文件 ${{name}} 与 {SUMS} 不符：安装包在打包后被改动过，请向信息科重新索取"
    }}
}}

# 2. 64 位 CPython {' 或 '.join(PYTHONS)}
if (-not $Python) {{
    foreach ($v in {", ".join(f'"{p}"' for p in reversed(PYTHONS))}) {{
        $found = & py "-$v" -c "import sys; print(sys.executable)" 2>$null
        if ($LASTEXITCODE -eq 0 -and $found) {{ $Python = $found.Trim(); break }}
    }}
}}
if (-not $Python) {{ Fail "找不到 Python {' 或 '.join(PYTHONS)}：请先安装 python.org 的 64 位 Windows 安装包，或用 -Python 指定 python.exe" }}
$info = & $Python -c "import sys, struct; print('%d.%d %d' % (sys.version_info[0], sys.version_info[1], struct.calcsize('P') * 8))"
if ($LASTEXITCODE -ne 0) {{ Fail "无法运行 $Python" }}
$version, $bits = $info.Trim() -split " "
if ($bits -ne "64") {{
    Fail "$Python 是 32 位 Python：xlwings 的 DLL 不能在 32 位 Python 中加载。请安装 64 位 Python（32 位 Office 配 64 位 Python 没有问题）"
}}
if ($version -notin @({versions})) {{ Fail "$Python 是 Python ${{version}}：本安装包只含 Python {' 与 '.join(PYTHONS)} 的 wheel" }}
if ($Python -like "*WindowsApps*") {{ Fail "这是 Microsoft Store 版的 Python，Excel 无法启动它：请改装 python.org 的安装包" }}

# 3. 专用环境，只从本安装包安装
& $Python -m venv $Target
if ($LASTEXITCODE -ne 0) {{ Fail "无法建立环境 $Target" }}
& "$Target\\Scripts\\python.exe" -m pip install --no-index --find-links (Join-Path $here "{WHEELS}") "{DISTRIBUTION}[excel]=={__version__}"
if ($LASTEXITCODE -ne 0) {{ Fail "安装失败：见上面 pip 的说明" }}

# 4. 加载项：复制到 %APPDATA%\\Microsoft\\AddIns 并启用（Excel 开着也可以），写入解释器的完整路径
$xlam = Join-Path $here "{ADDIN_FILE}"
if ((Test-Path -LiteralPath $xlam) -and -not $listed.ContainsKey("{ADDIN_FILE}")) {{
    Fail "{ADDIN_FILE} 不在 {SUMS} 中（打包后放进来的）：不安装。请用 xltools addin bundle --xlam 重新打包"
}}
if (Test-Path -LiteralPath $xlam) {{
    & "$Target\\Scripts\\xltools.exe" addin install $xlam --interpreter "$Target\\Scripts\\pythonw.exe"
    if ($LASTEXITCODE -ne 0) {{ Fail "加载项安装失败：见上面的说明" }}
}} else {{
    Write-Host "本安装包不含 {ADDIN_FILE}：xltools 命令已可用；加载项见 README.txt"
}}
Write-Host "完成：$Target（xlwings {XLWINGS_VERSION}）" -ForegroundColor Green
"""


def readme(note: str) -> str:
    addin = note or f"本安装包含 {ADDIN_FILE}，安装脚本会把它复制到 %APPDATA%\\Microsoft\\AddIns 并在 Excel 中启用。"
    return f"""\
{DISTRIBUTION} {__version__} 离线安装包（Windows，64 位 Python {' / '.join(PYTHONS)}）

内容
  {WHEELS}\\       本工具及全部依赖的 wheel（win_amd64，CPython {' 与 '.join(PYTHONS)}），含 xlwings {XLWINGS_VERSION}
  {ADDIN_FILE}   Excel 加载项（若包含）
  {SCRIPT}    安装脚本：先核对 {SUMS}，再建立专用环境、离线安装、启用加载项
  {SUMS}     每个文件的 SHA-256（Linux 上可用 sha256sum -c {SUMS} 核对）

安装（不需要外网，不需要管理员权限）
  1. 装好 python.org 的 64 位 Python {' 或 '.join(PYTHONS)}（“Install for me only”）。
  2. 在本文件夹中打开命令提示符，运行：
       powershell -NoProfile -ExecutionPolicy Bypass -File {SCRIPT}
     默认装到 %USERPROFILE%\\xltools-env；-Target 可改，-Python 可指定 python.exe。
  3. 打开 Excel，应出现“绩效自评”选项卡；点“关于”核对版本。

32 位与 64 位
  32 位 Office 配 64 位 Python 没有问题（Excel 通过 COM 启动另一个进程中的 Python）。
  32 位 Python 不能用：xlwings 的 DLL 无法在 32 位 Python 中加载，本安装包也只含 64 位的 wheel。

加载项
  {addin}
  签名、受信任发布者、网络标记（Mark-of-the-Web）、AppLocker 与 Defender 规则见本文件夹中的 {GUIDE}
  （即本工具源代码中的 docs/{GUIDE}）。
"""
