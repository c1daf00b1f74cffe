"""Speed of `xltools collect` on LibreOffice-saved workbooks (a benchmark, not a test).

    .venv/bin/python bench/collect.py [--n 1000] [--keep DIR] [--baseline-n 100] [--jobs 2]

Targets (issue 10): N=1000 workbooks collected with the summary and the ledger written in at most
10 s wall on 2 cores (aim 3 s); a second run over the same files at most 1 s; beside the same job
with openpyxl as the reader, measured in the same run.

1. Corpus: bench/check.py's (the same generator and cache: N workbooks from the example, varied,
   one in ten with a deliberate error, all re-saved by LibreOffice).
2. `xltools collect CORPUS -o 汇总.xlsx --jobs J` as a clerk runs it (a fresh interpreter, a new
   SQLite ledger), wall time; then the same command again (every file already in the ledger).
3. Baseline, on the first K files (openpyxl takes ~0.4 s a workbook): the same collect in a fresh
   interpreter with the workers' report reader swapped for one over openpyxl.load_workbook
   (bench/check.py's OpenpyxlBook; workers forked so that they inherit the swap), and xltools'
   own reader on the same K files the same way; the baseline's time scaled to N is printed beside.

Scale (issue 20), with --scale N [N ...] instead of the above: a province sends about 7,000
workbooks a season. Targets: the parent process stays under 300 MB at 7,000 with time linear in N;
a rerun over unchanged files at most 0.3 s per 1,000 (files skipped by path, size and modification
time before hashing; the sha256 stays the key).

4. Corpus: bench/memory.py's 24 distinct bases (half re-saved by LibreOffice), workbook i being
   base i % 24 with its department's name made unique to i, written once; each N is a folder of
   hard links to the first N (the same bytes and times).
5. For each N, `xltools collect FOLDER -o 汇总.xlsx --jobs J` on a new SQLite ledger, then the same
   command again (nothing changed). The parent alone is measured from /proc while it runs: its
   peak resident set (VmHWM: the workers are other processes) and its own CPU seconds (utime +
   stime, last read at most 50 ms before it exits); wall time around the command.
Exit status is always 0.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
TARGET_FIRST_S, AIM_FIRST_S, TARGET_SECOND_S = 10.0, 3.0, 1.0
TARGET_PARENT_MB, TARGET_RERUN_S_PER_1000 = 300.0, 0.3


def _bench_check():
    spec = importlib.util.spec_from_file_location("bench_check", REPO / "bench" / "check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_check"] = module
    spec.loader.exec_module(module)
    return module


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _cli(args: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall, CPU seconds of the command itself: its workers are the forkserver's children, which
    it does not wait for, so they are not counted here; the in-process runs below count them)."""
    t0, c0 = time.perf_counter(), _cpu()
    done = subprocess.run([str(VENV_BIN / "xltools"), *args], capture_output=True, text=True, cwd=REPO)
    return time.perf_counter() - t0, _cpu() - c0, done


def _watched(args: list[str]) -> dict:
    """Run `xltools ARGS`: wall seconds, and the parent process's own peak RSS (MB) and CPU
    seconds, read from /proc every 50 ms until it exits."""
    tick = os.sysconf("SC_CLK_TCK")
    t0 = time.perf_counter()
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()     # not pipes: nobody reads them meanwhile
    proc = subprocess.Popen([str(VENV_BIN / "xltools"), *args], stdout=out, stderr=err, cwd=REPO)
    peak_kb, cpu = 0, 0.0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            stat = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            break
        hwm = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
        peak_kb = max(peak_kb, int(hwm[0]) if hwm else 0)
        cpu = (int(stat[11]) + int(stat[12])) / tick       # utime, stime (fields 14, 15)
        time.sleep(0.05)
    proc.wait()
    out.seek(0), err.seek(0)
    out, err = out.read(), err.read()
    return {"wall": time.perf_counter() - t0, "peak_mb": peak_kb / 1024, "cpu": cpu, "rc": proc.returncode,
            "tail": out.decode(errors="replace").strip().splitlines()[-2:], "err": err.decode(errors="replace")[-2000:]}


