"""Speed of `xltools serve` from upload to result page (a benchmark, not a test).

    .venv/bin/python bench/serve.py [--n 5000] [--clients 10] [--jobs 2] [--floor-n 200]

Targets (issue 17), on this 2-core machine: from upload to the result page for the example
workbook at 10 concurrent clients, median at most 150 ms and p99 at most 1 s; at least 30 uploads
a second sustained; the server's memory after 5,000 uploads at most 300 MB.

1. Files: the example workbook as corrected (warnings only), one per unit for ten units, re-saved
   by LibreOffice as a unit's spreadsheet program saves it (--as-filled: as `xltools fill` writes
   it, which the reader takes its slower path on), each made N/10 times distinct by its zip
   comment (the bytes, hence the sha256, differ; the reader ignores the comment): every upload is
   a new submission and a new version.
2. Floor, in this run on the same files: `xltools check F1 … FK` (one process, K files: the
   command's cost a file) and `xltools.check(bytes)` in process (the library's cost a file).
3. `xltools serve` (a real process on a socket, SQLite ledger in a fresh data folder, --jobs J),
   ten units; each client signs in once and uploads its files one after another, all clients at
   once. Latency = POST /upload until the result page it is sent to has arrived.
4. Memory: the server process's RSS (VmRSS) at the start and after the last upload, and the sum
   over its process group (the forkserver and the check workers); CPU seconds an upload took in
   the server process and in the workers (/proc/PID/stat), and in the clients, which wall time on a
   shared machine hides. With 10 clients that each wait for their page (a closed loop), the median
   is about clients / throughput (Little's law): the CPU an upload costs bounds it from below.
Exit status is always 0.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

TARGET_MEDIAN_MS, TARGET_P99_MS, TARGET_RATE, TARGET_MB = 150, 1000, 30, 300


def with_comment(data: bytes, comment: bytes) -> bytes:
    """The same zip with another archive comment (the end-of-central-directory record's last field)."""
    assert data[-22:-18] == b"PK\x05\x06" and data[-2:] == b"\0\0", "expects a zip without a comment"
    return data[:-2] + len(comment).to_bytes(2, "little") + comment


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return 0.0


def group_pids(pgid: int) -> list[int]:
    """The processes of a process group (the server, its forkserver and workers)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    out.append(int(entry))
            except OSError:
                continue
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def floor(files: list[bytes], folder: Path) -> tuple[float, float]:
    """(ms a file for `xltools check` over all of them in one process, ms a file in process)."""
    import xltools
    paths = []
    for k, data in enumerate(files):
        p = folder / f"f{k}.xlsx"
        p.write_bytes(data)
        paths.append(str(p))
    exe = Path(sys.executable).with_name("xltools")
    t = time.perf_counter()
    subprocess.run([str(exe), "check", *paths], capture_output=True)
    cli_ms = (time.perf_counter() - t) * 1000 / len(paths)
    xltools.check(files[0], name="a.xlsx")                    # warm: spec loaded, modules imported
    times = []
    for data in files:
        t = time.perf_counter()
        xltools.check(data, name="a.xlsx")
        times.append((time.perf_counter() - t) * 1000)
    return cli_ms, statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--floor-n", type=int, default=200)
    ap.add_argument("--as-filled", action="store_true",
                    help="upload the workbooks as xltools fill writes them (not re-saved by LibreOffice)")
    args = ap.parse_args()
    import httpx2
    from serve_kit import Server, add_unit, book, corrected, renamed, sign_in, token

    units = [f"临湘市第{k + 1}基准局" for k in range(args.clients)]
    per = args.n // args.clients
    work = Path(tempfile.mkdtemp(prefix="xltools-bench-serve-"))
    made = {u: book(renamed(corrected(), u), work / f"u{k}.xlsx") for k, u in enumerate(units)}
    if args.as_filled:
        bases = {u: p.read_bytes() for u, p in made.items()}
    else:                       # as a unit hands it in: saved by its spreadsheet program (here LibreOffice)
        from xltools.office import bridge
        (work / "saved").mkdir()
        saved = bridge.convert_many(made.values(), work / "saved", "xlsx")
        bridge.shutdown()
        bases = {u: p.read_bytes() for u, p in zip(made, saved)}
    files = {u: [with_comment(b, f"v{i}".encode()) for i in range(per)] for u, b in bases.items()}
    print(f"load {os.getloadavg()[0]:.2f}; {args.clients} clients × {per} uploads; workbook {len(bases[units[0]])} bytes")

    (work / "floor").mkdir()
    sample = [f for u in units for f in files[u][:max(1, args.floor_n // len(units))]]
    cli_ms, lib_ms = floor(sample, work / "floor")
    print(f"floor: xltools check {cli_ms:.1f} ms a file (one command, {len(sample)} files); "
          f"xltools.check in process {lib_ms:.1f} ms (median)")

    server = Server(work / "data", None, args.jobs, None, "--uploads-per-hour", str(10 * per)).start()
    url = f"sqlite:///{work / 'data' / 'xltools.db'}"
    for u in units:
        add_unit(url, u)
    start_kb, start_group_kb = rss_kb(server.proc.pid), sum(map(rss_kb, group_pids(server.proc.pid)))
    start_cpu, start_group_cpu = cpu_s(server.proc.pid), sum(map(cpu_s, group_pids(server.proc.pid)))
    latencies: list[float] = []
    failures: list[str] = []

    def client(unit: str) -> None:
        with httpx2.Client(base_url=server.url, follow_redirects=True, timeout=120) as c:
            sign_in(c, unit)
            csrf = token(c, "/unit")
            for k, data in enumerate(files[unit]):
                t = time.perf_counter()
                r = c.post("/upload", data={"csrf": csrf}, files={"file": (f"{k}.xlsx", data)})
                latencies.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200 or "已收到" not in r.text:
                    failures.append(f"{unit} {k}: {r.status_code}")

    threads = [threading.Thread(target=client, args=(u,)) for u in units]
    t0, clients_cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, clients_cpu = time.perf_counter() - t0, time.process_time() - clients_cpu
    end_kb, end_group_kb = rss_kb(server.proc.pid), sum(map(rss_kb, group_pids(server.proc.pid)))
    server_cpu = cpu_s(server.proc.pid) - start_cpu
    workers_cpu = sum(map(cpu_s, group_pids(server.proc.pid))) - start_group_cpu - server_cpu
    server.stop()

    n = len(latencies)
    median, p99 = statistics.median(latencies), pct(latencies, 0.99)
    rate = n / wall
    print(f"uploads {n} in {wall:.1f} s, failures {len(failures)} {failures[:3]}")
    rows = [("upload → result page, median", f"{median:.0f} ms", f"≤ {TARGET_MEDIAN_MS} ms", median <= TARGET_MEDIAN_MS),
            ("upload → result page, p99", f"{p99:.0f} ms", f"≤ {TARGET_P99_MS} ms", p99 <= TARGET_P99_MS),
            ("sustained", f"{rate:.1f} uploads/s", f"≥ {TARGET_RATE}/s", rate >= TARGET_RATE),
            (f"server RSS after {n} uploads", f"{end_kb / 1024:.0f} MB (start {start_kb / 1024:.0f} MB)",
             f"≤ {TARGET_MB} MB", end_kb / 1024 <= TARGET_MB),
            ("with forkserver and workers", f"{end_group_kb / 1024:.0f} MB (start {start_group_kb / 1024:.0f} MB)", "", None),
            ("CPU an upload: server process / check workers",
             f"{server_cpu * 1000 / n:.1f} / {workers_cpu * 1000 / n:.1f} ms", "", None),
            ("CPU an upload: the clients (this process)", f"{clients_cpu * 1000 / n:.1f} ms", "", None),
            ("2 cores / server+workers CPU: at most", f"{2 * n / (server_cpu + workers_cpu):.0f} uploads/s, "
             f"median ≥ {args.clients * (server_cpu + workers_cpu) / (2 * n) * 1000:.0f} ms", "", None),
            ("ratio median / xltools check (CLI, a file)", f"{median / cli_ms:.1f}×", "", None),
            ("ratio median / xltools.check (in process)", f"{median / lib_ms:.1f}×", "", None)]
    for name, value, target, ok in rows:
        verdict = "" if ok is None else ("PASS" if ok else "FAIL")
        print(f"  {name:<44} {value:<30} {target:<10} {verdict}")
    print(f"data folder: {work}")


if __name__ == "__main__":
    main()
