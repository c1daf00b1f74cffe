"""A season's inbox that no submission can spoil (issue 20, points 2, 3, 7 and 8), on SQLite and on
the real PostgreSQL server: one folder of hostile submissions beside good ones, collected by the
command line twice; the run completes, every other submission is recorded, the next run works.

What the folder holds, each built as a unit or a tool would make it: control characters in a
unit's name, a project's name, an amount cell, a file name and a zip member's name; a file name in
GBK bytes (what `unzip` on Linux makes of a zip from Chinese Windows) and one in bytes no encoding
reads; a 300-character unit, a 评价等次 typed over with a sentence, a 600-character member name;
a zip of 10,000 junk members and one of 300 members of 1 MB each; a pack folder with a file that
cannot be read and one of 12 sparse 100 MB files; a workbook named .zip; a worker that hangs; a
real pack (xltools pack, LibreOffice) zipped as PowerShell 5 does (backslashes), without its top
folder and with a file beside it, unpacked into a folder of another name, and its values-only
workbook alone.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import create_engine, text

from helpers import ROOT, XLTOOLS, run_measured, write_json
from test_check_seed import corrected_seed
from test_collect import demo
from xltools.collect.ledger import _normalise_url
from xltools.ooxml.package import Package
from xltools.spec import load_spec
from xltools.usertext import cell_text, visible
from xltools.write.fill import fill

SPEC = load_spec()
PACKED_UNIT = "临湘市打包局"
LONG_UNIT = "临湘市" + "很长" * 150 + "局"
LONG_MEMBER = "长" * 600 + ".xlsx"
GBK_NAME = "临湘市财政局2022年度绩效自评.xlsx"
BAD_NAME = b"\xff\xfe\xfd.xlsx"                     # no encoding reads these bytes
HANG = "卡住"
DIE = "崩溃"                                          # a worker killed from outside (OOM killer, a crash in C)
RETRIED = {f"{HANG}.xlsx": "临湘市卡住局", f"{DIE}.xlsx": "临湘市崩溃局"}

# label (relative to the inbox, as the run shows it) -> (unit or None, refusal code or None)
EXPECTED = {
    "控制字符单位.xlsx": ("临湘市\x01控制局", None),
    "控制字符项目.xlsx": ("临湘市项目局", None),
    "控制字符金额.xlsx": ("临湘市金额局", None),
    "ctl\x01名.xlsx": ("临湘市文件名局", None),
    GBK_NAME: ("临湘市财政局", None),
    os.fsdecode(BAD_NAME): ("临湘市坏名局", None),
    "成员.zip/ctl\x02成员.xlsx": ("临湘市成员局", None),
    f"成员.zip/{LONG_MEMBER}": ("临湘市长成员局", None),
    "长单位.xlsx": (LONG_UNIT, None),
    "长等次.xlsx": ("临湘市等次局", None),
    "伪装.zip": ("临湘市伪装局", None),
    "垃圾.zip": (None, "junk-members"),
    "大成员.zip": (None, "junk-members"),
    "2022_临湘市读不了局_绩效自评/数据.json": (PACKED_UNIT, None),
    "2022_临湘市读不了局_绩效自评/部门整体支出.pdf": (None, "unreadable-file"),
    "2022_临湘市稀疏局_绩效自评": (None, "too-large"),
    "反斜杠.zip/数据.json": (PACKED_UNIT, None),
    "无顶层.zip/数据.json": (PACKED_UNIT, None),
    "多一个文件.zip/数据.json": (PACKED_UNIT, None),
    "解压在别处/数据.json": (PACKED_UNIT, None),
    "只含数值.xlsx": (PACKED_UNIT, None),
    f"{HANG}.xlsx": (None, "timeout"),
    f"{DIE}.xlsx": (None, "worker-died"),
    "好.xlsx": ("临湘市好局", None),
}


def _book(doc: dict, tmp: Path) -> bytes:
    out = tmp / "b.xlsx"
    fill(write_json(tmp / "d.json", doc), out, SPEC)
    return out.read_bytes()


def _typed(data: bytes, **cells) -> bytes:
    """The workbook with department cells typed over (by field name), as a unit's Excel would."""
    book = Package(data)
    dept = SPEC.reports["dept"]
    sheet = book.sheet(dept.sheet)
    for name, value in cells.items():
        sheet.set(dept.fields[name].cell, value)
    sheet.commit()
    return book.to_bytes()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members.items():
            z.writestr(name, body)
    return buf.getvalue()


