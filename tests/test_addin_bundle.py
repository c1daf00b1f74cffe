"""What IT installs: the distribution's own name, and the offline bundle for a Windows PC.

The bundle needs the package index (pip download for win_amd64); so does the check that the name is
free there. Both skip on a laptop without it and fail under CI=true (tests/conftest.py), where the
index is reachable: CI runs on the developers' machines, which reach it. What must hold offline
holds offline: the recorded name check, and that pyproject, README and docs name one distribution.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from datetime import date
from email.parser import Parser

import pytest

from conftest import unavailable
from helpers import ROOT, run_cli
from xltools import __version__
from xltools.addin import bundle, table

DOCS = ("README.md", "docs/addin.md")


def _pip(*args, timeout=600) -> subprocess.CompletedProcess:
    """pip against the package index alone: no local find-links or extra indexes from this
    machine's configuration files or environment, so an answer is the index's (a mirror set as
    the index URL, and the certificates, stay)."""
    local = ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX", "PIP_CONSTRAINT", "PIP_CONFIG_FILE")
    env = {k: v for k, v in os.environ.items() if k not in local}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_DEFAULT_TIMEOUT="60")
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


@pytest.fixture(scope="module")
def index():
    """The package index answers (a name known to be there)."""
    if _pip("index", "versions", "xlwings", timeout=180).returncode:
        unavailable("无法访问包索引（pip index versions xlwings 失败）")


# -- the name ----------------------------------------------------------------------------------------
def test_one_distribution_name_in_pyproject_docs_and_the_recorded_check():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == table.DISTRIBUTION != "xltools"
    assert project["scripts"] == {"xltools": "xltools.cli:main"}              # the command keeps its name
    doc = (ROOT / "docs" / "addin.md").read_text(encoding="utf-8")
    record = re.search(r"^\| (\d{4}-\d\d-\d\d) \| `([\w.-]+)` \| 不存在 \| (.+) \|$", doc, re.M)
    assert record, "docs/addin.md records when and how the name was checked on the index"
    assert record.group(2) == table.DISTRIBUTION and date.fromisoformat(record.group(1)) <= date.today()
    for name in DOCS:
        text = (ROOT / name).read_text(encoding="utf-8")
        assert f'"{table.DISTRIBUTION}[excel]"' in text, name
        # every pip install/download names our distribution (or a file, a folder of wheels, a pin)
        for line in re.findall(r"pip (?:install|download)[^\n`]*", text):
            assert table.DISTRIBUTION in line or re.search(r"\.whl|xlwings==|-r ", line), (name, line)
        assert '"xltools[excel]"' not in text and "pip install xltools\n" not in text


def test_the_name_is_free_on_the_index_or_ours(index, tmp_path):
    found = _pip("index", "versions", table.DISTRIBUTION, timeout=180)
    if found.returncode:
        assert "No matching distribution" in found.stderr, found.stderr
        return
    # Once published, the project there must be this one.
    got = _pip("download", "--no-deps", "-d", str(tmp_path), table.DISTRIBUTION)
    assert got.returncode == 0, got.stderr
    [wheel] = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        meta = Parser().parsestr(z.read(next(n for n in z.namelist() if n.endswith("METADATA"))).decode())
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["description"]
    assert meta["Summary"] == ours, f"{table.DISTRIBUTION} on the index is someone else's: {meta['Summary']}"


# -- the offline bundle -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def offline(index, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "离线安装包"
    done = run_cli("addin", "bundle", "-o", out, timeout=1200)
    assert done.returncode == 0, done.stderr
    assert "未包含 xltools.xlam" in done.stdout and "Windows" in done.stdout     # said plainly, here
    return out


def test_the_bundle_holds_wheels_a_script_a_readme_and_hashes_that_verify(offline):
    listed = {}
    for line in (offline / bundle.SUMS).read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    files = {p.relative_to(offline).as_posix() for p in offline.rglob("*") if p.is_file()}
    assert set(listed) == files - {bundle.SUMS}
    assert {bundle.SCRIPT, bundle.README, bundle.GUIDE} <= set(listed)
    assert (offline / bundle.GUIDE).read_bytes() == (ROOT / "docs" / "addin.md").read_bytes()   # the trust guide
    for name, digest in listed.items():
        assert hashlib.sha256((offline / name).read_bytes()).hexdigest() == digest, name
    if shutil.which("sha256sum"):                                   # the tool the format is made for
        check = subprocess.run(["sha256sum", "--quiet", "-c", bundle.SUMS], cwd=offline, capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr
    wheels = {p.name for p in (offline / bundle.WHEELS).iterdir()}
    assert f"{table.DISTRIBUTION.replace('-', '_')}-{__version__}-py3-none-any.whl" in wheels
    for python in ("cp311", "cp312"):
        assert f"xlwings-{table.XLWINGS_VERSION}-{python}-{python}-win_amd64.whl" in wheels
        assert any(re.fullmatch(rf"pywin32-\d+-{python}-{python}-win_amd64\.whl", w) for w in wheels)
    assert all(w.endswith(("-none-any.whl", "-win_amd64.whl")) for w in wheels)


@pytest.mark.parametrize("python", bundle.PYTHONS)
def test_the_wheelhouse_resolves_for_windows_64_bit_offline(offline, python, tmp_path):
    """pip's own dry run for that PC (tags, versions, Requires-Python), from the bundle alone ..."""
    abi = "cp" + python.replace(".", "")
    done = _pip("install", "--dry-run", "--ignore-installed", "--only-binary=:all:", "--platform", "win_amd64",
                "--python-version", python, "--implementation", "cp", "--abi", abi, "--target", str(tmp_path / "t"),
                "--no-index", "--find-links", str(offline / bundle.WHEELS),
                f"{table.DISTRIBUTION}[excel]=={__version__}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"{table.DISTRIBUTION}-{__version__}" in done.stdout and f"xlwings-{table.XLWINGS_VERSION}" in done.stdout
    # ... and what pip's dry run cannot see, as it reads markers for this machine: Windows's own
    # requirements (xlwings's pywin32) are there too.
    root = f"{table.DISTRIBUTION}[excel]=={__version__}"
    assert bundle.missing(offline / bundle.WHEELS, root, python) == []
    partial = tmp_path / "partial"
    shutil.copytree(offline / bundle.WHEELS, partial)
    for w in partial.glob("pywin32-*.whl"):
        w.unlink()
    assert bundle.missing(partial, root, python) == ["pywin32>=224"]


def test_the_install_script_is_offline_checks_hashes_and_refuses_a_32_bit_python(offline):
    data = (offline / bundle.SCRIPT).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\n") == data.count(b"\r\n")   # PowerShell 5.1 reads UTF-8
    script = data.decode("utf-8-sig")
    assert f'--no-index --find-links (Join-Path $here "{bundle.WHEELS}") "{table.DISTRIBUTION}[excel]=={__version__}"' in script
    assert "Get-FileHash -Algorithm SHA256" in script and bundle.SUMS in script
    assert "struct.calcsize('P') * 8" in script and '$bits -ne "64"' in script
    assert "addin install $xlam --interpreter \"$Target\\Scripts\\pythonw.exe\"" in script
    assert '-not $listed.ContainsKey("xltools.xlam")' in script          # an add-in slipped in later is refused
    readme = (offline / bundle.README).read_bytes().decode("utf-8-sig")
    assert "32 位 Office 配 64 位 Python 没有问题" in readme and "32 位 Python 不能用" in readme
    assert "未包含 xltools.xlam" in readme and "xltools addin build" in readme and "--xlam" in readme


def test_a_bundle_never_lands_on_a_folder_in_use(tmp_path):
    taken = tmp_path / "已有"
    taken.mkdir()
    (taken / "别人的文件.txt").write_text("x")
    done = run_cli("addin", "bundle", "-o", taken)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "不是空文件夹" in done.stderr
    assert [p.name for p in taken.iterdir()] == ["别人的文件.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["已有"]                   # no half-made folder beside it


def test_the_xlam_goes_in_when_given_and_the_readme_says_when_it_cannot(tmp_path):
    signed = tmp_path / "signed.xlam"
    signed.write_bytes(b"PK\x03\x04 a signed add-in")
    folder = tmp_path / "given"
    folder.mkdir()
    assert bundle._xlam(folder, signed) == ""
    assert (folder / "xltools.xlam").read_bytes() == signed.read_bytes()
    assert "本安装包含 xltools.xlam" in bundle.readme("")
    note = bundle._xlam(tmp_path, None)                       # here: not Windows, no Excel
    assert note.startswith("未包含 xltools.xlam") and "Windows" in note and note in bundle.readme(note)
    assert not (tmp_path / "xltools.xlam").exists()
