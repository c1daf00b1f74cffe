"""Peak memory and time of the package editor's writers (a benchmark, not a test; exit status 0).

    .venv/bin/python bench/editor.py [--repeat 3]

The workbook: the seed (examples/linxiang_2022.json filled) with its department sheet grown to the
biggest sheet the reader admits (ooxml.container.MAX_SHEET_XML_BYTES, 2 MB) by the smallest cells a sheet
can hold, the shape that costs a writer the most per byte.

Two kinds of figures:
- a command as a user runs it (a new `xltools` process, inside a wrapper that reports that child's
  own peak RSS): `check BIG` (read and check only) is the baseline, `check --write` and `score -o`
  beside it. The reader's own peak (about 100 MB for this sheet) hides what the writer adds;
- so each writer is also run alone in a fresh interpreter, the workbook read beforehand: the peak
  of Python's heap (tracemalloc) during the write, and the CPU seconds of the same write run again
  without tracemalloc (which slows allocation-heavy code) and with the memos emptied. `check --write` streams the
  marked sheet (a tail edit after </sheetData>); pack's values copy edits the sheet in memory.

Times: median of --repeat runs (wall for commands, CPU for writers; the machine is noisy).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))        # helpers.padded: the same big sheet the tests write

XLTOOLS = Path(sys.executable).with_name("xltools")
_MEASURE = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
    "print(json.dumps({'rc': p.returncode, 'err': p.stderr.decode('utf-8', 'replace')[-300:],"
    " 'seconds': time.perf_counter() - t,"
    " 'peak_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
)


def measured(*args) -> dict:
    done = subprocess.run([sys.executable, "-c", _MEASURE, *map(str, args)], capture_output=True, text=True)
    return json.loads(done.stdout)


_WRITERS = {
    # name: code run in a fresh interpreter; `p` the workbook, `work` a folder; the write alone is measured
    "check --write (annotate)": (
        "from xltools.checker import check_file\n"
        "from xltools.write.annotate import write_annotated\n"
        "report = check_file(p, spec)\n",
        "write_annotated(p, work / 'written.xlsx', report)\n"),
    "values copy (pack)": (
        "from xltools.read.workbook import read_workbook\n"
        "from xltools.pack.frozen import values_only\n"
        "data = p.read_bytes(); filled = read_workbook(p, spec, data)\n",
        "values_only(data, filled, spec).to_bytes()\n"),
}
_HARNESS = ("import gc, json, resource, sys, time, tracemalloc\n"
            "from pathlib import Path\n"
            "from xltools import memo\n"
            "from xltools.spec import load_spec\n"
            "spec = load_spec(); p = Path(sys.argv[1]); work = Path(sys.argv[2])\n"
            "{setup}"
            "gc.collect(); tracemalloc.start()\n"
            "{write}"
            "heap = tracemalloc.get_traced_memory()[1]; tracemalloc.stop()\n"
            "memo.clear(); gc.collect(); t = time.process_time()\n"    # timed again without tracemalloc's cost
            "{write}"
            "cpu = time.process_time() - t\n"
            "print(json.dumps({{'rc': 0, 'err': '', 'seconds': cpu, 'heap_kb': heap // 1024,"
            " 'peak_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))\n")


def writer_in_process(name: str, path: Path, work: Path) -> dict:
    setup, write = _WRITERS[name]
    code = _HARNESS.format(setup=setup, write=write)
    done = subprocess.run([sys.executable, "-c", code, str(path), str(work)], capture_output=True, text=True)
    if done.returncode:
        return {"rc": done.returncode, "err": done.stderr[-300:], "seconds": 0, "peak_kb": 0, "heap_kb": 0}
    return json.loads(done.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from helpers import padded
    from xltools.spec import load_spec
    from xltools.write.fill import fill
    from xltools.ooxml.container import MAX_SHEET_XML_BYTES
    work = Path(tempfile.mkdtemp(prefix="bench-editor-"))
    try:
        seed = fill(ROOT / "examples" / "linxiang_2022.json", work / "seed.xlsx", load_spec()).path
        big = padded(seed, work / "big.xlsx", MAX_SHEET_XML_BYTES - 1024)
        print(f"workbook: {big.stat().st_size // 1024} KB, department sheet {MAX_SHEET_XML_BYTES // 1024 - 1} KB of XML")
        runs = {
            "check (baseline)": lambda: measured(XLTOOLS, "check", big),
            "check --write": lambda: measured(XLTOOLS, "check", big, "--write", work / "written.xlsx"),
            "score -o": lambda: measured(XLTOOLS, "score", big, "-o", work / "scored.xlsx"),
            **{f"{n}, write only": (lambda n=n: writer_in_process(n, big, work)) for n in _WRITERS},
        }
        rows = {}
        for name, run in runs.items():
            got = [run() for _ in range(args.repeat)]
            bad = [g for g in got if g["rc"] not in (0, 1)]
            if bad:
                print(f"{name}: failed: {bad[0]['err']}")
                continue
            heap = max(g.get("heap_kb", 0) for g in got) / 1024
            rows[name] = (max(g["peak_kb"] for g in got) / 1024, heap, statistics.median(g["seconds"] for g in got))
        base = rows.get("check (baseline)", (1, 1, 1))
        print(f"{'run':<40}{'peak RSS MB':>12}{'x check':>9}{'heap MB':>9}{'median s':>10}")
        for name, (mb, heap, s) in rows.items():
            print(f"{name:<40}{mb:>12.1f}{mb / base[0]:>9.2f}{heap:>9.1f}{s:>10.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
