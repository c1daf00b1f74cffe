"""Administration: accounts and roles, the roster import, password links, the season's spec."""
from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.endpoints import HTTPEndpoint
from starlette.exceptions import HTTPException

from ...errors import XltoolsError
from ..store import ROLES
from ..web import field, flash, posted, redirect, render, services, signed_in

ROSTER_SUFFIXES = (".xlsx", ".xlsm", ".csv")
MAX_ROSTER_MB = 5


class Accounts(HTTPEndpoint):
    def get(self, request):
        svc = services(request)
        signed_in(request, "admin", "staff")
        return render(request, "accounts.html", accounts=svc.store.accounts(), specs=svc.registry.infos,
                      season=svc.season())

    async def post(self, request):
        """A new staff or admin account, with a one-time link to set its password."""
        svc = services(request)
        me = signed_in(request, "admin")
        form = await posted(request)
        login, role = field(form, "login", 100), field(form, "role")
        if not login or role not in ("staff", "admin"):
            flash(request, "请填写账号名并选择角色")
            return redirect("/admin")
        aid = svc.store.add_account(login, role)
        if aid is None:
            flash(request, f"账号“{login}”已存在")
            return redirect("/admin")
        svc.store.log(me, "account-create", f"account:{aid}", f"{login}（{ROLES[role]}）")
        return render(request, "links.html", links=[(login, svc.store.new_link(aid))])


class AccountAction(HTTPEndpoint):
    """POST /admin/accounts/{aid}/{action}: link (reset the password), role, disable, enable.
    Staff may hand out links to unit accounts; everything else is the admin's."""

    async def post(self, request):
        svc = services(request)
        me = signed_in(request, "admin", "staff")
        form = await posted(request)
        action = request.path_params["action"]
        account = svc.store.account(request.path_params["aid"])
        if account is None or (me["role"] == "staff" and (action != "link" or account["role"] != "unit")):
            raise HTTPException(404)
        target = f"account:{account['id']}"
        if action == "link":
            token = svc.store.new_link(account["id"])
            svc.store.set_password(account["id"], None)       # the old password stops working now
            svc.store.log(me, "password-reset", target, account["login"])
            return render(request, "links.html", links=[(account["login"], token)])
        if account["id"] == me["id"]:
            flash(request, "不能修改自己的角色或停用自己")
            return redirect("/admin")
        if action == "role" and field(form, "role") in ("staff", "admin") and account["role"] != "unit":
            svc.store.set_role(account["id"], field(form, "role"))
            svc.store.log(me, "role", target, field(form, "role"))
        elif action in ("disable", "enable"):
            svc.store.set_disabled(account["id"], action == "disable")
            svc.store.log(me, action, target, account["login"])
        else:
            raise HTTPException(404)
        flash(request, f"已更新账号“{account['login']}”")
        return redirect("/admin")


class Roster(HTTPEndpoint):
    """The roster file collect --roster takes: one unit account each, with its one-time link."""

    async def post(self, request):
        svc = services(request)
        me = signed_in(request, "admin", "staff")
        form = await posted(request, max_files=1, max_part_size=MAX_ROSTER_MB * 2**20)
        upload = form.get("roster")
        if upload is None or isinstance(upload, str) or not upload.filename.lower().endswith(ROSTER_SUFFIXES):
            flash(request, "请选择单位名单（.xlsx 或 .csv，含“单位名称”列）")
            return redirect("/admin")
        data = await upload.read(MAX_ROSTER_MB * 2**20 + 1)
        try:
            made, kept = await run_in_threadpool(svc.import_roster, data, Path(upload.filename).suffix.lower())
        except XltoolsError as err:
            flash(request, str(err).replace(tempfile.gettempdir(), "").strip())
            return redirect("/admin")
        svc.store.log(me, "roster", "", f"新建 {len(made)} 个单位账号，已有 {kept} 个")
        return render(request, "links.html", links=made, kept=kept)


class SeasonSpec(HTTPEndpoint):
    """Which spec (year and form) this season's template and pages use; a new spec file."""

    async def post(self, request):
        svc = services(request)
        me = signed_in(request, "admin")
        form = await posted(request, max_files=1, max_part_size=2**20)
        upload = form.get("spec")
        if upload is not None and not isinstance(upload, str) and upload.filename:
            try:
                info = await run_in_threadpool(svc.add_spec, await upload.read(2**20 + 1))
            except XltoolsError as err:
                flash(request, f"规格文件无法使用：{err}")
                return redirect("/admin")
            svc.store.log(me, "spec-add", str(info.fingerprint), f"{info.region}{info.year}")
            flash(request, f"已添加规格：{info.region}{info.year}年度（{info.fingerprint}）")
            return redirect("/admin")
        chosen = field(form, "fingerprint")
        if svc.spec_info(chosen) is None:
            raise HTTPException(404)
        svc.store.set_setting("season", chosen)
        svc.store.log(me, "season", chosen)
        flash(request, "已设置本期使用的规格")
        return redirect("/admin")