def _scale(ns: list[int], jobs: int) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    from memory import bases, variant                   # bench/memory.py: distinct workbooks from 24 bases
    import xltools
    spec = xltools.load_spec()
    t0 = time.perf_counter()
    made = bases(24, shutil.which("soffice") is not None, spec)
    work = Path(tempfile.mkdtemp(prefix="bench-collect-scale-"))
    try:
        every = work / "all"
        every.mkdir()
        for i in range(max(ns)):
            name, members = made[i % len(made)]
            (every / f"wb_{i:05d}.xlsx").write_bytes(variant(members, name, i))
        print(f"语料：{max(ns)} 个互不相同的工作簿（{time.perf_counter() - t0:.0f} 秒）", flush=True)
        rows = []
        for n in ns:
            folder = work / f"n{n}" / "收件"
            folder.mkdir(parents=True)
            for i in range(n):
                os.link(every / f"wb_{i:05d}.xlsx", folder / f"wb_{i:05d}.xlsx")
            args = ["collect", str(folder), "-o", str(work / f"n{n}" / "汇总.xlsx"), "--jobs", str(jobs)]
            load = os.getloadavg()[0]
            first, again = _watched(args), _watched(args)
            for label, run in (("第一次", first), ("第二次", again)):
                print(f"N={n} {label}：退出码 {run['rc']}，{run['wall']:.2f} s，主进程 CPU {run['cpu']:.2f} s，"
                      f"主进程峰值 RSS {run['peak_mb']:.0f} MB；{' / '.join(run['tail'])}", flush=True)
                if run["rc"] not in (0, 1):
                    print(run["err"])
            rows.append((n, first, again, load))
        print()
        for n, first, again, load in rows:
            print(" | ".join(str(c) for c in (
                f"N={n}", f"第一次 {first['wall']:.1f} s（每千份 {first['wall'] / n * 1000:.2f} s）",
                f"主进程峰值 {first['peak_mb']:.0f} MB（≤ {TARGET_PARENT_MB:g}：{'PASS' if first['peak_mb'] <= TARGET_PARENT_MB else 'FAIL'}）",
                f"主进程 CPU {first['cpu']:.1f} s",
                f"重跑 {again['wall']:.2f} s（主进程 CPU {again['cpu']:.2f} s，峰值 {again['peak_mb']:.0f} MB）",
                f"计时前负载 {load:.2f}")))
        if len(rows) > 1:
            (n0, f0, a0, _), (n1, f1, a1, _) = rows[0], rows[-1]
            per = (a1["wall"] - a0["wall"]) / (n1 - n0) * 1000
            print(f"重跑每增加 1000 份：{per:.2f} s 墙钟，{(a1['cpu'] - a0['cpu']) / (n1 - n0) * 1000:.2f} s 主进程 CPU"
                  f"（≤ {TARGET_RERUN_S_PER_1000:g} s：{'PASS' if per <= TARGET_RERUN_S_PER_1000 else 'FAIL'}）；"
                  f"第一次每千份 {f0['wall'] / n0 * 1000:.2f} s → {f1['wall'] / n1 * 1000:.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _inner(reader: str, files_list: str, out: str, jobs: int) -> None:
    """In a fresh interpreter: collect the listed files with `reader` ("xltools" or "openpyxl")."""
    from xltools.collect import worker as collect_worker
    from xltools.collect.run import collect
    collect_worker.START_METHOD = "fork"
    if reader == "openpyxl":
        import openpyxl  # noqa: F401  (imported before the workers fork, as the parent's reader would be)
        import xltools.read.workbook as read
        read.open_book = _bench_check().OpenpyxlBook
    paths = Path(files_list).read_text(encoding="utf-8").splitlines()
    t0 = time.perf_counter()
    outcome = collect(paths, out, jobs=jobs, timeout=600, progress=False)
    wall = time.perf_counter() - t0
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime    # forked workers, reaped: counted
    print(json.dumps({"wall": wall, "cpu": cpu, "n": len(outcome.results), "ok": sum(r["ok"] for r in outcome.results),
                      "refused": sum(bool(r.get("refused")) for r in outcome.results),
                      "findings": sorted((Path(r["file"]).name, f["code"], f["cell"]) for r in outcome.results
                                         for f in r["findings"])}))


def _in_process(reader: str, paths: list[Path], work: Path, jobs: int) -> dict:
    folder = work / reader
    folder.mkdir()
    listing = folder / "files.txt"
    listing.write_text("\n".join(map(str, paths)), encoding="utf-8")
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--inner", reader, str(listing), str(folder / "汇总.xlsx"),
                           str(jobs)], capture_output=True, text=True, cwd=REPO)
    total = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{reader} 基线运行失败：\n{done.stderr[-2000:]}")
    doc = json.loads(done.stdout.strip().splitlines()[-1])
    doc["process"] = total
    return doc


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--keep", help="语料目录（默认 bench/.cache/，与 bench/check.py 共用）")
    p.add_argument("--baseline-n", type=int, default=100, help="openpyxl 基线只测前 K 个（约 0.4 秒一个），按比例折算")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--scale", type=int, nargs="+", help="只测规模：这些 N（如 1000 3000 7000）的主进程内存与重跑时间")
    p.add_argument("--inner", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.scale:
        print(f"机器：{os.cpu_count()} 核，开始时负载 {os.getloadavg()[0]:.2f}", flush=True)
        _scale(sorted(args.scale), args.jobs)
        return 0
    if args.inner:
        reader, listing, out, jobs = args.inner
        _inner(reader, listing, out, int(jobs))
        return 0

    bc = _bench_check()
    spec = bc._spec()
    print(f"机器：{os.cpu_count()} 核，开始时负载 {os.getloadavg()[0]:.2f}", flush=True)
    folder, manifest = bc.build_corpus(args.n, Path(args.keep) if args.keep else bc.DEFAULT_CACHE, spec)
    paths = sorted(folder.glob("*.xlsx"))
    work = Path(tempfile.mkdtemp(prefix="bench-collect-"))
    try:
        out = work / "cli" / "汇总.xlsx"
        load = os.getloadavg()[0]
        first, cpu1, done1 = _cli(["collect", str(folder), "-o", str(out), "--jobs", str(args.jobs)])
        second, cpu2, done2 = _cli(["collect", str(folder), "-o", str(out), "--jobs", str(args.jobs)])
        for label, done in (("第一次", done1), ("第二次", done2)):
            tail = done.stdout.strip().splitlines()[-3:] if done.stdout else []
            print(f"{label}：退出码 {done.returncode}；{' / '.join(tail)}", flush=True)
            if done.returncode not in (0, 1):
                print(done.stderr[-2000:])
        k = min(args.baseline_n, len(paths))
        ours = _in_process("xltools", paths[:k], work, args.jobs)
        base = _in_process("openpyxl", paths[:k], work, args.jobs)
        same = ours["findings"] == base["findings"]
        scaled = base["wall"] * len(paths) / k
        rows = [
            (f"第一次 collect {len(paths)} 个（CLI，含汇总表与台账）", f"{first:.2f} s",
             f"≤ {TARGET_FIRST_S:g} s（争取 {AIM_FIRST_S:g} s）", "PASS" if first <= TARGET_FIRST_S else "FAIL"),
            ("第二次 collect（全部已收录）", f"{second:.2f} s", f"≤ {TARGET_SECOND_S:g} s",
             "PASS" if second <= TARGET_SECOND_S else "FAIL"),
            (f"前 {k} 个：xltools 读取器（collect 内计时）", f"{ours['wall']:.2f} s", "", ""),
            (f"前 {k} 个：openpyxl 读取器（collect 内计时）", f"{base['wall']:.2f} s",
             f"折算 {len(paths)} 个 {scaled:.1f} s", ""),
            ("比值 openpyxl/xltools（前 K 个）", f"{base['wall'] / ours['wall']:.1f}×", "", ""),
            (f"前 {k} 个：CPU 秒（含工作进程）xltools / openpyxl", f"{ours['cpu']:.2f} / {base['cpu']:.2f}",
             f"比值 {base['cpu'] / ours['cpu']:.1f}×", ""),
            ("主进程 CPU 秒（不含工作进程）：第一次 / 第二次", f"{cpu1:.2f} / {cpu2:.2f}", f"计时前负载 {load:.2f}", ""),
            ("两种读取器的发现一致", "是" if same else "否", "", "PASS" if same else "FAIL"),
        ]
        print()
        for r in rows:
            print(" | ".join(bc._pad(c, w) for c, w in zip(r, (44, 10, 28, 4))))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