@pytest.fixture(scope="module")
def packed(soffice, tmp_path_factory) -> Path:
    """A real pack of a workbook that passes (xltools pack, LibreOffice)."""
    from xltools.pack.run import pack
    tmp = tmp_path_factory.mktemp("pack")
    src = tmp / "src.xlsx"
    src.write_bytes(_book(demo.renamed(corrected_seed(), PACKED_UNIT), tmp))
    [result] = pack([src], tmp / "out", spec=SPEC)
    assert result.ok, result
    return result.output


@pytest.fixture(scope="module")
def inbox(tmp_path_factory, packed) -> Path:
    base = tmp_path_factory.mktemp("inbox")
    tmp = base / "tmp"
    tmp.mkdir()
    folder = base / "收件"
    folder.mkdir()
    good = corrected_seed()

    def unit(name: str, **changes) -> bytes:
        doc = demo.renamed(good, name)
        for key, value in changes.items():
            doc["projects"][0][key] = value
        return _book(doc, tmp)

    files: dict[str | bytes, bytes] = {
        "控制字符单位.xlsx": unit("临湘市\x01控制局"),
        "控制字符项目.xlsx": unit("临湘市项目局", project_name="专项\x07资金\x1b[31m红"),
        "控制字符金额.xlsx": _typed(unit("临湘市金额局"), income_public_budget_1="3461\x01.78"),
        "ctl\x01名.xlsx": unit("临湘市文件名局"),
        GBK_NAME.encode("gbk"): unit("临湘市财政局"),
        BAD_NAME: unit("临湘市坏名局"),
        "成员.zip": _zip({"ctl\x02成员.xlsx": unit("临湘市成员局"), LONG_MEMBER: unit("临湘市长成员局")}),
        "长单位.xlsx": unit(LONG_UNIT),
        "长等次.xlsx": _typed(unit("临湘市等次局"), grade="这个等次被整句话覆盖了：优秀优秀优秀优秀"),
        "伪装.zip": unit("临湘市伪装局"),
        "垃圾.zip": _zip({f"报表{i:05d}.xlsx": os.urandom(40) for i in range(10_000)}),
        "大成员.zip": _zip({f"大{i:03d}.xlsx": bytes(2**20) for i in range(300)}),
        f"{HANG}.xlsx": unit("临湘市卡住局"),
        f"{DIE}.xlsx": unit("临湘市崩溃局"),
        "好.xlsx": unit("临湘市好局"),
    }
    for name, body in files.items():
        with open(os.path.join(os.fsencode(folder), name if isinstance(name, bytes) else name.encode()), "wb") as fh:
            fh.write(body)
    # a pack folder with a listed file that cannot be read (a dangling link: root reads every file)
    broken = folder / "2022_临湘市读不了局_绩效自评"
    shutil.copytree(packed, broken)
    (broken / "部门整体支出.pdf").unlink()
    (broken / "部门整体支出.pdf").symlink_to("/nonexistent/部门整体支出.pdf")
    # a pack folder of 12 sparse 100 MB files its manifest lists
    sparse = folder / "2022_临湘市稀疏局_绩效自评"
    sparse.mkdir()
    listed = []
    for i in range(12):
        with open(sparse / f"{i}.pdf", "wb") as fh:
            fh.truncate(100 * 2**20)
        listed.append({"name": f"{i}.pdf", "sha256": "0" * 64})
    (sparse / "manifest.json").write_text(json.dumps({"generator": "xltools pack", "files": listed}), encoding="utf-8")
    # the real pack in the layouts real tools give it
    outputs = {p.name: p.read_bytes() for p in packed.iterdir()}
    (folder / "反斜杠.zip").write_bytes(_zip({f"{packed.name}\\{n}": b for n, b in outputs.items()}))
    (folder / "无顶层.zip").write_bytes(_zip(outputs))
    (folder / "多一个文件.zip").write_bytes(_zip({**{f"{packed.name}/{n}": b for n, b in outputs.items()},
                                                "说明.docx": b"PK\x03\x04 a note"}))
    shutil.copytree(packed, folder / "解压在别处")
    (folder / "只含数值.xlsx").write_bytes(outputs[f"{packed.name}.xlsx"])
    return folder


