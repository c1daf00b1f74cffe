"""One upload, from bytes to a ledger row: the same path a file in collect's inbox takes.

bytes -> collect's intake (a workbook, a data file, a zip, a pack zip: `intake.from_bytes`) ->
collect's worker pool (`jobs.check_upload`: the checker and the cells around each finding) ->
the unit it names must be the account's -> the file stored by sha256 (fsynced, renamed into
place) -> `Ledger.record` and the upload's link, committed. Only then does the page say 已收到.
One writer thread records them, many in one transaction: versions follow the order uploads finish in.
After a crash, a stored file without a ledger row was never acknowledged: `sweep` removes it.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import queue
import re
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from ..collect import intake, packs, worker
from ..collect.record import refusal
from ..collect.run import _with_intake_findings
from ..files import write_atomic
from .jobs import check_upload
from .store import now

SUFFIXES = (".xlsx", ".xlsm", ".json", ".toml", ".zip", ".xls", ".et")
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
MAX_PENDING = 200               # checks queued at once before the server says it is busy


class Refused(Exception):
    """An upload not taken: nothing was stored or recorded. The message is for the page."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Received:
    row: dict
    again: bool = False          # the same file was uploaded before: its recorded result


def clean_name(name: str) -> str:
    """The uploaded file's name as a label: its last part, no control or path characters."""
    name = _UNSAFE.sub("_", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return name[-120:] or "未命名"


@dataclass
class Entry:
    account: dict
    name: str
    sub: object                   # collect.submission.Submission
    result: dict
    stored: str
    grids: dict | None
    future: Future = field(default_factory=Future)


class Writer:
    """The one thread that records uploads: whatever is waiting when it is free goes into one
    transaction (Ledger.record with the uploads' links, grids and audit lines): one commit, a few
    fsyncs, for many uploads. Versions follow the order the entries were added in."""

    def __init__(self, ledger, store):
        self.ledger, self.store = ledger, store
        self.queue: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="xltools-ledger-writer", daemon=True)
        self.thread.start()

    def add(self, entry: Entry) -> Future:
        self.queue.put(entry)
        return entry.future

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(30)

    def _run(self) -> None:
        while True:
            batch = [self.queue.get()]
            while batch[-1] is not None and len(batch) < 200:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            done = batch[-1] is None
            entries = [e for e in batch if e is not None]
            try:
                for entry, received in zip(entries, self._write(entries)):
                    entry.future.set_result(received)
            except Exception as err:           # the database refused: each upload's page says so
                for entry in entries:
                    if not entry.future.done():
                        entry.future.set_exception(err)
            if done:
                return

    def _write(self, entries: list[Entry]) -> list[Received]:
        known = self.ledger.known({e.sub.sha256 for e in entries})
        first: dict[str, Entry] = {}
        for e in entries:
            if e.sub.sha256 not in known:
                first.setdefault(e.sub.sha256, e)
        store = self.store

        def also(conn, rows):
            by_sha = {r["sha256"]: r for r in rows}
            links, lines, grids = [], [], []
            for sha, e in first.items():
                row = by_sha[sha]
                links.append(store.upload_row(row["id"], e.account["id"], e.name, e.stored))
                lines.append(store.audit_row(e.account, "upload", f"submission:{row['id']}",
                                             f"{e.name}（第 {row['version']} 版）"))
                if e.grids:
                    grids.append({"sha256": sha, "grids": json.dumps(e.grids, ensure_ascii=False)})
            store.insert_many(conn, uploads=links, audit=lines, cell_views=grids)

        rows = {r["sha256"]: r for r in self.ledger.record([(e.sub, e.result) for e in first.values()], also=also)}
        out = []
        for e in entries:
            sha = e.sub.sha256
            if e is first.get(sha):
                out.append(Received(rows[sha]))
                continue
            row = known.get(sha) or rows[sha]             # the same file twice at once, or seen before
            store.link_upload(row["id"], e.account["id"], e.name, e.stored)
            out.append(Received(row, again=True))
        return out


