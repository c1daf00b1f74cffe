"""`xltools collect` over a season's folder as it arrives, driven as a clerk runs it.

One folder of mixed submissions is built once (real workbooks from `fill`, zips made as Chinese
Windows and `xltools pack` make them) and collected once by the command line; the tests read what
came out: the rows, the exit code, the untouched folder, the summary workbook (read back with
openpyxl and recalculated by LibreOffice), the ledger and a second run.
"""
from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from helpers import ROOT, XLTOOLS, comparable, load_seed, write_json
from test_check_seed import corrected_seed
from xltools.write.fill import fill
from xltools.spec import load_spec

SPEC = load_spec()
_demo_spec = importlib.util.spec_from_file_location("make_collect_demo", ROOT / "examples" / "make_collect_demo.py")
demo = importlib.util.module_from_spec(_demo_spec)
_demo_spec.loader.exec_module(demo)

CHART_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
FAULTS = "hang:卡住,die:崩溃,memory:贪吃"
FAULTY = {"XLTOOLS_TEST_FAULT": FAULTS, "XLTOOLS_COLLECT_MEMORY_MB": "300"}
GBK_MEMBER = "卫生健康局/临湘市卫生健康局2022年度绩效自评.xlsx"


def run(*args, env=None, timeout=120):
    import subprocess
    return subprocess.run([str(XLTOOLS), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**os.environ, **(env or {})})


def tree_digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def book_bytes(doc: dict, tmp: Path, spec=SPEC) -> bytes:
    data = write_json(tmp / "data.json", doc)
    out = tmp / "book.xlsx"
    fill(data, out, spec)
    return out.read_bytes()


def pack_zip(doc: dict, tamper: bool) -> bytes:
    """A pack as `xltools pack --zip` lays it out: {年度}_{单位}_绩效自评/ with manifest.json."""
    root = "2022_临湘市水利局_绩效自评"
    outputs = {"数据.json": json.dumps(doc, ensure_ascii=False).encode("utf-8"),
               "部门整体支出.pdf": b"%PDF-1.7\n% the printed form\n%%EOF\n",
               "项目支出_专项资金支出.pdf": b"%PDF-1.7\n% the project\n%%EOF\n"}
    manifest = {"files": [{"name": k, "bytes": len(v), "sha256": hashlib.sha256(v).hexdigest()}
                          for k, v in outputs.items()]}
    if tamper:                                # edited after packing: one changed, one removed, one added
        outputs["部门整体支出.pdf"] = b"%PDF-1.7\n% changed afterwards\n%%EOF\n"
        del outputs["项目支出_专项资金支出.pdf"]
        outputs["说明.txt"] = "补充说明".encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in sorted({**outputs, "manifest.json": json.dumps(manifest).encode()}.items()):
            zf.writestr(f"{root}/{name}", body)
    return buf.getvalue()


def bomb_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("炸弹.xlsx", b"\0" * (60 * 2**20))     # 60 MB of zeros: about 60 KB deflated
    return buf.getvalue()


def nested_zip(body: bytes) -> bytes:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("农业农村局.xlsx", body)
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as zf:
        zf.writestr("内层.zip", inner.getvalue())
    return outer.getvalue()


# What each submission must become: label (relative to the folder) -> (unit, year, refused code or
# None, ok). The hang and the death are the test hook's (FAULTS).
EXPECTED = {
    "民政局/第一次.xlsx": ("临湘市民政局", 2022, None, False),
    "民政局/修改后.xlsx": ("临湘市民政局", 2022, None, True),
    "教育局.xlsx": ("临湘市教育局", 2022, None, False),
    "2023/民政局2023.xlsx": ("临湘市民政局", 2023, None, True),
    "损坏.xlsx": (None, None, "damaged", False),
    "可疑.zip/炸弹.xlsx": (None, None, "zip-bomb", False),
    f"卫生健康局.zip/{GBK_MEMBER}": ("临湘市卫生健康局", 2022, None, True),
    "水利局.zip/数据.json": ("临湘市水利局", 2022, None, False),
    "外层.zip/内层.zip/农业农村局.xlsx": ("临湘市农业农村局", 2022, None, True),
    "交通运输局.json": ("临湘市交通运输局", 2022, None, True),
    "卡住.xlsx": (None, None, "timeout", False),
    "崩溃.xlsx": (None, None, "worker-died", False),
    "贪吃.xlsx": (None, None, "out-of-memory", False),
}


