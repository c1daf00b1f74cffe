"""The ledger on SQLite and on a real PostgreSQL server: versions, idempotence, history, migrations."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import pytest
import sqlalchemy

from helpers import ROOT, XLTOOLS, load_seed, write_json
from test_check_seed import corrected_seed
from xltools.write.fill import fill
from xltools.collect.submission import Submission
from xltools.collect.ledger import Ledger
from xltools.collect.schema import MIGRATIONS
from xltools.collect.record import detail_of
from xltools.spec import load_spec

SPEC = load_spec()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / '汇总.db'}"
    name = f"ledger_{abs(hash(request.node.name)) % 10**8}"
    return request.getfixturevalue("postgres")(name)


def sub(label: str, sha: str, received: str) -> Submission:
    return Submission(label, label.rsplit("/", 1)[-1], "workbook", b"", sha, 1234, received, None, ".xlsx")


def result(unit, year, errors=0, refused=None) -> dict:
    findings = [{"code": "basic", "severity": "error", "sheet": "部门整体支出", "cell": "C28", "message": f"错误{i}",
                 "expected": "508.69", "actual": "509.52", "difference": "0.83", "hint": ""} for i in range(errors)]
    return {"file": "x", "ok": not errors and not refused, "findings": findings, "score": {}, "unit": unit,
            "year": year, "refused": refused, "message": "坏了" if refused else "", "score_stated": "97",
            "score_computed": "97", "grade_stated": "优秀", "grade_computed": "优秀",
            "figures": [{"key": "income", "label": "收入合计", "value": "3512.52"}], "projects": []}


def test_versions_latest_and_history(url):
    ledger = Ledger(url)
    try:
        ledger.record([(sub("a/民政局.xlsx", "1" * 64, "2023-03-01T09:00:00+00:00"), result("民政局", 2022, errors=2)),
                       (sub("a/教育局.xlsx", "2" * 64, "2023-03-01T09:05:00+00:00"), result("教育局", 2022))])
        # a later run: the resubmission (arrived later) and a damaged file
        rows = ledger.record([(sub("b/民政局-改.xlsx", "3" * 64, "2023-03-02T09:00:00+00:00"), result("民政局", 2022)),
                              (sub("b/坏.xlsx", "4" * 64, "2023-03-02T09:01:00+00:00"), result(None, None, refused="damaged"))])
        assert [(r["unit"], r["version"], r["status"]) for r in rows] == [("民政局", 2, "ok"), (None, 1, "refused")]
        latest = ledger.latest()
        assert sorted((r["unit"] or "", r["version"]) for r in latest) == [("", 1), ("教育局", 1), ("民政局", 2)]
        history = ledger.history("民政局")
        assert [(h["version"], h["status"], len(h["findings"])) for h in history] == [(1, "errors", 2), (2, "ok", 0)]
        f = history[0]["findings"][0]
        assert (f["code"], f["cell"], f["expected"], f["difference"]) == ("basic", "C28", "508.69", "0.83")
        # idempotence is by sha256: every recorded hash is known, nothing else
        assert set(ledger.known(["1" * 64, "3" * 64, "9" * 64])) == {"1" * 64, "3" * 64}
        # a usable file later found where the damaged one was supersedes it
        ledger.record([(sub("b/坏.xlsx", "5" * 64, "2023-03-03T09:00:00+00:00"), result("水利局", 2022))])
        assert sorted(r["unit"] for r in ledger.latest()) == ["教育局", "民政局", "水利局"]
    finally:
        ledger.close()


def test_figures_recorded_before_they_carried_labels_read_back_labelled(tmp_path):
    """A ledger written before the spec declared the summary's figures kept them by key (always the
    2022 pair's): they read back with the labels the spec now declares for those keys."""
    ledger = Ledger(f"sqlite:///{tmp_path / '旧.db'}")
    try:
        old = {**result("民政局", 2022), "figures": {"income": "3512.52", "three_public": "5"},
               "projects": [{"sheet": "项目支出", "name": "专项", "plan": "2983", "spent": "2983"}]}
        ledger.record([(sub("a/民政局.xlsx", "1" * 64, "2023-03-01T09:00:00+00:00"), old)])
        detail = detail_of(ledger.latest()[0])
    finally:
        ledger.close()
    assert detail["figures"] == [{"key": "income", "label": "收入合计", "value": "3512.52"},
                                 {"key": "three_public", "label": "三公经费", "value": "5"}]
    assert detail["projects"][0]["figures"] == [{"key": "plan", "label": "计划安排资金", "value": "2983"},
                                                {"key": "spent", "label": "实际支出", "value": "2983"}]


