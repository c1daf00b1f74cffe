"""The public Python API (xltools.check, check_many, fill, score, load_spec) as a script uses it,
and the command line as its thin shell: `--json` is always an array with refused files in it.

(Every hostile or broken file's refusal code is tested with the files themselves in
test_bad_input.py::test_every_bad_file_is_refused_with_its_code.)
"""
from __future__ import annotations

import importlib
import json
import pickle
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import xltools
from helpers import ROOT, SEED, load_seed, run_cli, sha256, write_json
from xltools.errors import BookError, DataError, SpecError
from xltools.spec.load import DEFAULT_SPEC

SPEC = xltools.load_spec()


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    return xltools.fill(SEED, tmp_path_factory.mktemp("api") / "民政局.xlsx", SPEC).path


def test_check_a_path_a_data_file_and_bytes_alike(book):
    by_path = xltools.check(book)                          # the default spec
    assert by_path.refused is None and by_path.message is None and by_path.ok is False   # the seed's errors
    assert by_path.file == str(book) and by_path.findings
    by_bytes = xltools.check(book.read_bytes(), SPEC, name="附件/民政局.xlsx")
    assert by_bytes.file == "附件/民政局.xlsx"
    assert by_bytes.flat(None) == by_path.flat(None)
    assert [f.message for f in by_bytes.findings] == [f.message for f in by_path.findings]
    data = xltools.check(SEED.read_bytes(), name="linxiang_2022.json")   # told apart by the name
    assert data.flat(None) == xltools.check(SEED).flat(None)
    toml = xltools.check(SEED.read_bytes(), name="linxiang.toml")          # JSON is not TOML: refused
    assert toml.refused == "data-invalid" and "linxiang.toml" in toml.message


def test_a_zip_member_is_checked_without_writing_it(book, tmp_path):
    bundle = tmp_path / "收件.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.write(book, "民政局.xlsx")
        z.writestr("说明.xlsx", "不是工作簿")
    before = sorted(tmp_path.iterdir())
    with zipfile.ZipFile(bundle) as z:
        reports = [xltools.check(z.read(n), name=n) for n in z.namelist()]
    assert [(r.file, r.refused) for r in reports] == [("民政局.xlsx", None), ("说明.xlsx", "not-xlsx")]
    assert sorted(tmp_path.iterdir()) == before


def test_check_many_streams_refused_files_as_reports(book, tmp_path):
    empty = tmp_path / "空.xlsx"
    empty.write_bytes(b"")
    folder = tmp_path / "文件夹.xlsx"
    folder.mkdir()
    paths = iter([book, empty, tmp_path / "不存在.xlsx", folder, SEED])
    reports = xltools.check_many(paths, SPEC)
    first = next(reports)                                   # lazy: nothing else read yet
    assert first.refused is None and next(paths) == empty
    rest = list(reports)
    assert [r.refused for r in rest] == ["unreadable-file", "unreadable-file", None]
    assert "不存在" in rest[0].message and "文件夹" in rest[1].message
    assert xltools.exit_code([first, rest[2]]) == 1
    assert xltools.exit_code([first, *rest]) == 2
    assert xltools.exit_code([]) == 0


def test_json_is_always_an_array_with_refused_files(book, tmp_path):
    bad = tmp_path / "旧版.xls"
    bad.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    done = run_cli("check", "--json", bad)
    assert done.returncode == 2 and done.stderr == ""
    assert json.loads(done.stdout) == [{"file": str(bad), "ok": False, "refused": "old-xls",
                                        "message": xltools.check(bad).message, "findings": [], "score": {}}]
    done = run_cli("check", "--json", book, bad, SEED)
    assert done.returncode == 2
    docs = json.loads(done.stdout)
    assert [(d["file"], d["refused"]) for d in docs] == [(str(book), None), (str(bad), "old-xls"), (str(SEED), None)]
    assert docs[0] == json.loads(json.dumps(xltools.check(book).to_json(), default=str))


def test_text_output_gives_a_refused_file_one_line(tmp_path):
    bad = tmp_path / "report.json"
    bad.write_text("{", encoding="utf-8")
    done = run_cli("check", SEED, bad)
    assert done.returncode == 2 and "有错误" in done.stdout
    assert done.stderr.count("\n") == 1 and str(bad) in done.stderr


def test_fill_from_a_mapping_and_score_in_place(tmp_path):
    doc = load_seed()
    doc["projects"][0]["proj_ind"] = [{"target": "≥95%", "actual": "98%"}]     # the new layout: one to score
    result = xltools.fill(doc, tmp_path / "a.xlsx")
    again = xltools.fill(write_json(tmp_path / "a.json", doc), tmp_path / "b.xlsx", SPEC)
    assert result.path.read_bytes() == again.path.read_bytes()       # the same workbook either way
    assert result.warnings == again.warnings
    doc["dept"]["dept_nmae"] = "x"
    with pytest.raises(DataError) as err:
        xltools.fill(doc, tmp_path / "c.xlsx")
    assert err.value.reason == "data-invalid" and "dept.dept_nmae" in str(err.value)
    assert not (tmp_path / "c.xlsx").exists()
    scored = xltools.score(result.path, tmp_path / "scored.xlsx")
    assert scored.path == tmp_path / "scored.xlsx" and scored.lines
    before = sha256(again.path)
    xltools.score(again.path, in_place=True, spec=DEFAULT_SPEC)
    assert sha256(again.path) != before
    assert sha256(again.path) == sha256(scored.path)
    with pytest.raises(BookError) as err:
        xltools.score(tmp_path / "a.json", tmp_path / "x.xlsx")
    assert err.value.reason == "not-xlsx" and not (tmp_path / "x.xlsx").exists()


