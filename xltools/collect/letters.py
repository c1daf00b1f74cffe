"""退回意见: the letter sent back to a unit whose submission has errors or cannot be used.

Addressed to the unit (or, for a file no one can read, to whoever sent that file), signed by the
bureau the spec names (the season's bureau for a file no spec read), each item cited as the sheet,
row and column in words (部门整体支出表第 68 行“人员支出”栏, never 部门整体支出!D68), differences
as 多/少 (the catalogue's sentences), no path of the bureau's machine, and no bracket inside a
bracket: a hint follows its finding after a semicolon.
"""
from __future__ import annotations

from .record import Row, detail_of

DEADLINE = "请于____年__月__日前"


def without_path(message: str | None, r: Row) -> str:
    """A refusal's sentence names the file by the path it had on the bureau's machine: by its
    name here."""
    message = message or ""
    source, name = r.get("source") or "", r.get("file_name") or ""
    if source and name and source != name:
        message = message.replace(f"文件 {source} ", f"文件“{name}”").replace(source, f"“{name}”")
    return message


def place(f: dict, specs: dict) -> str:
    """Where a finding is, in words, by the spec of its submission (`specs`: report by sheet)."""
    sheet, cell = f.get("sheet") or "", f.get("cell") or ""
    if not cell:
        return sheet
    report = specs.get(sheet) or specs.get(None)
    if report is None:
        return f"{sheet}表 {cell}" if sheet else cell
    return report.place(sheet, cell)


def spec_of(r: Row, specs=()):
    """The spec that read a submission, by its template's fingerprint: one of `specs`, else one
    that comes with xltools (xltools serve's letters); None for a file no spec read."""
    fingerprint = r.get("fingerprint")
    if not fingerprint:
        return None
    found = next((s for s in specs if str(s.fingerprint) == fingerprint), None)
    if found is None:
        from ..spec.fingerprint import Fingerprint
        from ..spec.registry import Registry
        registry = Registry.packaged()
        info = registry.by_fingerprint.get(Fingerprint.parse(fingerprint))
        found = registry.spec(info) if info else None
    return found


def reports_by_sheet(spec, r: Row) -> dict:
    """The reports of a submission's workbook by sheet name; None: the report copied per project
    (its copies carry the projects' own sheet names)."""
    if spec is None:
        return {}
    out = {rep.sheet: rep for rep in spec.reports.values() if not rep.copied}
    out[None] = spec.copied
    return out


def _sentence(text: str) -> str:
    return text.strip().rstrip("。；;，, ")


def return_text(r: Row, items: list[dict], *, spec=None, bureau: str | None = None) -> str:
    """The letter for one submission (`spec`: the spec that read it, for the places in words;
    `bureau`: who signs when the submission names none)."""
    signer = detail_of(r)["bureau"] or bureau or "财政局"
    name = r["file_name"]
    if r["status"] == "refused":
        reason = without_path(r["message"], r)
        if reason.startswith(f"文件“{name}”"):        # said once, by the sentence that opens it
            reason = reason[len(name) + 4:].lstrip("，：:, ")
        return "\n".join([f"报送文件“{name}”的单位：",
                          f"你单位报送的文件“{name}”无法使用：{_sentence(reason)}。",
                          f"{DEADLINE}用本年度模板重新填报后报送。", signer])
    errors = [f for f in items if f["severity"] == "error"]
    reports = reports_by_sheet(spec or spec_of(r), r)
    lines = [f"{r['unit']}：",
             f"你单位报送的{r['year']}年度绩效自评报告（文件“{name}”，第 {r['version']} 版）经审核，"
             f"有以下 {len(errors)} 处需要更正："]
    for n, f in enumerate(errors, start=1):
        where = place(f, reports)
        hint = f"；{_sentence(f['hint'])}" if f.get("hint") else ""
        lines.append(f"{n}. {where + '：' if where else ''}{_sentence(f['message'])}{hint}。")
    lines += [f"{DEADLINE}更正后重新报送。", signer]
    return "\n".join(lines)
