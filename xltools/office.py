"""The project's only bridge to LibreOffice headless: recalculate, export PDF, re-save in batch.

Why it looks like this (LibreOffice 7.4 quirks):
- LibreOffice ignores `fullCalcOnLoad` and keeps stale cached values of an .xlsx; only
  `calculateAll()` over UNO recomputes them. So we drive it over UNO, not `--convert-to`.
- `soffice --convert-to` silently stops after ~247 files in one call, and unoserver crashes
  LO 7.4. A small UNO client that loads each document with Hidden=True works.
- The `uno` module belongs to the system Python (python3-uno), not to our venv, so the UNO
  client runs as a subprocess of that Python (`_WORKER` below) and talks JSON lines with us.
  This module itself imports no uno and is safe to import anywhere.
- One soffice process (private profile, named pipe) is started on first use and reused in this
  Python process; it is shut down at exit, and restarted after a crash, a timeout or every
  `BATCH` documents (its memory grows over long batches).
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
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterable

from xltools.errors import XltoolsError

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


# The UNO client. Runs under the uno-capable Python; argv: pipe name, connect timeout.
# Protocol: one JSON object per line each way. It replies {"ok": true} once connected, then
# one reply per request.
_WORKER = r'''
import json, os, sys, time
proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)  # whatever uno or LibreOffice prints goes to the log, never into the protocol

def reply(**kw):
    proto.write(json.dumps(kw, ensure_ascii=False) + "\n")
    proto.flush()

try:
    import uno
    from com.sun.star.beans import PropertyValue
except ImportError as e:
    reply(ok=False, kind="no-uno", detail=str(e))
    sys.exit(1)

def props(**kw):
    out = []
    for k, v in kw.items():
        p = PropertyValue()
        p.Name, p.Value = k, v
        out.append(p)
    return tuple(out)

pipe, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
local = uno.getComponentContext()
resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
while True:
    try:
        ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
        break
    except Exception as e:  # NoConnectException until soffice listens
        if time.monotonic() > deadline:
            reply(ok=False, kind="connect", detail=repr(e))
            sys.exit(1)
        time.sleep(0.1)
desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
reply(ok=True)

def why(e):
    return "%s: %s" % (type(e).__name__, getattr(e, "Message", e))

def close(doc):
    try:
        doc.close(True)
    except Exception:
        doc.dispose()

def load(src, read_only):
    """(spreadsheet, None), or (None, the failure reply). Hidden: no window; MacroExecutionMode 0 /
    UpdateDocMode 0: never run macros or refresh external links of a file we were handed."""
    try:
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0,
            props(Hidden=True, ReadOnly=read_only, MacroExecutionMode=0, UpdateDocMode=0))
    except Exception as e:
        return None, dict(ok=False, kind="load", detail=why(e))
    if doc is None or not hasattr(doc, "Sheets"):
        if doc is not None:
            doc.close(True)
        return None, dict(ok=False, kind="load", detail="不是电子表格")
    return doc, None

def convert(src, dst, filter, recalc, sheet):
    # ReadOnly leaves no .~lock file beside src, but it also silently ignores hiding sheets: the caller hands us a private copy for that.
    doc, failed = load(src, read_only=sheet is None)
    if failed:
        return failed
    try:
        if recalc:
            doc.calculateAll()
        if sheet is not None:
            sheets = doc.Sheets
            if not sheets.hasByName(sheet):
                return dict(ok=False, kind="sheet", detail=", ".join(sheets.ElementNames))
            # The PDF export leaves out hidden sheets. Show the wanted one and make it active
            # first: Calc will not hide the active sheet. Only this in-memory copy changes.
            target = sheets.getByName(sheet)
            target.IsVisible = True
            doc.CurrentController.setActiveSheet(target)
            for name in sheets.ElementNames:
                if name != sheet:
                    other = sheets.getByName(name)
                    other.IsVisible = False
                    # A hidden sheet that has a print area is still exported: drop the area too.
                    other.setPrintAreas(())
        try:
            doc.storeToURL(uno.systemPathToFileUrl(dst), props(FilterName=filter, Overwrite=True))
        except Exception as e:
            return dict(ok=False, kind="store", detail=why(e))
        return dict(ok=True)
    finally:
        close(doc)

def store(doc, dst, filter, filter_data):
    args = [("FilterName", filter), ("Overwrite", True)]
    if filter_data:
        # FilterData must reach the filter as a typed sequence of PropertyValue: uno.invoke.
        args.append(("FilterData", uno.Any("[]com.sun.star.beans.PropertyValue", props(**filter_data))))
    uno.invoke(doc, "storeToURL", (uno.systemPathToFileUrl(dst), props(**dict(args))))

def export(src, dst, jobs, filter_data, recalc):
    # One load and one PDF of every sheet some job prints (None: the sheets visible in the file),
    # with each sheet's page count: the caller cuts each job's PDF out of it. Visibility and
    # print areas change in memory only.
    doc, failed = load(src, read_only=False)
    if failed:
        return failed
    try:
        if recalc:
            doc.calculateAll()
        sheets = doc.Sheets
        names = list(sheets.ElementNames)
        shown = [n for n in names if sheets.getByName(n).IsVisible]
        asked = {n for job in jobs for n in (job or shown)}
        missing = sorted(asked - set(names))
        if missing:
            return dict(ok=False, kind="sheet", detail=", ".join(names))
        printed = [n for n in names if n in asked]     # Calc prints in the workbook's order
        for n in printed:
            sheets.getByName(n).IsVisible = True
        doc.CurrentController.setActiveSheet(sheets.getByName(printed[0]))
        for n in names:
            if n not in asked:
                sh = sheets.getByName(n)
                sh.IsVisible = False
                sh.setPrintAreas(())   # a hidden sheet with a print area is still exported
        # A sheet as the selection: Calc counts the pages that sheet prints, as in the export.
        pages = [[n, doc.getRendererCount(sheets.getByName(n), ())] for n in printed]
        try:
            store(doc, dst, "calc_pdf_Export", filter_data)
        except Exception as e:
            return dict(ok=False, kind="store", detail=why(e))
        return dict(ok=True, shown=shown, pages=pages)
    finally:
        close(doc)

def invalid(src, dst):
    # Tools > Detective > Mark Invalid Data: a circle (a shape anchored at the cell) on every
    # cell whose value its own data validation refuses, evaluated by Calc itself.
    doc, failed = load(src, read_only=False)
    if failed:
        return failed
    try:
        doc.calculateAll()
        cells = []
        for name in doc.Sheets.ElementNames:
            sh = doc.Sheets.getByName(name)
            sh.showInvalid()
            page = sh.DrawPage
            for i in range(page.Count):
                anchor = page.getByIndex(i).Anchor
                if hasattr(anchor, "CellAddress"):
                    cells.append([name, anchor.CellAddress.Row + 1, anchor.CellAddress.Column + 1])
            sh.clearArrows()
        if dst:
            try:
                store(doc, dst, "Calc MS Excel 2007 XML", None)
            except Exception as e:
                return dict(ok=False, kind="store", detail=why(e))
        return dict(ok=True, cells=cells)
    finally:
        close(doc)

for line in sys.stdin:
    req = json.loads(line)
    if req["op"] == "invalid":
        try:
            reply(**invalid(req["src"], req["dst"]))
        except Exception as e:
            reply(ok=False, kind="internal", detail=why(e))
        continue
    if req["op"] == "export":
        try:
            reply(**export(req["src"], req["dst"], req["jobs"], req["filter_data"], req["recalc"]))
        except Exception as e:
            reply(ok=False, kind="internal", detail=why(e))
        continue
    if req["op"] == "quit":
        try:
            desktop.terminate()
        except Exception:
            pass  # the bridge drops while soffice exits
        reply(ok=True)
        break
    try:
        reply(**convert(req["src"], req["dst"], req["filter"], req["recalc"], req["sheet"]))
    except Exception as e:
        reply(ok=False, kind="internal", detail=why(e))
'''


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
        self.tmp = Path(tempfile.mkdtemp(prefix="xltools-office-"))
        self.log_path = self.tmp / "office.log"
        self.log = open(self.log_path, "ab")
        pipe = f"xltools-{os.getpid()}-{secrets.token_hex(4)}"
        profile = (self.tmp / "profile").as_uri()
        # soffice's sockets live in /tmp whatever TMPDIR says, and stay there when it is killed:
        # our --accept pipe, and its single-instance pipe named by an MD5 of the profile URL.
        ipc = "".join(f"{b:x}" for b in hashlib.md5(profile.encode("utf-16-le")).digest())
        self.sockets = [Path(f"/tmp/OSL_PIPE_{os.getuid()}_{name}") for name in (pipe, f"SingleOfficeIPC_{ipc}")]
        # Our venv's variables must not leak into LibreOffice's or the system Python's imports;
        # LibreOffice's own temporary files go to our private folder, removed even after a crash.
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        (self.tmp / "tmp").mkdir()
        env["TMPDIR"] = str(self.tmp / "tmp")
        # 宋体/仿宋/黑体 -> the Noto CJK SC face of the same style (see fonts.conf).
        env["FONTCONFIG_FILE"] = str(Path(__file__).with_name("fonts.conf"))
        # A private profile: no clash with a user's running LibreOffice or another of our processes,
        # no first-start dialogs, no document recovery. A named pipe avoids picking a free port.
        self.soffice = subprocess.Popen(
            [soffice, "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
             "--nolockcheck", f"-env:UserInstallation={profile}",
             f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=env,
            start_new_session=True,  # its own process group: we can kill oosplash and soffice.bin together
        )
        python = _find_uno_python(soffice)
        try:
            self.worker = subprocess.Popen(
                [python, "-c", _WORKER, pipe, str(START_TIMEOUT)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env,
                start_new_session=True,
            )
        except OSError as e:
            self.close(force=True)
            raise OfficeError(f"无法运行 LibreOffice 的 Python（{python}）：{e}。请安装 python3-uno") from e
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
                if self.soffice.poll() is not None:
                    raise OfficeError(f"LibreOffice 在{doing}时意外退出（代码 {self.soffice.returncode}）。{self._log_tail()}")
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
        return self.pid == os.getpid() and self.soffice.poll() is None and self.worker.poll() is None

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
                self.soffice.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for proc in (worker, self.soffice):
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
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
    from .a1 import a1

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
