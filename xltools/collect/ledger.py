"""The ledger: every submission collect has seen, with its findings, in SQLite or PostgreSQL.

SQLAlchemy Core, so the same statements run on the default SQLite file beside the summary
(`汇总.db`) and on a PostgreSQL server a bureau shares (`--db postgresql://…`). SQLite keeps its
rollback journal (journal_mode=DELETE), not WAL: WAL needs shared memory that a file on a network
share does not give, and finance bureaus keep such files on shares.

A submission is keyed by the sha256 of its bytes: a file seen before is not checked again. A unit
and year that submits again gets the next version; the summary counts the latest, the earlier
versions and their findings stay (`xltools collect --history 单位`). A file that could not be
used has no unit: it is keyed by where it was found, and a usable file found later at the same
place supersedes it.

The schema only grows by migrations: `schema_version` holds how many of MIGRATIONS have run,
and opening a ledger runs the rest in order, each in its own transaction.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import (Column, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint,
                        create_engine, event, func, insert, select, text)
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from ..errors import XltoolsError
from .record import Detail, Result, Row, detail_of, status_of

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))


def _submission_columns():
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("sha256", String(64), nullable=False, unique=True),
        Column("unit_key", String(512), nullable=False, index=True),   # "单位|年度", or "file:来源"
        Column("unit", String(255)),
        Column("year", Integer),
        Column("region", String(64)),
        Column("file_name", String(512), nullable=False),
        Column("source", Text, nullable=False),          # path, or zip path/member
        Column("size", Integer, nullable=False),
        Column("received_at", String(32)),               # ISO 8601, UTC
        Column("collected_at", String(32), nullable=False),
        Column("fingerprint", String(128)),
        Column("xltools_version", String(32)),
        Column("status", String(16), nullable=False),    # ok / errors / refused
        Column("refused", String(32)),
        Column("message", Text),
        Column("errors", Integer, nullable=False),
        Column("warnings", Integer, nullable=False),
        Column("score_stated", String(32)),              # Decimal as text: exact on every database
        Column("score_computed", String(32)),
        Column("grade_stated", String(16)),
        Column("grade_computed", String(16)),
        Column("version", Integer, nullable=False),
        Column("detail", Text),                          # JSON: figures, projects, score
    ]


def _finding_columns():
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False, index=True),
        Column("position", Integer, nullable=False),
        Column("code", String(64), nullable=False),
        Column("severity", String(16), nullable=False),
        Column("sheet", String(255)),
        Column("cell", String(255)),
        Column("message", Text),
        Column("expected", Text),
        Column("actual", Text),
        Column("difference", Text),
        Column("hint", Text),
    ]


def _summary_state_columns():
    return [
        Column("path", String(1024), primary_key=True),   # the summary workbook, resolved
        Column("state", String(64), nullable=False),      # hash of what it was built from
        Column("sha256", String(64), nullable=False),     # of the file as written
        Column("written_at", String(32), nullable=False),
    ]


# The current schema (what the code reads and writes): migration 1's tables plus later columns.
submissions = Table("submissions", metadata, *_submission_columns(), Column("link", Text))
findings = Table("findings", metadata, *_finding_columns())
Index("ix_findings_code", findings.c.code)
summaries = Table("summaries", metadata, *_summary_state_columns())


def _m1_tables(conn) -> None:
    md = MetaData()
    Table("submissions", md, *_submission_columns())
    Table("findings", md, *_finding_columns())
    md.create_all(conn)


def _m2_link(conn) -> None:
    # Where a loose file was found, so the summary's hyperlinks can open it at the cell.
    conn.execute(text("ALTER TABLE submissions ADD COLUMN link TEXT"))


def _m3_code_index(conn) -> None:
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_findings_code ON findings (code)"))


def _m4_summaries(conn) -> None:
    # What each summary workbook was last written from, so a run with nothing new leaves it be.
    Table("summaries", MetaData(), *_summary_state_columns()).create(conn)


def _serve_tables(md: MetaData) -> list[Table]:
    """The web intake's own tables (xltools/serve/store.py reads and writes them): accounts, the
    one-time links that set a password, which account uploaded which submission, the warnings'
    explanations (核实), the submit/return/accept decisions, the audit log and a few settings."""
    return [
        Table("accounts", md,
              Column("id", Integer, primary_key=True, autoincrement=True),
              Column("login", String(255), nullable=False, unique=True),
              Column("role", String(16), nullable=False),              # admin / staff / unit
              Column("unit", String(255), unique=True),                  # a unit account's 单位 (as in the ledger)
              Column("password_hash", Text),                             # argon2id; NULL until a link sets it
              Column("must_change", Integer, nullable=False, default=0),  # a one-time password
              Column("disabled", Integer, nullable=False, default=0),
              Column("created_at", String(32), nullable=False)),
        Table("links", md,
              Column("token_sha256", String(64), primary_key=True),    # of the token: the URL alone holds it
              Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
              Column("created_at", String(32), nullable=False),
              Column("expires_at", String(32), nullable=False),
              Column("used_at", String(32))),
        Table("uploads", md,
              Column("id", Integer, primary_key=True, autoincrement=True),
              Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False, index=True),
              Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
              Column("file_name", String(512), nullable=False),
              Column("stored", String(128), nullable=False),             # sha256 + suffix in the data folder
              Column("uploaded_at", String(32), nullable=False),
              UniqueConstraint("submission_id", "account_id")),
        Table("explanations", md,
              Column("submission_id", Integer, ForeignKey("submissions.id"), primary_key=True),
              Column("position", Integer, primary_key=True),             # the finding's position
              Column("text", Text, nullable=False),
              Column("account_id", Integer, ForeignKey("accounts.id")),
              Column("at", String(32), nullable=False)),
        Table("decisions", md,
              Column("id", Integer, primary_key=True, autoincrement=True),
              Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False, index=True),
              Column("action", String(16), nullable=False),              # submit / return / accept
              Column("opinion", Text),                                   # 退回意见
              Column("account_id", Integer, ForeignKey("accounts.id")),
              Column("at", String(32), nullable=False)),
        Table("audit", md,
              Column("id", Integer, primary_key=True, autoincrement=True),
              Column("at", String(32), nullable=False),
              Column("account_id", Integer),
              Column("login", String(255)),
              Column("action", String(32), nullable=False),
              Column("target", Text),
              Column("detail", Text)),
        Table("settings", md,
              Column("key", String(64), primary_key=True),
              Column("value", Text, nullable=False)),
        Table("cell_views", md,                                          # the cells around each finding
              Column("sha256", String(64), primary_key=True),            # of the submission
              Column("grids", Text, nullable=False)),                    # JSON, as serve/jobs.py reads them
    ]


accounts, links, uploads, explanations, decisions, audit, settings, cell_views = _serve_tables(metadata)


def _m5_serve(conn) -> None:
    md = MetaData()
    Table("submissions", md, Column("id", Integer, primary_key=True))   # the foreign keys' target
    for table in _serve_tables(md):
        table.create(conn)


MIGRATIONS = [_m1_tables, _m2_link, _m3_code_index, _m4_summaries, _m5_serve]


def default_url(summary_path) -> str:
    from pathlib import Path
    p = Path(summary_path).resolve()
    return f"sqlite:///{p.with_suffix('.db')}"


def _normalise_url(url: str) -> str:
    # psycopg (3) is the driver we install; a plain postgresql:// URL would ask for psycopg2.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Ledger:
    def __init__(self, url: str, upto: int | None = None):
        """Open (and migrate) the ledger at `url`; `upto` stops after that many migrations (tests)."""
        self.url = url
        try:
            self.engine = create_engine(_normalise_url(url))
        except (ArgumentError, SQLAlchemyError, ImportError) as err:
            raise XltoolsError(f"台账数据库地址 {url} 无法使用：{err}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            self.migrate(upto)
        except OperationalError as err:
            raise XltoolsError(f"无法打开台账数据库 {url}：{err.orig}") from None

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------------------

    def version(self) -> int:
        with self.engine.connect() as conn:
            if not self.engine.dialect.has_table(conn, "schema_version"):
                return 0
            return conn.execute(select(func.max(schema_version.c.version))).scalar() or 0

    def migrate(self, upto: int | None = None) -> None:
        with self.engine.begin() as conn:
            schema_version.create(conn, checkfirst=True)
        done = self.version()
        if done > len(MIGRATIONS):
            raise XltoolsError(f"台账数据库 {self.url} 由更新版本的 xltools 创建（结构版本 {done}），请升级 xltools")
        for n, step in enumerate(MIGRATIONS[done:upto], start=done + 1):
            with self.engine.begin() as conn:
                step(conn)
                conn.execute(schema_version.delete())
                conn.execute(schema_version.insert().values(version=n))

    # -- writing ----------------------------------------------------------------------------

    def known(self, hashes) -> dict[str, Row]:
        """sha256 -> the recorded submission, for the hashes already in the ledger."""
        hashes, out = list(hashes), {}
        with self.engine.connect() as conn:
            for k in range(0, len(hashes), 500):
                chunk = hashes[k:k + 500]
                for row in conn.execute(select(submissions).where(submissions.c.sha256.in_(chunk))):
                    out[row.sha256] = dict(row._mapping)
        return out

    def record(self, entries: list[tuple], also=None) -> list[dict]:
        """Record (submission, result) pairs from one run in one transaction; returns the rows.
        Versions follow the order the files arrived in. `also(conn, rows)`: further writes that
        must commit with these rows or not at all (xltools serve links an upload to its account)."""
        if not entries:
            return []
        now = _now()
        entries = sorted(entries, key=lambda e: (e[0].received or "", e[0].label))
        rows = [_row(sub, res, now) for sub, res in entries]
        with self.engine.begin() as conn:
            keys = sorted({r["unit_key"] for r in rows})
            last = {}
            for k in range(0, len(keys), 500):
                q = select(submissions.c.unit_key, func.max(submissions.c.version)).where(
                    submissions.c.unit_key.in_(keys[k:k + 500])).group_by(submissions.c.unit_key)
                last.update(dict(conn.execute(q).all()))
            for r in rows:
                r["version"] = last[r["unit_key"]] = last.get(r["unit_key"], 0) + 1
            ids = conn.execute(insert(submissions).returning(submissions.c.id, sort_by_parameter_order=True),
                               [{k: v for k, v in r.items() if k != "_findings"} for r in rows]).scalars().all()
            found = []
            for sid, r in zip(ids, rows):
                r["id"] = sid
                found.extend({"submission_id": sid, "position": i, **f} for i, f in enumerate(r["_findings"]))
            if found:
                conn.execute(insert(findings), found)
            if also is not None:
                also(conn, rows)
        for r in rows:
            r.pop("_findings")
        return rows

    # -- reading ----------------------------------------------------------------------------

    def latest(self) -> list[Row]:
        """The latest version of every unit and year, and every unusable file not superseded."""
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(submissions).order_by(submissions.c.id))]
        best: dict[str, dict] = {}
        for r in rows:
            if r["unit_key"] not in best or r["version"] > best[r["unit_key"]]["version"]:
                best[r["unit_key"]] = r
        usable_since = {}                  # source -> id of the latest submission found there with a unit
        for r in rows:
            if not r["unit_key"].startswith("file:"):
                usable_since[r["source"]] = r["id"]
        out = [r for k, r in best.items()
               if not (k.startswith("file:") and usable_since.get(r["source"], -1) > r["id"])]
        return sorted(out, key=lambda r: (r["year"] or 0, r["unit"] or "\uffff", r["source"]))

    def latest_of(self, unit: str, year: int) -> Row | None:
        """The latest version a unit submitted for a year (collect compares with last year's)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(submissions).where(submissions.c.unit_key == f"{unit}|{year}")
                               .order_by(submissions.c.version.desc()).limit(1)).first()
        return dict(row._mapping) if row else None

    def findings_of(self, ids) -> dict[int, list[dict]]:
        ids, out = list(ids), {}
        with self.engine.connect() as conn:
            for k in range(0, len(ids), 500):
                q = select(findings).where(findings.c.submission_id.in_(ids[k:k + 500])).order_by(
                    findings.c.submission_id, findings.c.position)
                for f in conn.execute(q):
                    out.setdefault(f.submission_id, []).append(dict(f._mapping))
        return out

    def summary_state(self, path: str) -> tuple[str, str] | None:
        """(state, sha256) recorded when the summary at `path` was last written."""
        with self.engine.connect() as conn:
            row = conn.execute(select(summaries.c.state, summaries.c.sha256).where(summaries.c.path == path)).first()
        return tuple(row) if row else None

    def save_summary_state(self, path: str, state: str, sha256: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(summaries.delete().where(summaries.c.path == path))
            conn.execute(summaries.insert().values(path=path, state=state, sha256=sha256, written_at=_now()))

    def units(self) -> list[str]:
        """Every unit the ledger has a submission of, by name."""
        with self.engine.connect() as conn:
            found = conn.execute(select(submissions.c.unit).where(submissions.c.unit.is_not(None)).distinct())
            return sorted(u for (u,) in found)

    def history(self, unit: str) -> list[Row]:
        """Every version of a unit (all years), oldest first, each with its findings."""
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                select(submissions).where(submissions.c.unit == unit.strip())
                .order_by(submissions.c.year, submissions.c.version))]
        found = self.findings_of(r["id"] for r in rows)
        for r in rows:
            r["findings"] = found.get(r["id"], [])
        return rows


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=DELETE")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _text(v):
    return None if v is None else v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)


