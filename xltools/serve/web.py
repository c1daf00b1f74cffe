"""What every view shares: rendering a page, who is asking, reading a form with its CSRF token.

Templates are Jinja2 with autoescape on: every text a user or a workbook supplied is escaped.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse
from starlette.templating import Jinja2Templates

from ..catalogue import SEVERITY_LABEL, STATUS_LABEL
from . import auth
from .store import ROLES

HERE = Path(__file__).parent
templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True))
templates.env.globals.update(ROLES=ROLES, STATUS_WORDS=STATUS_LABEL, SEVERITY_WORDS=SEVERITY_LABEL)   # declared once
HOME = {"unit": "/unit", "staff": "/season", "admin": "/season"}


class Login(Exception):
    """Not signed in: the page sends the browser to the login form."""


def services(request):
    return request.app.state.services


def render(request, name: str, status_code: int = 200, **context):
    account = getattr(request.state, "account", None)
    return templates.TemplateResponse(request, name, {"me": account, "csrf": auth.csrf_token(request),
                                                      "flash": request.session.pop("flash", None), **context},
                                      status_code=status_code)


def flash(request, text: str) -> None:
    request.session["flash"] = text


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def signed_in(request, *roles: str) -> dict:
    """The account asking, which must have one of `roles` (any when none is given)."""
    svc = services(request)
    account = auth.current_account(request, svc.store)
    if account is None:
        raise Login()
    request.state.account = account
    if account["must_change"] and request.url.path not in ("/password", "/logout"):
        raise HTTPException(303, headers={"Location": "/password"})
    if roles and account["role"] not in roles:
        raise HTTPException(404)        # a page of another role does not exist for this account
    return account


async def posted(request, **limits):
    """The submitted form, after its CSRF token is checked."""
    form = await request.form(**({"max_files": 0, "max_fields": 500, "max_part_size": 64 * 1024} | limits))
    auth.check_csrf(request, form)
    return form


def field(form, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def attachment(name: str) -> dict:
    """A Content-Disposition that old browsers read too (ASCII fallback, the UTF-8 name)."""
    return {"Content-Disposition": f"attachment; filename=\"download{Path(name).suffix}\"; "
                                   f"filename*=UTF-8''{quote(name)}"}