def test_load_spec_and_spec_arguments(tmp_path):
    assert xltools.load_spec(DEFAULT_SPEC).fingerprint == SPEC.fingerprint
    assert xltools.load_spec(year=2023).year == 2023
    assert DEFAULT_SPEC in xltools.spec_files() and xltools.template_path().is_file()
    edited = tmp_path / "2022.toml"
    edited.write_bytes(DEFAULT_SPEC.read_bytes())
    first = xltools.check(SEED, edited)
    edited.write_text(DEFAULT_SPEC.read_text(encoding="utf-8").replace('year = 2022', 'year = 2023', 1),
                      encoding="utf-8")
    second = xltools.check(SEED, str(edited))                 # an edited spec is read again
    assert first.refused is None and second.refused == "data-invalid" and "2023" in second.message
    broken = tmp_path / "broken.toml"
    broken.write_text("[template", encoding="utf-8")
    with pytest.raises(SpecError):                            # not a property of the file: raised
        xltools.check(SEED, broken)


def test_errors_keep_their_reason_across_processes():
    for err in (BookError("文件 a.xlsx 已加密", "encrypted"), DataError("数据文件 a.json：x"), SpecError("规格")):
        back = pickle.loads(pickle.dumps(err))
        assert (type(back), str(back), back.reason) == (type(err), str(err), err.reason)
    assert DataError("x").reason == "data-invalid" and BookError("x").reason == "damaged"


def test_import_and_check_stay_light():
    """A script's `import xltools; xltools.check(...)` loads neither openpyxl nor pandas."""
    code = ("import sys, xltools; r = xltools.check(sys.argv[1]); "
            "print(r.refused, sorted(m for m in ('openpyxl', 'pandas', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, str(SEED)], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.split() == ["None", "[]"], done.stderr
    assert set(xltools.__all__) <= set(dir(xltools))
    from xltools.write.fill import FillResult        # no module is named like an API function
    importlib.import_module("xltools.checker")
    assert callable(xltools.check) and xltools.check.__module__ == "xltools.api"
    assert xltools.fill.__module__ == "xltools.api" and xltools.FillResult is FillResult
    with pytest.raises(AttributeError):
        xltools.no_such_thing  # noqa: B018


def test_the_command_line_lists_every_command():
    done = run_cli("--help")
    assert done.returncode == 0
    for name in ("template", "spec", "fill", "check", "score"):
        assert name in done.stdout


ENGLISH = re.compile(r"\b(usage|error|options|positional arguments|arguments?|required|invalid|choose|"
                     r"unrecognized|expected|show this help)\b", re.I)


@pytest.mark.parametrize("argv, said", [
    (("fill", "数据.json"), "缺少必需的参数：-o/--output"),
    (("template", "--yaer", "2023"), "无法识别的参数：--yaer 2023"),
    (("chek", "a.xlsx"), "没有命令“chek”，可用的命令：template, spec"),
    (("template", "--year", "二〇二三"), "参数 --year 应为整数，“二〇二三”不是"),
    (("spec",), "缺少必需的参数：子命令"),
    (("pack", "-o"), "参数 -o/--output 后面须写一个值"),
])
def test_a_mistyped_command_is_one_chinese_line(argv, said):
    """argparse answered a mistyped command in English, usage first ("error: the following
    arguments are required"): an admin at a finance bureau read it as all there was to know."""
    done = run_cli(*argv)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("错误：") and said in done.stderr, done.stderr
    assert "--help 查看用法" in done.stderr and not ENGLISH.search(done.stderr.replace("--help", "")), done.stderr


@pytest.mark.parametrize("argv", [("--help",), ("fill", "--help"), ("check", "--help"), ("spec", "fields", "--help")])
def test_help_is_in_chinese(argv):
    done = run_cli(*argv)
    assert done.returncode == 0 and done.stdout.startswith("用法：xltools"), done.stdout
    assert "显示本帮助并退出" in done.stdout and "选项" in done.stdout
    assert not ENGLISH.search(done.stdout.replace("--help", "")), done.stdout


def test_the_readme_example_runs_as_written(book, tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## 在 Python 脚本中使用"):]
    code = section[section.index("```python\n") + 10:section.index("```\n", section.index("```python"))]
    (tmp_path / "收件").mkdir()
    (tmp_path / "收件" / "民政局.xlsx").write_bytes(book.read_bytes())
    (tmp_path / "收件" / "坏.xlsx").write_bytes(b"")
    (tmp_path / "附件.xlsx").write_bytes(book.read_bytes())
    (tmp_path / "数据.json").write_bytes(SEED.read_bytes())
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "坏.xlsx empty 文件" in done.stdout and "民政局.xlsx error" in done.stdout
    assert (tmp_path / "评分后.xlsx").is_file()
    for code_name in xltools.REFUSED_REASONS:
        assert f"`{code_name}`" in section, code_name
