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
    p.add_argument("--inner", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
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
            (f"第二次 collect（全部已收录）", f"{second:.2f} s", f"≤ {TARGET_SECOND_S:g} s",
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
