"""`xltools serve --init`: the first admin account, with a one-time password."""
from __future__ import annotations

from ..collect.ledger import Ledger
from ..errors import XltoolsError
from . import auth
from .store import Store

ADMIN = "admin"


def first_admin(config) -> tuple[str, str]:
    config.prepare()
    config.secret_key()
    ledger = Ledger(config.url)
    try:
        store = Store(ledger)
        if store.has_admin():
            raise XltoolsError(f"台账 {config.url} 中已有管理员账号；忘记密码时请另一位管理员在“账号与名单”中重置")
        password = auth.one_time_password()
        store.add_account(ADMIN, "admin", password_hash=auth.hash_password(password), must_change=True)
        store.log(None, "init", "account:admin")
        return ADMIN, password
    finally:
        ledger.close()
