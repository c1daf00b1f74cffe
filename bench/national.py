"""`check` on national-form workbooks against the county form's, per workbook (a benchmark, not a test).

    .venv/bin/python bench/national.py [--n 300] [--passes 5] [--instructions]

Issue 16: bench/check.py on national-form workbooks, no slower per workbook than the 2022 form.

1. Corpus: N workbooks of specs/national_2022.toml (1-3 项目支出绩效自评表 sheets, each with its
   项目资金 rows and 9-21 indicators of every 指标性质, every figure consistent: tests/helpers.py
   national_project, as the typo tests use), filled by
   `xltools.write.fill.fill` and re-saved through LibreOffice, as bench/check.py makes its corpus of
   the county form (cached beside it, in bench/.cache/, keyed by N and the code that makes it).
   The county corpus is bench/check.py's own (the same N).
2. Same process, pinned to CPU 0: `check_file` for every workbook of each corpus, several passes,
   each corpus judged by its fastest pass (as bench/check.py); the ratio national / county per
   workbook, and per sheet and per field (the forms differ in size).
3. `--instructions`: the same comparison in instructions (valgrind cachegrind, as bench/README
   says: check_file over 60 and over 10 workbooks, the difference over 50), free of the noise of
   a shared machine.
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "tests"))
import check as county  # noqa: E402  (bench/check.py: its corpus, its timing)
from helpers import national_project  # noqa: E402  (tests/helpers.py: a consistent national form)

REPO = county.REPO
NATIONAL = REPO / "specs" / "national_2022.toml"
REGIONS = ["云南省", "安徽省", "四川省", "湖南省", "贵州省"]
UNITS = ["%", "个", "天", "万元", "人次", "项"]
PROJECTS = county.PROJECTS


def _spec():
    from xltools.spec import load_spec
    return load_spec(NATIONAL)


def make_variant(spec, i: int) -> dict:
    rng = random.Random(7_000_003 * i + 29)
    unit = f"{rng.choice(['临湘市', '丽江市', '池州市', '眉山市'])}{rng.choice(county.BUREAUS)}"
    projects = [national_project(spec, rng, rng.choice(PROJECTS) + ("" if k == 0 else f"（{k + 1}）"), unit, UNITS)
                for k in range(rng.choices((1, 2, 3), weights=(6, 3, 1))[0])]
    return {"year": spec.year, "region": rng.choice(REGIONS),
            "projects": [{k: format(v, "f") if isinstance(v, Decimal) else v for k, v in p.items()} for p in projects]}


def _fill_one(job: tuple) -> int:
    i, data, template, workdir = job
    from xltools.spec import load_spec
    from xltools.write.fill import fill
    spec = load_spec(NATIONAL, region=data["region"])
    src = Path(workdir) / f"data_{i:05d}.json"
    src.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    fill(src, Path(workdir) / "filled" / f"nat_{i:05d}.xlsx", spec)
    src.unlink()
    return i


def corpus_key(n: int) -> str:
    h = hashlib.sha256()
    for f in (national_project, make_variant, _fill_one, county._convert_chunk):
        h.update(inspect.getsource(f).encode())
    for rel in ["specs/national_2022.toml", *county.GENERATOR_INPUTS]:
        p = REPO / rel
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            h.update(f.relative_to(REPO).as_posix().encode() + f.read_bytes())
    return f"national-n{n}-{h.hexdigest()[:12]}"


def build_corpus(n: int, cache_root: Path) -> list[Path]:
    folder = cache_root / corpus_key(n)
    files = sorted((folder / "xlsx").glob("*.xlsx"))
    if len(files) == n:
        print(f"语料：复用缓存 {folder}（{n} 个工作簿）", flush=True)
        return files
    for old in cache_root.glob(f"national-n{n}-*"):
        shutil.rmtree(old, ignore_errors=True)
    cache_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-national-", dir=cache_root))
    try:
        (work / "filled").mkdir()
        spec = _spec()
        jobs = [(i, make_variant(spec, i), None, str(work)) for i in range(n)]
        workers = max(1, min(os.cpu_count() or 1, 4))
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_fill_one, jobs, chunksize=8))
        filled = sorted((work / "filled").glob("*.xlsx"))
        chunks = [filled[k::workers] for k in range(workers) if filled[k::workers]]
        print(f"  LibreOffice 另存 {n} 个工作簿……", flush=True)
        with ProcessPoolExecutor(len(chunks)) as pool:
            list(pool.map(county._convert_chunk, [(c, str(work / "xlsx")) for c in chunks]))
        folder.mkdir(parents=True)
        shutil.move(str(work / "xlsx"), folder / "xlsx")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return sorted((folder / "xlsx").glob("*.xlsx"))


def fastest(paths: list[Path], passes: int, warmup: int) -> tuple[list[float], list]:
    """The fastest of several passes of check_file over `paths` (each with the spec its
    fingerprint names, as `xltools check` reads them)."""
    from xltools.spec.registry import Registry
    specs = Registry.packaged()
    best = None
    for _ in range(max(1, passes)):
        ms, reports = county.time_checks(paths, specs, warmup)
        if best is None or statistics.fmean(ms) < statistics.fmean(best[0]):
            best = ms, reports
    return best


def sizes(reports: list, paths: list[Path]) -> tuple[float, float]:
    """Sheets and fields per workbook (report sheets read)."""
    from xltools.checker import read_any
    from xltools.spec.registry import Registry
    sheets = fields = 0
    for p in paths:
        _, filled = read_any(p, Registry.packaged())
        sheets += len(filled.read)
        fields += sum(len(i.report.fields) for i in filled.read)
    return sheets / len(paths), fields / len(paths)


INSTRUCTIONS = """
import sys
from xltools.checker import check_file
from xltools.spec.registry import Registry
specs = Registry.packaged()
for p in sys.argv[1:]:
    check_file(p, specs)
