"""Shared pytest fixtures. Keep each one small; add new ones in the section at the bottom."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import xltools  # noqa: F401  (first: it keeps openpyxl's writer the same whether lxml is installed)

# CI must run every test: there a missing LibreOffice or pdftotext means a broken setup
# (`make setup` installs them), so it fails instead of skipping.
IN_CI = os.environ.get("CI", "").lower() in ("true", "1")


def unavailable(reason: str) -> None:
    """Skip the test for a missing external tool, or fail it under CI."""
    if IN_CI:
        pytest.fail(f"CI 环境缺少必需的工具：{reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def soffice():
    """The xltools.office.bridge module with its LibreOffice already started (shared by the session)."""
    from xltools.office import bridge as office

    if office.find_soffice() is None:
        unavailable("未找到 LibreOffice（soffice）")
    try:
        office.start()
    except office.OfficeError as err:
        unavailable(str(err))
    yield office
    office.shutdown()


@pytest.fixture(scope="session")
def pdf_text():
    """A function: PDF path -> its text, via poppler's pdftotext (layout kept)."""
    exe = shutil.which("pdftotext")
    if exe is None:
        unavailable("未找到 pdftotext（poppler-utils）")

    def read(path) -> str:
        return subprocess.run([exe, "-layout", str(path), "-"], check=True,
                              capture_output=True, text=True, timeout=60).stdout

    return read


# --- Fixtures for other modules' tests go below this line. ---


# --- collect: a real PostgreSQL server for the ledger tests (tests/test_ledger.py) -------------
def _postgres_bin(name: str) -> str | None:
    import glob
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@pytest.fixture(scope="session")
def postgres():
    """A function: database name -> SQLAlchemy URL of a new, empty database on a PostgreSQL
    server started for this session (initdb + pg_ctl in a temporary folder, reached over a
    unix socket there: no port to collide with). initdb refuses root, so as root the server
    runs as the `postgres` user that Debian's package creates."""
    import pwd
    import tempfile

    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not initdb or not pg_ctl:
        unavailable("未找到 PostgreSQL（initdb、pg_ctl；Debian 软件包 postgresql）")
    as_user: list[str] = []
    folder = tempfile.mkdtemp(prefix="xltools-pg-")
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("以 root 运行时需要系统用户 postgres（Debian 软件包 postgresql 会创建）")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(folder, "data")

    def run(*cmd):
        return subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120)

    done = run(initdb, "-D", data, "-U", "xltools", "--auth=trust", "-E", "UTF8", "--no-locale")
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        unavailable(f"initdb 失败：{done.stderr.strip()[-300:]}")
    options = f"-c listen_addresses='' -c unix_socket_directories={folder} -c fsync=off"
    done = run(pg_ctl, "-D", data, "-o", options, "-l", os.path.join(folder, "log"), "-w", "start")
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        unavailable(f"PostgreSQL 启动失败：{done.stderr.strip()[-300:]}")
    import sqlalchemy

    admin = sqlalchemy.create_engine(f"postgresql+psycopg://xltools@/postgres?host={folder}",
                                     isolation_level="AUTOCOMMIT")

    def new_database(name: str) -> str:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        return f"postgresql://xltools@/{name}?host={folder}"

    try:
        yield new_database
    finally:
        admin.dispose()
        run(pg_ctl, "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


# --- artefacts a person looks at: screenshots of the LibreOffice window, rendered pages ----------
ARTIFACTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "artifacts")   # ignored by git
_ARTIFACT_FOLDERS: list[str] = []


@pytest.fixture(scope="module")
def artifacts(request):
    """A folder tests/artifacts/<module>/ (emptied first) for what the module's tests leave to be
    looked at; the folders are listed at the end of the run."""
    folder = os.path.join(ARTIFACTS, request.module.__name__.removeprefix("test_"))
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    _ARTIFACT_FOLDERS.append(folder)
    from pathlib import Path
    return Path(folder)


@pytest.fixture(scope="module")
def window(artifacts):
    """LibreOffice in a real window on its own X screen (office_window.py), its screenshots kept
    in the module's artifacts folder."""
    from office_window import Window
    w = Window(artifacts).start()
    yield w
    w.stop()


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):     # a pytest-xdist worker: the controller lists them
        session.config.workeroutput["artifacts"] = _ARTIFACT_FOLDERS


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    _ARTIFACT_FOLDERS.extend(getattr(node, "workeroutput", {}).get("artifacts", []))


def pytest_terminal_summary(terminalreporter):
    for folder in _ARTIFACT_FOLDERS:
        files = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        terminalreporter.write_line(f"截图与页面（{len(files)} 个文件）：{folder}")
