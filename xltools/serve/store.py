"""The web intake's records, in the collect ledger's database (tables: collect/schema.py).

Accounts, one-time links, which account uploaded which submission, the explanations of warnings,
the submit/return/accept decisions, the audit log and the season's settings. Every write is one
transaction; the submissions and their findings themselves are only ever written by
`Ledger.record`, as collect writes them.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..collect.ledger import Ledger
from ..collect.schema import accounts, audit, cell_views, decisions, explanations, links, settings, submissions, uploads

ROLES = {"admin": "管理员", "staff": "财政局工作人员", "unit": "报送单位"}
LINK_DAYS = 7


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.engine = ledger.engine

    def _one(self, query) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row else None

    def _all(self, query) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    # -- accounts -----------------------------------------------------------------------------

    def add_account(self, login: str, role: str, unit: str | None = None, password_hash: str | None = None,
                    must_change: bool = False) -> int | None:
        """The new account's id, or None when the login (or the unit) already has one."""
        try:
            with self.engine.begin() as conn:
                return conn.execute(insert(accounts).values(
                    login=login, role=role, unit=unit, password_hash=password_hash, must_change=int(must_change),
                    disabled=0, created_at=now())).inserted_primary_key[0]
        except IntegrityError:
            return None

    def account(self, account_id) -> dict | None:
        return self._one(select(accounts).where(accounts.c.id == account_id))

    def account_by_login(self, login: str) -> dict | None:
        return self._one(select(accounts).where(accounts.c.login == login))

    def account_of_unit(self, unit: str) -> dict | None:
        return self._one(select(accounts).where(accounts.c.unit == unit))

    def accounts(self, role: str | None = None) -> list[dict]:
        q = select(accounts).order_by(accounts.c.role, accounts.c.id)
        return self._all(q if role is None else q.where(accounts.c.role == role))

    def has_admin(self) -> bool:
        return bool(self._one(select(accounts.c.id).where(accounts.c.role == "admin")))

    def set_password(self, account_id: int, password_hash: str, must_change: bool = False) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(accounts).where(accounts.c.id == account_id).values(
                password_hash=password_hash, must_change=int(must_change)))

    def set_role(self, account_id: int, role: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(accounts).where(accounts.c.id == account_id).values(role=role))

    def set_disabled(self, account_id: int, disabled: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(accounts).where(accounts.c.id == account_id).values(disabled=int(disabled)))

    # -- one-time links -------------------------------------------------------------------------

    def new_link(self, account_id: int) -> str:
        """A token for /link/<token> that sets the account's password once, within LINK_DAYS.
        Only its hash is stored; earlier unused links of the account stop working."""
        token = secrets.token_urlsafe(24)
        created = datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            conn.execute(update(links).where(and_(links.c.account_id == account_id, links.c.used_at.is_(None)))
                         .values(used_at=now()))
            conn.execute(insert(links).values(token_sha256=_token_hash(token), account_id=account_id,
                                              created_at=created.isoformat(timespec="seconds"),
                                              expires_at=(created + timedelta(days=LINK_DAYS)).isoformat(timespec="seconds")))
        return token

    def link_account(self, token: str) -> dict | None:
        """The account a valid (unused, unexpired) link opens, else None."""
        row = self._one(select(links).where(links.c.token_sha256 == _token_hash(token)))
        if row is None or row["used_at"] or row["expires_at"] < now():
            return None
        return self.account(row["account_id"])

    def redeem_link(self, token: str, password_hash: str) -> dict | None:
        """Set the password through a link, once: the link is spent in the same transaction."""
        with self.engine.begin() as conn:
            spent = conn.execute(update(links).where(and_(
                links.c.token_sha256 == _token_hash(token), links.c.used_at.is_(None),
                links.c.expires_at >= now())).values(used_at=now()).returning(links.c.account_id)).first()
            if spent is None:
                return None
            conn.execute(update(accounts).where(accounts.c.id == spent[0]).values(
                password_hash=password_hash, must_change=0))
        return self.account(spent[0])

    # -- submissions as the web sees them ---------------------------------------------------------

    @staticmethod
    def upload_row(submission_id: int, account_id: int, file_name: str, stored: str) -> dict:
        return {"submission_id": submission_id, "account_id": account_id, "file_name": file_name,
                "stored": stored, "uploaded_at": now()}

    @staticmethod
    def insert_upload(conn, row: dict) -> None:
        conn.execute(insert(uploads), [row])

    @staticmethod
    def insert_many(conn, **rows_by_table) -> None:
        """Rows into the web's tables, one executemany each (the writer records many uploads at once)."""
        tables = {"uploads": uploads, "audit": audit, "cell_views": cell_views}
        for name, rows in rows_by_table.items():
            if rows:
                conn.execute(insert(tables[name]), rows)

    def link_upload(self, submission_id: int, account_id: int, file_name: str, stored: str) -> None:
        """The same file uploaded again by another account of its unit (or after an admin reset)."""
        try:
            with self.engine.begin() as conn:
                self.insert_upload(conn, self.upload_row(submission_id, account_id, file_name, stored))
        except IntegrityError:
            pass                      # this account uploaded it before

    def grids_of(self, sha256: str) -> dict:
        row = self._one(select(cell_views.c.grids).where(cell_views.c.sha256 == sha256))
        return json.loads(row["grids"]) if row else {}

    def latest_version(self, unit_key: str) -> int:
        """The latest version of a unit's report of one year (versions count per unit_key; its
        unique index answers this without reading the table)."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.max(submissions.c.version))
                                .where(submissions.c.unit_key == unit_key)).scalar() or 0

    def stored_file(self, submission_id: int) -> str | None:
        row = self._one(select(uploads.c.stored).where(uploads.c.submission_id == submission_id))
        return row["stored"] if row else None

    def stored_files(self) -> set[str]:
        return {r["stored"] for r in self._all(select(uploads.c.stored))}

    def uploaded_ids(self, ids) -> set[int]:
        ids = list(ids)
        return {r["submission_id"] for r in self._all(select(uploads.c.submission_id)
                                                       .where(uploads.c.submission_id.in_(ids)))} if ids else set()

    def submission(self, submission_id: int) -> dict | None:
        return self._one(select(submissions).where(submissions.c.id == submission_id))

    def visible_submission(self, account: dict, submission_id) -> dict | None:
        """The submission if this account may see it: staff and admins see all; a unit sees its
        own (by the unit the workbook names, or a file it uploaded that could not be read)."""
        try:
            submission_id = int(submission_id)
        except (TypeError, ValueError):
            return None
        if account["role"] != "unit":
            return self.submission(submission_id)
        return self._one(select(submissions).where(and_(submissions.c.id == submission_id, self._owned(account))))

    def _owned(self, account: dict):
        mine = select(uploads.c.submission_id).where(uploads.c.account_id == account["id"])
        return or_(submissions.c.unit == account["unit"], submissions.c.id.in_(mine))

    def submissions_of(self, account: dict) -> list[dict]:
        """A unit's submissions (its uploads that could not be read included), newest first."""
        return self._all(select(submissions).where(self._owned(account)).order_by(submissions.c.id.desc()))

    def season_rows(self, year: int) -> list[dict]:
        return self._all(select(submissions).where(submissions.c.year == year).order_by(submissions.c.id))

    # -- explanations and decisions -----------------------------------------------------------------

    def submit(self, submission_id: int, account_id: int, texts: dict[int, str]) -> None:
        """The unit submits: its explanations of the warnings and the decision, in one transaction."""
        at = now()
        with self.engine.begin() as conn:
            conn.execute(explanations.delete().where(explanations.c.submission_id == submission_id))
            if texts:
                conn.execute(insert(explanations), [{"submission_id": submission_id, "position": p, "text": t,
                                                     "account_id": account_id, "at": at} for p, t in texts.items()])
            conn.execute(insert(decisions).values(submission_id=submission_id, action="submit",
                                                  account_id=account_id, at=at))

    def decide(self, submission_id: int, action: str, account_id: int, opinion: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(decisions).values(submission_id=submission_id, action=action, opinion=opinion,
                                                  account_id=account_id, at=now()))

    def explanations_of(self, submission_id: int) -> dict[int, str]:
        return {r["position"]: r["text"] for r in self._all(
            select(explanations).where(explanations.c.submission_id == submission_id))}

    def all_explanations(self) -> dict[tuple[int, int], str]:
        return {(r["submission_id"], r["position"]): r["text"] for r in self._all(select(explanations))}

    def decisions_of(self, ids) -> dict[int, list[dict]]:
        """submission id -> its decisions, oldest first (with the deciding account's login)."""
        ids, out = list(ids), {}
        if not ids:
            return out
        q = (select(decisions, accounts.c.login).join(accounts, accounts.c.id == decisions.c.account_id, isouter=True)
             .where(decisions.c.submission_id.in_(ids)).order_by(decisions.c.id))
        for r in self._all(q):
            out.setdefault(r["submission_id"], []).append(r)
        return out

    # -- audit and settings -----------------------------------------------------------------------

    def log(self, account: dict | None, action: str, target: str = "", detail: str = "") -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(audit), [self.audit_row(account, action, target, detail)])

    @staticmethod
    def audit_row(account: dict | None, action: str, target: str = "", detail: str = "") -> dict:
        return {"at": now(), "account_id": account and account["id"], "login": account and account["login"],
                "action": action, "target": target, "detail": detail}

    def audit_entries(self, limit: int = 200, offset: int = 0) -> list[dict]:
        return self._all(select(audit).order_by(audit.c.id.desc()).limit(limit).offset(offset))

    def setting(self, key: str) -> str | None:
        row = self._one(select(settings.c.value).where(settings.c.key == key))
        return row["value"] if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(settings.delete().where(settings.c.key == key))
            conn.execute(insert(settings).values(key=key, value=value))
