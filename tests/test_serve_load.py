"""`xltools serve` under load and after a crash, as a real server process on a socket.

Ten units' clients upload five workbooks each at once: every upload is recorded exactly once,
each unit's versions 1–5 in the order it uploaded them; the same on PostgreSQL (the server the
ledger tests start); and kill -9 of the server in the middle of uploads, then a restart: the
ledger and the stored files agree, and every upload the server acknowledged is there.
"""
from __future__ import annotations

import hashlib
import re
import threading
import time
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import create_engine, text

from serve_kit import Server, add_unit, sign_in, token, unit_books
from xltools.collect.ledger import _normalise_url

UNITS = [f"临湘市第{n}测试局" for n in range(1, 11)]
PER_UNIT = 5


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, list[bytes]]:
    return unit_books(tmp_path_factory.mktemp("books"), UNITS, PER_UNIT)


def uploader(url: str, unit: str, files: list[bytes], acked: dict, stop: threading.Event | None = None) -> None:
    """One unit's accountant: sign in, upload each file in turn; `acked[sha]` = the version the
    page announced (已收到 … 第 N 版)."""
    try:
        with httpx2.Client(base_url=url, follow_redirects=True, timeout=120) as c:
            assert sign_in(c, unit).status_code == 303
            for k, data in enumerate(files):
                if stop is not None and stop.is_set():
                    return
                r = c.post("/upload", data={"csrf": token(c, "/unit")}, files={"file": (f"第{k + 1}份.xlsx", data)})
                m = re.search(r"已收到“[^”]+”（第 (\d+) 版）", r.text)
                if r.status_code == 200 and m:
                    acked[hashlib.sha256(data).hexdigest()] = int(m.group(1))
    except httpx2.HTTPError:
        pass                                  # the server was killed under this client


def upload_all(url: str, books: dict, stop=None) -> dict[str, int]:
    acked: dict[str, int] = {}
    threads = [threading.Thread(target=uploader, args=(url, unit, books[unit], acked, stop)) for unit in UNITS]
    for t in threads:
        t.start()
    if stop is None:
        for t in threads:
            t.join(300)
    return acked if stop is None else (acked, threads)


def ledger_rows(url: str) -> list[dict]:
    engine = create_engine(_normalise_url(url))
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(
                "SELECT s.id, s.unit, s.version, s.sha256, s.status, u.stored FROM submissions s "
                "LEFT JOIN uploads u ON u.submission_id = s.id ORDER BY s.id"))]
    finally:
        engine.dispose()


def assert_each_once_in_order(rows: list[dict], books: dict) -> None:
    assert len(rows) == len({r["sha256"] for r in rows}) == len(UNITS) * PER_UNIT
    for unit in UNITS:
        mine = sorted((r for r in rows if r["unit"] == unit), key=lambda r: r["version"])
        assert [r["version"] for r in mine] == list(range(1, PER_UNIT + 1)), unit
        assert [r["sha256"] for r in mine] == [hashlib.sha256(b).hexdigest() for b in books[unit]], unit
        assert all(r["status"] == "ok" and r["stored"] for r in mine)


def run_season(tmp_path: Path, books: dict, db: str | None) -> None:
    server = Server(tmp_path / "data", db=db).start()
    url = db or f"sqlite:///{tmp_path / 'data' / 'xltools.db'}"
    try:
        for unit in UNITS:
            add_unit(url, unit)
        acked = upload_all(server.url, books)
    finally:
        server.stop()
    rows = ledger_rows(url)
    assert_each_once_in_order(rows, books)
    assert acked == {r["sha256"]: r["version"] for r in rows}      # the page said what the ledger holds
    assert_files_agree(tmp_path / "data", rows)


def assert_files_agree(data: Path, rows: list[dict]) -> None:
    """Every upload's stored file is there with its bytes' sha256; no stored file is unnamed."""
    stored = {p.name: p for p in (data / "files").glob("*/*") if not p.name.startswith(".")}
    named = {r["stored"] for r in rows if r["stored"]}
    assert set(stored) == named
    for name, path in stored.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == name[:64]


def test_ten_clients_upload_fifty_workbooks_at_once(tmp_path, books):
    run_season(tmp_path, books, None)


def test_ten_clients_upload_fifty_workbooks_at_once_on_postgresql(tmp_path, books, postgres):
    run_season(tmp_path, books, postgres("serve_load"))


def test_kill_9_during_uploads_then_a_restart(tmp_path, books):
    url = f"sqlite:///{tmp_path / 'data' / 'xltools.db'}"
    server = Server(tmp_path / "data").start()
    for unit in UNITS:
        add_unit(url, unit)
    stop = threading.Event()
    acked, threads = upload_all(server.url, books, stop)
    deadline = time.monotonic() + 60
    while len(acked) < 12 and time.monotonic() < deadline:         # well into the season
        time.sleep(0.05)
    server.kill()
    stop.set()
    for t in threads:
        t.join(120)
    assert 12 <= len(acked) < len(UNITS) * PER_UNIT
    server = Server(tmp_path / "data", env={}).start()            # the restart sweeps unacknowledged files
    try:
        rows = ledger_rows(url)
        assert_files_agree(tmp_path / "data", rows)
        recorded = {r["sha256"]: r["version"] for r in rows}
        assert acked.items() <= recorded.items()                   # nothing acknowledged was lost
        for unit in UNITS:                                          # nothing half-recorded: versions without gaps
            versions = sorted(r["version"] for r in rows if r["unit"] == unit)
            assert versions == list(range(1, len(versions) + 1)), (unit, versions)
        engine = create_engine(_normalise_url(url))
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert conn.execute(text("SELECT count(*) FROM findings f LEFT JOIN submissions s "
                                     "ON s.id = f.submission_id WHERE s.id IS NULL")).scalar() == 0
        engine.dispose()
        again = upload_all(server.url, books)                      # the accountants upload everything again
    finally:
        server.stop()
    rows = ledger_rows(url)
    assert_each_once_in_order_after_retry(rows, again)
    assert_files_agree(tmp_path / "data", rows)


def assert_each_once_in_order_after_retry(rows: list[dict], again: dict) -> None:
    assert len(rows) == len({r["sha256"] for r in rows}) == len(UNITS) * PER_UNIT
    assert {r["sha256"] for r in rows} == set(again)
    for unit in UNITS:
        assert sorted(r["version"] for r in rows if r["unit"] == unit) == list(range(1, PER_UNIT + 1))


def test_a_file_that_hangs_or_kills_its_worker_costs_only_itself(tmp_path, books):
    """collect's test hook makes a worker hang, or kill itself, on a file whose name says so."""
    url = f"sqlite:///{tmp_path / 'data' / 'xltools.db'}"
    server = Server(tmp_path / "data", None, 2, {"XLTOOLS_TEST_FAULT": "hang:卡住,die:崩溃"}, "--timeout", "3").start()
    try:
        add_unit(url, UNITS[0])
        with httpx2.Client(base_url=server.url, follow_redirects=True, timeout=60) as c:
            sign_in(c, UNITS[0])
            csrf = token(c, "/unit")
            for name, data, words in (("卡住.xlsx", books[UNITS[0]][0], "校验时限（3 秒）"),
                                      ("崩溃.xlsx", books[UNITS[0]][1], "进程意外终止"),
                                      ("正常.xlsx", books[UNITS[0]][2], "通过")):
                t = time.monotonic()
                r = c.post("/upload", data={"csrf": csrf}, files={"file": (name, data)})
                assert r.status_code == 200 and words in r.text, (name, r.text[-500:])
                assert time.monotonic() - t < 30
    finally:
        server.stop()
