"""The ledger: every submission collect has seen, with its findings, in SQLite or PostgreSQL.

SQLAlchemy Core, so the same statements run on the default SQLite file beside the summary
(`汇总.db`) and on a PostgreSQL server a bureau shares (`--db postgresql://…`). SQLite keeps its
rollback journal (journal_mode=DELETE), not WAL: WAL needs shared memory that a file on a network
share does not give, and finance bureaus keep such files on shares.

A submission is keyed by the sha256 of its bytes: a file seen before is not checked again, unless
its check failed for a reason that is no verdict on it (a timeout, a dead worker, our own bug:
catalogue.TRANSIENT): then the next run checks it again and its row takes the new result. A unit
and year that submits again gets the next version; the summary counts the latest, the earlier
versions and their findings stay (`xltools collect --history 单位`). A file that could not be used
has no unit: it is keyed by where it was found, and a usable file found later at the same place
supersedes it.

What a unit sent is stored as usertext.visible shows it (control characters, lone surrogates and
the like as _xHHHH_: every database holds it, and it reads back exactly); every such column is
unbounded TEXT (and xltools serve's upload names and account units), and the one indexed key made
from it (unit_key) is cut visibly, with a hash of the
whole, when it is long (the unit column keeps the whole name).

Two runs at once: every write takes the ledger's one lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: a
transaction-scoped advisory lock), reads the latest versions and the hashes already recorded
under it, and writes; versions are unique per unit (a unique index) and gapless. Migrations run
under the same lock, one transaction each.

The schema only grows by migrations: `schema_version` holds how many of MIGRATIONS have run,
and opening a ledger runs the rest in order.

`seen_files` remembers, for each loose file read whole, its size and modification time and what
it held (label and sha256 of each submission): a rerun over unchanged files skips reading and
hashing them (run.py), the sha256 stays the key.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import (BigInteger, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, create_engine, event, func, insert, select, text, update)
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..catalogue import TRANSIENT
from ..errors import XltoolsError
from ..usertext import visible
from .record import Detail, Result, Row, detail_of, status_of, stored, unpacked

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

# A unit_key longer than this (in UTF-8 bytes) is cut, with a hash of the whole: PostgreSQL's
# btree index takes about 2,700 bytes a key, and a unit's name is whatever its cell holds.
KEY_MAX_BYTES = 600
KEY_KEPT_CHARS = 100
# Any constant: the key of PostgreSQL's advisory lock that serialises writers of one ledger.
LOCK_KEY = 0x786C746F6F6C73      # "xltools"
_CHUNK = 500                     # values in one IN (...) list
# What latest_heads reads of every version: choosing the latest, ordering them, and what the
# summary counts over the whole season (its state, statuses, years, grades, the roster).
HEAD_COLUMNS = ("id", "sha256", "version", "unit_key", "source", "unit", "year", "status", "file_name",
                "grade_computed")


def _submission_columns(wide: bool = True):
    """`wide`: the current types (every text a submission brings unbounded); migration 1 made
    the first, bounded ones (PostgreSQL enforces them; migration 5 widens them)."""
    def s(n):
        return Text if wide else String(n)
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("sha256", String(64), nullable=False, unique=True),
        Column("unit_key", s(512), nullable=False, index=True),   # "单位|年度", or "file:来源" (KEY_MAX_BYTES)
        Column("unit", s(255)),
        Column("year", Integer),
        Column("region", s(64)),
        Column("file_name", s(512), nullable=False),
        Column("source", Text, nullable=False),          # path, or zip path/member
        Column("size", BigInteger if wide else Integer, nullable=False),
        Column("received_at", String(32)),               # ISO 8601, UTC
        Column("collected_at", String(32), nullable=False),
        Column("fingerprint", s(128)),
        Column("xltools_version", String(32)),
        Column("status", String(16), nullable=False),    # ok / errors / refused
        Column("refused", String(32)),
        Column("message", Text),
        Column("errors", Integer, nullable=False),
        Column("warnings", Integer, nullable=False),
        Column("score_stated", s(32)),                   # Decimal as text: exact on every database
        Column("score_computed", s(32)),
        Column("grade_stated", s(16)),                   # as typed: any text
        Column("grade_computed", s(16)),
        Column("version", Integer, nullable=False),
        Column("detail", Text),                          # JSON: figures, projects, score
    ]


def _finding_columns(wide: bool = True):
    def s(n):
        return Text if wide else String(n)
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False, index=True),
        Column("position", Integer, nullable=False),
        Column("code", String(64), nullable=False),
        Column("severity", String(16), nullable=False),
        Column("sheet", s(255)),
        Column("cell", s(255)),
        Column("message", Text),
        Column("expected", Text),
        Column("actual", Text),
        Column("difference", Text),
        Column("hint", Text),
    ]


def _summary_state_columns():
    return [
        Column("path_key", String(64), primary_key=True),  # sha256 of the path (a path may be long)
        Column("path", Text, nullable=False),              # the summary workbook, resolved
        Column("state", String(64), nullable=False),       # hash of what it was built from
        Column("sha256", String(64), nullable=False),      # of the file as written
        Column("written_at", String(32), nullable=False),
    ]


def _seen_file_columns():
    return [
        Column("path_key", String(64), primary_key=True),  # sha256 of the path
        Column("path", Text, nullable=False),
        Column("size", BigInteger, nullable=False),
        Column("mtime_ns", BigInteger, nullable=False),
        Column("found", Text, nullable=False),             # JSON: [[label, sha256], …] of what it held
        Column("seen_at", String(32), nullable=False),
    ]


# The current schema (what the code reads and writes): migration 1's tables plus later changes.
submissions = Table("submissions", metadata, *_submission_columns(), Column("link", Text))
Index("ux_submissions_unit_version", submissions.c.unit_key, submissions.c.version, unique=True)
findings = Table("findings", metadata, *_finding_columns())
Index("ix_findings_code", findings.c.code)
summaries = Table("summaries", metadata, *_summary_state_columns())
seen_files = Table("seen_files", metadata, *_seen_file_columns())


def _m1_tables(conn) -> None:
    md = MetaData()
    Table("submissions", md, *_submission_columns(wide=False))
    Table("findings", md, *_finding_columns(wide=False))
    md.create_all(conn)


def _m2_link(conn) -> None:
    # Where a loose file was found, so the summary's hyperlinks can open it at the cell.
    conn.execute(text("ALTER TABLE submissions ADD COLUMN link TEXT"))


def _m3_code_index(conn) -> None:
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_findings_code ON findings (code)"))


def _m4_summaries(conn) -> None:
    # What each summary workbook was last written from, so a run with nothing new leaves it be.
    Table("summaries", MetaData(), Column("path", String(1024), primary_key=True),
          Column("state", String(64), nullable=False), Column("sha256", String(64), nullable=False),
          Column("written_at", String(32), nullable=False)).create(conn)


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


# Columns migrations 1 and 5 bounded that hold what a unit sent (a 300-character unit, a 评价等次 typed
# over with a sentence, a sheet name from a hand-made zip): PostgreSQL refused the whole run.
_WIDENED = {"submissions": ("unit_key", "unit", "region", "file_name", "fingerprint", "score_stated",
                            "score_computed", "grade_stated", "grade_computed"),
            "findings": ("sheet", "cell"), "uploads": ("file_name",), "accounts": ("unit",)}


def _m6_unbounded_texts(conn) -> None:
    if conn.dialect.name == "sqlite":     # SQLite does not enforce a declared length
        return
    for table, cols in _WIDENED.items():
        conn.execute(text(f"ALTER TABLE {table} " + ", ".join(f"ALTER COLUMN {c} TYPE TEXT" for c in cols)))
    conn.execute(text("ALTER TABLE submissions ALTER COLUMN size TYPE BIGINT"))


def _m7_unique_versions(conn) -> None:
    # Two runs at once could give a unit the same version twice: number each unit's rows again
    # (by version, then by when they were recorded), then let the database refuse a duplicate.
    rows = conn.execute(text("SELECT id, unit_key, version FROM submissions ORDER BY unit_key, version, id")).all()
    n, last = 0, None
    for sid, key, version in rows:
        n = n + 1 if key == last else 1
        last = key
        if version != n:
            conn.execute(text("UPDATE submissions SET version = :v WHERE id = :i"), {"v": n, "i": sid})
    conn.execute(text("CREATE UNIQUE INDEX ux_submissions_unit_version ON submissions (unit_key, version)"))


def _m8_summaries_by_path_hash(conn) -> None:
    # Keyed by the path's hash (a path may be longer than an index takes); the states are a cache:
    # the next run writes each summary again.
    conn.execute(text("DROP TABLE summaries"))
    Table("summaries", MetaData(), *_summary_state_columns()).create(conn)


def _m9_seen_files(conn) -> None:
    Table("seen_files", MetaData(), *_seen_file_columns()).create(conn)


MIGRATIONS = [_m1_tables, _m2_link, _m3_code_index, _m4_summaries, _m5_serve, _m6_unbounded_texts,
              _m7_unique_versions, _m8_summaries_by_path_hash, _m9_seen_files]


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


def _path_key(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()


def unit_key(unit: str | None, year: int | None, source: str) -> str:
    """The key versions count under: "单位|年度", or "file:来源" for a file without a unit; as
    stored (visible), cut with a hash of the whole beyond KEY_MAX_BYTES."""
    key = visible(f"{unit}|{year}" if unit and year else f"file:{source}")
    if len(key.encode()) <= KEY_MAX_BYTES:
        return key
    return f"{key[:KEY_KEPT_CHARS]}…（过长，sha256 {hashlib.sha256(key.encode()).hexdigest()[:16]}）"


def is_transient(row: dict) -> bool:
    """A row whose check failed for a reason that is no verdict on the file."""
    return row["status"] == "refused" and row["refused"] in TRANSIENT


class Ledger:
    def __init__(self, url: str, upto: int | None = None):
        """Open (and migrate) the ledger at `url`; `upto` stops after that many migrations (tests)."""
        self.url = url
        try:
            self.engine = create_engine(_normalise_url(url))
        except (ArgumentError, SQLAlchemyError, ImportError):
            raise XltoolsError(f"台账数据库地址 {visible(url)} 无法使用：应为 sqlite:///文件路径 或 "
                               "postgresql://用户@主机/数据库") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        self.writer = self.engine.execution_options(xltools_writing=True)
        try:
            self.migrate(upto)
        except SQLAlchemyError as err:
            raise database_error(url, err, "打开") from None

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _writing(self):
        """A transaction holding the ledger's write lock (see the module doc)."""
        with self.writer.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            yield conn

    # -- schema ---------------------------------------------------------------------------

    def version(self) -> int:
        with self.engine.connect() as conn:
            return _schema_version(conn)

    def migrate(self, upto: int | None = None) -> None:
        """Run the migrations not run yet, each in its own transaction under the lock: two runs
        that open a new ledger at once take turns, and the second finds nothing left to do."""
        target = len(MIGRATIONS) if upto is None else upto
        while True:
            with self._writing() as conn:
                schema_version.create(conn, checkfirst=True)
                done = _schema_version(conn)
                if done > len(MIGRATIONS):
                    raise XltoolsError(f"台账数据库 {self.url} 由更新版本的 xltools 创建（结构版本 {done}），请升级 xltools")
                if done >= target:
                    return
                MIGRATIONS[done](conn)
                conn.execute(schema_version.delete())
                conn.execute(schema_version.insert().values(version=done + 1))

    # -- writing ----------------------------------------------------------------------------

    def known(self, hashes) -> dict[str, Row]:
        """sha256 -> the recorded submission, for the hashes already in the ledger with a
        verdict (a transient refusal is checked again)."""
        out = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(hashes)):
                for row in conn.execute(select(submissions).where(submissions.c.sha256.in_(chunk))):
                    if not is_transient(row._mapping):
                        out[row.sha256] = dict(row._mapping)
        return out

    def record(self, entries: list[tuple], seen: list[tuple] = (), also=None) -> list[dict]:
        """Record (submission, result) pairs from one run in one transaction under the lock (a
        result may be packed: record.packed); returns the rows. Versions follow the order the
        files arrived in. A hash recorded meanwhile (another run) keeps its row; a transient one
        takes the new result. `seen`: (path, size, mtime_ns, [(label, sha256), …]) of the loose
        files read whole. `also(conn, rows)`: further writes that must commit with these rows or
        not at all (xltools serve links an upload to its account)."""
        if not entries and not seen:
            return []
        now = _now()
        entries = sorted(entries, key=lambda e: (e[0].received or "", e[0].label))
        rows = [_row(sub, res, now) for sub, res in entries]
        with self._writing() as conn:
            existing = {}
            for chunk in _chunks([r["sha256"] for r in rows]):
                for row in conn.execute(select(submissions).where(submissions.c.sha256.in_(chunk))):
                    existing[row.sha256] = dict(row._mapping)
            last = {}
            for chunk in _chunks(sorted({r["unit_key"] for r in rows})):
                q = select(submissions.c.unit_key, func.max(submissions.c.version)).where(
                    submissions.c.unit_key.in_(chunk)).group_by(submissions.c.unit_key)
                last.update(dict(conn.execute(q).all()))
            new, again = [], []
            for r in rows:
                old = existing.get(r["sha256"])
                if old is not None and not is_transient(old):
                    r.clear()
                    r.update(old, _findings=None)       # recorded by another run meanwhile: that row
                    continue
                if old is not None and old["unit_key"] == r["unit_key"]:
                    r["version"] = old["version"]
                else:
                    r["version"] = last[r["unit_key"]] = last.get(r["unit_key"], 0) + 1
                (again if old is not None else new).append(r)
                if old is not None:
                    r["id"] = old["id"]
            for chunk in _chunks(new):      # in chunks: the driver's copy of 7,000 rows at once is ~30 MB
                ids = conn.execute(insert(submissions).returning(submissions.c.id, sort_by_parameter_order=True),
                                   [_columns(r) for r in chunk]).scalars().all()
                for sid, r in zip(ids, chunk):
                    r["id"] = sid
            for r in again:
                conn.execute(findings.delete().where(findings.c.submission_id == r["id"]))
                conn.execute(update(submissions).where(submissions.c.id == r["id"]).values(**_columns(r)))
            found = [{"submission_id": r["id"], "position": i, **f}
                     for r in new + again for i, f in enumerate(r["_findings"])]
            for chunk in _chunks(found):
                conn.execute(insert(findings), chunk)
            if seen:
                _upsert(conn, seen_files, [{"path_key": _path_key(path), "path": visible(path), "size": size,
                                            "mtime_ns": mtime, "found": json.dumps(found_in),   # ASCII: exact
                                            "seen_at": now}
                                           for path, size, mtime, found_in in seen])
            if also is not None:
                also(conn, rows)
        for r in rows:
            r.pop("_findings")
        return rows

    def save_summary_state(self, path: str, state: str, sha256: str) -> None:
        with self._writing() as conn:
            _upsert(conn, summaries, [{"path_key": _path_key(path), "path": visible(path), "state": state,
                                       "sha256": sha256, "written_at": _now()}])

    # -- reading ----------------------------------------------------------------------------

    def seen(self, stats) -> dict[str, list[tuple[str, str]]]:
        """path -> [(label, sha256), …] it held, for each (path, size, mtime_ns) of `stats` whose
        size and modification time are those remembered."""
        stats = {_path_key(p): (p, size, mtime) for p, size, mtime in stats}
        out = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(stats)):
                q = select(seen_files.c.path_key, seen_files.c.size, seen_files.c.mtime_ns, seen_files.c.found) \
                    .where(seen_files.c.path_key.in_(chunk))
                for key, size, mtime, found in conn.execute(q):
                    path, want_size, want_mtime = stats[key]
                    if (size, mtime) == (want_size, want_mtime):
                        out[path] = [tuple(pair) for pair in json.loads(found)]
        return out

    def latest(self) -> list[Row]:
        """The latest version of every unit and year, and every unusable file not superseded."""
        return list(self.rows_of(h["id"] for h in self.latest_heads()))

    def latest_heads(self) -> list[dict]:
        """latest()'s choice, in its order, as a few columns each (HEAD_COLUMNS: what a summary
        needs of the whole season at once; it reads the rest in rows, rows_of)."""
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                select(*(submissions.c[k] for k in HEAD_COLUMNS)).order_by(submissions.c.id))]
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

    def rows_of(self, ids) -> Iterator[Row]:
        """The submissions with these ids, in this order, read _CHUNK at a time (each chunk its
        own short read: a summary being written does not hold the ledger)."""
        for chunk in _chunks(list(ids)):
            with self.engine.connect() as conn:
                q = select(submissions).where(submissions.c.id.in_(chunk))
                found = {r.id: dict(r._mapping) for r in conn.execute(q)}
            yield from (found[i] for i in chunk if i in found)

    def latest_of(self, unit: str, year: int) -> Row | None:
        """The latest version a unit submitted for a year (collect compares with last year's)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(submissions).where(submissions.c.unit_key == unit_key(unit, year, ""))
                               .order_by(submissions.c.version.desc()).limit(1)).first()
        return dict(row._mapping) if row else None

    def findings_of(self, ids) -> dict[int, list[dict]]:
        out = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids)):
                q = select(findings).where(findings.c.submission_id.in_(chunk)).order_by(
                    findings.c.submission_id, findings.c.position)
                for f in conn.execute(q):
                    out.setdefault(f.submission_id, []).append(dict(f._mapping))
        return out

    def summary_state(self, path: str) -> tuple[str, str] | None:
        """(state, sha256) recorded when the summary at `path` was last written."""
        with self.engine.connect() as conn:
            row = conn.execute(select(summaries.c.state, summaries.c.sha256)
                               .where(summaries.c.path_key == _path_key(path))).first()
        return tuple(row) if row else None

    def units(self) -> list[str]:
        """Every unit the ledger has a submission of, by name."""
        with self.engine.connect() as conn:
            found = conn.execute(select(submissions.c.unit).where(submissions.c.unit.is_not(None)).distinct())
            return sorted(u for (u,) in found)

    def history(self, unit: str) -> list[Row]:
        """Every version of a unit (all years), oldest first, each with its findings. `unit` as
        the unit wrote it, or as the ledger shows it (visible)."""
        unit = unit.strip()
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                select(submissions).where(submissions.c.unit.in_({unit, visible(unit)}))
                .order_by(submissions.c.year, submissions.c.version))]
        found = self.findings_of(r["id"] for r in rows)
        for r in rows:
            r["findings"] = found.get(r["id"], [])
        return rows


# What a database driver says (in English), as the clerk is told it: the first match wins.
_DATABASE_CAUSES = {
    "password authentication failed": "用户名或密码错误",
    'role "': "数据库用户不存在",
    "does not exist": "数据库不存在",
    "no such file or directory": "无法连接数据库服务器（服务器未运行，或地址、端口不对）",
    "connection refused": "无法连接数据库服务器（服务器未运行，或地址、端口不对）",
    "could not translate host name": "无法连接数据库服务器（主机名无法解析）",
    "timeout": "连接数据库服务器超时",
    "unable to open database file": "数据库文件无法打开（所在文件夹不存在或没有权限）",
    "database is locked": "数据库正被另一个程序占用，等待超时",
    "not a database": "这不是 SQLite 数据库文件（可能已损坏）",
    "readonly database": "数据库只读，无法写入",
    "database or disk is full": "磁盘空间不足",
    "disk i/o error": "磁盘读写出错",
    "permission denied": "没有权限",
}


def ledger_shown(url: str) -> str:
    """The ledger as the clerk knows it: a SQLite ledger by its file, a server's without password."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):]
    try:
        from sqlalchemy.engine import make_url
        return make_url(url).render_as_string(hide_password=True)
    except Exception:           # not a URL SQLAlchemy reads: the ledger already said so
        return url


