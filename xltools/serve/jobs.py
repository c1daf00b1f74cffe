"""Work on a unit's file, done away from the server's own process.

The first three run in collect's worker pool (collect/worker.py): a hostile upload costs only
its worker, under the pool's timeout and memory cap. `check_upload` is collect's `check_job`
plus the grid of cells around each finding, read from the same bytes. Packs go through one
thread that feeds LibreOffice (xltools/office/bridge.py) one workbook at a time; only a file the
checker passed (status ok) is ever queued.
"""
from __future__ import annotations

import queue
import shutil
import tempfile
import threading
from decimal import Decimal
from pathlib import Path

AROUND_ROWS, BEFORE_COLS, AFTER_COLS = 3, 4, 2      # the grid shown around a failing cell
MAX_GRIDS = 60
MAX_TEXT = 40


def check_upload(job: dict) -> dict:
    from ..collect.worker import check_job
    result = check_job(job)
    if job["kind"] == "workbook" and not result.get("refused"):
        result["grids"] = grids(job["label"], job["data"], result["findings"])
    return result


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (Decimal, float)):
        value = format(value, ".15g") if isinstance(value, float) else format(value, "f")
    text = str(value).replace("\n", " ")
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def grids(label: str, data: bytes, findings: list[dict]) -> dict[str, dict]:
    """"sheet!cell" -> {"cols": [letters], "rows": [[number, [texts]]], "at": [row index, col index]}:
    the user's own cells around each finding, as the checker read them."""
    from ..a1 import column_letters, split_a1
    from ..errors import XltoolsError
    from ..xlsx import open_book
    book = open_book(label, data)
    out: dict[str, dict] = {}
    sheets = {}
    for f in findings:
        where = f"{f.get('sheet')}!{f.get('cell')}"
        if not f.get("sheet") or not f.get("cell") or where in out or len(out) >= MAX_GRIDS:
            continue
        try:
            row, col = split_a1(f["cell"])
        except ValueError:
            continue
        try:
            sheet = sheets.get(f["sheet"]) or sheets.setdefault(f["sheet"], book.sheet(f["sheet"]))
        except XltoolsError:
            continue
        rows = range(max(1, row - AROUND_ROWS), row + AROUND_ROWS + 1)
        cols = range(max(1, col - BEFORE_COLS), col + AFTER_COLS + 1)
        refs = [f"{column_letters(c)}{r}" for r in rows for c in cols]
        values = sheet.values(refs)
        width = len(cols)
        out[where] = {"cols": [column_letters(c) for c in cols],
                      "rows": [[r, [_shown(v) for v in values[i * width:(i + 1) * width]]] for i, r in enumerate(rows)],
                      "at": [row - rows.start, col - cols.start]}
    return out


def marked_copy(src: str, out: str, spec_path: str) -> None:
    """`check --write`: the workbook with a 校验结果 sheet and its findings' cells marked."""
    from ..api import check
    from ..checker import write_checked_copy
    from ..spec.registry import spec_at
    spec = spec_at(spec_path)
    write_checked_copy(src, out, check(src, spec), spec)


def scored_copy(src: str, out: str, spec_path: str) -> list[str]:
    """`score -o`: every indicator's 得分 filled; returns what the scorer says."""
    from ..api import score
    from ..spec.registry import spec_at
    return score(src, out, spec=spec_at(spec_path)).lines


class Packer:
    """One thread builds the packs (PDFs through LibreOffice), one workbook at a time, in the
    order asked. state(key) -> ("queued", position) / ("running", 0) / ("done", 0) /
    ("failed", message) / None."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.jobs: queue.Queue = queue.Queue()
        self.waiting: list[str] = []
        self.running: str | None = None
        self.failures: dict[str, str] = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="xltools-pack", daemon=True)
        self.thread.start()

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.pack.zip"

    def name_path(self, key: str) -> Path:
        return self.folder / f"{key}.pack.name"

    def state(self, key: str):
        with self.lock:
            if self.path(key).is_file():
                return ("done", 0)
            if self.running == key:
                return ("running", 0)
            if key in self.waiting:
                return ("queued", self.waiting.index(key) + 1)
            if key in self.failures:
                return ("failed", self.failures[key])
        return None

    def report_pdf(self, key: str) -> tuple[str, bytes]:
        """(name, bytes) of the pack's PDF of the whole report (`{年度}_{单位}_绩效自评.pdf`)."""
        import zipfile
        stem = self.name_path(key).read_text(encoding="utf-8").removesuffix(".zip")
        with zipfile.ZipFile(self.path(key)) as zf:
            return f"{stem}.pdf", zf.read(f"{stem}/{stem}.pdf")

    def request(self, key: str, src: Path, spec_path: str) -> None:
        with self.lock:
            if self.path(key).is_file() or key in self.waiting or self.running == key:
                return
            self.failures.pop(key, None)
            self.waiting.append(key)
        self.jobs.put((key, src, spec_path))

    def close(self) -> None:
        self.jobs.put(None)

    def _run(self) -> None:
        while True:
            item = self.jobs.get()
            if item is None:
                return
            key, src, spec_path = item
            with self.lock:
                self.waiting.remove(key)
                self.running = key
            try:
                self._build(key, src, spec_path)
            except Exception as err:          # the page says so; the thread serves the next one
                with self.lock:
                    self.failures[key] = f"打包失败（{type(err).__name__}）"
            finally:
                with self.lock:
                    self.running = None

    def _build(self, key: str, src: Path, spec_path: str) -> None:
        from ..files import write_atomic
        from ..pack.run import pack_one
        from ..spec.registry import spec_at
        work = Path(tempfile.mkdtemp(prefix="xltools-pack-"))
        try:
            book = work / f"报表{src.suffix}"
            shutil.copyfile(src, book)
            result = pack_one(book, work / "out", zip=True, spec=spec_at(spec_path))
            if not result.ok:
                with self.lock:
                    self.failures[key] = result.error or "有错误，未打包"
                return
            write_atomic(self.name_path(key), result.output.name.encode())
            write_atomic(self.path(key), result.output.read_bytes())
        finally:
            shutil.rmtree(work, ignore_errors=True)