def _row(sub, res: Result, now: str) -> dict:
    errors = sum(f["severity"] == "error" for f in res["findings"])
    unit, year = res.get("unit"), res.get("year")
    key = f"{unit}|{year}" if unit and year else f"file:{sub.label}"
    detail: Detail = {"figures": res.get("figures") or [], "projects": res.get("projects") or [],
                      "score": res.get("score") or {}, "bureau": res.get("bureau"),
                      "year_start": res.get("year_start") or {}, "year_end": res.get("year_end") or {},
                      "previous": res.get("previous") or []}
    return {
        "sha256": sub.sha256, "unit_key": key, "unit": unit, "year": year, "region": res.get("region"),
        "file_name": sub.name, "source": sub.label, "size": sub.size, "received_at": sub.received or None,
        "collected_at": now, "fingerprint": res.get("fingerprint"), "xltools_version": res.get("xltools_version"),
        "status": status_of(res), "refused": res.get("refused"), "message": res.get("message") or None,
        "errors": errors, "warnings": len(res["findings"]) - errors,
        "score_stated": res.get("score_stated"), "score_computed": res.get("score_computed"),
        "grade_stated": res.get("grade_stated"), "grade_computed": res.get("grade_computed"),
        "detail": json.dumps(detail, ensure_ascii=False), "link": sub.link,
        "_findings": [{k: _text(f.get(k)) for k in ("code", "severity", "sheet", "cell", "message", "expected",
                                                   "actual", "difference", "hint")} for f in res["findings"]],
    }


def as_result(row: Row, found: list[dict]) -> Result:
    """A recorded submission in the shape of `check --json` (for --json of skipped files)."""
    return {"file": row["source"], "ok": row["status"] == "ok",
            "findings": [{k: f[k] for k in ("code", "severity", "sheet", "cell", "message", "expected", "actual",
                                            "hint", "difference")} for f in found],
            "score": detail_of(row)["score"], "refused": row["refused"], "message": row["message"] or "",
            "unit": row["unit"], "year": row["year"], "version": row["version"], "sha256": row["sha256"]}
