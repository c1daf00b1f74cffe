"""The wheel as a user installs it: built from the repository, installed into a fresh venv, run
from another folder. It must carry every module, the specs and the template (package data), so
that `xltools check` works anywhere (a Windows add-in user installs exactly this way).

Offline and quick: the wheel is built from a copy of the sources without build isolation, and the
fresh venv borrows this venv's installed dependencies through a .pth line (`pip install --no-deps`);
a .pth inside the borrowed folder is not run, so this checkout's editable xltools stays out.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from helpers import ROOT, SEED
from xltools.addin.bundle import own_wheel


def _run(*args, cwd=None, check=True) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=300)
    if check:
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built as `xltools addin bundle` builds the wheel it ships (from a copy of the sources)."""
    return own_wheel(tmp_path_factory.mktemp("wheel") / "dist")


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("venv") / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", where)
    python = where / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run(python, "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q", wheel)
    return where


def test_the_wheel_carries_every_module_the_specs_and_the_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "xltools").rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    for spec in (ROOT / "specs").glob("*.toml"):
        assert f"xltools/_specs/{spec.name}" in names
    assert "xltools/py.typed" in names
    with zipfile.ZipFile(wheel) as z:
        for template in ("self_eval.xlsx", "national_2022.xlsx"):       # each spec's [template] file
            assert z.read(f"xltools/_templates/{template}") == (ROOT / "templates" / template).read_bytes()


def test_the_installed_command_works_from_another_folder(venv, tmp_path):
    xltools = venv / "bin" / "xltools"
    shutil.copyfile(SEED, tmp_path / "数据.json")
    where = _run(venv / "bin" / "python", "-c",
                 "import xltools; print(xltools.__file__); print(*xltools.spec_files()); print(xltools.template_path())",
                 cwd=tmp_path).stdout.split()
    assert all(str(venv) in w for w in where), where       # the installed copy, not this checkout
    done = _run(xltools, "check", "数据.json", cwd=tmp_path, check=False)
    assert done.returncode == 1, done.stderr                # the seed's own errors: the spec was found
    assert "有错误" in done.stdout and done.stderr == ""
    # fill copies the installed template (same spec): no openpyxl, the same bytes as a checkout builds
    code = ("import sys, xltools; xltools.fill('数据.json', '填好.xlsx'); "
            "print('openpyxl' in sys.modules)")
    assert _run(venv / "bin" / "python", "-c", code, cwd=tmp_path).stdout.strip() == "False"
    here = _run(Path(sys.executable).with_name("xltools"), "fill", SEED, "-o", tmp_path / "checkout.xlsx")
    assert here.returncode == 0
    assert (tmp_path / "填好.xlsx").read_bytes() == (tmp_path / "checkout.xlsx").read_bytes()
    done = _run(xltools, "check", "--json", "填好.xlsx", "不存在.xlsx", cwd=tmp_path, check=False)
    assert done.returncode == 2 and '"refused": "unreadable-file"' in done.stdout
    # the national form: a data file of its region ("通用") copies its installed template; one of a
    # province's region is the same spec for that region, whose template is built for it
    data = tomllib.loads((ROOT / "tests" / "data" / "national" / "anhui_2022_tianchang.toml").read_text(encoding="utf-8"))
    (tmp_path / "天长.json").write_text(json.dumps({**data, "region": "通用"}, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "安徽.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    code = ("import sys, xltools; xltools.fill('天长.json', '天长.xlsx'); print('openpyxl' in sys.modules, "
            "xltools.check('天长.xlsx').ok); xltools.fill('安徽.json', '安徽.xlsx'); print(xltools.check('安徽.xlsx').ok)")
    assert _run(venv / "bin" / "python", "-c", code, cwd=tmp_path).stdout.split() == ["False", "True", "True"]
    done = _run(xltools, "template", cwd=tmp_path)          # no -o: the current folder, not the package
    assert (tmp_path / "self_eval.xlsx").read_bytes() == (ROOT / "templates" / "self_eval.xlsx").read_bytes()
