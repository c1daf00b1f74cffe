"""The blank template printed to PDF by LibreOffice, one report sheet at a time: the seed's
headings in order, Chinese in a CJK font, every page A4 portrait with the whole width on it.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from html import unescape
from pathlib import Path

import pytest

from conftest import unavailable
from xltools.build.workbook import template_bytes
from xltools.spec import DEFAULT_SPEC, load_spec

HEADINGS = {
    "部门整体支出": ["一、部门（单位）基本概况", "二、部门（单位）收支情况", "年度收入情况（万元）",
                 "三、部门（单位）整体支出绩效自评情况", "绩效自评综合得分", "评价等次", "四、评价人员",
                 "五、评价报告综述（文字部分）"],
    "项目支出": ["财政支出项目绩效评价自评报告", "一、项 目 基 本 概 况", "二、项目支出明细情况", "三、项目绩效自评情况",
             "四、评价人员", "五、评价报告综述（文字部分）"],
}
# The title of the other report: it must not be in this sheet's PDF.
OTHER_TITLE = {"部门整体支出": "财政支出项目绩效评价自评报告", "项目支出": "整体支出绩效评价自评报告"}
CJK_FONT = re.compile(r"CJK|Song|Fang|Hei|Ming|SimSun|FangSong|WenQuanYi", re.I)


def poppler(tool: str, *args: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        unavailable(f"未找到 {tool}（poppler-utils）")
    return subprocess.run([exe, *args], check=True, capture_output=True, text=True, timeout=60).stdout


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def pdfs(soffice, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pdf")
    src = folder / "template.xlsx"
    src.write_bytes(template_bytes(load_spec()))
    return {sheet: soffice.to_pdf(src, folder / f"{sheet}.pdf", sheet=sheet) for sheet in HEADINGS}


@pytest.mark.parametrize("sheet", HEADINGS)
def test_pdf_holds_the_headings_in_order(pdfs, pdf_text, sheet):
    text = squeeze(pdf_text(pdfs[sheet]))       # pdftotext may collapse or widen spacing
    at = 0
    for heading in HEADINGS[sheet]:
        found = text.find(squeeze(heading), at)
        assert found >= 0, f"{heading!r} missing, or out of order, in the PDF of {sheet}"
        at = found + len(squeeze(heading))


@pytest.mark.parametrize("sheet", HEADINGS)
def test_pdf_holds_only_its_own_report(pdfs, pdf_text, sheet):
    text = squeeze(pdf_text(pdfs[sheet]))
    assert squeeze(OTHER_TITLE[sheet]) not in text
    assert text.count("五、评价报告综述（文字部分）") == 1


@pytest.mark.parametrize("sheet", HEADINGS)
def test_pdf_chinese_is_in_an_embedded_cjk_font(pdfs, sheet):
    rows = poppler("pdffonts", str(pdfs[sheet])).splitlines()[2:]
    cjk = [r for r in rows if CJK_FONT.search(r.split()[0])]
    assert cjk, f"no CJK font in the PDF of {sheet}:\n" + "\n".join(rows)
    for row in cjk:
        emb = row.split()[-5]                   # name type [encoding words] emb sub uni object ID
        assert emb == "yes", row


def page_boxes(pdf: Path) -> list[tuple[float, float, list[tuple[float, float, str]]]]:
    """[(page width, page height, [(word xMin, word xMax, word)])] from pdftotext -bbox-layout."""
    html = poppler("pdftotext", "-bbox-layout", str(pdf), "-")
    pages = []
    for page in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S):
        words = [(float(a), float(b), unescape(w)) for a, b, w in
                 re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>',
                            page.group(3))]
        pages.append((float(page.group(1)), float(page.group(2)), words))
    return pages


def indicator_header(sheet: str) -> list[str]:
    report = next(r for r in tomllib.loads(DEFAULT_SPEC.read_text(encoding="utf-8"))["reports"] if r["sheet"] == sheet)
    return next(b["header"] for b in report["blocks"] if b["kind"] == "indicators")


@pytest.mark.parametrize("sheet", HEADINGS)
def test_pdf_pages_are_a4_portrait_with_the_whole_width_on_the_page(pdfs, pdf_text, sheet):
    pages = page_boxes(pdfs[sheet])
    assert pages
    for number, (width, height, words) in enumerate(pages, start=1):
        assert (round(width), round(height)) == (595, 842), f"page {number} is not A4 portrait"
        outside = [w for w in words if w[0] < 0 or w[1] > width]
        assert not outside, f"page {number} of {sheet}: text beyond the page edge {outside[:5]}"
    # The widest table, the indicator table (columns A–H), prints its header on one line of one
    # page: a sheet split across pages sideways would put its right-hand columns on another page.
    header = indicator_header(sheet)
    lines = [squeeze(line) for line in pdf_text(pdfs[sheet]).splitlines()]
    assert any(squeeze("".join(header)) in line for line in lines), \
        f"the indicator header {header} is not on one line of the PDF of {sheet}"
