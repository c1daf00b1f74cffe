"""`xltools serve`: the Starlette application, its routes and the services the views call.

Routes map to small view classes (views/): account (sign in, passwords), submission (a unit's
home, upload, the result page and its downloads, submitting), staff (the season, one unit,
return/accept, the summary, the packs, the audit log), admin (accounts, roster, season spec).
Services holds what a view calls into: the ledger, the web's records, the spec registry,
collect's worker pool and the packer; each action is one call into the library.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import tempfile
import zipfile
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..collect import packs
from ..collect.ledger import Ledger
from ..errors import XltoolsError
from ..pack.run import safe_name
from .auth import LoginLimiter
from .config import Config
from .receive import Receiver, Refused
from .store import Store
from .views import account, admin, staff, submission
from .web import HERE, Login, redirect, render

SESSION_COOKIE = "xltools_session"
PACKABLE = (".xlsx", ".xlsm")


class Services:
    def __init__(self, config: Config):
        from ..spec.registry import Registry
        config.prepare()
        self.config = config
        self.ledger = Ledger(config.url)
        self.store = Store(self.ledger)
        self.registry = Registry.from_dirs([config.specs] if any(config.specs.glob("*.toml")) else [])
        self.limiter = LoginLimiter(config.login_failures)
        self.pool = None
        self.receiver = None
        self.packer = None

    def start(self) -> None:
        from ..collect.worker import start_pool
        from .jobs import Packer
        self.pool = start_pool(self.registry, self.config.workers)
        self.receiver = Receiver(self.config, self.ledger, self.store, self.registry, self.pool)
        self.receiver.sweep()
        if self.config.pack:
            self.packer = Packer(self.config.derived)

    def stop(self) -> None:
        if self.packer is not None:
            self.packer.close()
        if self.receiver is not None:
            self.receiver.writer.close()
        if self.pool is not None:
            self.pool.close()
            self.pool.join(timeout=10)
        self.ledger.close()

    # -- the season and its spec ----------------------------------------------------------------

    def spec_info(self, fingerprint: str | None):
        """The registry's spec whose fingerprint reads as `fingerprint` (as the ledger stores it)."""
        return next((i for i in self.registry.infos if str(i.fingerprint) == fingerprint), None)

    def season(self):
        chosen = self.spec_info(self.store.setting("season"))
        # the latest year's; of several forms of that year, the first the registry lists (the
        # default spec before the others: specs/2022.toml before national_2022.toml)
        return chosen or max(self.registry.infos, key=lambda i: i.year)

    def spec_path(self, row: dict) -> str:
        return (self.spec_info(row.get("fingerprint")) or self.season()).path

    def template(self) -> Path:
        from ..build.protect import password_from
        from ..build.workbook import build_template
        from ..spec.registry import spec_at
        info = self.season()
        out = self.config.derived / f"template-{safe_name(str(info.fingerprint))}.xlsx"
        if not out.is_file():
            build_template(spec_at(info.path), out, password_from(None))
        return out

    def add_spec(self, data: bytes) -> object:
        from ..files import write_atomic
        from ..spec.load import load_spec
        from ..spec.registry import Registry
        from ..collect.worker import start_pool
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp) / "spec.toml"
            probe.write_bytes(data)
            spec = load_spec(probe)
        write_atomic(self.config.specs / f"{safe_name(str(spec.fingerprint))}.toml", data)
        self.registry = Registry.from_dirs([self.config.specs])
        old, self.pool = self.pool, start_pool(self.registry, self.config.workers)   # workers know the new spec
        self.receiver.pool, self.receiver.registry = self.pool, self.registry
        self.receiver.packs = packs.pack_names(s.pack_name for s in self.registry.specs())
        old.close()
        return self.spec_info(str(spec.fingerprint))

    # -- files ----------------------------------------------------------------------------------

    def stored(self, row: dict) -> Path | None:
        """The submission's file on this server: an upload's stored copy, or a file collect
        found in its inbox (when it is still there, unchanged)."""
        name = self.store.stored_file(row["id"])
        if name is not None:
            path = self.receiver.path(name)
            return path if path.is_file() else None
        link = row.get("link")
        if link and Path(link).is_file():
            path = Path(link)
            with contextlib.suppress(OSError):
                if hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]:
                    return path
        return None

    async def derive(self, kind: str, row: dict, src: Path) -> Path:
        from .jobs import marked_copy, scored_copy
        out = self.config.derived / f"{row['sha256']}.{kind}.xlsx"
        if out.is_file():
            return out
        job = marked_copy if kind == "marked" else scored_copy
        future = self.pool.schedule(job, (str(src), str(out), self.spec_path(row)), timeout=self.config.timeout)
        try:
            await asyncio.wrap_future(future)
        except XltoolsError as err:
            raise Refused(str(err).replace(str(src), row["file_name"]), 409) from None
        except Exception as err:
            raise Refused(f"生成失败（{type(err).__name__}），请稍后重试或联系财政局", 500) from None
        return out

    def request_pack(self, row: dict, src: Path) -> None:
        if src.suffix in PACKABLE and row["status"] == "ok":       # the checker accepted it: LibreOffice may see it
            self.packer.request(row["sha256"], src, self.spec_path(row))

    def summary(self) -> Path:
        from ..collect.run import summarize
        year = self.season().year
        roster = [(a["unit"], year) for a in self.store.accounts("unit")]
        path, _ = summarize(self.ledger, self.config.derived / "汇总.xlsx", self.registry.specs(), roster,
                            self.store.all_explanations())
        return path

    def accepted_packs(self) -> tuple[Path, list[str]]:
        """One zip of the packs of every unit's accepted version (those still being built are
        listed in 说明.txt)."""
        from ..files import write_atomic
        from .pages import season
        inside, missing = [], []
        for u in season(self, self.season().year):
            if u["status"] != "accepted":
                continue
            row = u["handed"]
            if self.packer is not None and self.packer.state(row["sha256"]) == ("done", 0):
                inside.append((self.packer.name_path(row["sha256"]).read_text(encoding="utf-8"),
                               self.packer.path(row["sha256"])))
            else:
                missing.append(u["account"]["unit"])
                src = self.stored(row)
                if self.packer is not None and src is not None:
                    self.request_pack(row, src)
        out = self.config.derived / "accepted-packs.zip"
        with tempfile.SpooledTemporaryFile(max_size=64 * 2**20) as buf:
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
                for name, path in inside:
                    zf.write(path, name)
                note = f"共 {len(inside)} 份已接收的报送包。"
                if missing:
                    note += f"\n以下单位的报送包尚在生成或无法生成，请稍后重新下载：{'、'.join(missing)}"
                zf.writestr("说明.txt", note + "\n")
            buf.seek(0)
            write_atomic(out, buf.read())
        return out, missing

    def import_roster(self, data: bytes, suffix: str) -> tuple[list[tuple[str, str]], int]:
        from ..collect.roster import read_roster
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"单位名单{suffix}"
            path.write_bytes(data)
            rows = read_roster(path)
        made, kept = [], 0
        for unit, _year in dict.fromkeys(rows):
            if self.store.account_of_unit(unit) or self.store.account_by_login(unit):
                kept += 1
                continue
            aid = self.store.add_account(unit, "unit", unit=unit)
            if aid is not None:
                made.append((unit, self.store.new_link(aid)))
        return made, kept


