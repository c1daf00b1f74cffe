"""What the `xltools serve` tests share: the example's workbooks, signing in through the forms,
and a real server process on a free port (tests/test_serve*.py, bench/serve.py)."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from helpers import ROOT, XLTOOLS, load_seed

from test_check_seed import corrected_seed as corrected   # the seed's errors fixed: warnings only

sys.path.insert(0, str(ROOT / "examples"))
from make_collect_demo import renamed  # noqa: E402

UNIT = load_seed()["dept"]["dept_name"]           # 临湘市民政局
PASSWORD = "单位密码-2022"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    return CSRF.search(html).group(1)


def sign_in(client, login: str, password: str = PASSWORD):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"csrf": token, "login": login, "password": password}, follow_redirects=False)


def token(client, page: str = "/") -> str:
    return csrf_of(client.get(page).text)


def book(doc: dict, path: Path) -> Path:
    from xltools.spec import load_spec
    from xltools.write.fill import fill
    data = path.with_suffix(".json")
    data.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    fill(data, path, load_spec())
    data.unlink()
    return path


def example_books(folder: Path) -> dict[str, Path]:
    """The published example as handed in (four errors) and corrected (warnings only)."""
    seed = load_seed()
    return {"bad": book(seed, folder / "民政局_初报.xlsx"), "good": book(corrected(), folder / "民政局_改正.xlsx")}


def unit_books(folder: Path, units: list[str], per_unit: int) -> dict[str, list[bytes]]:
    """`per_unit` different workbooks (the contact person differs) for each unit."""
    from xltools.ooxml.package import Package
    from xltools.spec import load_spec
    sheet = load_spec().reports["dept"].sheet
    out = {}
    for k, unit in enumerate(units):
        base = book(renamed(corrected(), unit), folder / f"unit{k}.xlsx").read_bytes()
        out[unit] = []
        for v in range(per_unit):
            wb = Package(base, unit)
            wb.sheet(sheet).set("B11", f"联系人{v + 1}")
            out[unit].append(wb.to_bytes())
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`xltools serve` in its own process, as a bureau starts it."""

    def __init__(self, data: Path, db: str | None = None, jobs: int = 2, env: dict | None = None, *extra: str):
        self.data, self.db, self.jobs, self.env, self.extra = data, db, jobs, env or {}, list(extra)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self, timeout: float = 60) -> "Server":
        cmd = [str(XLTOOLS), "serve", "--data", str(self.data), "--port", str(self.port), "--jobs", str(self.jobs)]
        if self.db:
            cmd += ["--db", self.db]
        cmd += self.extra
        self.log = open(self.data.parent / f"serve-{self.port}.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, **self.env})
        import httpx2
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"xltools serve exited {self.proc.returncode}: {self.output()}")
            try:
                if httpx2.get(self.url + "/login", timeout=2).status_code == 200:
                    return self
            except httpx2.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"xltools serve did not answer: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        return (self.data.parent / f"serve-{self.port}.log").read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        """kill -9 of the server and everything it started (its workers)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)     # workers left behind, if any
            except ProcessLookupError:
                pass
            self.log.close()


def add_unit(store_url: str, unit: str, password: str = PASSWORD) -> int:
    """A unit account with a password, straight into the ledger (as a roster import and a used link leave it)."""
    from xltools.collect.ledger import Ledger
    from xltools.serve import auth
    from xltools.serve.store import Store
    ledger = Ledger(store_url)
    try:
        store = Store(ledger)
        existing = store.account_of_unit(unit)
        if existing:
            return existing["id"]
        return store.add_account(unit, "unit", unit=unit, password_hash=auth.hash_password(password))
    finally:
        ledger.close()


def add_staff(store_url: str, login: str, role: str = "staff", password: str = PASSWORD) -> int:
    from xltools.collect.ledger import Ledger
    from xltools.serve import auth
    from xltools.serve.store import Store
    ledger = Ledger(store_url)
    try:
        return Store(ledger).add_account(login, role, password_hash=auth.hash_password(password))
    finally:
        ledger.close()
