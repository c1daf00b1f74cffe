"""Every way an input or an output can fail, driven through the command line as a user runs it:
exit 2, exactly one Chinese line on stderr naming the path, no traceback, every input's bytes
unchanged, and nothing left behind in the folder (no partial output, no temp file, no folder).

Real conditions, not mocks: a read-only file system (a tmpfs mounted read-only), a full disk (a
64 KB tmpfs filled up), a file-size limit (RLIMIT_FSIZE set in the child), an immutable file
(chattr +i), FIFOs made with mkfifo, /dev/null, symbolic and hard links, SIGTERM/SIGINT/SIGKILL
sent to a running fill or score. Mounting and chattr need root: without it those cases skip
(and fail under CI, where `make test` runs as root).
"""
from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import unavailable
from helpers import CJK, ROOT, SEED, XLTOOLS, load_seed, sha256, write_json, zip_members, rezip, sheet_parts
from xltools.read.data import MAX_DATA_BYTES, MAX_DEPTH, MAX_NUMBER_CHARS, MAX_PROJECTS, MAX_TEXT_CHARS
from xltools.files import PAUSE_ENV, TEMP_PREFIX
from xltools.write.fill import fill
from xltools.read.workbook import read_workbook
from xltools.spec import load_spec

SPEC = load_spec()
TEMPLATE = ROOT / "templates" / "self_eval.xlsx"
IS_ROOT = os.geteuid() == 0


