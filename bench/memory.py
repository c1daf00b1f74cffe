"""Memory of a long-lived process that checks many different workbooks (a benchmark, not a test).

    .venv/bin/python bench/memory.py [--n 5000] [--bases 24] [--no-office] [--tracemalloc]

The add-in's function server and a collect worker live for hours and check workbook after
workbook; the reader's speed caches must not grow with them. Target (issue 7): after 5,000
different workbooks the process uses at most a few MB more than after the first 100.

1. Bases: `--bases` data files from bench/check.py's generator (varied figures, texts, 1-3 project
   sheets), filled from the template; half of them re-saved through LibreOffice (shared strings,
   its own XML), when soffice is available (--no-office: the filled files only).
2. Stream: workbook i is base i % bases with every occurrence of its department's name replaced
   by one unique to i (in the shared strings or the cells), re-zipped in memory: no two of the N
   workbooks alike, as a collect worker receives them. Nothing is written to disk.
3. Check: `xltools.check(bytes, spec, name=...)` on each, in this one process. After the first
   100 and after N (and every --every): garbage collected, then the resident set (RSS, from
   /proc/self/statm), with --tracemalloc the Python heap (slower), and each reader memo's entries
   and bytes. Prints the growth from 100 to N. Exit status is always 0.
"""
from __future__ import annotations

import argparse
import gc
import io
import json
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

TARGET_GROWTH_MB = 5.0


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def bases(n: int, office: bool, spec) -> list[tuple[str, dict[str, bytes]]]:
    """(department name, zip members) of n distinct filled workbooks, half LibreOffice-saved."""
    from check import EXAMPLE, make_variant      # bench/check.py's corpus generator

    import xltools
    base = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    try:
        names, paths = [], []
        for i in range(n):
            data, _, _ = make_variant(base, spec, i)
            paths.append(xltools.fill(data, work / f"wb_{i:03d}.xlsx", spec, template=xltools.template_path()).path)
            names.append(data["dept"]["dept_name"])
        if office:
            from xltools.office import bridge as lo
            saved = lo.convert_many(paths[::2], work / "lo", fmt="xlsx")
            lo.shutdown()
            paths[::2] = saved
        out = []
        for name, path in zip(names, paths):
            with zipfile.ZipFile(path) as z:
                out.append((name, {i.filename: z.read(i) for i in z.infolist()}))
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def variant(members: dict[str, bytes], name: str, i: int) -> bytes:
    """The workbook with its department's name made unique to i, re-zipped in memory."""
    old, new = name.encode(), f"{name}{i:05d}".encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for part, data in members.items():
            if part.startswith("xl/worksheets/") or part == "xl/sharedStrings.xml":
                data = data.replace(old, new)
            z.writestr(part, data)
    return buf.getvalue()


def memo_table() -> list[tuple[str, int, int]]:
    try:
        from xltools.memo import stats
    except ImportError:
        return []
    return stats()


def snapshot(label: str, done: int, traced: bool) -> dict:
    gc.collect()
    row = {"label": label, "done": done, "rss_mb": rss_mb()}
    if traced:
        row["heap_mb"] = tracemalloc.get_traced_memory()[0] / 2**20
    row["memos"] = memo_table()
    heap = f"，Python 堆 {row['heap_mb']:.1f} MB" if traced else ""
    memos = "；".join(f"{name} {entries} 项" + (f" ≈{size / 2**20:.2f} MB" if size is not None else "")
                     for name, entries, size in row["memos"])
    print(f"  {done:>6} 份后：RSS {row['rss_mb']:.1f} MB{heap}", flush=True)
    if memos:
        print(f"          缓存：{memos}", flush=True)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=5000, help="workbooks to check (default 5000)")
    ap.add_argument("--bases", type=int, default=24, help="distinct filled workbooks the stream varies")
    ap.add_argument("--every", type=int, default=1000, help="print a snapshot every K workbooks")
    ap.add_argument("--no-office", action="store_true", help="do not re-save bases through LibreOffice")
    ap.add_argument("--tracemalloc", action="store_true", help="also trace the Python heap (slower)")
    args = ap.parse_args(argv)

    import xltools
    spec = xltools.load_spec()
    office = not args.no_office and shutil.which("soffice") is not None
    t0 = time.perf_counter()
    made = bases(args.bases, office, spec)
    print(f"基础工作簿 {len(made)} 份（{'一半经 LibreOffice 另存' if office else '均为 fill 生成'}），"
          f"用时 {time.perf_counter() - t0:.1f} s；逐份改出互不相同的 {args.n} 份，在本进程内校验：", flush=True)
    if args.tracemalloc:
        tracemalloc.start()
    rows, refused, t0 = [], 0, time.perf_counter()
    snapshot("start", 0, args.tracemalloc)
    for i in range(args.n):
        name, members = made[i % len(made)]
        report = xltools.check(variant(members, name, i), spec, name=f"wb_{i:05d}.xlsx")
        refused += report.refused is not None
        del report
        done = i + 1
        if done == 100 or done == args.n or done % args.every == 0:
            rows.append(snapshot(str(done), done, args.tracemalloc))
    elapsed = time.perf_counter() - t0
    first = next(r for r in rows if r["done"] == min(100, args.n))
    last = rows[-1]
    growth = last["rss_mb"] - first["rss_mb"]
    print(f"\n用时 {elapsed:.1f} s（每份 {elapsed / args.n * 1000:.1f} ms，含改写与压缩）；无法使用 {refused} 份")
    print(f"RSS：{first['done']} 份后 {first['rss_mb']:.1f} MB，{last['done']} 份后 {last['rss_mb']:.1f} MB，"
          f"增长 {growth:+.1f} MB（目标 ≤ {TARGET_GROWTH_MB:.0f} MB：{'PASS' if growth <= TARGET_GROWTH_MB else 'FAIL'}）")
    if args.tracemalloc:
        print(f"Python 堆：{first['heap_mb']:.1f} MB → {last['heap_mb']:.1f} MB（{last['heap_mb'] - first['heap_mb']:+.1f} MB）")
    return 0


if __name__ == "__main__":
    sys.exit(main())
