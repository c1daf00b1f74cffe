"""One resolver: which spec reads a file (spec/registry.py), by the template's fingerprint
(spec/fingerprint.py) or a data file's year and region, or one refusal line that says which
template the file is of. `check`, `pack`, `collect`, the add-in and the API ask it, so the same
unusable file has the same refusal code everywhere."""
from __future__ import annotations

import json
import os
import pickle
import subprocess

import openpyxl
import pytest

import xltools
from helpers import ROOT, SEED, XLTOOLS, load_seed, write_json
from xltools.build.names import FINGERPRINT_NAME
from xltools.errors import BookError, DataError
from xltools.spec import load_spec
from xltools.spec.fingerprint import Fingerprint
from xltools.spec.registry import Registry, spec_info
from xltools.write.fill import fill
from xltools.xlsx import open_book

SPEC = load_spec()


def run(*args, cwd=ROOT):
    return subprocess.run([str(XLTOOLS), *map(str, args)], capture_output=True, text=True, timeout=180, cwd=cwd,
                          env={**os.environ})


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    """A folder holding a 2023 spec (the 2022 text with another year), and books of both years."""
    base = tmp_path_factory.mktemp("registry")
    folder = base / "specs"
    folder.mkdir()
    text = (ROOT / "specs" / "2022.toml").read_text(encoding="utf-8")
    (folder / "2023.toml").write_text(text.replace("year = 2022", "year = 2023", 1), encoding="utf-8")
    spec23 = load_spec(folder / "2023.toml")
    book22 = fill(SEED, base / "民政局2022.xlsx", SPEC).path
    book23 = fill(write_json(base / "2023.json", {**load_seed(), "year": 2023}), base / "民政局2023.xlsx", spec23).path
    unmarked = base / "无标识.xlsx"
    wb = openpyxl.load_workbook(book22)
    wb.defined_names.pop(FINGERPRINT_NAME)
    wb.save(unmarked)
    return {"base": base, "folder": folder, "spec23": spec23, "book22": book22, "book23": book23,
            "unmarked": unmarked}


# --- the fingerprint -----------------------------------------------------------------------------
def test_the_fingerprint_is_written_parsed_and_described_in_one_place():
    fp = SPEC.fingerprint
    v = SPEC.form_version
    assert fp == f"xltools:临湘市:2022:v{v}:{SPEC.digest[:16]}"          # the text the workbook carries
    assert (fp.region, fp.year, fp.form_version, fp.digest) == ("临湘市", 2022, v, SPEC.digest[:16])
    assert fp.describe() == f"临湘市2022年度模板（第{v}版）"
    assert Fingerprint.parse(f'"{fp}"') == fp and Fingerprint.parse(f" {fp} ").year == 2022
    assert pickle.loads(pickle.dumps(fp)) == fp and type(pickle.loads(pickle.dumps(fp))) is Fingerprint
    for other in (None, "", "xltools:临湘市:2022", "某软件:临湘市:2022:v1:0123456789abcdef",
                  "xltools:临湘市:二〇二二:v1:0123456789abcdef", f"{fp}0"):
        assert Fingerprint.parse(other) is None, other
    assert Fingerprint.parse("xltools:岳阳:市:2023:v2:0123456789abcdef").region == "岳阳:市"   # a colon in a region
    built = open_book(ROOT / "templates" / "self_eval.xlsx").defined_name(FINGERPRINT_NAME)
    assert Fingerprint.parse(built) == fp                                # the committed template is this spec's


def test_no_fingerprint_is_parsed_by_position_anywhere():
    """The fingerprint's parts are read through Fingerprint only (it was split by position twice)."""
    for path in (ROOT / "xltools").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert 'split(":")' not in text, f"{path} splits a fingerprint by position: use Fingerprint.parse"


def test_a_spec_is_known_by_its_fingerprint_before_it_is_laid_out(specs):
    info = spec_info(specs["folder"] / "2023.toml")
    assert info.fingerprint == specs["spec23"].fingerprint and (info.year, info.region) == (2023, "临湘市")
    assert spec_info(ROOT / "specs" / "2022.toml").fingerprint == SPEC.fingerprint