@pytest.fixture(scope="module")
def season(tmp_path_factory):
    base = tmp_path_factory.mktemp("collect")
    tmp = base / "tmp"
    tmp.mkdir()
    inbox = base / "收件"
    (inbox / "民政局").mkdir(parents=True)
    (inbox / "2023").mkdir()
    specs = base / "specs"
    specs.mkdir()
    text = (ROOT / "specs" / "2022.toml").read_text(encoding="utf-8")
    (specs / "2023.toml").write_text(text.replace("year = 2022", "year = 2023", 1), encoding="utf-8")
    spec23 = load_spec(specs / "2023.toml")
    good = corrected_seed()
    education = demo.renamed(good, "临湘市教育局")
    education["dept"]["spend"][0]["personnel"] = "450.00"
    files = {
        "民政局/第一次.xlsx": book_bytes(load_seed(), tmp),
        "教育局.xlsx": book_bytes(education, tmp),
        "2023/民政局2023.xlsx": book_bytes({**good, "year": 2023}, tmp, spec23),
        "损坏.xlsx": book_bytes(demo.renamed(good, "临湘市统计局"), tmp)[:15000],
        "可疑.zip": bomb_zip(),
        "卫生健康局.zip": demo.gbk_zip({GBK_MEMBER: book_bytes(demo.renamed(good, "临湘市卫生健康局"), tmp)}),
        "水利局.zip": pack_zip(demo.renamed(good, "临湘市水利局"), tamper=True),
        "外层.zip": nested_zip(book_bytes(demo.renamed(good, "临湘市农业农村局"), tmp)),
        "交通运输局.json": json.dumps(demo.renamed(good, "临湘市交通运输局"), ensure_ascii=False).encode(),
        "卡住.xlsx": book_bytes(demo.renamed(good, "临湘市林业局"), tmp),
        "崩溃.xlsx": book_bytes(demo.renamed(good, "临湘市审计局"), tmp),
        "贪吃.xlsx": book_bytes(demo.renamed(good, "临湘市司法局"), tmp),
        "~$教育局.xlsx": b"\0" * 165,
        ".~lock.教育局.xlsx#": b"lock",
        "说明.pdf": b"%PDF-1.4\n",
        "民政局/修改后.xlsx": book_bytes(good, tmp),          # the resubmission, last to arrive
    }
    for k, (name, body) in enumerate(files.items()):
        (inbox / name).write_bytes(body)
        os.utime(inbox / name, (1_700_000_000 + 60 * k,) * 2)
    before = tree_digest(inbox)
    out = base / "out" / "汇总.xlsx"
    done = run("collect", inbox, "-o", out, "--specs", specs, "--json", "--timeout", 4, "--jobs", 2, env=FAULTY)
    results = {str(Path(r["file"]).relative_to(inbox)).replace(os.sep, "/"): r for r in json.loads(done.stdout)}
    return {"base": base, "inbox": inbox, "specs": specs, "out": out, "done": done, "results": results,
            "before": before}


def test_every_submission_becomes_its_row(season):
    results = season["results"]
    assert "Traceback" not in season["done"].stderr
    assert set(results) == set(EXPECTED)
    got = {k: (r.get("unit"), r.get("year"), r.get("refused"), r["ok"]) for k, r in results.items()}
    assert got == EXPECTED
    # each result has the shape of `check --json`
    for r in results.values():
        assert {"file", "ok", "findings", "score"} <= set(r)
        assert r["refused"] is None or r["message"]


def test_versions_follow_arrival(season):
    r = season["results"]
    assert (r["民政局/第一次.xlsx"]["version"], r["民政局/修改后.xlsx"]["version"]) == (1, 2)
    assert r["2023/民政局2023.xlsx"]["version"] == 1            # another year: its own versions


