"""Speed of `xltools pack` (a benchmark, not a test; exit status always 0).

    .venv/bin/python bench/pack.py [--n 100] [--batch 25]

Targets (issue 9), per workbook, on this machine: the PDFs (three per seed workbook: the whole
report and one per report sheet, cut from one LibreOffice export) at most 0.4 s (aim 0.3), beside
`soffice --convert-to pdf` of the same workbooks in batches of --batch files per call (one PDF
each, LibreOffice started per call, as a script would do it); everything else (values-only copy,
data JSON, manifest, SHA256SUMS, zip) at most 30 ms, beside an openpyxl load-and-save of the same
workbook. Both baselines are measured in the same run.

The corpus: N copies of examples/linxiang_2022.json filled by `xltools.write.fill.fill`, each with its
own 部门(单位)名称 (so each packs into its own folder).
"""
from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xltools.office import bridge as office
from xltools.pack import run as packer
from xltools.write.fill import fill  # noqa: E402
from xltools.spec import load_spec  # noqa: E402


def corpus(folder: Path, n: int, spec) -> list[Path]:
    seed = json.loads((ROOT / "examples" / "linxiang_2022.json").read_text(encoding="utf-8"))
    books = []
    for k in range(n):
        seed["dept"]["dept_name"] = f"临湘市第{k + 1}单位"
        data = folder / f"d{k}.json"
        data.write_text(json.dumps(seed, ensure_ascii=False), encoding="utf-8")
        books.append(fill(data, folder / f"book{k:04d}.xlsx", spec, template=ROOT / "templates" / "self_eval.xlsx").path)
    return books


def timed(steps: dict[str, list[float]], name: str, fn):
    def run(*args, **kw):
        t = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            steps.setdefault(name, []).append(time.perf_counter() - t)
    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--batch", type=int, default=25)
    args = ap.parse_args()
    spec = load_spec()
    work = Path(tempfile.mkdtemp(prefix="xltools-bench-pack-"))
    try:
        books = corpus(work, args.n, spec)
        office.start()
        steps: dict[str, list[float]] = {}
        # Time each step of the packer where it is defined; the PDF maker separately from the
        # print copy it is handed.
        packer.STEPS[:] = [timed(steps, s.__name__, s) for s in packer.STEPS]
        packer.write_zip = timed(steps, "_write_zip", packer.write_zip)
        maker = timed(steps, "libreoffice", office.export_pdfs)
        packer.pack(books[:1], work / "warm", force=True, zip=True, spec=spec, pdf_maker=maker)   # warm-up
        steps.clear()
        t = time.perf_counter()
        results = packer.pack(books, work / "out", force=True, zip=True, spec=spec, pdf_maker=maker)
        total = time.perf_counter() - t
        assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
        office.shutdown()

        # Baseline 1: soffice --convert-to pdf, in batches, a fresh private profile per call.
        soffice = office.find_soffice()
        t = time.perf_counter()
        profile = work / "profile"
        for i in range(0, len(books), args.batch):
            subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
                            "--convert-to", "pdf", "--outdir", str(work / "convert"),
                            *map(str, books[i:i + args.batch])], capture_output=True, timeout=3600)
        convert = time.perf_counter() - t
        made = len(list((work / "convert").glob("*.pdf")))

        # Baseline 2: openpyxl load-and-save of each workbook.
        import openpyxl
        t = time.perf_counter()
        for b in books:
            wb = openpyxl.load_workbook(b)
            wb.save(io.BytesIO())
        openpyxl_s = time.perf_counter() - t
    finally:
        shutil.rmtree(work, ignore_errors=True)

    n = len(books)
    per = {k: sum(v) / n for k, v in steps.items()}
    pdf = per["_write_pdfs"]
    rest = sum(per[k] for k in ("_write_values_workbook", "_write_data", "_write_manifest", "_write_sums", "_write_zip"))
    print(f"xltools pack of {n} filled workbooks (seed, 2 report sheets each), --force --zip: {total:.1f} s "
          f"= {total / n * 1000:.0f} ms per workbook")
    for k, v in sorted(per.items(), key=lambda kv: -kv[1]):
        print(f"  {k:<24} {v * 1000:8.1f} ms per workbook (median {statistics.median(steps[k]) * 1000:.1f})")
    print(f"PDF (3 PDFs per workbook; print copy + one LibreOffice export, cut and pinned): {pdf * 1000:.0f} ms per workbook "
          f"[target ≤ 400, aim 300] {'PASS' if pdf <= 0.4 else 'FAIL'}")
    print(f"  baseline soffice --convert-to pdf, batches of {args.batch} (1 PDF each, {made}/{n} made): "
          f"{convert / n * 1000:.0f} ms per workbook; ratio {convert / n / pdf:.2f}x")
    print(f"everything else (values copy, JSON, manifest, SHA256SUMS, zip): {rest * 1000:.1f} ms per workbook "
          f"[target ≤ 30] {'PASS' if rest <= 0.03 else 'FAIL'}")
    print(f"  baseline openpyxl load-and-save: {openpyxl_s / n * 1000:.0f} ms per workbook; "
          f"values copy {per['_write_values_workbook'] * 1000:.1f} ms is {openpyxl_s / n / per['_write_values_workbook']:.0f}x faster")


if __name__ == "__main__":
    main()