"""


def instructions(paths: list[Path]) -> float:
    """Millions of instructions a workbook: cachegrind over 60 and 10 workbooks, (60 − 10)/50."""
    def count(k: int) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "cg.out"
            subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out}",
                            sys.executable, "-c", INSTRUCTIONS, *map(str, paths[:k])],
                           check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"})
            summary = next(line for line in out.read_text().splitlines() if line.startswith("summary:"))
            return int(summary.split()[1])
    return (count(60) - count(10)) / 50 / 1e6


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="项目支出绩效自评表与 2022 年表式的 check 速度（每个工作簿）")
    ap.add_argument("--n", type=int, default=300, help="每种表式的工作簿数（默认 300）")
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--instructions", action="store_true", help="另用 cachegrind 数指令（需 valgrind）")
    args = ap.parse_args(argv)
    os.chdir(REPO)
    cache = county.DEFAULT_CACHE.resolve()
    national = build_corpus(args.n, cache)
    folder, manifest = county.build_corpus(args.n, cache, county._spec())
    county_paths = [folder / f for f in manifest["files"]]
    try:
        os.sched_setaffinity(0, {0})
    except (AttributeError, OSError):
        pass
    print(f"计时：同一进程，CPU 0，各 {args.passes} 遍取最快；系统负载 {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
          flush=True)
    rows = {}
    for name, paths in (("2022 年表式", county_paths), ("项目支出绩效自评表", national)):
        ms, reports = fastest(paths, args.passes, args.warmup)
        sheets, fields = sizes(reports, paths)
        errors = sum(any(f.severity == "error" for f in r.findings) for r in reports)
        rows[name] = (statistics.fmean(ms), statistics.median(ms), sheets, fields)
        print(f"{name}：{len(paths)} 个，平均 {rows[name][0]:.2f} ms，中位数 {rows[name][1]:.2f} ms；每个工作簿 "
              f"{sheets:.1f} 张报表、{fields:.0f} 个字段；有错误的 {errors} 个", flush=True)
    (c_mean, c_med, c_sheets, c_fields), (n_mean, n_med, n_sheets, n_fields) = rows.values()
    print(f"\n比值 项目支出绩效自评表 / 2022 年表式：每个工作簿 {n_mean / c_mean:.2f}×（中位数 {n_med / c_med:.2f}×），"
          f"每张报表 {(n_mean / n_sheets) / (c_mean / c_sheets):.2f}×，每个字段 {(n_mean / n_fields) / (c_mean / c_fields):.2f}×")
    if args.instructions and shutil.which("valgrind"):
        c_i, n_i = instructions(county_paths), instructions(national)
        print(f"指令数（cachegrind）：2022 年表式 {c_i:.1f} M，项目支出绩效自评表 {n_i:.1f} M 每个工作簿，比值 {n_i / c_i:.2f}×")
    return 0


if __name__ == "__main__":
    main()
    sys.exit(0)
