"""One upload, from bytes to a ledger row: the same path a file in collect's inbox takes.

bytes -> collect's intake (a workbook, a data file, a zip, a pack zip: `intake.from_bytes`) ->
collect's worker pool (`jobs.check_upload`: the checker and the cells around each finding) ->
the unit it names must be the account's -> the file stored by sha256 (fsynced, renamed into
place) -> `Ledger.record` and the upload's link, committed. Only then does the page say 已收到.
One writer at a time (a lock in this process): versions follow the order uploads finish in.
After a crash, a stored file without a ledger row was never acknowledged: `sweep` removes it.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from ..collect import intake, worker
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


class Receiver:
    def __init__(self, config, ledger, store, registry, pool):
        self.config, self.ledger, self.store, self.registry, self.pool = config, ledger, store, registry, pool
        self.write_lock = threading.Lock()
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
        subs = intake.from_bytes(label, data, now())
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
        return await run_in_threadpool(self._record, account, name, sub, result, body, stored, grids)

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
            return worker.refusal(sub.refused, sub.message, sub.label)
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

    def _record(self, account, name, sub, result, body, stored, grids) -> Received:
        write_atomic(self.path(stored), body)                 # durable before any row names it
        if grids:
            write_atomic(self.config.derived / f"{sub.sha256}.grids.json", json.dumps(grids, ensure_ascii=False).encode())
        with self.write_lock:
            seen = self._seen(account, sub.sha256)            # the same file finished twice at once
            if seen is not None:
                self.store.link_upload(seen["id"], account["id"], name, stored)
                return Received(seen, again=True)
            link = lambda conn, rows: self.store.insert_upload(    # noqa: E731 (commits with the row)
                conn, self.store.upload_row(rows[0]["id"], account["id"], name, stored))
            [row] = self.ledger.record([(sub, result)], also=link)
        self.store.log(account, "upload", f"submission:{row['id']}", f"{name}（第 {row['version']} 版）")
        return Received(row)

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
