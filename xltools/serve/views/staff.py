"""The bureau's pages: the season, one unit, returning and accepting, the summary, the packs, the audit log."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.endpoints import HTTPEndpoint
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse

from ..pages import SEASON_STATUS, return_draft, season, shown, versions
from ..web import attachment, field, flash, posted, redirect, render, services, signed_in
from .submission import own

STAFF = ("staff", "admin")
MAX_OPINION = 4000


class Season(HTTPEndpoint):
    def get(self, request):
        svc = services(request)
        signed_in(request, *STAFF)
        info = svc.season()
        units = season(svc, info.year)
        counts = {k: sum(u["status"] == k for u in units) for k in SEASON_STATUS}
        wanted, q = request.query_params.get("status", ""), request.query_params.get("q", "").strip()[:100]
        shown_units = [u for u in units if (not wanted or u["status"] == wanted)
                       and (not q or q in u["account"]["unit"] or q in u["account"]["login"])]
        return render(request, "season.html", units=shown_units, counts=counts, total=len(units), info=info,
                      wanted=wanted, q=q, statuses=SEASON_STATUS)


class UnitPage(HTTPEndpoint):
    def get(self, request):
        svc = services(request)
        signed_in(request, *STAFF)
        account = svc.store.account(request.path_params["aid"])
        if account is None or account["role"] != "unit":
            raise HTTPException(404)
        return render(request, "unit_staff.html", unit=account,
                      versions=versions(svc, svc.store.submissions_of(account)))


class Review(HTTPEndpoint):
    """/s/{id}/review: the 退回 form with its opinion drafted from the findings."""

    def get(self, request):
        svc = services(request)
        signed_in(request, *STAFF)
        _, row = own(request)
        s = shown(svc, row, with_grids=False)
        return render(request, "review.html", s=s, draft=return_draft(s))


class Decide(HTTPEndpoint):
    """POST /s/{id}/return (with 退回意见) and /s/{id}/accept."""

    async def post(self, request):
        svc = services(request)
        account = signed_in(request, *STAFF)
        _, row = own(request)
        action = request.path_params["action"]
        if action not in ("accept", "return"):
            raise HTTPException(404)
        form = await posted(request)
        s = shown(svc, row, with_grids=False)
        if action == "accept":
            if row["status"] != "ok" or not s.submitted:
                return render(request, "message.html", 409, title="不能接收",
                              text="只能接收已提交且没有错误的报表", back=f"/s/{row['id']}")
            await run_in_threadpool(svc.store.decide, row["id"], "accept", account["id"])
            svc.store.log(account, "accept", f"submission:{row['id']}", f"{row['unit']} 第 {row['version']} 版")
            src = svc.stored(row)
            if svc.packer is not None and src is not None:
                svc.request_pack(row, src)          # the accepted packs' zip needs it
            flash(request, f"已接收 {row['unit'] or row['file_name']} 第 {row['version']} 版")
        else:
            opinion = field(form, "opinion", MAX_OPINION)
            if not opinion:
                return render(request, "review.html", 400, s=s, draft="", error="请填写退回意见")
            await run_in_threadpool(svc.store.decide, row["id"], "return", account["id"], opinion)
            svc.store.log(account, "return", f"submission:{row['id']}", opinion[:200])
            flash(request, f"已退回 {row['unit'] or row['file_name']} 第 {row['version']} 版")
        return redirect(request.query_params.get("next") if request.query_params.get("next") == "/season"
                        else f"/s/{row['id']}")


class Summary(HTTPEndpoint):
    def get(self, request):
        svc = services(request)
        account = signed_in(request, *STAFF)
        path = svc.summary()
        svc.store.log(account, "download-summary")
        return FileResponse(path, headers=attachment(f"{svc.season().year}年度绩效自评汇总.xlsx"))


class Packs(HTTPEndpoint):
    def get(self, request):
        svc = services(request)
        account = signed_in(request, *STAFF)
        path, missing = svc.accepted_packs()
        svc.store.log(account, "download-packs", "", f"缺 {len(missing)} 份")
        return FileResponse(path, headers=attachment(f"{svc.season().year}年度已接收报送包.zip"))


class Audit(HTTPEndpoint):
    def get(self, request):
        svc = services(request)
        signed_in(request, *STAFF)
        try:
            page = max(0, int(request.query_params.get("page", "0")))
        except ValueError:
            page = 0
        return render(request, "audit.html", entries=svc.store.audit_entries(200, page * 200), page=page)


class Template(HTTPEndpoint):
    """下载模板: this season's template, built once from the season's spec."""

    def get(self, request):
        svc = services(request)
        signed_in(request)
        path = svc.template()
        info = svc.season()
        return FileResponse(path, headers=attachment(f"{info.region}{info.year}年度绩效自评报告模板.xlsx"))