# --- resolving -----------------------------------------------------------------------------------
def test_each_workbook_is_read_with_the_spec_that_made_it(specs):
    registry = Registry.from_dirs([specs["folder"]])
    assert [(i.year, i.form) for i in registry.infos] == [(2022, ""), (2022, "项目支出绩效自评表"), (2023, "")]
    for book, year in ((specs["book22"], 2022), (specs["book23"], 2023)):
        assert registry.resolve(open_book(book), str(book)).year == year
        report = xltools.check(book, registry)
        assert report.refused is None and report.findings, report.message
    # a data file by its year (and region)
    assert registry.resolve(load_seed(), "seed.json").year == 2022
    assert registry.resolve({**load_seed(), "year": 2023}, "x.json").year == 2023
    with pytest.raises(DataError) as err:
        registry.resolve({**load_seed(), "year": 2030}, "2030.json")
    assert err.value.reason == "other-template" and "2030" in str(err.value)


def test_a_workbook_no_spec_reads_is_refused_with_one_line_naming_its_template(specs):
    packaged = Registry.packaged()
    with pytest.raises(BookError) as err:
        packaged.resolve(open_book(specs["book23"]), "民政局2023.xlsx")
    assert err.value.reason == "other-template"
    v = SPEC.form_version
    assert f"民政局2023.xlsx 是临湘市2023年度模板（第{v}版）" in str(err.value) and f"临湘市2022年度模板（第{v}版）" in str(err.value)
    with pytest.raises(BookError) as err:
        Registry.of(SPEC).resolve(open_book(specs["unmarked"]), "无标识.xlsx")
    assert err.value.reason == "other-template" and FINGERPRINT_NAME in str(err.value)
    # the same year and region, another version of the form: said so
    other = load_spec(SPEC.path, year=2022)
    other.digest = "f" * 64
    with pytest.raises(BookError) as err:
        Registry.of(other).resolve(open_book(specs["book22"]), "民政局2022.xlsx")
    assert "版本不一致" in str(err.value)


def test_check_auto_is_the_default_and_names_the_spec_it_used(specs):
    auto = xltools.check(specs["book22"], "auto")
    assert auto.refused is None and auto.to_json() == xltools.check(specs["book22"]).to_json()
    assert xltools.check(specs["book23"], "auto").refused == "other-template"
    assert xltools.check(specs["book23"], specs["folder"] / "2023.toml").refused is None
    # the command line: without --spec each file by its own; --spec names one
    done = run("check", "--json", specs["book22"], specs["book23"])
    assert done.returncode == 2
    rows = json.loads(done.stdout)
    assert [r["refused"] for r in rows] == [None, "other-template"] and "--spec" in rows[1]["message"]


def test_an_unmarked_workbook_is_refused_with_one_code_by_every_command(specs, tmp_path):
    """Fault 3 of issue 15: collect called it `not-template` (declared nowhere), check
    `other-template`. Now both ask the resolver."""
    check = json.loads(run("check", "--json", specs["unmarked"]).stdout)[0]
    collected = run("collect", specs["unmarked"], "-o", tmp_path / "汇总.xlsx", "--json")
    assert collected.returncode == 2, collected.stderr
    [row] = json.loads(collected.stdout)
    assert check["refused"] == row["refused"] == "other-template"
    assert row["refused"] in xltools.REFUSED_REASONS and FINGERPRINT_NAME in row["message"]


def test_pack_refuses_it_with_the_same_line(specs, soffice, tmp_path):
    packed = run("pack", specs["unmarked"], specs["book23"], "-o", tmp_path / "包")
    assert packed.returncode == 2 and "Traceback" not in packed.stderr
    assert FINGERPRINT_NAME in packed.stderr and f"临湘市2023年度模板（第{SPEC.form_version}版）" in packed.stderr
    assert not (tmp_path / "包").exists() or not any((tmp_path / "包").iterdir())
