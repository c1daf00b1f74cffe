"""Signing in and out, one's own password, and the one-time link that sets it."""
from __future__ import annotations

from starlette.endpoints import HTTPEndpoint
from starlette.exceptions import HTTPException

from .. import auth
from ..web import HOME, field, flash, posted, redirect, render, services, signed_in


class Home(HTTPEndpoint):
    def get(self, request):
        return redirect(HOME[signed_in(request)["role"]])


class Login(HTTPEndpoint):
    def get(self, request):
        return render(request, "login.html")

    async def post(self, request):
        svc = services(request)
        form = await posted(request)
        login, password = field(form, "login", 255), form.get("password") or ""
        address = request.client.host if request.client else "-"
        wait = svc.limiter.wait(login, address)
        if wait:
            svc.store.log(None, "login-paused", login, address)
            return render(request, "login.html", 429, login=login,
                          error=f"登录失败次数过多，请 {wait // 60 + 1} 分钟后再试")
        account = svc.store.account_by_login(login)
        ok = account is not None and not account["disabled"] and auth.verify_password(account["password_hash"], password)
        if not ok:
            svc.limiter.failed(login, address)
            svc.store.log(None, "login-failed", login, address)
            return render(request, "login.html", 401, login=login, error="账号或密码不正确")
        svc.limiter.succeeded(login)
        auth.sign_in(request, account)
        svc.store.log(account, "login", "", address)
        return redirect("/password" if account["must_change"] else HOME[account["role"]])


class Logout(HTTPEndpoint):
    async def post(self, request):
        await posted(request)
        request.session.clear()
        return redirect("/login")


class Password(HTTPEndpoint):
    def get(self, request):
        signed_in(request)
        return render(request, "password.html")

    async def post(self, request):
        svc = services(request)
        account = signed_in(request)
        form = await posted(request)
        if not auth.verify_password(account["password_hash"], form.get("old") or ""):
            return render(request, "password.html", 400, error="原密码不正确")
        problem = auth.password_problem(form.get("new") or "", form.get("again") or "")
        if problem:
            return render(request, "password.html", 400, error=problem)
        svc.store.set_password(account["id"], auth.hash_password(form["new"]))
        auth.sign_in(request, svc.store.account(account["id"]))
        svc.store.log(account, "password", f"account:{account['id']}")
        flash(request, "密码已修改")
        return redirect(HOME[account["role"]])


class Link(HTTPEndpoint):
    """/link/<token>: set the password with a link an admin or staff member handed out."""

    def get(self, request):
        account = services(request).store.link_account(request.path_params["token"])
        if account is None:
            raise HTTPException(404, "链接无效、已使用或已过期，请向财政局索取新的链接")
        return render(request, "link.html", account=account)

    async def post(self, request):
        svc = services(request)
        form = await posted(request)
        token = request.path_params["token"]
        account = svc.store.link_account(token)
        if account is None:
            raise HTTPException(404, "链接无效、已使用或已过期，请向财政局索取新的链接")
        problem = auth.password_problem(form.get("new") or "", form.get("again") or "")
        if problem:
            return render(request, "link.html", 400, account=account, error=problem)
        account = svc.store.redeem_link(token, auth.hash_password(form["new"]))
        if account is None:
            raise HTTPException(404, "链接无效、已使用或已过期，请向财政局索取新的链接")
        auth.sign_in(request, account)
        svc.store.log(account, "link-used", f"account:{account['id']}")
        flash(request, "密码已设置，以后请用账号和新密码登录")
        return redirect(HOME[account["role"]])
