"""A season as the bureau clerk runs it and the director reads it (issue 18, points 6, 7 and 9).

The demo's inbox (make demo: 民政局 twice, 教育局, a GBK zip, a damaged upload, an Excel owner
file) plus a data file that states its scores, collected with a roster as a clerk would from a
terminal. What the clerk reads on the terminal, what the director reads in 汇总.xlsx (read back,
printed to PDF by LibreOffice and every page rendered), and the letters sent back, each checked
as they see them. The rendered pages are kept in tests/artifacts/summary/ for a person to look at.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from helpers import ROOT, XLTOOLS
from test_check_seed import corrected_seed
from test_collect import demo
from xltools.catalogue import code_title
from xltools.spec import load_spec

PAGES = Path(os.environ.get("XLTOOLS_ARTIFACTS") or ROOT / "tests" / "artifacts") / "summary"
SHEETS = ["汇总", "项目支出汇总", "问题清单", "退回意见", "未报送", "等次分布", "与上年比较"]
DAMAGED = "损坏的报表.xlsx"


def run(*args, cwd=ROOT):
    return subprocess.run([str(XLTOOLS), *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def season(tmp_path_factory):
    base = tmp_path_factory.mktemp("season")
    inbox = base / "收件"
    assert demo.main(str(inbox)) == 0
    stated = demo.renamed(corrected_seed(), "临湘市交通运输局")       # a data file states its scores
    (inbox / "交通运输局.json").write_text(json.dumps(stated, ensure_ascii=False), encoding="utf-8")
    roster = base / "单位名单.csv"
    roster.write_text("单位\n临湘市民政局\n临湘市教育局\n临湘市财政局\n临湘市水利局\n临湘市交通运输局\n", encoding="utf-8")
    out = base / "汇总" / "汇总.xlsx"
    first = run("collect", inbox, "-o", out, "--roster", roster)
    again = run("collect", inbox, "-o", out, "--roster", roster)
    return {"base": base, "inbox": inbox, "out": out, "first": first, "again": again, "roster": roster,
            "book": openpyxl.load_workbook(out), "values": openpyxl.load_workbook(out, data_only=True)}


# --- the terminal ------------------------------------------------------------------------------------
def test_each_line_names_the_file_then_who_then_what(season):
    done = season["first"]
    assert done.returncode == 2, done.stderr                 # a new damaged file in this run
    lines = done.stdout.splitlines()
    education = next(line for line in lines if "教育局2022年度绩效自评.xlsx" in line)
    assert re.fullmatch(r".*教育局2022年度绩效自评\.xlsx：临湘市教育局 2022年度第 1 版，有错误（错误 \d+ 处，提示 \d+ 处）",
                        education), education
    damaged = next(line for line in lines if DAMAGED in line)
    assert "：无法使用（damaged）：" in damaged


def test_the_totals_say_where_the_ledger_is_and_who_has_not_reported(season):
    lines = season["first"].stdout.splitlines()
    assert f"台账：{season['out'].with_suffix('.db')}" in lines               # a file, not sqlite:////…
    assert not [line for line in lines if "sqlite:" in line]
    assert "单位名单 5 个单位，尚未报送 2 个（见汇总表“未报送”）。" in lines       # 财政局 and 水利局
    assert f"汇总表：{season['out']}" in lines


def test_a_rerun_over_the_same_inbox_exits_0(season, tmp_path):
    """The damaged file was reported (and answered by a letter) by the run that recorded it; it
    is still in the folder, as nothing a unit sent is deleted. A rerun reports nothing new:
    exit 0, the totals still counting it. A new damaged file is news again: exit 2."""
    again = season["again"]
    assert again.returncode == 0, again.stdout + again.stderr
    assert "本次校验 0 份" in again.stdout and "无法使用 1" in again.stdout
    assert all("已收录，未重新校验" in line for line in again.stdout.splitlines() if "：" in line and "收件" in line)
    late = season["inbox"] / "迟到的损坏文件.xlsx"
    late.write_bytes(b"PK\x03\x04 cut off")
    try:
        done = run("collect", season["inbox"], "-o", tmp_path / "汇总.xlsx", "--db",
                   f"sqlite:///{season['out'].with_suffix('.db')}")
        assert done.returncode == 2 and "本次校验 1 份" in done.stdout
    finally:
        late.unlink()


def test_history_matches_part_of_a_name_and_shows_local_times(season):
    done = run("collect", "--history", "民政", "-o", season["out"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("临湘市民政局：共 2 版报送")
    mtime = (season["inbox"] / "民政局" / "临湘市民政局2022年度绩效自评.xlsx").stat().st_mtime
    assert f"收到于 {datetime.fromtimestamp(mtime).strftime('%Y-%m-%d %H:%M')}" in done.stdout   # the clerk's clock
    assert "+00:00" not in done.stdout and "T" not in re.findall(r"收到于 (\S+ \S+)", done.stdout)[0]


def test_history_lists_the_candidates_or_the_closest_names(season):
    several = run("collect", "--history", "临湘市", "-o", season["out"])
    assert several.returncode == 2 and several.stderr.count("\n") == 1
    assert "名称含“临湘市”的单位有 4 个" in several.stderr and "临湘市教育局" in several.stderr
    none = run("collect", "--history", "临湘市公安局", "-o", season["out"])
    assert none.returncode == 2 and none.stderr.count("\n") == 1
    assert "没有名称含“临湘市公安局”的单位" in none.stderr and "名称相近的有：" in none.stderr


def test_outputs_never_land_on_inputs(season, tmp_path):
    inbox = season["inbox"]
    target = inbox / "民政局" / "临湘市民政局2022年度绩效自评.xlsx"
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    for args in (["-o", target], ["-o", inbox / "新汇总.xlsx"],
                 ["-o", tmp_path / "汇总.xlsx", "--db", f"sqlite:///{inbox / '台账.db'}"]):
        done = run("collect", inbox, *args)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert "不能写进收件的文件夹" in done.stderr and "Traceback" not in done.stderr
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before
    assert not (inbox / "新汇总.xlsx").exists() and not (inbox / "台账.db").exists()
    assert not (tmp_path / "汇总.xlsx").exists()
    # the file itself given as the input: its own path refused as the output
    done = run("collect", target, "-o", target)
    assert done.returncode == 2 and "就是输入的文件" in done.stderr
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before


# --- the workbook, read back ---------------------------------------------------------------------------
def test_sheets_titles_and_frozen_panes(season):
    wb = season["book"]
    assert wb.sheetnames == SHEETS
    for ws in wb:
        title = ws["A1"]
        assert title.value and title.font.sz >= 14
        assert ws.row_dimensions[1].height >= title.font.sz * 1.5        # the title is not clipped
        assert any(str(m).startswith("A1:") for m in ws.merged_cells.ranges)
    assert wb["汇总"].freeze_panes == "B4"                  # 单位 stays when scrolling right
    assert wb["项目支出汇总"].freeze_panes == "C4"            # 单位 and 项目名称
    assert wb["问题清单"].freeze_panes == "B4" and wb["退回意见"].freeze_panes == "B4"
    assert wb["汇总"]["A3"].value == "单位" and wb["项目支出汇总"]["A3"].value == "单位"


def test_each_table_has_its_own_widths_and_headers_above_the_filter_buttons(season):
    wb = season["book"]
    widths = {ws.title: [ws.column_dimensions[c].width for c in "ABCDEF"] for ws in wb}
    assert len({tuple(w) for w in widths.values()}) == len(SHEETS)
    for ws in wb:
        if ws.title == "等次分布":
            continue
        header = [c for c in ws[3] if c.value]
        assert all(c.alignment.wrap_text and c.alignment.vertical == "top" for c in header)
        # one line more than the texts need: the button sits below them
        assert ws.row_dimensions[3].height >= 2 * 16


def test_codes_are_shown_by_their_titles(season):
    wb = season["values"]
    findings = wb["问题清单"]
    header = [c.value for c in findings[3]]
    assert header[-1] == "代码" and header[3] == "问题"
    rows = [[c.value for c in row] for row in findings.iter_rows(min_row=4) if row[0].value]
    assert rows and all(r[3] == code_title(r[-1], [load_spec()]) and r[3] != r[-1] for r in rows)
    assert findings.column_dimensions["M"].width <= 14           # the code: a narrow last column
    grades = wb["等次分布"]
    head = next(r for r in range(4, grades.max_row + 1) if grades.cell(r, 1).value == "问题")
    titles = [grades.cell(r, 1).value for r in range(head + 1, grades.max_row + 1) if grades.cell(r, 3).value]
    assert titles and not [t for t in titles if re.fullmatch(r"[a-z-]+", t)]
    assert "损坏或不完整" in titles


def test_the_stated_scores_where_the_report_gives_them(season):
    ws = season["values"]["汇总"]
    header = [c.value for c in ws[3]]
    rows = {ws.cell(r, 1).value: ws.cell(r, header.index("填报得分") + 1).value for r in range(4, ws.max_row + 1)}
    assert rows["临湘市交通运输局"] == 97                       # the data file states 97


def test_the_missing_sheet_names_no_command_line_flag(season, tmp_path):
    texts = [c.value for row in season["values"]["未报送"].iter_rows() for c in row if isinstance(c.value, str)]
    assert ("临湘市财政局" in texts and "临湘市水利局" in texts) and not [t for t in texts if "--" in t]
    out = tmp_path / "无名单.xlsx"
    assert run("collect", season["inbox"], "-o", out).returncode in (0, 2)
    texts = [c.value for row in openpyxl.load_workbook(out)["未报送"].iter_rows() for c in row if isinstance(c.value, str)]
    assert "未提供单位名单" in texts[1] and not [t for t in texts if "--" in t or "roster" in t]


# --- the letters -----------------------------------------------------------------------------------------
def _letters(season) -> dict[str, str]:
    """Unit -> its letter, whole over the rows it takes."""
    ws = season["values"]["退回意见"]
    column = [c.value for c in ws[3]].index("退回意见（可直接复制发送）") + 1
    out: dict[str, str] = {}
    for r in range(4, ws.max_row + 1):
        unit = (ws.cell(r, 1).value or "").removesuffix("（续）")
        if unit:
            out[unit] = out[unit] + "\n" + ws.cell(r, column).value if unit in out else ws.cell(r, column).value
    return out


def test_letters_are_addressed_and_signed_by_the_bureau(season):
    letters = _letters(season)
    assert set(letters) == {"（未能识别）", "临湘市教育局"}           # 民政局 and 卫生健康局 pass (修改后, corrected)
    for unit, text in letters.items():
        lines = text.split("\n")
        assert lines[-1] == "临湘市财政局", unit
        assert lines[0] == (f"报送文件“{DAMAGED}”的单位：" if unit == "（未能识别）" else f"{unit}：")


def test_letters_cite_places_in_words_and_state_differences_in_words(season):
    for unit, text in _letters(season).items():
        assert str(season["base"]) not in text and "/" not in text, unit          # no path
        assert not re.search(r"[^\s：]+![A-Z]{1,3}\d+", text), unit                # no 部门整体支出!A136
        assert not re.search(r"[（(][（(]|[）)][）)]", text), unit                 # no doubled brackets
        assert not re.search(r"差额\s*-|-\d", text), unit                        # no signed difference
    education = _letters(season)["临湘市教育局"]
    assert re.search(r"\n1\. 部门整体支出表第 \d+ 行“[^”]+”栏：", education)
    # (the demo's 教育局 is the corrected seed with one figure changed: its three findings are the
    # narrative's quotes against 人员支出, which state no difference; 多/少 in words:
    # tests/test_injection.py's letter on the seed)


# --- the printed summary -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def printed(soffice, season, tmp_path_factory):
    """The summary printed by LibreOffice (the whole workbook, and 等次分布 alone), every page
    rendered at 80 dpi and kept for a person to look at."""
    if shutil.which("pdftoppm") is None:
        from conftest import unavailable
        unavailable("未找到 pdftoppm（poppler-utils）")
    folder = tmp_path_factory.mktemp("printed")
    whole = soffice.to_pdf(season["out"], folder / "汇总.pdf")
    grades = soffice.to_pdf(season["out"], folder / "等次分布.pdf", sheet="等次分布")
    shutil.rmtree(PAGES, ignore_errors=True)
    PAGES.mkdir(parents=True)
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(whole), str(PAGES / "汇总")], check=True, timeout=120)
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(grades), str(PAGES / "等次分布")], check=True, timeout=120)
    return {"whole": whole, "grades": grades, "pages": sorted(PAGES.glob("汇总-*.png")),
            "grade_pages": sorted(PAGES.glob("等次分布-*.png"))}


def _page_sizes(pdf: Path) -> list[tuple[float, float]]:
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    return [tuple(map(float, m)) for m in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)]


def test_every_page_is_a4_landscape(printed):
    sizes = _page_sizes(printed["whole"])
    assert len(sizes) == len(printed["pages"]) >= len(SHEETS)
    assert all(abs(w - 842) < 2 and abs(h - 595) < 2 for w, h in sizes)


def test_the_print_is_legible(printed):
    """The body text on paper: at least 8 pt (fitted to the width, 11 pt shrinks; tiny print
    would be the whole table squeezed onto one page)."""
    xml = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(printed["whole"]), "-"],
                         capture_output=True, text=True, check=True).stdout
    words = [(w, float(y1) - float(y0)) for y0, y1, w in
             re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]+)</word>', xml)]
    heights = [h for w, h in words if w.startswith("临湘市")]
    assert heights and min(heights) >= 8.0, heights


def test_the_charts_print_inside_one_page(printed):
    """等次分布 prints on one page, both charts whole on it: the bars are drawn (the chart's
    blue), and nothing is drawn in the page's margins, where a cut-off chart would run."""
    from PIL import Image
    assert len(printed["grade_pages"]) == 1
    image = Image.open(printed["grade_pages"][0]).convert("RGB")
    w, h = image.size
    pixels = image.load()
    blue = sum(1 for x in range(0, w, 2) for y in range(0, h, 2)
               if pixels[x, y][2] > 150 and pixels[x, y][0] < 120 and pixels[x, y][1] < 160)
    assert blue > 200                                    # the bars of both charts
    margin = int(0.04 * h)                               # the page's own margins are ~1.3 cm
    bands = [(x, y) for y in range(h) for x in (*range(margin), *range(w - margin, w))]
    bands += [(x, y) for y in range(margin) for x in range(w)]      # (the footer is at the bottom)
    assert [p for p in bands if sum(pixels[p]) < 600] == []
