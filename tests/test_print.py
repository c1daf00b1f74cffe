"""The printout is the form: every text whole (also a 20,000-character 综述 and a text typed into one
row the old way), no colours on the page, page numbers per report, 评价类型 as ticked boxes.

Whole by construction: every row of a long text holds at most ROW_CHARS characters and is as tall
as its lines need in LibreOffice's face for 仿宋 (measured: 1.45 em), below Excel's 409 pt; then
pdftotext finds every paragraph. Colours are looked for on the rendered pages, pixel by pixel.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from conftest import unavailable
from helpers import ROOT, load_seed, write_json
from xltools.pack import run as packer
from xltools.ooxml.package import Package
from xltools.a1 import a1
from xltools.write.fill import fill
from xltools.pack.frozen import print_copy
from xltools.read.workbook import read_workbook
from xltools.spec import load_spec
from xltools.spec.layout import MAX_ROW_PT, ROW_CHARS, TEXT_LINE_PT, text_lines

TEMPLATE = ROOT / "templates" / "self_eval.xlsx"
FILLS = {(0xFF, 0xF2, 0xCC), (0xEE, 0xF3, 0xF8), (0xFF, 0xC7, 0xCE)}   # input, computed, check red


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def long_narrative(seed: dict, chars: int = 20_000) -> str:
    """The seed's 综述 paragraphs over and over, each with a number of its own, to `chars`."""
    paras = [p for p in seed["dept"]["narrative"].split("\n") if p.strip()]
    out, k = [], 0
    while sum(map(len, out)) < chars:
        out.append(f"（第{k + 1}段）{paras[k % len(paras)]}")
        k += 1
    return "\n".join(out)


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def long_book(tmp_path_factory, spec):
    seed = load_seed()
    seed["dept"]["narrative"] = long_narrative(seed)
    folder = tmp_path_factory.mktemp("long")
    out = folder / "long.xlsx"
    fill(write_json(folder / "long.json", seed), out, spec, template=TEMPLATE)
    return out, seed


@pytest.fixture(scope="module")
def long_packed(soffice, long_book, spec, tmp_path_factory):
    [r] = packer.pack([long_book[0]], tmp_path_factory.mktemp("out"), force=True, spec=spec)
    assert r.ok, r
    return r.output


def paragraphs(seed: dict) -> list[tuple[str, str, str]]:
    """(sheet, field, paragraph) of every long text of the data."""
    spec = load_spec()
    out = []
    for rep, section in ((spec.reports["dept"], seed["dept"]), (spec.reports["project"], seed["projects"][0])):
        for name in rep.runs:
            out += [(rep.sheet, name, p) for p in str(section.get(name) or "").split("\n") if p.strip()]
    return out


def assert_rows_fit(book_bytes: bytes, spec, source: Path):
    """Every row of every long text of the print copy holds text that fits it whole."""
    filled = read_workbook(source, spec)
    copy = openpyxl.load_workbook(__import__("io").BytesIO(print_copy(book_bytes, filled, spec)))
    for inst in filled.instances:
        ws, rep = copy[inst.sheet], inst.report
        for name, run in rep.runs.items():
            width = sum(spec.print.widths[run.col - 1: run.col - 1 + run.cols])
            texts = []
            for r in run.row_numbers:
                value = ws.cell(r, run.col).value
                dim = ws.row_dimensions[r]
                if value is None:
                    assert dim.hidden or not inst.values.get(name), (inst.sheet, name, r)
                    continue
                assert not dim.hidden, (inst.sheet, name, r)
                assert len(value) <= ROW_CHARS, (inst.sheet, name, r, len(value))
                assert text_lines(value, width) * TEXT_LINE_PT <= dim.height <= MAX_ROW_PT, (inst.sheet, name, r)
                texts.append(value)
            assert "\n".join(texts) == (inst.values.get(name) or ""), (inst.sheet, name)


def test_a_20000_character_narrative_is_laid_out_to_print_whole(long_packed, long_book, spec):
    book, seed = long_book
    assert len(seed["dept"]["narrative"]) >= 20_000
    values = (long_packed / f"{long_packed.name}.xlsx").read_bytes()
    assert_rows_fit(values, spec, book)


def test_every_paragraph_of_every_text_is_in_the_pdf(long_packed, long_book, pdf_text):
    _, seed = long_book
    pdfs = {"部门整体支出": long_packed / "部门整体支出.pdf", "项目支出": long_packed / "项目支出_专项资金支出.pdf"}
    texts = {sheet: squeeze(pdf_text(pdf)).replace(packer.WATERMARK, "") for sheet, pdf in pdfs.items()}
    missing = [(sheet, name, p[:20]) for sheet, name, p in paragraphs(seed)
               if squeeze(p)[:12] not in texts[sheet] or squeeze(p)[-12:] not in texts[sheet]]
    assert not missing, missing[:5]


def test_a_text_typed_into_one_row_is_read_whole_and_printed_whole(soffice, long_book, spec, tmp_path, pdf_text):
    """The old way: the whole 综述 pasted into one cell (Excel's validation does not stop a paste)."""
    book, seed = long_book
    original = load_seed()["dept"]["narrative"]
    edited = Package(book.read_bytes())
    run = spec.reports["dept"].runs["narrative"]
    sheet = edited.sheet(spec.reports["dept"].sheet)
    for k, r in enumerate(run.row_numbers):
        sheet.set(a1(r, run.col), original if k == 0 else None)
    old_way = edited.save(tmp_path / "old_way.xlsx")
    assert read_workbook(old_way, spec).first("dept").values["narrative"] == original
    [r] = packer.pack([old_way], tmp_path / "out", force=True, spec=spec)
    assert_rows_fit((r.output / f"{r.output.name}.xlsx").read_bytes(), spec, old_way)
    text = squeeze(pdf_text(r.output / "部门整体支出.pdf"))
    assert squeeze(original.split("\n")[-1])[-20:] in text      # the end of the text, 六、改进措施


