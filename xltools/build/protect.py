"""Sheet protection with the SHA-512 password hash of ECMA-376 (Agile), not openpyxl's 16-bit one.

Protection keeps honest people from overwriting labels and formulas; it is not security (anyone
can strip it), which is why the checker compares formulas with the spec instead of trusting it.
"""
from __future__ import annotations

import base64
import hashlib
import os

SPIN_COUNT = 100_000
PASSWORD_ENV = "XLTOOLS_PASSWORD"


def password_from(option: str | None) -> str | None:
    return option or os.environ.get(PASSWORD_ENV) or None


def sha512_hash(password: str, salt: bytes, spin: int = SPIN_COUNT) -> str:
    digest = hashlib.sha512(salt + password.encode("utf-16-le")).digest()
    for i in range(spin):
        digest = hashlib.sha512(digest + i.to_bytes(4, "little")).digest()
    return base64.b64encode(digest).decode("ascii")


def salt_for(password: str, context: str) -> bytes:
    # Deterministic so that building twice gives the same bytes; derived from the password and the
    # spec (not stored anywhere) so two bureaus' templates do not share a salt.
    return hashlib.sha256(f"xltools-salt\0{context}\0{password}".encode("utf-8")).digest()[:16]


def verify(password: str, hash_value: str, salt_value: str, spin: int) -> bool:
    return sha512_hash(password, base64.b64decode(salt_value), spin) == hash_value


def apply(ws, password: str | None, context: str) -> None:
    """Protect `ws`; users may still resize rows (long text) and select any cell."""
    p = ws.protection
    p.sheet = True
    p.formatRows = False        # False = allowed: units lengthen rows for long narrative
    p.selectLockedCells = False
    p.selectUnlockedCells = False
    if password:
        salt = salt_for(password, context)
        p.algorithmName = "SHA-512"
        p.saltValue = base64.b64encode(salt).decode("ascii")
        p.spinCount = SPIN_COUNT
        p.hashValue = sha512_hash(password, salt)
