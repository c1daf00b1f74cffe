"""The ledger's schema: the tables collect and xltools serve read and write, and the migrations
that made them. The schema only grows: `schema_version` holds how many of MIGRATIONS have run, and
opening a ledger (ledger.py) runs the rest in order, each in one transaction under the ledger's
write lock. The tables below are the current schema; each migration declares what it added as it
was then (a migration never changes)."""
from __future__ import annotations

from sqlalchemy import (BigInteger, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, func, select, text)

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

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


def migrations_run(conn) -> int:
    """How many of MIGRATIONS have run on this database (0: a new one)."""
    if not conn.dialect.has_table(conn, "schema_version"):
        return 0
    return conn.execute(select(func.max(schema_version.c.version))).scalar() or 0