def test_exit_code_2_and_counts(season):
    done = season["done"]
    assert done.returncode == 2
    assert "本次校验 12 份，跳过已收录 0 份" in done.stderr       # the bomb never reaches a worker
    assert "跳过临时文件 2 个" in done.stderr and "忽略其他文件 1 个" in done.stderr


def test_input_folder_untouched(season):
    assert tree_digest(season["inbox"]) == season["before"]


def test_tampered_pack_is_an_error_finding(season):
    r = season["results"]["水利局.zip/数据.json"]
    assert [(f["code"], f["severity"], f["cell"]) for f in r["findings"] if f["code"].startswith("pack-")] == [
        ("pack-hash", "error", "部门整体支出.pdf"), ("pack-missing", "error", "项目支出_专项资金支出.pdf"),
        ("pack-unlisted", "warning", "说明.txt")]
    assert not [f for f in r["findings"] if f["severity"] == "error" and not f["code"].startswith("pack-")]


def test_hostile_and_hung_and_killed_files_cost_only_themselves(season):
    r = season["results"]
    assert "压缩炸弹" in r["可疑.zip/炸弹.xlsx"]["message"]
    assert "卡住.xlsx" in r["卡住.xlsx"]["message"] and "4 秒" in r["卡住.xlsx"]["message"]
    assert "进程意外终止" in r["崩溃.xlsx"]["message"]
    assert "内存上限（300 MB）" in r["贪吃.xlsx"]["message"]      # the worker's RLIMIT_AS
    # the bureau's limits, not the unit's fault: each says so, and that it is checked again
    for name in ("卡住.xlsx", "崩溃.xlsx", "贪吃.xlsx"):
        assert "本局" in r[name]["message"] or "本机" in r[name]["message"]
        assert "下次运行 collect 时会自动重新校验" in r[name]["message"]
    # the same files without the hook are fine: it was the hook, not the files
    done = run("collect", season["inbox"] / "卡住.xlsx", season["inbox"] / "崩溃.xlsx", "-o",
               season["base"] / "again" / "汇总.xlsx", "--json")
    assert done.returncode == 0, done.stderr
    assert [x["ok"] for x in json.loads(done.stdout)] == [True, True]


def test_unknown_template_says_which(season):
    done = run("collect", season["inbox"] / "2023", "-o", season["base"] / "no-specs" / "汇总.xlsx", "--json")
    assert done.returncode == 2
    [r] = json.loads(done.stdout)
    assert r["refused"] == "other-template" and "临湘市2023年度" in r["message"] and "--specs" in r["message"]


TRANSIENT = {"卡住.xlsx", "崩溃.xlsx", "贪吃.xlsx"}


def _rows(db: Path) -> list:
    import sqlite3
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT sha256, unit_key, version, status, refused FROM submissions ORDER BY id").fetchall()


def test_second_run_skips_everything_but_the_bureaus_failures(season):
    before = _rows(season["out"].with_suffix(".db"))
    done = run("collect", season["inbox"], "-o", season["out"], "--specs", season["specs"], "--json",
               "--timeout", 4, env=FAULTY)
    assert done.returncode == 2
    # the timeout, the dead worker and the memory cap are tried again; everything else is skipped
    assert f"本次校验 {len(TRANSIENT)} 份，跳过已收录 {len(EXPECTED) - len(TRANSIENT)} 份" in done.stderr
    again = {str(Path(r["file"]).relative_to(season["inbox"])).replace(os.sep, "/"): r
             for r in json.loads(done.stdout)}
    assert {k: (r.get("unit"), r.get("year"), r.get("refused"), r["ok"]) for k, r in again.items()} == EXPECTED
    assert {k for k, r in again.items() if not r["skipped"]} == TRANSIENT
    assert again["教育局.xlsx"]["findings"] == season["results"]["教育局.xlsx"]["findings"]
    assert _rows(season["out"].with_suffix(".db")) == before       # the same rows, retried in place
    assert "与上次相同，未重写" in done.stderr                      # nothing new: the summary is left as it was
    season["out"].write_bytes(season["out"].read_bytes() + b"\0")   # … unless it was changed since
    done = run("collect", season["inbox"], "-o", season["out"], "--specs", season["specs"], "--timeout", 4,
               env=FAULTY)
    assert "未重写" not in done.stdout and zipfile.is_zipfile(season["out"])