class Receiver:
    def __init__(self, config, ledger, store, registry, pool):
        self.config, self.ledger, self.store, self.registry, self.pool = config, ledger, store, registry, pool
        self.writer = Writer(ledger, store)
        self.packs = packs.pack_names(s.pack_name for s in registry.specs())
        self.pending = 0
        self.recent: dict[int, deque] = {}

    def _count(self, account: dict) -> None:
        q = self.recent.setdefault(account["id"], deque())
        while q and time.monotonic() - q[0] > 3600:
            q.popleft()
        if len(q) >= self.config.uploads_per_hour:
            raise Refused(f"一小时内最多上传 {self.config.uploads_per_hour} 次，请稍后再试", 429)
        q.append(time.monotonic())

    async def receive(self, account: dict, name: str, data: bytes) -> Received:
        name = clean_name(name)
        if not name.lower().endswith(SUFFIXES):
            raise Refused(f"“{name}”不是可上传的文件：请上传工作簿（.xlsx）、数据文件（.json/.toml）或报送包（.zip）")
        if not data:
            raise Refused(f"“{name}”是空文件（0 字节），请重新选择文件")
        if self.pending >= MAX_PENDING:
            raise Refused("服务器正忙，请稍后再试", 503)
        self._count(account)
        label = f"{account['unit']}/{name}"
        subs = intake.from_bytes(label, data, now(), self.packs)
        if len(subs) != 1:
            raise Refused(f"压缩包“{name}”中有 {len(subs)} 份可校验的文件：请每次上传一份工作簿，"
                          "或上传 xltools 打包生成的报送包")
        sub = subs[0]
        seen = await run_in_threadpool(self._seen, account, sub.sha256)
        if seen is not None:
            return Received(seen, again=True)
        result = await self._check(sub)
        grids = result.pop("grids", None)
        if result.get("unit") and result["unit"] != account["unit"]:
            raise Refused(f"“{name}”中的部门（单位）名称是“{result['unit']}”，与本账号的单位“{account['unit']}”不符；"
                          "请上传本单位的报表，或核对工作簿中的单位名称")
        body = sub.data if sub.kind != "refused" else data
        stored = f"{hashlib.sha256(body).hexdigest()}{Path(name).suffix.lower() if sub.kind == 'refused' else sub.suffix}"
        return await self._record(account, name, sub, result, body, stored, grids)

    def _seen(self, account: dict, sha256: str) -> dict | None:
        row = self.ledger.known([sha256]).get(sha256)
        if row is None:
            return None
        if self.store.visible_submission(account, row["id"]) is None and row["unit"] != account["unit"] \
                and not row["source"].startswith(f"{account['unit']}/"):
            raise Refused("这份文件已由其他单位上传过，不能重复报送", 409)
        return row

    async def _check(self, sub) -> dict:
        if sub.kind == "refused":
            return refusal(sub.refused, sub.message, sub.label)
        job = {"label": sub.label, "kind": sub.kind, "data": sub.data, "suffix": sub.suffix}
        self.pending += 1
        try:
            future = self.pool.schedule(check_upload, (job,), timeout=self.config.timeout)
            try:
                result = await asyncio.wrap_future(future)
            except Exception as err:
                result = worker.failed(err, sub.label, self.config.timeout)
        finally:
            self.pending -= 1
        return _with_intake_findings(sub, result)

    def path(self, stored: str) -> Path:
        return self.config.files / stored[:2] / stored

    def _store(self, stored: str, body: bytes) -> None:
        path = self.path(stored)
        if not path.is_file():
            write_atomic(path, body)                          # durable before any row names it

    async def _record(self, account, name, sub, result, body, stored, grids) -> Received:
        await run_in_threadpool(self._store, stored, body)
        return await asyncio.wrap_future(self.writer.add(Entry(account, name, sub, result, stored, grids)))
    def sweep(self) -> int:
        """Remove stored files that no upload names (a crash between storing and recording:
        the unit was never told 已收到). Returns how many."""
        keep = self.store.stored_files()
        gone = 0
        for path in self.config.files.glob("*/*"):
            if path.name not in keep and not path.name.startswith("."):
                path.unlink(missing_ok=True)
                gone += 1
        return gone
