"""The project's only bridge to LibreOffice headless: recalculate, export PDF, re-save in batch.

Why it looks like this (LibreOffice 7.4 quirks):
- LibreOffice ignores `fullCalcOnLoad` and keeps stale cached values of an .xlsx; only
  `calculateAll()` over UNO recomputes them. So we drive it over UNO, not `--convert-to`.
- `soffice --convert-to` silently stops after ~247 files in one call, and unoserver crashes
  LO 7.4. A small UNO client that loads each document with Hidden=True works.
- The `uno` module belongs to the system Python (python3-uno), not to our venv, so the UNO
  client (worker.py) runs as a subprocess of that Python and talks JSON lines with us.
  This module itself imports no uno and is safe to import anywhere.
- One soffice process (private profile, named pipe) is started on first use and reused in this
  Python process; it is shut down at exit, and restarted after a crash, a timeout or every
  `BATCH` documents (its memory grows over long batches).
- It dies with this process however this process ends (Ctrl-C, SIGTERM, kill -9 of it or its group): soffice is
  started by a keeper (keeper.py) that the kernel tells when we die, and the UNO client asks the
  kernel for the same. Private folders and sockets a killed run left are removed by the next.
"""

from __future__ import annotations

import atexit
import glob
import hashlib
import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterable

from ..errors import XltoolsError

START_TIMEOUT = 90.0   # seconds; the first start also creates the private profile
DOC_TIMEOUT = 180.0    # seconds per document
BATCH = 200            # documents per soffice process; well below the ~247 launcher limit
WATERMARK_GREY = 0xB4B4B4   # the PDF watermark's colour: grey, as the printed form has no colours

# Store filters by output format.
FILTERS = {
    "xlsx": "Calc MS Excel 2007 XML",
    "ods": "calc8",
    "xls": "MS Excel 97",
    "pdf": "calc_pdf_Export",
}


class OfficeError(XltoolsError):
    """LibreOffice is missing, failed, timed out, or could not open or write a file."""


def find_soffice() -> str | None:
    """Path of the soffice launcher, or None. XLTOOLS_SOFFICE overrides the search."""
    override = os.environ.get("XLTOOLS_SOFFICE")
    if override:
        return override if os.access(override, os.X_OK) else None
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    candidates = ["/usr/lib/libreoffice/program/soffice", *sorted(glob.glob("/opt/libreoffice*/program/soffice"))]
    return next((c for c in candidates if os.access(c, os.X_OK)), None)


def _find_uno_python(soffice: str) -> str:
    """The Python that can `import uno`: LibreOffice's bundled one (TDF builds) or the system one."""
    override = os.environ.get("XLTOOLS_UNO_PYTHON")
    if override:
        return override
    bundled = Path(soffice).resolve().parent / "python"
    if os.access(bundled, os.X_OK) and bundled.is_file():
        return str(bundled)
    return "/usr/bin/python3"


# The UNO client (worker.py beside this file) runs under the uno-capable Python; the keeper
# (keeper.py) under ours.
WORKER = Path(__file__).with_name("worker.py")
KEEPER = Path(__file__).with_name("keeper.py")
_FOLDER_PREFIX = "xltools-office-"           # + the pid of the process it serves


# soffice's sockets live in /tmp whatever TMPDIR says, and stay there when it is killed: our
# --accept pipe (named with our pid), and its single-instance pipe named by an MD5 of the profile URL.
def _pipe_socket(pipe: str) -> Path:
    return Path(f"/tmp/OSL_PIPE_{os.getuid()}_{pipe}")


def _ipc_socket(folder: Path) -> Path:
    profile = (folder / "profile").as_uri()
    return _pipe_socket("SingleOfficeIPC_" + "".join(f"{b:x}" for b in hashlib.md5(profile.encode("utf-16-le")).digest()))


