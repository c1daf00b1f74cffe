"""`xltools serve` in a real Chromium, as the people who use it: the season from roster to summary.

One server process (as `xltools serve` starts it), three browser contexts (the admin, a unit's
accountant, a staff member), 1366×768. Screenshots of each page are saved under
tests/artifacts/serve/ (set XLTOOLS_ARTIFACTS to put them elsewhere) for a person to look at.
A second unit does the core flow with JavaScript off; the result page is checked in print media.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

import xltools

from conftest import unavailable
from helpers import ROOT, XLTOOLS
from serve_kit import UNIT, Server, book, corrected, example_books, renamed

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--lang=zh-CN"]   # (the file input speaks the UI language)
VIEW = {"width": 1366, "height": 768}
SHOTS = Path(os.environ.get("XLTOOLS_ARTIFACTS") or ROOT / "tests" / "artifacts") / "serve"
OTHER = "临湘市教育局"


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        unavailable("未找到 Chromium（Debian 软件包 chromium；make setup 以 root 运行时安装）")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("未安装 Playwright（pip install -e '.[dev]'）")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, soffice):
    folder = tmp_path_factory.mktemp("site")
    books = example_books(folder)
    books["other"] = book(renamed(corrected(), OTHER), folder / "教育局.xlsx")
    done = subprocess.run([str(XLTOOLS), "serve", "--data", str(folder / "data"), "--init"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    password = re.search(r"一次性密码：(\S+)", done.stdout).group(1)
    roster = folder / "单位名单.csv"
    roster.write_text(f"单位名称\n{UNIT}\n{OTHER}\n临湘市水利局\n", encoding="utf-8")
    server = Server(folder / "data").start()
    yield {"server": server, "url": server.url, "admin_password": password, "roster": roster, **books,
           "folder": folder}
    server.stop()


@pytest.fixture(scope="module", autouse=True)
def shots():
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)


def shot(page, name: str, full: bool = True) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def new_page(browser, site, js: bool = True):
    context = browser.new_context(viewport=VIEW, base_url=site["url"], java_script_enabled=js, accept_downloads=True,
                                  locale="zh-CN")
    return context.new_page()


def links_on(page) -> dict[str, str]:
    rows = page.locator("table.links tbody tr")
    return {rows.nth(i).locator("td").nth(0).inner_text(): rows.nth(i).locator("code").inner_text()
            for i in range(rows.count())}


def test_the_season_in_a_browser(browser, site):
    # -- the admin: one-time password, then the roster --------------------------------------------
    admin = new_page(browser, site)
    admin.goto("/login")
    shot(admin, "01_登录")
    admin.fill("input[name=login]", "admin")
    admin.fill("input[name=password]", site["admin_password"])
    admin.click("button.primary")
    assert admin.url.endswith("/password")                      # a one-time password must be changed
    admin.fill("input[name=old]", site["admin_password"])
    admin.fill("input[name=new]", "管理员的新密码1")
    admin.fill("input[name=again]", "管理员的新密码1")
    admin.click("button.primary")
    admin.goto("/admin")
    admin.set_input_files("input[name=roster]", str(site["roster"]))
    admin.click("form[action='/admin/roster'] button")
    shot(admin, "02_导入名单_一次性链接")
    unit_links = links_on(admin)
    assert set(unit_links) == {UNIT, OTHER, "临湘市水利局"}
    admin.goto("/admin")
    admin.fill("input[name=login]", "审核员")
    admin.click("form[action='/admin'] button.primary")
    staff_link = links_on(admin)["审核员"]
    admin.goto("/admin")
    shot(admin, "03_账号与名单")

    # -- the unit: set the password, download the template, upload the example with errors --------
    unit = new_page(browser, site)
    unit.goto(unit_links[UNIT])
    unit.fill("input[name=new]", "民政局密码2022")
    unit.fill("input[name=again]", "民政局密码2022")
    unit.click("button.primary")
    assert unit.url.endswith("/unit")
    with unit.expect_download() as got:
        unit.click("nav >> text=下载模板")
    template = workbook(got)
    assert "部门整体支出" in template.sheetnames
    shot(unit, "04_单位首页")
    unit.set_input_files("input[type=file]", str(site["bad"]))
    unit.click("button.primary")
    assert re.search(r"/s/\d+$", unit.url)
    first = unit.url
    shot(unit, "05_校验结果_有错误")
    shot(unit, "05b_校验结果_首屏", full=False)
    report = xltools.check(site["bad"])                         # what the checker says of the same file
    wrong = [f for f in report.findings if f.severity == "error"]
    assert unit.locator(".finding.error").count() == len(wrong) > 0
    assert unit.locator(".finding.warning").count() == len(report.findings) - len(wrong)
    for f in wrong:                                              # each at its cell, highlighted in the user's sheet
        card = unit.locator(".finding.error", has_text=f.message).first
        assert f"{f.sheet}!{f.cell}" in card.inner_text()
        assert card.locator("td.hit.error").count() == 1
    text = unit.locator("article.result").inner_text()
    for word in ("部门整体支出!", "应为", "实为", "建议"):
        assert word in text
    assert unit.locator(".submit-box button[disabled]").count() == 1      # 强制: no submitting with errors
    with unit.expect_download() as got:
        unit.click("text=标出错误单元格的工作簿")
    marked = workbook(got)
    assert "校验结果" in marked.sheetnames
    assert marked["校验结果"].max_row >= 5

    # -- the corrected version, dropped on the upload form; warnings explained; submitted ----------
    unit.goto("/unit")
    drop_file(unit, ".dropzone", site["good"])
    assert "已选择" in unit.locator(".droptext").inner_text()
    unit.click("button.primary")
    second = unit.url
    assert second != first and unit.locator(".finding.error").count() == 0
    warnings = unit.locator("label.explain input")
    assert warnings.count() >= 1
    unit.click("text=生成报送包")
    unit.wait_for_selector("text=下载报送包", timeout=120_000)   # the page refreshes itself while queued
    shot(unit, "06_报送包")
    with unit.expect_download() as got:
        unit.click("text=下载报送包")
    names = zipfile.ZipFile(io.BytesIO(Path(got.value.path()).read_bytes())).namelist()
    assert any(n.endswith(".pdf") for n in names) and any(n.endswith("manifest.json") for n in names)
    pdf = unit.request.get(second + "/pack?pdf=1")
    assert pdf.ok and pdf.body().startswith(b"%PDF") and "application/pdf" in pdf.headers["content-type"]
    unit.goto(second)
    unit.click(".submit-box button.primary")                     # an explanation is required per warning
    assert unit.locator(".submit-box .ok").count() == 0
    for i in range(warnings.count()):
        warnings.nth(i).fill(f"经核实，第{i + 1}项数据与账面一致")
    shot(unit, "07_填写核实说明")
    unit.click(".submit-box button.primary")
    assert "已提交" in unit.locator(".flash").inner_text()

    # -- staff: the season, return with an opinion --------------------------------------------------
    staff = new_page(browser, site)
    staff.goto(staff_link)
    staff.fill("input[name=new]", "审核员的密码22")
    staff.fill("input[name=again]", "审核员的密码22")
    staff.click("button.primary")
    assert staff.url.endswith("/season")
    shot(staff, "08_本期报送")
    row = staff.locator("table.season tr", has_text=UNIT)
    assert "待接收" in row.inner_text()
    row.locator("text=退回…").click()
    opinion = staff.locator("textarea[name=opinion]")
    assert "核实" in opinion.input_value() and "经核实，第1项数据与账面一致" in opinion.input_value()
    opinion.fill(opinion.input_value() + "\n另：请补充项目绩效目标的佐证材料。")
    shot(staff, "09_退回意见")
    staff.click("button.danger")
    staff.goto("/season")
    assert "已退回" in staff.locator("table.season tr", has_text=UNIT).inner_text()

    # -- the unit sees it and resubmits -------------------------------------------------------------
    unit.goto("/unit")
    assert "请补充项目绩效目标的佐证材料" in unit.locator(".decision.return").first.inner_text()
    shot(unit, "10_单位看到退回意见")
    unit.goto(second)
    unit.locator("label.explain input").first.fill("已补充佐证材料，数据经复核无误")
    unit.click(".submit-box button.primary")
    assert "已提交" in unit.locator(".flash").inner_text()

    # -- staff accept (one click on the season page) and download 汇总.xlsx ------------------------
    staff.goto("/season?status=waiting")
    staff.locator("table.season tr", has_text=UNIT).locator("button:has-text('接收')").click()
    assert "已接收" in staff.locator("table.season tr", has_text=UNIT).inner_text()
    staff.goto("/season")
    shot(staff, "11_已接收")
    with staff.expect_download() as got:
        staff.click("text=下载汇总表")
    summary = workbook(got)
    found = summary["问题清单"]
    head = [c.value for c in found[3]]
    said = [r[head.index("单位核实说明")] for r in found.iter_rows(min_row=4, values_only=True)]
    assert "已补充佐证材料，数据经复核无误" in said
    with staff.expect_download() as got:
        staff.click("text=下载已接收的报送包")
    packs = zipfile.ZipFile(io.BytesIO(Path(got.value.path()).read_bytes()))
    assert any(n.endswith("_绩效自评.zip") for n in packs.namelist()), packs.namelist()
    staff.goto("/audit")
    shot(staff, "12_操作记录")
    log = staff.locator("table.audit").inner_text()
    for action in ("upload", "submit", "return", "accept", "download-summary", "roster"):
        assert action in log

    # -- print: the result page on paper --------------------------------------------------------
    unit.goto(first)
    unit.emulate_media(media="print")
    assert unit.locator("header.top").is_hidden() and unit.locator(".submit-box").is_hidden()
    assert unit.locator(".finding.error").first.is_visible() and unit.locator("table.grid").first.is_visible()
    shot(unit, "13_打印样式")
    pdf = unit.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    unit.emulate_media(media="screen")

    # -- JavaScript off: the core flow of another unit ------------------------------------------
    plain = new_page(browser, site, js=False)
    plain.goto(unit_links[OTHER])
    plain.fill("input[name=new]", "教育局密码2022")
    plain.fill("input[name=again]", "教育局密码2022")
    plain.click("button.primary")
    plain.click("text=退出")
    plain.fill("input[name=login]", OTHER)
    plain.fill("input[name=password]", "教育局密码2022")
    plain.click("button.primary")
    plain.set_input_files("input[type=file]", str(site["other"]))
    plain.click("button.primary")
    assert plain.locator(".finding").count() >= 1
    with plain.expect_download() as got:
        plain.click("text=标出错误单元格的工作簿")
    assert "校验结果" in workbook(got).sheetnames
    for field in plain.locator("label.explain input").all():
        field.fill("经核实无误")
    plain.click(".submit-box button.primary")
    shot(plain, "14_无脚本_已提交")
    assert "已提交" in plain.locator(".flash").inner_text()


def workbook(got):
    """A downloaded workbook, opened (and its suggested name checked)."""
    assert got.value.suggested_filename.endswith(".xlsx"), got.value.suggested_filename
    return openpyxl.load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()))


def drop_file(page, selector: str, path: Path) -> None:
    """Drag a file from the desktop onto the drop zone (a DataTransfer carrying the file)."""
    data = list(Path(path).read_bytes())
    handle = page.evaluate_handle("""([bytes, name]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], name,
                     {type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}));
        return dt; }""", [data, Path(path).name])
    page.dispatch_event(selector, "dragenter", {"dataTransfer": handle})
    page.dispatch_event(selector, "drop", {"dataTransfer": handle})