# -- the application ----------------------------------------------------------------------------

def _routes() -> list:
    return [
        Route("/", account.Home),
        Route("/login", account.Login),
        Route("/logout", account.Logout),
        Route("/password", account.Password),
        Route("/link/{token}", account.Link),
        Route("/template", staff.Template),
        Route("/unit", submission.UnitHome),
        Route("/upload", submission.Upload),
        Route("/s/{sid:int}", submission.Result),
        Route("/s/{sid:int}/file", submission.Original),
        Route("/s/{sid:int}/{kind:str}.xlsx", submission.Derived),
        Route("/s/{sid:int}/pack", submission.Pack),
        Route("/s/{sid:int}/submit", submission.Submit),
        Route("/s/{sid:int}/review", staff.Review),
        Route("/s/{sid:int}/{action:str}", staff.Decide),
        Route("/season", staff.Season),
        Route("/season/summary.xlsx", staff.Summary),
        Route("/season/packs.zip", staff.Packs),
        Route("/units/{aid:int}", staff.UnitPage),
        Route("/audit", staff.Audit),
        Route("/admin", admin.Accounts),
        Route("/admin/roster", admin.Roster),
        Route("/admin/season", admin.SeasonSpec),
        Route("/admin/accounts/{aid:int}/{action:str}", admin.AccountAction),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]


MESSAGES = {400: "请求有误", 403: "不允许", 404: "找不到这一页", 405: "不支持的操作", 413: "文件太大",
            429: "操作太频繁", 500: "服务器出错"}


async def _http_error(request, exc: HTTPException):
    if exc.status_code in (301, 302, 303, 307) and exc.headers:
        return redirect(exc.headers["Location"])
    text = exc.detail if exc.detail and exc.detail != MESSAGES.get(exc.status_code) and not exc.detail.isascii() \
        else {404: "这一页不存在，或你没有权限查看。", 405: "不支持这种请求。",
              403: "不允许这一操作。"}.get(exc.status_code, "请求无法处理。")
    return render(request, "message.html", exc.status_code, title=MESSAGES.get(exc.status_code, "出错了"),
                  text=text, back="/")


async def _login_first(request, exc):
    return redirect("/login")


async def _server_error(request, exc):
    # Outside the session middleware: a page of its own, no session, no account.
    return HTMLResponse("<!doctype html><meta charset=utf-8><title>服务器出错</title><link rel=stylesheet href=/static/style.css>"
                        "<main><p class=error role=alert>处理请求时出错，请稍后重试；如果一再出现，请联系财政局。</p>"
                        "<p><a href=/>返回</a></p></main>", 500)


class _Limits:
    """Security headers on every answer, and no request body beyond the upload cap."""

    HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
               (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store"),
               (b"content-security-policy",
                b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                b"form-action 'self'; frame-ancestors 'none'")]

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_big = f"上传的文件超过 {self.max_bytes // 2**20 - 1} MB 的上限，不是报表，未收下"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            response = HTMLResponse(f"<!doctype html><meta charset=utf-8><title>文件太大</title><p>{too_big}</p>"
                                    "<p><a href=/unit>返回</a></p>", 413, headers={"connection": "close"})
            return await response(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413, too_big)
            return message

        async def headed(message):
            if message["type"] == "http.response.start" and not scope["path"].startswith("/static/"):
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, limited, headed)


def create_app(config: Config) -> Starlette:
    svc = Services(config)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        svc.start()
        try:
            yield
        finally:
            svc.stop()

    app = Starlette(
        routes=_routes(),
        middleware=[Middleware(_Limits, max_bytes=(config.max_upload_mb + 1) * 2**20),
                    Middleware(SessionMiddleware, secret_key=config.secret_key(), session_cookie=SESSION_COOKIE,
                               max_age=int(config.session_hours * 3600), same_site="lax", https_only=config.https)],
        exception_handlers={HTTPException: _http_error, Login: _login_first, 500: _server_error},
        lifespan=lifespan)
    app.state.services = svc
    return app