def _clear_stale() -> None:
    """Private folders and sockets of runs that are gone (a keeper killed with its parent by a
    process-group kill -9 could not remove them)."""
    from ..files import process_alive
    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{_FOLDER_PREFIX}*"):
        pid = folder.name[len(_FOLDER_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or process_alive(int(pid)):
            continue
        for socket in (*Path("/tmp").glob(f"OSL_PIPE_{os.getuid()}_xltools-{pid}-*"), _ipc_socket(folder)):
            socket.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)


class _Office:
    """One soffice process plus the UNO client that drives it."""

    def __init__(self) -> None:
        soffice = find_soffice()
        if soffice is None:
            raise OfficeError(
                "未找到 LibreOffice（soffice）。请安装：apt-get install libreoffice-calc-nogui python3-uno，"
                "或以 root 运行 make setup"
            )
        self.pid = os.getpid()
        self.documents = 0    # documents handled: a fresh process after BATCH of them
        _clear_stale()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{_FOLDER_PREFIX}{os.getpid()}-"))
        self.log_path = self.tmp / "office.log"
        self.log = open(self.log_path, "ab")
        pipe = f"xltools-{os.getpid()}-{secrets.token_hex(4)}"
        self.sockets = [_pipe_socket(pipe), _ipc_socket(self.tmp)]
        # Our venv's variables must not leak into LibreOffice's or the system Python's imports;
        # LibreOffice's own temporary files go to our private folder, removed even after a crash.
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        (self.tmp / "tmp").mkdir()
        env["TMPDIR"] = str(self.tmp / "tmp")
        # 宋体/仿宋/黑体 -> the Noto CJK SC face of the same style (see fonts.conf).
        env["FONTCONFIG_FILE"] = str(Path(__file__).with_name("fonts.conf"))
        # A private profile: no clash with a user's running LibreOffice or another of our processes,
        # no first-start dialogs, no document recovery. A named pipe avoids picking a free port.
        self.keeper = subprocess.Popen(
            [sys.executable, "-I", str(KEEPER), str(os.getpid()), str(self.tmp), *map(str, self.sockets), "--",
             soffice, "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
             "--nolockcheck", f"-env:UserInstallation={(self.tmp / 'profile').as_uri()}",
             f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log, env=env,
            start_new_session=True,     # a kill -9 of our whole group leaves it alive to end soffice
        )
        started = self.keeper.stdout.readline().strip()       # soffice's pid (its process group)
        self.group = int(started) if started.isdigit() else None
        if self.group is None:
            why = self._log_tail()
            self.close(force=True)
            raise OfficeError(f"无法启动 LibreOffice（{soffice}）。{why}")
        python = _find_uno_python(soffice)
        try:
            self.worker = subprocess.Popen(
                [python, str(WORKER), pipe, str(START_TIMEOUT)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env,
                start_new_session=True,
            )
        except OSError as e:
            from ..files import cause
            self.close(force=True)
            raise OfficeError(f"无法运行 LibreOffice 的 Python（{python}）：{cause(e)}。请安装 python3-uno") from e
        self.replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._read_replies, daemon=True).start()
        try:
            ready = self._wait(START_TIMEOUT + 5, "启动")
        except OfficeError:
            self.close(force=True)
            raise
        if not ready.get("ok"):
            self.close(force=True)
            if ready.get("kind") == "no-uno":
                raise OfficeError(f"{python} 无法导入 uno 模块（{ready.get('detail')}）。请安装 python3-uno")
            raise OfficeError(f"无法连接 LibreOffice（{ready.get('detail')}）。{self._log_tail()}")

    def _read_replies(self) -> None:
        for line in self.worker.stdout:
            try:
                self.replies.put(json.loads(line))
            except ValueError:
                self.replies.put(dict(ok=False, kind="internal", detail=line.decode(errors="replace")))
        self.replies.put(None)  # EOF: the worker died

    def _wait(self, timeout: float, doing: str) -> dict:
        """Next reply; OfficeError on timeout or if either process died."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self.replies.get(timeout=0.2)
            except queue.Empty:
                if self.keeper.poll() is not None:
                    raise OfficeError(f"LibreOffice 在{doing}时意外退出（代码 {self.keeper.returncode}）。{self._log_tail()}")
                if time.monotonic() > deadline:
                    raise OfficeError(f"LibreOffice {doing}超时（{timeout:.0f} 秒），已终止。{self._log_tail()}")
                continue
            if reply is None:
                raise OfficeError(f"LibreOffice 连接在{doing}时中断。{self._log_tail()}")
            return reply

    def _log_tail(self) -> str:
        self.log.flush()
        lines = [l for l in self.log_path.read_text(errors="replace").splitlines()
                 if l.strip() and "javaldx" not in l]  # javaldx: harmless, Java is not installed
        return f"日志：{' | '.join(lines[-5:])}" if lines else ""

    def alive(self) -> bool:
        return self.pid == os.getpid() and self.keeper.poll() is None and self.worker.poll() is None

    def send(self, request: dict, label: str) -> dict:
        """One document's request and its reply; every document counts towards the restart."""
        self.documents += 1
        try:
            self.worker.stdin.write((json.dumps(request, ensure_ascii=False) + "\n").encode())
            self.worker.stdin.flush()
            return self._wait(DOC_TIMEOUT, f"处理 {label} ")
        except (OSError, OfficeError) as e:
            self.close(force=True)  # a hung or half-dead office is useless: the next call starts afresh
            if isinstance(e, OfficeError):
                raise
            raise OfficeError(f"LibreOffice 连接中断（处理 {label} 时）。{self._log_tail()}") from e

    def close(self, force: bool = False) -> None:
        if self.pid != os.getpid():
            return  # a forked child must not kill its parent's office
        worker = getattr(self, "worker", None)
        if not force and worker is not None and worker.poll() is None:
            try:  # polite: desktop.terminate() lets soffice remove its profile lock and exit
                worker.stdin.write(b'{"op": "quit"}\n')
                worker.stdin.flush()
                worker.wait(10)
                self.keeper.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if worker is not None and worker.poll() is None:
            try:
                os.killpg(worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            worker.wait()
        if self.keeper.poll() is None:         # the keeper ends soffice's group and its sockets
            self.keeper.terminate()
            try:
                self.keeper.wait(10)
            except subprocess.TimeoutExpired:
                self.keeper.kill()
                self.keeper.wait()
        if self.group is not None:              # whatever the keeper could not end
            try:
                os.killpg(self.group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.keeper.stdout.close()
        self.log.close()
        for socket in self.sockets:
            socket.unlink(missing_ok=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


_office: _Office | None = None
_lock = threading.RLock()


def start() -> None:
    """Start the shared LibreOffice now (it also starts on first use). OfficeError if it cannot."""
    global _office
    with _lock:
        if _office is None or not _office.alive() or _office.documents >= BATCH:
            if _office is not None:
                _office.close(force=True)
            _office = None
            _office = _Office()


def shutdown() -> None:
    """Stop the shared LibreOffice, if running. Called at exit."""
    global _office
    with _lock:
        if _office is not None:
            _office.close()
            _office = None


atexit.register(shutdown)


def _request(src: Path, request: dict, *, copy: bool = True) -> dict:
    """The worker's reply to `request` about src; OfficeError if LibreOffice cannot open it.
    copy: hand it a private copy, for a request that opens the file editable (to hide sheets,
    mark cells): src is never modified."""
    with _lock:
        start()
        if not copy:
            reply = _office.send(dict(request, src=str(src)), src.name)
        else:
            private = _office.tmp / f"input-{secrets.token_hex(4)}{src.suffix}"
            shutil.copyfile(src, private)
            try:
                reply = _office.send(dict(request, src=str(private)), src.name)
            finally:
                private.unlink(missing_ok=True)
    if not reply["ok"] and reply.get("kind") == "load":
        raise OfficeError(f"LibreOffice 无法打开文件：{src}（{reply.get('detail')}）")
    return reply


def _convert(src: Path, dst: Path, filter: str, *, recalc: bool, sheet: str | None = None) -> Path:
    """Run one document through LibreOffice; dst appears whole or not at all."""
    src, dst = Path(src).resolve(), Path(dst).resolve()
    if not src.is_file():
        raise OfficeError(f"文件不存在：{src}")
    if src == dst:
        raise OfficeError(f"输出文件不能覆盖源文件：{src}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.stem}.{secrets.token_hex(4)}.tmp{dst.suffix}")
    try:
        # to hide sheets LibreOffice must open the file editable: then on a private copy
        reply = _request(src, dict(op="convert", dst=str(tmp), filter=filter, recalc=recalc, sheet=sheet),
                         copy=sheet is not None)
        if not reply["ok"]:
            kind, detail = reply.get("kind"), reply.get("detail")
            if kind == "sheet":
                raise OfficeError(f"工作簿 {src.name} 中没有名为「{sheet}」的工作表（现有：{detail}）")
            if kind == "store":
                raise OfficeError(f"LibreOffice 无法写出文件：{dst}（{detail}）")
            raise OfficeError(f"LibreOffice 处理 {src.name} 失败（{detail}）")
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise OfficeError(f"LibreOffice 未生成输出文件：{dst}")
        os.replace(tmp, dst)
        return dst
    finally:
        tmp.unlink(missing_ok=True)


def export_pdfs(src: str | os.PathLike, outputs: dict, *, watermark: str | None = None, pdfa: bool = False,
                recalc: bool = False) -> list[Path]:
    """Several PDFs of one workbook: `outputs` maps each PDF's path to the sheets it prints (None:
    the sheets visible in the file); each prints its sheets in the workbook's order. src is never
    modified.

    LibreOffice loads the workbook and exports once: every printed sheet in one PDF, whose pages
    are then cut into the outputs (loading and exporting is nearly all the cost of a PDF).
    watermark: text LibreOffice stamps across every page; pdfa: PDF/A-2b (PDF/A-1 would make
    the watermark opaque over the table). Each PDF appears whole or not at all.
    """
    src = Path(src).resolve()
    if not src.is_file():
        raise OfficeError(f"文件不存在：{src}")
    dsts = {Path(d).resolve(): (list(s) if s else None) for d, s in outputs.items()}
    if not dsts:
        return []
    if src in dsts:
        raise OfficeError(f"输出文件不能覆盖源文件：{src}")
    tmps = {d: d.with_name(f".{d.stem}.{secrets.token_hex(4)}.tmp{d.suffix}") for d in dsts}
    whole = next(iter(tmps.values())).with_suffix(".whole.pdf")
    filter_data = {}
    if watermark:
        filter_data["Watermark"] = watermark
        filter_data["WatermarkColor"] = WATERMARK_GREY
    if pdfa:
        filter_data["SelectPdfVersion"] = 2
    try:
        for d in dsts:
            d.parent.mkdir(parents=True, exist_ok=True)
        reply = _request(src, dict(op="export", dst=str(whole), jobs=list(dsts.values()), filter_data=filter_data,
                                   recalc=recalc))
        if not reply["ok"]:
            kind, detail = reply.get("kind"), reply.get("detail")
            if kind == "sheet":
                raise OfficeError(f"工作簿 {src.name} 中缺少要打印的工作表（现有：{detail}）")
            raise OfficeError(f"LibreOffice 导出 {src.name} 的 PDF 失败（{detail}）")
        if not whole.is_file() or whole.stat().st_size == 0:
            raise OfficeError(f"LibreOffice 未生成 {src.name} 的 PDF")
        _cut(src, whole, reply["shown"], reply["pages"], {tmps[d]: sheets for d, sheets in dsts.items()})
        for d, t in tmps.items():
            os.replace(t, d)
        return list(dsts)
    finally:
        whole.unlink(missing_ok=True)
        for t in tmps.values():
            t.unlink(missing_ok=True)


def _cut(src: Path, whole: Path, shown: list[str], pages: list[list], outputs: dict[Path, list[str] | None]) -> None:
    """Write each output's pages of `whole`, the PDF of the sheets in `pages` ([sheet, page
    count], in print order). qpdf (pikepdf) keeps the document catalogue (PDF/A metadata and
    colour profile), so each part is the same kind of PDF as the whole."""
    import pikepdf

    spans, at = {}, 0
    for sheet, count in pages:
        spans[sheet] = range(at, at + count)
        at += count
    with pikepdf.open(whole) as pdf:
        if len(pdf.pages) != at:
            raise OfficeError(f"LibreOffice 导出 {src.name} 的页数（{len(pdf.pages)}）与各工作表页数之和（{at}）不符")
    for dst, sheets in outputs.items():
        keep = sorted({i for sheet in (sheets or shown) for i in spans[sheet]})
        if not keep:
            raise OfficeError(f"工作簿 {src.name} 中「{'、'.join(sheets or shown)}」没有可打印的内容")
        if keep == list(range(at)):
            shutil.copyfile(whole, dst)
            continue
        with pikepdf.open(whole) as pdf:
            for i in reversed(range(at)):
                if i not in keep:
                    del pdf.pages[i]
            pdf.save(dst, deterministic_id=True)


def invalid_cells(src: str | os.PathLike, dst: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """(sheet, A1) of every cell whose value its own data validation refuses, as LibreOffice's
    Mark Invalid Data finds them after recalculating; with `dst`, that recalculated workbook is
    also saved there (.xlsx). src is never modified."""
    from ..a1 import a1

    src = Path(src).resolve()
    if not src.is_file():
        raise OfficeError(f"文件不存在：{src}")
    out = Path(dst).resolve() if dst is not None else None
    if out == src:
        raise OfficeError(f"输出文件不能覆盖源文件：{src}")
    tmp = out.with_name(f".{out.stem}.{secrets.token_hex(4)}.tmp{out.suffix}") if out else None
    try:
        reply = _request(src, dict(op="invalid", dst=str(tmp) if tmp else None))
        if not reply["ok"]:
            raise OfficeError(f"LibreOffice 检查 {src.name} 的数据有效性失败（{reply.get('detail')}）")
        if tmp is not None:
            if not tmp.is_file() or tmp.stat().st_size == 0:
                raise OfficeError(f"LibreOffice 未生成输出文件：{out}")
            os.replace(tmp, out)
        return [(sheet, a1(row, col)) for sheet, row, col in reply["cells"]]
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


_VERSION: dict[str, str | None] = {}


def version() -> str | None:
    """LibreOffice's version as its launcher reports it ("LibreOffice 7.4.7.2 …"), or None."""
    soffice = find_soffice()
    if soffice is None:
        return None
    if soffice not in _VERSION:
        try:
            out = subprocess.run([soffice, "--version"], capture_output=True, text=True, timeout=60,
                                 stdin=subprocess.DEVNULL).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        _VERSION[soffice] = out or None
    return _VERSION[soffice]


def recalculate(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Load src hidden, recompute every formula (stale cached values too), save as .xlsx to dst."""
    return _convert(Path(src), Path(dst), FILTERS["xlsx"], recalc=True)


def to_pdf(src: str | os.PathLike, dst: str | os.PathLike, sheet: str | None = None) -> Path:
    """Export the workbook, or only `sheet`, to PDF after recalculating. src is never modified.

    Sheets hidden in src are left out, as when a user prints the workbook.
    """
    return _convert(Path(src), Path(dst), FILTERS["pdf"], recalc=True, sheet=sheet)


def convert_many(paths: Iterable[str | os.PathLike], outdir: str | os.PathLike, fmt: str = "xlsx",
                 *, recalc: bool = False) -> list[Path]:
    """Re-save many workbooks through LibreOffice into outdir as <stem>.<fmt>; returns the outputs.

    By default no recalculation: the files come out as LibreOffice's defaults would save them.
    Every output is verified; OfficeError lists any that failed (the others are still written).
    """
    if fmt not in FILTERS:
        raise OfficeError(f"不支持的输出格式：{fmt}（可选：{'、'.join(FILTERS)}）")
    srcs = [Path(p) for p in paths]
    outdir = Path(outdir)
    dsts = [(outdir / f"{p.stem}.{fmt}").resolve() for p in srcs]
    if len(set(dsts)) != len(dsts):
        dup = next(d for d in dsts if dsts.count(d) > 1)
        raise OfficeError(f"多个输入文件会写到同一个输出文件：{dup.name}")
    failures: list[str] = []
    for i, (src, dst) in enumerate(zip(srcs, dsts)):
        if i and i % BATCH == 0:
            shutdown()  # a fresh soffice per BATCH documents keeps long runs from degrading
        try:
            _convert(src, dst, FILTERS[fmt], recalc=recalc)
        except OfficeError as e:
            failures.append(str(e))
    missing = [d for d in dsts if not d.is_file()]
    if failures or missing:
        shown = "；".join(failures[:3]) or "、".join(d.name for d in missing[:3])
        raise OfficeError(f"{len(srcs)} 个文件中有 {max(len(failures), len(missing))} 个转换失败：{shown}")
    return dsts
