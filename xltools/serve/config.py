"""What one `xltools serve` runs with: the data folder, the ledger, the limits.

The data folder holds the SQLite ledger (unless --db names another), the uploaded files by
sha256, what is derived from them (marked and scored workbooks, packs, cell views), extra specs,
and the session key, generated there on first start: no secret lives in the repository.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Config:
    data: Path
    db_url: str | None = None
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout: float = 60.0                 # seconds a check may take (collect's worker timeout)
    max_upload_mb: int = 20               # one upload; the reader admits up to 100 MB, a report is < 1 MB
    uploads_per_hour: int = 120           # per account
    session_hours: float = 8.0            # a session cookie's life without activity
    https: bool = False                   # behind an HTTPS proxy: cookies only over HTTPS
    login_failures: int = 5               # per login name in LOGIN_WINDOW before it is paused
    pack: bool = True                     # build packs (needs LibreOffice)

    def __post_init__(self):
        self.data = Path(self.data).resolve()

    @property
    def url(self) -> str:
        return self.db_url or f"sqlite:///{self.data / 'xltools.db'}"

    @property
    def files(self) -> Path:
        return self.data / "files"

    @property
    def derived(self) -> Path:
        return self.data / "derived"

    @property
    def specs(self) -> Path:
        return self.data / "specs"

    def prepare(self) -> None:
        for folder in (self.data, self.files, self.derived, self.specs):
            folder.mkdir(parents=True, exist_ok=True)

    def secret_key(self) -> str:
        """The session-signing key, made once (mode 600) in the data folder."""
        path = self.data / "session.key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
        return path.read_text().strip()
