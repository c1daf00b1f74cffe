"""Shared pytest fixtures. Keep each one small; add new ones in the section at the bottom."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

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
    """The xltools.office module with its LibreOffice already started (shared by the session)."""
    from xltools import office

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
