"""Who is asking: argon2 passwords, the signed session cookie, CSRF tokens, the login rate limit.

The session is Starlette's SessionMiddleware cookie (itsdangerous-signed, HttpOnly, SameSite=Lax,
expiring after Config.session_hours without use). It holds the account id, a stamp of the
password hash (a new password ends every older session) and the CSRF token that every form
carries back.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from collections import deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.exceptions import HTTPException

MIN_PASSWORD = 8
LOGIN_WINDOW = 15 * 60          # seconds over which failed logins are counted
IP_FAILURES = 30                # failures from one address in the window (many names tried)

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if not stored:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, again: str) -> str | None:
    if password != again:
        return "两次输入的密码不一致"
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 个字符"
    return None


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def _stamp(account: dict) -> str:
    return hashlib.sha256((account["password_hash"] or "").encode()).hexdigest()[:16]


def sign_in(request, account: dict) -> None:
    request.session.clear()
    request.session.update(uid=account["id"], pw=_stamp(account), csrf=secrets.token_urlsafe(24))


def current_account(request, store) -> dict | None:
    uid = request.session.get("uid")
    if uid is None:
        return None
    account = store.account(uid)
    if account is None or account["disabled"] or request.session.get("pw") != _stamp(account):
        request.session.clear()
        return None
    return account


def csrf_token(request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


def check_csrf(request, form) -> None:
    sent = form.get("csrf") if form is not None else None
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not expected or not secrets.compare_digest(sent, expected):
        raise HTTPException(403, "页面已过期或请求来源不明（缺少或错误的安全令牌），请刷新页面后重试")


class LoginLimiter:
    """Failed logins per login name and per address within LOGIN_WINDOW; past the limit, the
    name (or address) must wait until its oldest failure leaves the window."""

    def __init__(self, per_name: int, per_address: int = IP_FAILURES, clock=time.monotonic):
        self.limits = {"name": per_name, "addr": per_address}
        self.clock = clock
        self.failures: dict[tuple[str, str], deque] = {}

    def _recent(self, key) -> deque:
        q = self.failures.get(key)
        if q is None:
            return deque()
        while q and self.clock() - q[0] > LOGIN_WINDOW:
            q.popleft()
        if not q:
            del self.failures[key]
        return q

    def wait(self, name: str, address: str) -> int:
        """Seconds until a login may be tried again; 0 when it may now."""
        waits = []
        for kind, value in (("name", name), ("addr", address)):
            q = self._recent((kind, value))
            if len(q) >= self.limits[kind]:
                waits.append(int(LOGIN_WINDOW - (self.clock() - q[0])) + 1)
        return max(waits, default=0)

    def failed(self, name: str, address: str) -> None:
        if len(self.failures) > 100_000:        # a flood of names: bounded memory
            self.failures.clear()
        for key in (("name", name), ("addr", address)):
            self.failures.setdefault(key, deque()).append(self.clock())

    def succeeded(self, name: str) -> None:
        self.failures.pop(("name", name), None)