def run(*args, cwd=None, env=None, preexec_fn=None, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([str(XLTOOLS), *map(str, args)], capture_output=True, text=True, cwd=cwd or ROOT,
                          env={**os.environ, **(env or {})}, preexec_fn=preexec_fn, timeout=timeout)


def listing(*folders) -> dict[str, tuple]:
    """Every entry under the folders, with what identifies its content."""
    out = {}
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in dirnames + filenames:
                p = Path(dirpath, name)
                st = os.lstat(p)
                if stat.S_ISREG(st.st_mode):
                    out[str(p)] = ("file", sha256(p), stat.S_IMODE(st.st_mode))
                elif stat.S_ISLNK(st.st_mode):
                    out[str(p)] = ("link", os.readlink(p))
                else:
                    out[str(p)] = (stat.S_IFMT(st.st_mode),)
    return out


def assert_refused(done: subprocess.CompletedProcess, names: str | Path, before: dict, *folders) -> str:
    """exit 2, one Chinese line naming `names`, no traceback, the folders exactly as before."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    assert len(lines) == 1, done.stderr
    assert CJK.search(lines[0]), lines[0]
    assert str(names) in lines[0], (str(names), lines[0])
    assert listing(*folders) == before
    return lines[0]


# --- the files every case starts from ----------------------------------------------------------------

@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return fill(SEED, tmp_path_factory.mktemp("good") / "good.xlsx", SPEC, template=TEMPLATE).path


@pytest.fixture
def inputs(tmp_path, good) -> Path:
    """A folder with what the commands read: 报表.xlsx, 数据.json, 模板.xlsx, 规格.toml."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    shutil.copy(good, folder / "报表.xlsx")
    shutil.copy(SEED, folder / "数据.json")
    shutil.copy(TEMPLATE, folder / "模板.xlsx")
    shutil.copy(ROOT / "specs" / "2022.toml", folder / "规格.toml")
    return folder


# The commands that write, as argv given the inputs folder and the output path. score --in-place
# writes over its own book: its output is the book, which the case puts at `out` first.
COMMANDS = {
    "template": lambda i, out: ["template", "--spec", i / "规格.toml", "-o", out],
    "fill": lambda i, out: ["fill", i / "数据.json", "-o", out, "--template", i / "模板.xlsx", "--spec", i / "规格.toml"],
    "check --write": lambda i, out: ["check", i / "报表.xlsx", "--write", out],
    "score -o": lambda i, out: ["score", i / "报表.xlsx", "-o", out],
    "score --in-place": lambda i, out: ["score", out, "--in-place"],
}


def _mount(where: Path, options: str) -> None:
    if not IS_ROOT:
        unavailable("挂载 tmpfs 需要 root 权限")
    where.mkdir(exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True)
    if done.returncode:
        unavailable(f"无法挂载 tmpfs：{done.stderr.strip()}")


@contextmanager
def read_only_folder(tmp: Path, book: Path | None):
    """A folder on a read-only file system (root: a tmpfs remounted ro; others: mode 0555)."""
    folder = tmp / "只读"
    if IS_ROOT:
        _mount(folder, "size=1m")
    else:
        folder.mkdir()
    if book is not None:
        shutil.copy(book, folder / "报表.xlsx")
    try:
        if IS_ROOT:
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        else:
            folder.chmod(0o555)
        yield folder
    finally:
        if IS_ROOT:
            subprocess.run(["umount", "-l", str(folder)], check=True)
        else:
            folder.chmod(0o755)


@contextmanager
def full_disk(tmp: Path, book: Path | None):
    """A folder on a 64 KB tmpfs whose every byte is taken by 占位.bin."""
    folder = tmp / "满"
    _mount(folder, "size=64k")
    if book is not None:
        shutil.copy(book, folder / "报表.xlsx")
    try:
        with open(folder / "占位.bin", "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(bytes(4096))
            except OSError:
                pass
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


@contextmanager
def plain_folder(tmp: Path, book: Path | None):
    folder = tmp / "输出"
    folder.mkdir()
    if book is not None:
        shutil.copy(book, folder / "报表.xlsx")
    yield folder


@contextmanager
def immutable_book(tmp: Path, book: Path | None):
    """The output exists and is immutable (chattr +i): even root cannot replace it."""
    if not IS_ROOT:
        unavailable("chattr +i 需要 root 权限")
    folder = tmp / "锁定"
    folder.mkdir()
    shutil.copy(book or TEMPLATE, folder / "报表.xlsx")
    done = subprocess.run(["chattr", "+i", str(folder / "报表.xlsx")], capture_output=True, text=True)
    if done.returncode:
        unavailable(f"chattr 不可用：{done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder / "报表.xlsx")], check=True)


def _fsize_limit():
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))


# condition -> (folder maker, output name in it or None for the book itself, preexec, what the line says)
CONDITIONS = {
    "read-only file system": (read_only_folder, "新.xlsx", None, "只读"),
    "disk full": (full_disk, "新.xlsx", None, "磁盘空间不足"),
    "file-size limit": (plain_folder, "新.xlsx", _fsize_limit, "文件大小上限"),
    "parent is a file": (plain_folder, "报表.xlsx/新.xlsx", None, "不是文件夹"),
    "output is a folder": (plain_folder, ".", None, "文件夹"),
    "immutable file": (immutable_book, "报表.xlsx", None, "没有权限"),
}


# --in-place writes over its input: a folder or a path under a file is no readable input (the
# input tests cover those).
# template writes through the same function as fill: three conditions suffice for it (one being
# the file-size limit, which also hits openpyxl's own temporary files).
WRITE_CASES = [(command, condition) for command in COMMANDS for condition in CONDITIONS
               if not (command == "score --in-place" and condition in ("parent is a file", "output is a folder"))
               and not (command == "template" and condition in ("parent is a file", "output is a folder", "immutable file"))]


@pytest.mark.parametrize("command, condition", WRITE_CASES)
def test_a_write_that_fails_is_one_line_and_leaves_nothing(command, condition, inputs, tmp_path, good):
    make, name, preexec, says = CONDITIONS[condition]
    in_place = command == "score --in-place"
    with make(tmp_path, good) as folder:
        out = folder / ("报表.xlsx" if in_place else name)
        if name == ".":
            out = folder
        before = listing(inputs, folder)
        done = run(*COMMANDS[command](inputs, out), preexec_fn=preexec)
        line = assert_refused(done, out, before, inputs, folder)
        assert says in line, line


# --- an output that is one of the inputs -------------------------------------------------------------

SAME_FILE = {
    "check x --write x": lambda i: ["check", i / "报表.xlsx", "--write", i / "报表.xlsx"],
    "check x --write symlink to x": lambda i: ["check", i / "报表.xlsx", "--write", i / "链接.xlsx"],
    "check x --write hard link to x": lambda i: ["check", i / "报表.xlsx", "--write", i / "硬链接.xlsx"],
    "fill d -o d": lambda i: ["fill", i / "数据.json", "-o", i / "数据.json", "--template", i / "模板.xlsx"],
    "fill -o the template": lambda i: ["fill", i / "数据.json", "-o", i / "模板.xlsx", "--template", i / "模板.xlsx"],
    "score x -o x": lambda i: ["score", i / "报表.xlsx", "-o", i / "报表.xlsx"],
    "score x -o hard link to x": lambda i: ["score", i / "报表.xlsx", "-o", i / "硬链接.xlsx"],
    "template -o its spec": lambda i: ["template", "--spec", i / "规格.toml", "-o", i / "规格.toml"],
}


@pytest.mark.parametrize("case", list(SAME_FILE))
def test_an_output_that_is_an_input_is_refused(case, inputs):
    os.symlink("报表.xlsx", inputs / "链接.xlsx")
    os.link(inputs / "报表.xlsx", inputs / "硬链接.xlsx")
    argv = SAME_FILE[case](inputs)
    before = listing(inputs)
    line = assert_refused(run(*argv), argv[argv.index("-o" if "-o" in argv else "--write") + 1], before, inputs)
    assert "输入文件" in line


# --- special files -------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "score --in-place"])
def test_a_device_or_fifo_is_never_replaced_by_a_file(command, inputs, tmp_path):
    fifo = tmp_path / "管道.xlsx"
    os.mkfifo(fifo)
    for out in (Path("/dev/null"), fifo):
        before = listing(inputs, tmp_path)
        line = assert_refused(run(*COMMANDS[command](inputs, out), timeout=20), out, before, inputs, tmp_path)
        assert "不是普通文件" in line
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


INPUT_ROLES = ["check workbook", "check data", "fill data", "score book", "--spec", "--template"]


@pytest.mark.parametrize("role, kind", [(role, "fifo") for role in INPUT_ROLES]
                         + [(role, kind) for role in ("check workbook", "fill data") for kind in ("folder", "device")])
def test_an_input_that_is_not_a_regular_file_is_refused_at_once(role, kind, inputs, tmp_path):
    """A FIFO would block open() for ever (nobody writes to it); /dev/zero would be read forever."""
    suffix = {"check data": ".json", "fill data": ".json", "--spec": ".toml"}.get(role, ".xlsx")
    special = tmp_path / f"特殊{suffix}"
    if kind == "fifo":
        os.mkfifo(special)
    elif kind == "folder":
        special.mkdir()
    else:
        special = Path("/dev/zero")
    out = tmp_path / "新.xlsx"
    argv = {"check workbook": ["check", special], "check data": ["check", special],
            "fill data": ["fill", special, "-o", out, "--template", inputs / "模板.xlsx"],
            "score book": ["score", special, "-o", out],
            "--spec": ["check", inputs / "报表.xlsx", "--spec", special],
            "--template": ["fill", inputs / "数据.json", "-o", out, "--template", special]}[role]
    before = listing(inputs, tmp_path)
    line = assert_refused(run(*argv, timeout=20), special, before, inputs, tmp_path)
    assert "不是普通文件" in line or ("文件夹" in line and kind == "folder"), line


def test_in_place_writes_through_a_symlink_and_keeps_the_mode(inputs, tmp_path):
    real = inputs / "报表.xlsx"
    real.chmod(0o600)
    link = tmp_path / "链接.xlsx"
    os.symlink(real, link)
    old = os.stat(real).st_ino
    done = run("score", link, "--in-place")
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    # the real file was written anew (renamed over; the filled seed's scores are the unit's own,
    # moved into 得分 by fill, so its bytes may come out the same)
    assert os.stat(real).st_ino != old
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o600
    scored = read_workbook(real, SPEC)
    assert any(v is not None for k, v in scored.copies[0].values.items() if "_score_" in k)
    assert not [n for n in os.listdir(inputs) + os.listdir(tmp_path) if n.startswith(TEMP_PREFIX)]


def test_replacing_an_output_keeps_its_mode(inputs, tmp_path):
    out = tmp_path / "新.xlsx"
    out.write_bytes(b"old")
    out.chmod(0o640)
    done = run("score", inputs / "报表.xlsx", "-o", out)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640 and zipfile.is_zipfile(out)


# --- data files --------------------------------------------------------------------------------------

def _text_field() -> str:
    return next(n for n, f in SPEC.reports["dept"].fields.items() if f.kind == "input" and f.unit == "text")


def _seed_with(value_json: str) -> str:
    """The seed as JSON text with one text field's value replaced by raw JSON."""
    doc = load_seed()
    doc["dept"][_text_field()] = "@@"
    return json.dumps(doc, ensure_ascii=False).replace('"@@"', value_json)


BAD_DATA = {
    "deep nesting (json)": ("深.json", lambda: '{"dept": ' + "[" * 100_000 + "]" * 100_000 + "}", "嵌套"),
    "nesting past the limit": ("深2.json", lambda: '{"dept": ' + '{"a": ' * (MAX_DEPTH + 5) + "1" + "}" * (MAX_DEPTH + 6), "嵌套"),
    "deep nesting (toml)": ("深.toml", lambda: "x = " + "[" * 100_000 + "]" * 100_000 + "\n", "嵌套"),
    "5,000-digit integer (json)": ("大数.json", lambda: _seed_with("9" * 5000), "位"),
    "5,000-digit integer (toml)": ("大数.toml", lambda: f"[dept]\n{_text_field()} = {'9' * 5000}\n", "位"),
    "huge exponent": ("指数.json", lambda: _seed_with("1e999999999"), "数字"),
    "NaN": ("非数.json", lambda: _seed_with("NaN"), "NaN"),
    "nan (toml)": ("非数.toml", lambda: f"[dept]\n{_text_field()} = nan\n", "数字"),
    "lone surrogate": ("代理.json", lambda: _seed_with('"\\ud800"'), "无效字符"),
    "text longer than a cell": ("长.json", lambda: _seed_with(json.dumps("字" * (MAX_TEXT_CHARS + 1))), str(MAX_TEXT_CHARS)),
    "too many projects": ("多.json", lambda: json.dumps({"projects": [{}] * (MAX_PROJECTS + 1)}), str(MAX_PROJECTS)),
    "a data file too large": ("大.json", lambda: json.dumps(load_seed()) + " " * MAX_DATA_BYTES, "过大"),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_a_data_file_beyond_the_limits_is_refused(case, tmp_path):
    name, make, says = BAD_DATA[case]
    data = tmp_path / name
    data.write_text(make(), encoding="utf-8")
    out = tmp_path / "新.xlsx"
    before = listing(tmp_path)
    runs = [["fill", data, "-o", out, "--template", TEMPLATE]]
    if case in ("deep nesting (json)", "lone surrogate"):    # check reads data files the same way
        runs.append(["check", data])
    for argv in runs:
        line = assert_refused(run(*argv), data.name, before, tmp_path)
        assert says in line, line


def test_a_workbook_the_checker_would_refuse_is_not_written(tmp_path, monkeypatch):
    """The backstop behind the data limits: what fill or score would write is held to the
    reader's own limits (ooxml/container.py), so no command writes a file `xltools check` refuses. The
    data limits keep real data well inside (a data file at its limit makes a few MB of XML), so
    the reader's limit is lowered here to meet it."""
    from xltools import errors
    from xltools.ooxml import container
    doc = load_seed()
    texts = [n for n, f in SPEC.reports["dept"].fields.items() if f.kind == "input" and f.unit == "text"
             and n not in SPEC.reports["dept"].runs][:10]      # a long text's run refuses such a text itself
    doc["dept"].update({n: "长文字" * 10000 for n in texts})            # 1 MB more XML than the template
    with zipfile.ZipFile(TEMPLATE) as z:
        template_size = sum(i.file_size for i in z.infolist())
    monkeypatch.setattr(container, "MAX_TOTAL_BYTES", template_size + 2**19)
    data = write_json(tmp_path / "数据.json", doc)
    out = tmp_path / "新.xlsx"
    with pytest.raises(errors.OutputError, match="xltools check") as refused:
        fill(data, out, SPEC, template=TEMPLATE)
    assert str(out) in str(refused.value) and CJK.search(str(refused.value))
    assert os.listdir(tmp_path) == ["数据.json"]


# --- workbooks the editor must handle ----------------------------------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _prefixed(data: bytes) -> bytes:
    """The same part with every SpreadsheetML element written as <x:…> (as .NET's SDK can)."""
    text = re.sub(r"<(/?)([A-Za-z]\w*)(?=[\s/>])", r"<\1x:\2", data.decode("utf-8"))
    return text.replace(f'xmlns="{_MAIN}"', f'xmlns:x="{_MAIN}"').encode("utf-8")


def _utf16(data: bytes) -> bytes:
    text = data.decode("utf-8")
    text = re.sub(r'encoding="UTF-8"', 'encoding="UTF-16"', text, flags=re.I)
    if not text.startswith("<?xml"):
        text = '<?xml version="1.0" encoding="UTF-16" standalone="yes"?>\n' + text
    return text.encode("utf-16")       # with its BOM


@pytest.mark.parametrize("variant", ["utf-16", "x: prefix"])
def test_score_works_on_utf16_and_prefixed_parts(variant, good, tmp_path, soffice):
    members = zip_members(good)
    sheets = sheet_parts(good)
    change = _utf16 if variant == "utf-16" else _prefixed
    for name in [*sheets.values(), "xl/workbook.xml", "xl/sharedStrings.xml", "xl/styles.xml"]:
        if name in members:
            members[name] = change(members[name])
    odd = rezip(members, tmp_path / "特殊.xlsx")
    plain_out, odd_out = tmp_path / "普通评分.xlsx", tmp_path / "特殊评分.xlsx"
    for src, out in ((good, plain_out), (odd, odd_out)):
        done = run("score", src, "-o", out)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    # The same scores and cached results, read by our reader and by LibreOffice after recalculating.
    expected = read_workbook(plain_out, SPEC)
    got = read_workbook(odd_out, SPEC)
    for a, b in zip(expected.instances, got.instances):
        assert a.values == b.values
    recalculated = soffice.recalculate(odd_out, tmp_path / "重算.xlsx")
    again = read_workbook(recalculated, SPEC)
    for a, b in zip(expected.instances, again.instances):
        assert {k: v for k, v in a.values.items() if "score" in k} == {k: v for k, v in b.values.items() if "score" in k}
    assert run("check", odd_out).returncode == run("check", plain_out).returncode


@pytest.mark.parametrize("sheet", [SPEC.reports["dept"].sheet, SPEC.reports["project"].sheet, "项目表头", "项目表尾"])
def test_a_sheet_whose_part_is_missing_is_damaged(sheet, good, tmp_path):
    members = zip_members(good)
    part = sheet_parts(good)[sheet]
    del members[part]
    book = rezip(members, tmp_path / "缺页.xlsx")
    before = listing(tmp_path)
    runs = [["check", book]] + ([["score", book, "-o", tmp_path / "新.xlsx"]] if sheet == SPEC.reports["project"].sheet else [])
    for argv in runs:
        line = assert_refused(run(*argv), book, before, tmp_path)
        assert "已损坏" in line and sheet in line


def test_write_on_a_workbook_openpyxl_cannot_load_is_one_line(good, tmp_path):
    """The checker never reads styles.xml, openpyxl (behind --write) must: damaged there, the
    check itself works and the copy cannot be made. Whatever fails, one line, exit 2."""
    members = zip_members(good)
    members["xl/styles.xml"] = members["xl/styles.xml"][:200]
    book = rezip(members, tmp_path / "样式坏.xlsx")
    before = listing(tmp_path)
    out = tmp_path / "新.xlsx"
    done = run("check", book, "--write", out)
    assert_refused(done, book, before, tmp_path)


# --- killed while writing ------------------------------------------------------------------------------

def _temps(folder: Path) -> list[str]:
    return [n for n in os.listdir(folder) if n.startswith(TEMP_PREFIX)]


def _start_and_wait_for_temp(argv, folder: Path) -> subprocess.Popen:
    # SIGINT as a terminal sends it: a shell without job control starts background commands (and
    # so this suite, run as `make test &`) with SIGINT ignored, which their children inherit.
    proc = subprocess.Popen([str(XLTOOLS), *map(str, argv)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, PAUSE_ENV: "30"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while not _temps(folder):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no temp file appeared"
        time.sleep(0.01)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
@pytest.mark.parametrize("command", ["fill", "score"])
def test_a_run_killed_mid_write_leaves_nothing(command, sig, inputs, tmp_path):
    out = tmp_path / "新.xlsx"
    argv = COMMANDS["fill" if command == "fill" else "score -o"](inputs, out)
    before = listing(inputs, tmp_path)
    proc = _start_and_wait_for_temp(argv, tmp_path)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode in (-sig, 128 + sig, 130), (proc.returncode, err)
    assert b"Traceback" not in err
    assert listing(inputs, tmp_path) == before


def test_a_temp_left_by_sigkill_is_cleared_by_the_next_run(inputs, tmp_path):
    out = tmp_path / "新.xlsx"
    proc = _start_and_wait_for_temp(COMMANDS["score -o"](inputs, out), tmp_path)
    proc.kill()
    proc.communicate(timeout=30)
    left = _temps(tmp_path)
    assert len(left) == 1 and not out.exists()      # SIGKILL cannot be caught: the temp stays
    # Another write in progress (a live process: this one) is left alone, unless it is stale.
    live = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-0123abcd.tmp"
    live.write_bytes(b"")
    old = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-4567cdef.tmp"
    old.write_bytes(b"")
    os.utime(old, (time.time() - 2 * 3600,) * 2)
    done = run(*COMMANDS["fill"](inputs, out))
    assert done.returncode == 0, done.stderr
    assert _temps(tmp_path) == [live.name]
    assert zipfile.is_zipfile(out)


def test_the_readme_states_the_limits_the_code_has():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"数据文件的上限：(.*?)；", readme, re.S).group(1)
    for text in (f"{MAX_DATA_BYTES // 2**20} MB", f"{MAX_PROJECTS} 个项目", f"{MAX_TEXT_CHARS} 字",
                 f"嵌套 {MAX_DEPTH} 层", f"数字 {MAX_NUMBER_CHARS} 位"):
        assert text in stated, (text, stated)
    assert TEMP_PREFIX in readme