def database_error(url: str, err: Exception, doing: str = "读写") -> XltoolsError:
    """One Chinese line for a database failure (a driver's English text is only the cause's key)."""
    said = str(getattr(err, "orig", None) or err).lower()
    first = said.strip().splitlines()[0][:200] if said.strip() else type(err).__name__
    why = next((cn for key, cn in _DATABASE_CAUSES.items() if key in said), f"数据库报告错误（{first}）")
    return XltoolsError(f"{doing}台账数据库 {visible(ledger_shown(url))} 失败：{why}")


def _schema_version(conn) -> int:
    if not conn.dialect.has_table(conn, "schema_version"):
        return 0
    return conn.execute(select(func.max(schema_version.c.version))).scalar() or 0


def _chunks(values: list):
    for k in range(0, len(values), _CHUNK):
        yield values[k:k + _CHUNK]


def _upsert(conn, table: Table, rows: list[dict]) -> None:
    """Insert or replace `rows` by the table's primary key: one statement, no window between a
    delete and an insert for another run to fall into."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    keys = [c.name for c in table.primary_key.columns]
    stmt = dialect_insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=keys,
                                      set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys})
    for chunk in _chunks(rows):
        conn.execute(stmt, chunk)


def _sqlite_connect(dbapi_conn, _record) -> None:
    # The driver's own BEGIN is switched off: _sqlite_begin says which kind (SQLAlchemy's
    # documented recipe for pysqlite transactions).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=DELETE")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.close()


def _sqlite_begin(conn) -> None:
    # A writer takes the database's RESERVED lock at once: two writers queue (busy_timeout)
    # instead of both reading the same latest versions.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("xltools_writing") else "BEGIN")


def _text(v):
    if v is None:
        return None
    return visible(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str))


def _columns(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in ("_findings", "id")}


def _row(sub, res: Result | bytes, now: str) -> dict:
    res = unpacked(res)             # collect holds its results packed until they are recorded
    errors = sum(f["severity"] == "error" for f in res["findings"])
    unit, year = res.get("unit"), res.get("year")
    detail: Detail = {"figures": res.get("figures") or [], "projects": res.get("projects") or [],
                      "score": res.get("score") or {}, "bureau": res.get("bureau"),
                      "year_start": res.get("year_start") or {}, "year_end": res.get("year_end") or {},
                      "previous": res.get("previous") or []}
    return {
        "sha256": sub.sha256, "unit_key": unit_key(unit, year, sub.label), "unit": _text(unit), "year": year,
        "region": _text(res.get("region")), "file_name": visible(sub.name), "source": visible(sub.label),
        "size": sub.size, "received_at": sub.received or None, "collected_at": now,
        "fingerprint": _text(res.get("fingerprint")), "xltools_version": res.get("xltools_version"),
        "status": status_of(res), "refused": res.get("refused"), "message": _text(res.get("message") or None),
        "errors": errors, "warnings": len(res["findings"]) - errors,
        "score_stated": _text(res.get("score_stated")), "score_computed": _text(res.get("score_computed")),
        "grade_stated": _text(res.get("grade_stated")), "grade_computed": _text(res.get("grade_computed")),
        "detail": json.dumps(stored(detail), ensure_ascii=False, default=str),
        "link": _text(sub.link),
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