def rendered_pixels(pdf: Path, dpi: int = 30):
    """(page number, bytes of its RGB pixels) of every page, rendered by pdftoppm as PPM."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        unavailable("未找到 pdftoppm（poppler-utils）")
    folder = pdf.parent / f".ppm-{pdf.stem}"
    folder.mkdir(exist_ok=True)
    subprocess.run([exe, "-r", str(dpi), str(pdf), str(folder / "p")], check=True, timeout=120)
    for page in sorted(folder.glob("p-*.ppm")):
        data = page.read_bytes()
        magic, width, height, depth, pixels = re.match(rb"(P6)\s+(\d+)\s+(\d+)\s+(\d+)\s(.*)", data, re.S).groups()
        assert int(depth) == 255
        yield int(page.stem.split("-")[1]), pixels
    shutil.rmtree(folder)


def test_printed_pages_carry_no_colour(long_packed):
    whole = long_packed / f"{long_packed.name}.pdf"
    pages = 0
    for number, pixels in rendered_pixels(whole):
        pages += 1
        rgb = {pixels[i:i + 3] for i in range(0, len(pixels), 3)}
        coloured = [p for p in rgb if max(p) - min(p) > 24]     # greys (text, lines, watermark) only
        assert not coloured, f"page {number}: colours {[p.hex() for p in coloured[:5]]}"
        assert not {bytes(f) for f in FILLS} & rgb, f"page {number} shows a fill of the template"
    assert pages >= 10


def test_page_numbers_restart_for_each_report_and_the_type_is_ticked(long_packed, pdf_text):
    pages = [squeeze(p) for p in pdf_text(long_packed / f"{long_packed.name}.pdf").split("\f")[:-1]]
    numbers = [int(re.search(r"第(\d+)页", p).group(1)) for p in pages]
    cover = next(i for i, p in enumerate(pages) if "财政支出项目绩效评价自评报告" in p)
    assert numbers == list(range(1, cover + 1)) + list(range(1, len(pages) - cover + 1))
    assert "项目实施过程评价□" in pages[cover] and "项目完成结果评价☑" in pages[cover]


def test_no_page_is_near_empty(long_packed, pdf_text):
    """Section breaks leave no page with only a heading and a small table on it (the 定性目标
    page was 85% empty): the ink reaches past the middle of every page but the covers and each
    report's last page."""
    whole = long_packed / f"{long_packed.name}.pdf"
    texts = [squeeze(p) for p in pdf_text(whole).split("\f")[:-1]]
    covers = {i for i, t in enumerate(texts) if "（制）" in t}
    ends = {i - 1 for i in covers if i} | {len(texts) - 1}
    thin = []
    for number, pixels in rendered_pixels(whole):
        width = 248                                    # A4 at 30 dpi
        height = len(pixels) // 3 // width
        body = range(int(height * 0.9))                # above the footer (第 N 页)
        inked = [y for y in body if any(pixels[(y * width + x) * 3] < 100 for x in range(0, width, 2))]
        if (inked[-1] if inked else 0) < height * 0.5 and number - 1 not in covers | ends:
            thin.append(number)
    assert not thin, f"near-empty pages: {thin}"


def test_each_report_pdf_is_its_pages_of_the_whole(long_packed, pdf_text):
    """LibreOffice exports the whole report once and the per-report PDFs are cut from it: each
    is exactly its report's pages, drawn as in the whole (pixel for pixel), in order."""
    whole = long_packed / f"{long_packed.name}.pdf"
    pages = dict(rendered_pixels(whole))
    texts = [squeeze(p) for p in pdf_text(whole).split("\f")[:-1]]
    cover = next(i for i, t in enumerate(texts) if "财政支出项目绩效评价自评报告" in t)
    parts = {"部门整体支出.pdf": range(1, cover + 1)}
    [project] = [p.name for p in long_packed.glob("项目支出_*.pdf")]
    parts[project] = range(cover + 1, len(texts) + 1)
    for name, numbers in parts.items():
        got = dict(rendered_pixels(long_packed / name))
        assert len(got) == len(numbers), name
        for k, number in enumerate(numbers, start=1):
            assert got[k] == pages[number], f"{name} page {k} differs from page {number} of the whole"


def test_libreoffice_prints_the_fills_its_black_and_white_flag_would_leave_out(soffice, long_book, tmp_path):
    """What the README says of printing straight from LibreOffice: it ignores the template's
    单色打印 (pageSetup blackAndWhite, which Excel and WPS have), so the input shading shows on
    its pages; the pack's PDF (above) carries none. Should LibreOffice start honouring the flag,
    this fails and the README's line goes."""
    pdf = soffice.to_pdf(long_book[0], tmp_path / "direct.pdf")
    shown = set()
    for _, pixels in rendered_pixels(pdf):
        shown |= {pixels[i:i + 3] for i in range(0, len(pixels), 3)} & {bytes(f) for f in FILLS}
    assert bytes((0xFF, 0xF2, 0xCC)) in shown