def test_the_bureaus_failures_pass_once_the_limits_allow(season, tmp_path):
    db = tmp_path / "汇总.db"
    db.write_bytes(season["out"].with_suffix(".db").read_bytes())
    args = ("collect", season["inbox"], "-o", tmp_path / "汇总.xlsx", "--specs", season["specs"], "--json")
    done = run(*args)                                               # no fault this time
    assert f"本次校验 {len(TRANSIENT)} 份，跳过已收录 {len(EXPECTED) - len(TRANSIENT)} 份" in done.stderr
    done = run(*args)
    assert done.returncode == 0 and f"本次校验 0 份，跳过已收录 {len(EXPECTED)} 份" in done.stderr
    after = {str(Path(r["file"]).relative_to(season["inbox"])).replace(os.sep, "/"): r for r in json.loads(done.stdout)}
    assert all(after[k]["ok"] and after[k]["refused"] is None and after[k]["version"] == 1 for k in TRANSIENT)
    assert len(_rows(db)) == len(_rows(season["out"].with_suffix(".db")))   # rows taken over, none added


def test_history_lists_every_version(season):
    done = run("collect", "--history", "临湘市民政局", "-o", season["out"], "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["year"], r["version"], r["ok"]) for r in rows] == [(2022, 1, False), (2022, 2, True), (2023, 1, True)]
    assert rows[0]["findings"] and not [f for f in rows[1]["findings"] if f["severity"] == "error"]
    text = run("collect", "--history", "临湘市民政局", "-o", season["out"]).stdout
    first_error = next(f for f in rows[0]["findings"] if f["severity"] == "error")
    assert "第 1 版" in text and "第 2 版" in text and f"{first_error['cell']} {first_error['code']}" in text


# --- the summary workbook ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def summary(season):
    return openpyxl.load_workbook(season["out"]), openpyxl.load_workbook(season["out"], data_only=True)


def _table_rows(ws, header_row: int = 3):
    headers = [c.value for c in ws[header_row]]
    rows = []
    for r in range(header_row + 1, ws.max_row + 1):
        first = ws.cell(r, 1).value
        if first in (None, "合计"):
            break
        rows.append({h: ws.cell(r, i + 1).value for i, h in enumerate(headers) if h})
    return headers, rows


def test_summary_rows_latest_version_per_unit(summary):
    _, values = summary
    _, rows = _table_rows(values["汇总"])
    units = [(r["单位"], r["年度"], r["状态"], r["版本"]) for r in rows]
    assert ("临湘市民政局", 2022, "通过", 2) in units
    assert ("临湘市民政局", 2023, "通过", 1) in units
    assert not [u for u in units if u[0] == "临湘市民政局" and u[1] == 2022 and u[3] == 1]
    assert len(rows) == len(EXPECTED) - 1                     # the first 民政局 2022 version is superseded
    assert sum(r["状态"] == "无法使用" for r in rows) == sum(1 for v in EXPECTED.values() if v[2])
    mz = next(r for r in rows if r["单位"] == "临湘市民政局" and r["年度"] == 2022)
    assert isinstance(mz["收入合计"], (int, float)) and Decimal(str(mz["收入合计"])) == Decimal("3512.52")


def test_summary_totals_equal_the_sum_of_the_rows(summary):
    formulas, values = summary
    ws, wv = formulas["汇总"], values["汇总"]
    headers, rows = _table_rows(wv)
    total_row = 3 + len(rows) + 1
    assert wv.cell(total_row, 1).value == "合计"
    checked = 0
    for i, h in enumerate(headers, start=1):
        f = ws.cell(total_row, i).value
        if isinstance(f, str) and f.startswith("=SUBTOTAL"):
            want = sum(Decimal(str(r[h])) for r in rows if isinstance(r[h], (int, float)))
            assert Decimal(str(wv.cell(total_row, i).value)).quantize(Decimal("0.01")) == want.quantize(Decimal("0.01"))
            checked += 1
    assert checked == 7          # 收入 支出 基本 项目 三公 错误数 提示数


def test_summary_cached_values_equal_libreoffice(soffice, season, summary, tmp_path):
    formulas, ours = summary
    theirs = openpyxl.load_workbook(soffice.recalculate(season["out"], tmp_path / "recalc.xlsx"), data_only=True)
    cells = [(ws.title, c.coordinate) for ws in formulas for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith("=")]
    assert len(cells) > 20
    diffs = [(s, ref, ours[s][ref].value, theirs[s][ref].value) for s, ref in cells
             if comparable(ours[s][ref].value) != comparable(theirs[s][ref].value)]
    assert diffs == []


def test_summary_charts_reference_the_tables(season, summary):
    _, values = summary
    ws = values["等次分布"]
    grades = [ws.cell(r, 1).value for r in range(4, 8)]
    assert grades == ["优秀", "良好", "中", "差"]
    head = next(r for r in range(8, ws.max_row + 1) if ws.cell(r, 1).value == "问题")
    last = head + sum(1 for r in range(head + 1, ws.max_row + 1) if ws.cell(r, 3).value)
    with zipfile.ZipFile(season["out"]) as zf:
        charts = sorted(n for n in zf.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n))
        refs = [[f.text for f in ET.fromstring(zf.read(n)).iter(f"{{{CHART_NS}}}f")] for n in charts]
    assert len(charts) == 2
    assert refs[0] == ["'等次分布'!B3", "'等次分布'!$A$4:$A$7", "'等次分布'!$B$4:$B$7"]
    assert refs[1] == [f"'等次分布'!B{head}", f"'等次分布'!$A${head + 1}:$A${last}", f"'等次分布'!$B${head + 1}:$B${last}"]
    counts = {ws.cell(r, 3).value: (ws.cell(r, 1).value, ws.cell(r, 2).value) for r in range(head + 1, last + 1)}
    # the bars are labelled with the catalogue's titles, the code beside them
    assert counts["pack-hash"] == ("报送包中的文件与清单相符", 1)
    assert counts["timeout"] == ("校验超时", 1) and counts["zip-bomb"] == ("压缩炸弹", 1)