def test_migrations_keep_the_data(url):
    old = Ledger(url, upto=1)                  # a ledger made by the first version of the schema
    assert old.version() == 1
    with old.engine.begin() as conn:
        conn.execute(sqlalchemy.text(
            "INSERT INTO submissions (sha256, unit_key, unit, year, file_name, source, size, collected_at, status, "
            "errors, warnings, version) VALUES ('" + "a" * 64 + "', '民政局|2022', '民政局', 2022, 'x.xlsx', 'x.xlsx', "
            "1, '2023-03-01T00:00:00+00:00', 'ok', 0, 0, 1)"))
    old.close()
    new = Ledger(url)                          # opening it migrates: columns added, nothing rebuilt
    try:
        assert new.version() == len(MIGRATIONS)
        [row] = new.latest()
        assert (row["unit"], row["link"]) == ("民政局", None)
        insp = sqlalchemy.inspect(new.engine)
        assert "link" in {c["name"] for c in insp.get_columns("submissions")}
        assert "ix_findings_code" in {i["name"] for i in insp.get_indexes("findings")}
    finally:
        new.close()
    again = Ledger(url)                        # nothing left to run
    assert again.version() == len(MIGRATIONS)
    again.close()


def test_sqlite_keeps_a_rollback_journal(tmp_path):
    path = tmp_path / "汇总.db"
    Ledger(f"sqlite:///{path}").close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert not (tmp_path / "汇总.db-wal").exists()


def test_unusable_database_url_is_one_line(tmp_path):
    (tmp_path / "收件").mkdir()
    done = subprocess.run([str(XLTOOLS), "collect", str(tmp_path / "收件"), "-o", str(tmp_path / "汇总.xlsx"), "--db",
                           "nosuchdb://x"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2 and "台账数据库" in done.stderr and "Traceback" not in done.stderr


def test_collect_on_postgresql_end_to_end(postgres, tmp_path):
    url = postgres("collect_e2e")
    inbox = tmp_path / "收件"
    inbox.mkdir()
    for name, doc in (("v1.xlsx", load_seed()), ("v2.xlsx", corrected_seed())):
        fill(write_json(tmp_path / "d.json", doc), inbox / name, SPEC)
        os.utime(inbox / name, (1_700_000_000 + (name == "v2.xlsx") * 60,) * 2)
    run = lambda *a: subprocess.run([str(XLTOOLS), "collect", *map(str, a)], capture_output=True, text=True,
                                    timeout=120, cwd=ROOT)
    first = run(inbox, "-o", tmp_path / "汇总.xlsx", "--db", url, "--json")
    assert first.returncode == 1, first.stderr
    assert [(r["version"], r["ok"]) for r in json.loads(first.stdout)] == [(1, False), (2, True)]
    second = run(inbox, "-o", tmp_path / "汇总.xlsx", "--db", url)
    assert second.returncode == 0 and "本次校验 0 份，跳过已收录 2 份" in second.stdout     # nothing new
    history = json.loads(run("--history", "临湘市民政局", "--db", url, "--json").stdout)
    assert [(h["version"], h["ok"]) for h in history] == [(1, False), (2, True)]
    assert not (tmp_path / "汇总.db").exists()          # --db: no SQLite file beside the summary
