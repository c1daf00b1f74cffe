"""A unit's pages: home (upload, status, versions), the result page, its downloads, submitting.

Staff and admins open the same result page and downloads; a unit opens only its own (any other
id answers 404, as an id that does not exist). A GET that awaits nothing is a plain method:
Starlette runs it in its threadpool, so the database is not read on the event loop.
"""
from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.endpoints import HTTPEndpoint
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response

from ..pages import shown, versions
from ..receive import Refused
from ..web import attachment, field, flash, posted, redirect, render, services, signed_in

MAX_EXPLANATION = 300


def own(request) -> tuple[dict, dict]:
    """(account, submission) for /s/{id}…: 404 unless this account may see it."""
    account = signed_in(request)
    row = services(request).store.visible_submission(account, request.path_params["sid"])
    if row is None:
        raise HTTPException(404)
    return account, row


class UnitHome(HTTPEndpoint):
    def get(self, request):
        svc = services(request)
        account = signed_in(request, "unit")
        rows = svc.store.submissions_of(account)
        return render(request, "unit.html", versions=versions(svc, rows), season=svc.season(),
                      max_mb=svc.config.max_upload_mb)


class Upload(HTTPEndpoint):
    async def post(self, request):
        svc = services(request)
        account = await run_in_threadpool(signed_in, request, "unit")
        form = await posted(request, max_files=1, max_part_size=svc.config.max_upload_mb * 2**20)
        upload = form.get("file")
        if upload is None or isinstance(upload, str) or not upload.filename:
            flash(request, "请选择要上传的文件")
            return redirect("/unit")
        data = await upload.read()
        try:
            got = await svc.receiver.receive(account, upload.filename, data)
        except Refused as err:
            return render(request, "message.html", err.status, title="未收下", text=str(err), back="/unit")
        flash(request, f"已收到“{got.row['file_name']}”（第 {got.row['version']} 版）"
              + ("：这份文件以前上传过，显示的是当时的结果" if got.again else ""))
        return redirect(f"/s/{got.row['id']}")


class Result(HTTPEndpoint):
    def get(self, request):
        svc = services(request)
        account, row = own(request)
        s = shown(svc, row)
        latest = svc.store.latest_version(row["unit_key"]) if row["unit"] else row["version"]
        return render(request, "result.html", s=s, is_latest=row["version"] >= latest,
                      pack=svc.packer.state(row["sha256"]) if svc.packer else None,
                      can_pack=svc.packer is not None and row["status"] == "ok" and svc.stored(row) is not None)


class Original(HTTPEndpoint):
    def get(self, request):
        svc = services(request)
        _, row = own(request)
        path = svc.stored(row)
        if path is None:
            raise HTTPException(404, "原文件不在服务器上（由汇总程序从收件文件夹收录）")
        return FileResponse(path, headers=attachment(row["file_name"]))


class Derived(HTTPEndpoint):
    """/s/{id}/marked.xlsx (check --write) and /s/{id}/scored.xlsx (score), made once in the pool."""

    async def get(self, request):
        svc = services(request)
        account, row = own(request)
        kind = request.path_params["kind"]
        src = svc.stored(row)
        if src is None or row["status"] == "refused" or src.suffix not in (".xlsx", ".xlsm"):
            raise HTTPException(404, "这份报送没有可标注的工作簿（数据文件或无法使用的文件）")
        try:
            out = await svc.derive(kind, row, src)
        except Refused as err:
            return render(request, "message.html", err.status, title="无法生成", text=str(err), back=f"/s/{row['id']}")
        stem = Path(row["file_name"]).stem
        svc.store.log(account, f"download-{kind}", f"submission:{row['id']}")
        return FileResponse(out, headers=attachment(f"{stem}_{'校验标注' if kind == 'marked' else '评分'}.xlsx"))


class Pack(HTTPEndpoint):
    """GET: the pack's progress, or the zip when built. POST: queue it (only an error-free file)."""

    def get(self, request):
        svc = services(request)
        _, row = own(request)
        if svc.packer is None:
            raise HTTPException(404)
        state = svc.packer.state(row["sha256"])
        if state and state[0] == "done" and request.query_params.get("download"):
            name = svc.packer.name_path(row["sha256"]).read_text(encoding="utf-8")
            return FileResponse(svc.packer.path(row["sha256"]), headers=attachment(name))
        if state and state[0] == "done" and request.query_params.get("pdf"):
            name, pdf = svc.packer.report_pdf(row["sha256"])      # the whole report, as printed
            return Response(pdf, media_type="application/pdf", headers=attachment(name))
        return render(request, "pack.html", row=row, state=state)

    async def post(self, request):
        svc = services(request)
        account, row = own(request)
        await posted(request)
        src = svc.stored(row)
        if svc.packer is None or row["status"] != "ok" or src is None:
            return render(request, "message.html", 409, title="不能打包",
                          text="有错误的报表不能打包：请先改正全部错误，重新上传", back=f"/s/{row['id']}")
        svc.request_pack(row, src)
        svc.store.log(account, "pack", f"submission:{row['id']}")
        return redirect(f"/s/{row['id']}/pack")


class Submit(HTTPEndpoint):
    async def post(self, request):
        svc = services(request)
        account, row = own(request)
        form = await posted(request)
        if account["role"] != "unit":
            raise HTTPException(404)
        s = shown(svc, row, with_grids=False)
        latest = svc.store.latest_version(row["unit_key"]) if row["unit"] else row["version"]
        back = f"/s/{row['id']}"
        if row["status"] != "ok":
            why = row["message"] if row["status"] == "refused" else f"还有 {len(s.errors)} 处错误（强制性校验未通过）"
            return render(request, "message.html", 409, title="不能提交", text=f"不能提交：{why}。请改正后重新上传。",
                          back=back)
        if row["version"] != latest:
            return render(request, "message.html", 409, title="不能提交",
                          text=f"这是第 {row['version']} 版，已有更新的第 {latest} 版：请提交最新一版", back=back)
        if s.submitted and s.decision is None:
            flash(request, "这一版已经提交，等待财政局接收")
            return redirect(back)
        if s.decision is not None and s.decision["action"] == "accept":
            flash(request, "这一版已被接收")
            return redirect(back)
        texts, missing = {}, []
        for f in s.warnings:
            text = " ".join(field(form, f"explain-{f['position']}", MAX_EXPLANATION).split())
            if text:
                texts[f["position"]] = text
            else:
                missing.append(f)
        if missing:
            return render(request, "result.html", 400, s=s, is_latest=True, pack=None, can_pack=False,
                          given=texts, missing={f["position"] for f in missing},
                          error=f"还有 {len(missing)} 条提示没有填写核实说明：每条提示都须说明原因后才能提交")
        await run_in_threadpool(svc.store.submit, row["id"], account["id"], texts)
        svc.store.log(account, "submit", f"submission:{row['id']}", f"第 {row['version']} 版，核实说明 {len(texts)} 条")
        flash(request, "已提交，等待财政局审核接收")
        return redirect(back)
