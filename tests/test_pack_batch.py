"""`xltools pack` over a batch a bureau would really run (issue 20, point 6): names that collide
after cleaning, a name too long for a file system, and a run interrupted by Ctrl-C, SIGTERM or
kill -9, each with real LibreOffice.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import ROOT, XLTOOLS, write_json
from test_check_seed import corrected_seed
from test_collect import demo
from xltools.files import TEMP_PREFIX
from xltools.pack.run import DATA_NAME
from xltools.spec import load_spec
from xltools.write.fill import fill

SPEC = load_spec()
LONG = "临湘市" + "很长的名字" * 40 + "局"


def _book(folder: Path, file: str, unit: str) -> Path:
    out = folder / file
    fill(write_json(folder / f"{file}.json", demo.renamed(corrected_seed(), unit)), out, SPEC)
    return out


def _pack(*args, **kw) -> subprocess.Popen:
    return subprocess.Popen([str(XLTOOLS), "pack", *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, **kw)


def test_colliding_and_overlong_names_each_get_their_own_pack(soffice, tmp_path):
    """临湘市/财政局 and 临湘市:财政局 clean to one name, and so do . and ..: each pair was one
    folder, the later silently replacing the earlier. A 600-byte unit name aborted the batch."""
    units = ["临湘市/财政局", "临湘市:财政局", ".", "..", LONG, "临湘市好局"]
    books = [_book(tmp_path, f"{k}.xlsx", u) for k, u in enumerate(units)]
    out = tmp_path / "out"
    done = _pack(*books, "-o", out)
    stdout, stderr = done.communicate(timeout=600)
    assert done.returncode == 0 and "Traceback" not in stderr, stderr[-2000:]
    folders = sorted(p for p in out.iterdir())
    assert len(folders) == len(units) and not [p for p in folders if p.name.startswith(TEMP_PREFIX)]
    packed_units = sorted(json.loads((p / DATA_NAME).read_text(encoding="utf-8"))["dept"]["dept_name"]
                          for p in folders)
    assert packed_units == sorted(units)                       # none replaced another
    assert all(len(p.name.encode()) <= 255 for p in folders)
    lines = stdout.splitlines()
    assert len([l for l in lines if l.startswith("已打包")]) == len(units), stdout
    assert sum("(2)" in l for l in lines) == 2, stdout       # the second of each pair is numbered, and says so
    assert [l for l in lines if "(2)" in l and "本批中的另一份" in l] == [l for l in lines if "(2)" in l], stdout
    long_line = next(l for l in lines if "很长的名字" in l)
    assert "…" in long_line and "过长" in long_line, long_line


def _ours(pid: int) -> list[int]:
    """Processes of LibreOffice started for the xltools process `pid` (its private profile is
    named with that pid), whoever their parent is now."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if f"xltools-office-{pid}-".encode() in cmdline or f"xltools-{pid}-".encode() in cmdline:
            found.append(int(entry.name))
    return found


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(pid)
    return alive


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL", "SIGKILL-group"])
def test_an_interrupted_pack_leaves_no_office_and_the_next_run_no_temp(soffice, tmp_path, how):
    """Ctrl-C (SIGINT to the terminal's process group), SIGTERM, kill -9 of pack, and kill -9 of
    its whole process group (a service manager, `kill -9 -PGID`), while LibreOffice prints:
    soffice.bin (83 MB), its profile and sockets lived on, and the hidden folder in the output
    stayed after the next run."""
    book = _book(tmp_path, "书.xlsx", "临湘市中断局")
    out = tmp_path / "out"
    run = _pack(book, "-o", out, start_new_session=True)    # its own group, as a terminal gives it
    deadline = time.monotonic() + 180
    office: list[int] = []
    while time.monotonic() < deadline and run.poll() is None:
        office = _ours(run.pid)
        if any(Path(f"/proc/{p}/comm").read_text().strip() == "soffice.bin" for p in _alive(office)):
            break
        time.sleep(0.1)
    assert run.poll() is None and office, "LibreOffice never started"
    assert [p for p in out.iterdir() if p.name.startswith(TEMP_PREFIX)]   # killed while it builds
    if how == "SIGINT":
        os.killpg(run.pid, signal.SIGINT)
    elif how == "SIGKILL-group":
        os.killpg(run.pid, signal.SIGKILL)
    else:
        os.kill(run.pid, getattr(signal, how))
    run.communicate(timeout=60)
    deadline = time.monotonic() + 30
    while _alive(_ours(run.pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(_ours(run.pid)), [Path(f"/proc/{p}/cmdline").read_bytes()[:200] for p in _alive(_ours(run.pid))]
    assert not list(Path("/tmp").glob(f"xltools-office-{run.pid}-*"))
    assert not list(Path("/tmp").glob(f"OSL_PIPE_{os.getuid()}_xltools-{run.pid}-*"))
    nothing = tmp_path / "不是工作簿.xlsx"                      # the next run, however short
    nothing.write_bytes(b"not a workbook")
    again = _pack(nothing, "-o", out)
    again.communicate(timeout=120)
    assert again.returncode == 2
    assert not [p.name for p in out.iterdir() if p.name.startswith(TEMP_PREFIX)]
