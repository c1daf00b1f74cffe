"""`xltools pack`: what a unit hands in, checked as the 财政局 would: real LibreOffice PDFs read back
with pdftotext, `sha256sum -c`, a real zip, and a `fill` of the packed data.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import unavailable
from helpers import ROOT, SEED, run_cli
from xltools.ooxml.container import FIXED_TIME
from xltools.pack import run as packer
from xltools.checker import check_file
from xltools.write.fill import fill
from xltools.spec import load_spec

TEMPLATE = ROOT / "templates" / "self_eval.xlsx"


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def seed_book(tmp_path_factory, spec) -> Path:
    out = tmp_path_factory.mktemp("seed") / "linxiang.xlsx"
    fill(SEED, out, spec, template=TEMPLATE)
    return out


@pytest.fixture(scope="module")
def packed(soffice, seed_book, spec, tmp_path_factory):
    """The seed packed with --force (it has real errors) into a folder."""
    [result] = packer.pack([seed_book], tmp_path_factory.mktemp("out"), force=True, spec=spec)
    assert result.ok and result.forced, result
    return result


def test_a_workbook_with_errors_is_refused_and_nothing_is_written(seed_book, tmp_path):
    before = seed_book.read_bytes()
    done = run_cli("pack", seed_book, "-o", tmp_path / "out")
    assert done.returncode == 1, done.stderr
    assert "未打包" in done.stderr and "[错误]" in done.stderr   # the findings are shown
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert seed_book.read_bytes() == before


def test_the_folder_holds_every_report_as_pdf_and_the_rest(packed, spec):
    folder = packed.output
    assert folder.name == f"{spec.year}_临湘市民政局_绩效自评"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([f"{folder.name}.pdf", f"{folder.name}.xlsx", "部门整体支出.pdf",
                            "项目支出_专项资金支出.pdf", packer.DATA_NAME, packer.MANIFEST, packer.SUMS])
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]   # no temporary left


def test_forced_pack_stamps_every_pdf_page(packed, pdf_text):
    for pdf in packed.output.glob("*.pdf"):
        pages = pdf_text(pdf).split("\f")[:-1]
        assert pages, pdf
        unstamped = [i for i, page in enumerate(pages, 1) if packer.WATERMARK not in re.sub(r"\s", "", page)]
        assert not unstamped, f"{pdf.name}: pages {unstamped} carry no watermark"


def test_the_combined_pdf_is_the_reports_in_print_order(packed, pdf_text):
    folder = packed.output
    pages = lambda p: len(pdf_text(p).split("\f")) - 1   # noqa: E731
    whole = folder / f"{folder.name}.pdf"
    assert pages(whole) == pages(folder / "部门整体支出.pdf") + pages(folder / "项目支出_专项资金支出.pdf")
    text = re.sub(r"\s", "", pdf_text(whole))
    assert text.index("部门（单位）整体支出") < text.index("财政支出项目绩效评价自评报告")


def test_manifest_and_sha256sums_verify(packed, seed_book, spec):
    folder = packed.output
    sha256sum = shutil.which("sha256sum")
    if sha256sum is None:
        unavailable("未找到 sha256sum")
    done = subprocess.run([sha256sum, "-c", packer.SUMS], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = {line.split("  ", 1)[1] for line in (folder / packer.SUMS).read_text(encoding="utf-8").splitlines()}
    assert listed == {p.name for p in folder.iterdir()} - {packer.SUMS}
    manifest = json.loads((folder / packer.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["source"]["sha256"] == packer.sha256(seed_book.read_bytes())
    assert manifest["template_fingerprint"] == spec.fingerprint
    assert manifest["spec_sha256"] == spec.digest
    assert manifest["libreoffice_version"].startswith("LibreOffice")
    assert manifest["forced"] is True and manifest["check"]["errors"] > 0
    assert {f["code"] for f in manifest["findings"]} >= {"score-range"}
    for entry in manifest["files"]:
        data = (folder / entry["name"]).read_bytes()
        assert (entry["bytes"], entry["sha256"]) == (len(data), packer.sha256(data))
    assert {e["name"] for e in manifest["files"]} == {p.name for p in folder.iterdir()} - {packer.SUMS, packer.MANIFEST}


def test_the_data_round_trips_through_fill(packed, seed_book, spec, tmp_path):
    again = tmp_path / "again.xlsx"
    fill(packed.output / packer.DATA_NAME, again, spec, template=TEMPLATE)
    ours = [f.to_json() for f in check_file(seed_book, spec).findings]
    theirs = [f.to_json() for f in check_file(again, spec).findings]
    assert theirs == ours


def test_values_only_workbook_has_no_formula_and_the_same_values(packed, seed_book, spec):
    frozen = packed.output / f"{packed.output.name}.xlsx"
    with zipfile.ZipFile(frozen) as z:
        names = z.namelist()
        assert not any("calcChain" in n for n in names)
        for n in names:
            if n.startswith("xl/worksheets/sheet"):
                assert not re.search(rb"<f[\s>/]", z.read(n)), n
    before = openpyxl.load_workbook(seed_book, data_only=True)
    after = openpyxl.load_workbook(frozen, data_only=True)
    assert after.sheetnames == [spec.reports["dept"].sheet, spec.reports["project"].sheet]     # helper sheets left out
    for name in after.sheetnames:
        old, new = before[name], after[name]
        assert new.protection.sheet                                        # protection kept
        assert new.max_column <= spec.reports['dept'].columns                  # column I left out
        for row in old.iter_rows(max_col=spec.reports['dept'].columns):
            for cell in row:
                assert (new[cell.coordinate].value or None) == (cell.value or None), f"{name}!{cell.coordinate}"


def test_zip_is_reproducible(soffice, seed_book, tmp_path):
    # Two runs of the command, as a user packs the same workbook twice; PDF/A-2b, whose colour
    # profile LibreOffice stamps with the clock.
    made = []
    for run in ("a", "b"):
        done = run_cli("pack", seed_book, "-o", tmp_path / run, "--force", "--zip", "--pdfa")
        assert done.returncode == 1, done.stderr     # packed, with the seed's real errors
        [out] = (tmp_path / run).iterdir()
        assert out.name == "2022_临湘市民政局_绩效自评.zip"
        made.append(out.read_bytes())
    assert made[0] == made[1]
    with zipfile.ZipFile(tmp_path / "a" / out.name) as z:
        infos = z.infolist()
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)
        assert all(i.flag_bits & 0x800 and i.date_time == FIXED_TIME for i in infos)
        assert all(i.filename.startswith(out.stem + "/") for i in infos)
        assert z.testzip() is None
        for info in infos:
            if info.filename.endswith(".pdf"):
                pdf = z.read(info)
                assert b"<pdfaid:part>2</pdfaid:part>" in pdf and b"<pdfaid:conformance>B" in pdf
                # the times and the profile were edited in place: every cross-reference still lands
                xref = pdf[int(re.findall(rb"startxref\s+(\d+)", pdf)[-1]):]
                offsets = [int(o) for o in re.findall(rb"(\d{10}) \d{5} n", xref)]
                assert offsets and all(re.match(rb"\d+ 0 obj", pdf[o:o + 16]) for o in offsets), info.filename


def test_a_damaged_workbook_in_a_batch_is_reported_and_the_others_packed(soffice, seed_book, spec, tmp_path):
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(seed_book.read_bytes()[:5000])
    results = packer.pack([damaged, seed_book], tmp_path / "out", force=True, spec=spec)
    assert [r.ok for r in results] == [False, True]
    assert packer.exit_code(results) == 2
    assert "damaged.xlsx" in packer.render(results[0]) and "未打包" in packer.render(results[0])
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["2022_临湘市民政局_绩效自评"]