def test_findings_hyperlinks_open_an_existing_file_at_a_cell(season, summary):
    formulas, _ = summary
    ws = formulas["问题清单"]
    column = [c.value for c in ws[3]].index("单元格") + 1
    base = season["out"].parent
    links = [ws.cell(r, column).hyperlink for r in range(4, ws.max_row + 1) if ws.cell(r, column).hyperlink]
    assert len(links) >= 5
    for link in links:
        target = (base / link.target).resolve()
        assert target.is_file(), link.target
        sheet, cell = re.fullmatch(r"'((?:[^']|'')+)'!([A-Z]{1,3}\d+)", link.location).groups()
        assert sheet.replace("''", "'") in openpyxl.load_workbook(target, read_only=True).sheetnames
    # zip members are not reachable as files: no hyperlink for their rows
    linked_rows = {r for r in range(4, ws.max_row + 1) if ws.cell(r, column).hyperlink}
    for r in range(4, ws.max_row + 1):
        if ws.cell(r, 1).value == "临湘市卫生健康局" or ws.cell(r, 1).value == "临湘市水利局":
            assert r not in linked_rows


def test_summary_is_protected_printable_and_filterable(summary):
    formulas, _ = summary
    for ws in formulas:
        assert ws.protection.sheet and not ws.protection.autoFilter and not ws.protection.sort
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert {t.displayName for t in formulas["汇总"].tables.values()} == {"Units"}
    assert {t.displayName for t in formulas["项目支出汇总"].tables.values()} == {"Projects"}
    ws = formulas["汇总"]
    # rows can be sorted (their cells unlocked); headers and the totals row cannot be typed over
    assert not ws["A4"].protection.locked and not ws["K4"].protection.locked
    assert ws["A3"].protection.locked and ws[f"D{3 + len(EXPECTED)}"].protection.locked
    assert formulas["问题清单"].tables


