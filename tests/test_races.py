"""Two clerks collecting at once get the same ledger as one (issue 20, point 5), on SQLite and on
the real PostgreSQL server.

Each race: a fresh ledger (so the two runs also migrate it at the same moment), and two `xltools
collect` processes started together on it with the same summary, one over the first versions of
three units and one over their second versions; both hold one file in common. Afterwards: both
runs completed and said truthfully what they wrote, every unit has versions 1 and 2 (unique and
gapless), the common file is one row, and the summary state is one row.
"""
from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text

from helpers import ROOT, XLTOOLS, write_json
from test_check_seed import corrected_seed
from test_collect import demo
from xltools.collect.ledger import _normalise_url

RACES = 20
UNITS = ["临湘市甲局", "临湘市乙局", "临湘市丙局"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Two inboxes: version 1 and version 2 of each unit (data files: cheap to check), and one
    file both hold."""
    base = tmp_path_factory.mktemp("races")
    first, second = base / "一", base / "二"
    first.mkdir()
    second.mkdir()
    for unit in UNITS:
        doc = demo.renamed(corrected_seed(), unit)
        write_json(first / f"{unit}.json", doc)
        doc["dept"]["contact"] = "改过的联系人"                   # the second version
        write_json(second / f"{unit}.json", doc)
    common = demo.renamed(corrected_seed(), "临湘市共同局")
    write_json(first / "共同.json", common)
    write_json(second / "共同.json", common)
    return base, first, second


def _race(base, first, second, url: str, k: str) -> list[subprocess.CompletedProcess]:
    out = base / f"out{k}" / "汇总.xlsx"
    procs = [subprocess.Popen([str(XLTOOLS), "collect", str(folder), "-o", str(out), "--db", url, "--jobs", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
             for folder in (first, second)]
    done = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return done


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_two_collects_at_once_give_unique_gapless_versions(db, folders, request):
    base, first, second = folders
    started = time.monotonic()
    urls = [f"sqlite:///{base / f'race{k}.db'}" if db == "sqlite" else request.getfixturevalue("postgres")(f"race_{k}")
            for k in range(RACES)]
    # two races at a time (four processes): most of a short collect's time is spent starting up
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda k: _race(base, first, second, urls[k], f"{db}{k}"), range(RACES)))
    for k, (url, runs) in enumerate(zip(urls, outcomes)):
        for run in runs:
            assert run.returncode == 0, (k, run.stderr[-2000:])
            assert "Traceback" not in run.stderr and "错误" not in run.stderr, (k, run.stderr[-2000:])
            assert "汇总表：" in run.stdout and "未写入" not in run.stdout
        engine = create_engine(_normalise_url(url))
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT unit, version, sha256 FROM submissions")).all()
                states = conn.execute(text("SELECT count(*) FROM summaries")).scalar()
                schema = conn.execute(text("SELECT version FROM schema_version")).scalars().all()
        finally:
            engine.dispose()
        versions = {u: sorted(v for unit, v, _ in rows if unit == u) for u in UNITS}
        assert versions == {u: [1, 2] for u in UNITS}, (k, versions)
        assert sorted(v for unit, v, _ in rows if unit == "临湘市共同局") == [1], k
        assert len({sha for _, _, sha in rows}) == len(rows) == 2 * len(UNITS) + 1
        assert states == 1 and len(schema) == 1, (k, states, schema)
    print(f"{RACES} races on {db}: {time.monotonic() - started:.1f} s")