def _label(inbox: Path, file: str) -> str:
    """A result's file, relative to the inbox, as the ledger stores it (visible)."""
    return file[len(visible(str(inbox))) + 1:]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def runs(request, inbox, tmp_path_factory):
    """The inbox collected twice: once with a worker that hangs and one that is killed (and its
    peak memory), then as the next day's run, without those faults."""
    out = tmp_path_factory.mktemp(f"out-{request.param}") / "汇总.xlsx"
    url = f"sqlite:///{out.with_suffix('.db')}" if request.param == "sqlite" else \
        request.getfixturevalue("postgres")("inbox_hostile")
    args = ("collect", inbox, "-o", out, "--db", url, "--json", "--timeout", 3, "--jobs", 2)
    os.environ["XLTOOLS_TEST_FAULT"] = f"hang:{HANG},die:{DIE}"
    try:
        first = run_measured(*args, timeout=300)
    finally:
        del os.environ["XLTOOLS_TEST_FAULT"]
    first_summary = shutil.copy(out, out.with_name("第一次.xlsx"))
    second = subprocess.run([str(XLTOOLS), *map(str, args)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    lines = subprocess.run([str(XLTOOLS), *map(str, args[:-5])], capture_output=True, text=True, timeout=300, cwd=ROOT)
    return {"inbox": inbox, "out": out, "first_summary": first_summary, "url": url, "first": first, "second": second, "lines": lines,
            "results": {_label(inbox, r["file"]): r for r in json.loads(first["out"])},
            "again": {_label(inbox, r["file"]): r for r in json.loads(second.stdout)}}


def test_the_run_completes_and_every_submission_is_its_row(runs):
    first = runs["first"]
    assert first["rc"] == 2 and "Traceback" not in first["err"], first["err"][-2000:]
    got = {k: (r.get("unit"), r.get("refused")) for k, r in runs["results"].items()}
    want = {visible(k): (visible(u) if u else None, code) for k, (u, code) in EXPECTED.items()}
    assert got == want
    for r in runs["results"].values():
        assert r["refused"] or r["version"] >= 1


def test_the_next_run_works(runs):
    second = runs["second"]
    assert second.returncode == 0 and "Traceback" not in second.stderr, second.stderr[-2000:]   # of what is new: the retried pass
    again = runs["again"]
    assert set(again) == set(runs["results"])
    for label, unit in RETRIED.items():                # the bureau's limits are retried, and pass
        assert not again[label]["skipped"] and again[label]["refused"] is None and again[label]["unit"] == unit
    assert all(r["skipped"] for k, r in again.items() if k not in RETRIED)
    assert "本次校验 2 份" in second.stderr
    lines = runs["lines"]                         # and a third, as a clerk reads it on the terminal
    assert lines.returncode == 0 and "本次校验 0 份" in lines.stdout and "与上次相同，未重写" in lines.stdout
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]", lines.stdout)
    assert "临湘市_x0001_控制局" in lines.stdout and GBK_NAME in lines.stdout and "_xDCFF__xDCFE__xDCFD_.xlsx" in lines.stdout


def test_memory_stays_flat_with_300_MB_in_one_zip(runs):
    """The parent held every member's bytes: 300 MB here. Now it streams them."""
    assert runs["first"]["peak_kb"] < 200 * 1024, runs["first"]["peak_kb"]


def test_texts_are_recorded_exactly_and_shown_readably(runs):
    rows = _rows(runs["url"])
    control = next(r for r in rows if r["unit"] and r["unit"].startswith("临湘市_x0001_"))
    assert control["unit"] == visible("临湘市\x01控制局")                      # exact: _x0001_ reads back as \x01
    project = next(r for r in rows if r["unit"] == "临湘市项目局")
    assert json.loads(project["detail"])["projects"][0]["name"] == "专项_x0007_资金_x001B_[31m红"
    long = next(r for r in rows if r["unit"] and r["unit"].startswith("临湘市很长"))
    assert long["unit"] == LONG_UNIT and "…（过长，sha256 " in long["unit_key"] and len(long["unit_key"]) < 200
    typed = next(r for r in rows if r["unit"] == "临湘市等次局")
    assert typed["grade_stated"] == "这个等次被整句话覆盖了：优秀优秀优秀优秀"
    member = next(r for r in rows if r["unit"] == "临湘市长成员局")
    assert member["file_name"] == LONG_MEMBER
    bad = next(r for r in rows if r["unit"] == "临湘市坏名局")
    assert bad["file_name"] == "_xDCFF__xDCFE__xDCFD_.xlsx" and bad["link"].endswith("_xDCFF__xDCFE__xDCFD_.xlsx")
    amount = runs["results"]["控制字符金额.xlsx"]
    assert any("_x0001_" in (f["actual"] or "") for f in amount["findings"])


def test_the_summary_is_written_and_readable(runs):
    wb = openpyxl.load_workbook(runs["out"], data_only=True)
    units = [c.value for c in wb["汇总"]["A"]]
    # as the ledger shows it: Excel reads the cell's _x005F_x0001_ as the text _x0001_
    assert cell_text(visible("临湘市\x01控制局")) == "临湘市_x005F_x0001_控制局"
    assert "临湘市_x005F_x0001_控制局" in units and LONG_UNIT in units
    first = openpyxl.load_workbook(runs["first_summary"], data_only=True)
    sheet = first["退回意见"]                                      # the run where the worker hung
    returns = [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v]
    assert [v for v in returns if "垃圾.zip" in v]                 # a real refusal is returned
    assert not [v for v in returns if HANG in v or DIE in v]      # the bureau's limits are no unit's fault


def test_refusals_say_what_in_chinese(runs):
    results = runs["results"]
    for label, r in results.items():
        if r["refused"]:
            assert re.search("[\u4e00-\u9fff]", r["message"]) and not re.search(
                r"\b(Error|error|denied|No such|Traceback|[A-Z][a-z]+Error)\b", r["message"]), (label, r["message"])
    assert "本局设置的校验时限（3 秒）" in results[f"{HANG}.xlsx"]["message"]
    assert "本机的校验进程意外终止" in results[f"{DIE}.xlsx"]["message"]
    junk = results["垃圾.zip"]["message"]
    assert "10000 个成员" in junk and "合为这一行" in junk
    assert "无法打开：文件或文件夹不存在" in results["2022_临湘市读不了局_绩效自评/部门整体支出.pdf"]["message"]


def test_packs_are_recognised_in_every_layout(runs):
    results = runs["results"]
    for layout in ("反斜杠.zip", "无顶层.zip", "多一个文件.zip", "解压在别处"):
        r = results[f"{layout}/数据.json"]
        assert r["unit"] == PACKED_UNIT and r["ok"], (layout, r)
        assert not [f for f in r["findings"] if f["code"].startswith("pack-")], (layout, r["findings"])
    values = results["只含数值.xlsx"]
    assert values["ok"] and values["unit"] == PACKED_UNIT
    assert [f["code"] for f in values["findings"] if f["severity"] == "error"] == []
    assert "values-copy" in [f["code"] for f in values["findings"]]
    broken = results["2022_临湘市读不了局_绩效自评/数据.json"]
    assert broken["ok"] and not [f for f in broken["findings"] if f["code"] == "pack-missing"]


def _rows(url: str) -> list[dict]:
    engine = create_engine(_normalise_url(url))
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM submissions ORDER BY id"))]
    finally:
        engine.dispose()
