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

The tables and the migrations that made them are schema.py's; opening a ledger runs the
migrations not run yet.

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

from sqlalchemy import Table, create_engine, event, func, insert, select, text, update
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..catalogue import TRANSIENT
from ..errors import XltoolsError
from ..usertext import visible
from .record import Detail, Result, Row, detail_of, status_of, stored, unpacked
from .schema import MIGRATIONS, migrations_run, findings, schema_version, seen_files, submissions, summaries

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
            return migrations_run(conn)

    def migrate(self, upto: int | None = None) -> None:
        """Run the migrations not run yet, each in its own transaction under the lock: two runs
        that open a new ledger at once take turns, and the second finds nothing left to do."""
        target = len(MIGRATIONS) if upto is None else upto
        while True:
            with self._writing() as conn:
                schema_version.create(conn, checkfirst=True)
                done = migrations_run(conn)
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