def test_returns_and_roster(season, tmp_path):
    roster = tmp_path / "单位名单.csv"
    roster.write_bytes("单位\n临湘市民政局\n临湘市教育局\n临湘市财政局\n".encode("gbk"))   # as Excel saves CSV on Chinese Windows
    out = tmp_path / "汇总.xlsx"
    done = run("collect", season["inbox"], "-o", out, "--db", f"sqlite:///{season['out'].with_suffix('.db')}",
               "--specs", season["specs"], "--roster", roster)
    assert done.returncode == 0 and f"本次校验 {len(TRANSIENT)} 份" in done.stdout    # without the faults, they pass
    assert "单位名单 3 个单位，尚未报送 1 个" in done.stdout
    wb = openpyxl.load_workbook(out, data_only=True)
    missing = [(wb["未报送"].cell(r, 1).value, wb["未报送"].cell(r, 3).value) for r in range(4, wb["未报送"].max_row + 1)]
    assert ("临湘市财政局", "未报送") in missing
    assert ("临湘市卫生健康局", "不在单位名单中") in missing
    assert not [m for m in missing if m[0] in ("临湘市民政局", "临湘市教育局")]
    letter = [c.value for c in wb["退回意见"][3]].index("退回意见（可直接复制发送）") + 1
    texts = {wb["退回意见"].cell(r, 1).value: wb["退回意见"].cell(r, letter).value for r in range(4, wb["退回意见"].max_row + 1)}
    education = texts["临湘市教育局"]
    assert education.startswith("临湘市教育局：") and "____年__月__日" in education and "临湘市财政局" in education
    assert "临湘市民政局" not in texts           # its latest version passes


def test_exit_codes_0_and_1(tmp_path):
    good = book_bytes(corrected_seed(), tmp_path)
    inbox = tmp_path / "in"
    inbox.mkdir()
    done = run("collect", inbox, "-o", tmp_path / "empty" / "汇总.xlsx")         # nothing has arrived yet
    assert done.returncode == 0 and "共 0 份" in done.stdout
    wb = openpyxl.load_workbook(tmp_path / "empty" / "汇总.xlsx")
    assert not [c for ws in wb for row in ws.iter_rows() for c in row if str(c.value).startswith("=SUBTOTAL")]
    (inbox / "a.xlsx").write_bytes(good)
    assert run("collect", inbox, "-o", tmp_path / "o" / "汇总.xlsx").returncode == 0
    (inbox / "b.xlsx").write_bytes(book_bytes(load_seed(), tmp_path))
    done = run("collect", inbox, "-o", tmp_path / "o" / "汇总.xlsx")
    assert done.returncode == 1 and "本次校验 1 份，跳过已收录 1 份" in done.stdout


def test_gbk_member_names_decode(season):
    # The unit's name comes from inside the workbook; the file name from the zip's GBK bytes.
    wb = openpyxl.load_workbook(season["out"], data_only=True)
    _, rows = _table_rows(wb["汇总"])
    row = next(r for r in rows if r["单位"] == "临湘市卫生健康局")
    assert row["文件"] == GBK_MEMBER.rsplit("/", 1)[1]


def test_bad_usage_is_one_line():
    done = run("collect", "/nonexistent/收件", "-o", "/tmp/x.xlsx")
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "不存在" in done.stderr


def test_a_fifo_in_the_inbox_is_refused_not_waited_for(tmp_path):
    inbox = tmp_path / "收件"
    inbox.mkdir()
    (inbox / "good.xlsx").write_bytes(book_bytes(corrected_seed(), tmp_path))
    os.mkfifo(inbox / "管道.xlsx")           # opening it for reading would block until a writer came
    done = run("collect", inbox, "-o", tmp_path / "out" / "汇总.xlsx", "--json", timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    rows = {Path(r["file"]).name: r for r in json.loads(done.stdout)}
    assert rows["管道.xlsx"]["refused"] == "unreadable-file"
    assert rows["good.xlsx"]["refused"] is None
