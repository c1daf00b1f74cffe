"""What a page shows, built from the ledger and the web's own records (no rule lives here).

A submission with its findings grouped by report and the cells around each; the versions of a
unit with what changed between them; the season: each roster unit's status.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..collect.letters import return_text
from ..collect.record import detail_of

# The season's statuses, in the order the page lists them.
SEASON_STATUS = {"missing": "未报送", "errors": "有错误", "waiting": "待接收", "returned": "已退回", "accepted": "已接收"}
# Beside the figures the spec declares (each carries its label in the ledger): the scores.
SCORE_LABELS = {"score_stated": "综合得分（填报）", "score_computed": "综合得分（重算）", "grade_computed": "等次（重算）"}


def _key(f: dict) -> tuple:
    return (f["code"], f["sheet"] or "", f["cell"] or "")


@dataclass
class Shown:
    """A submission as its page shows it."""
    row: dict
    findings: list[dict]
    groups: list[tuple[str, list[dict]]] = field(default_factory=list)   # report sheet -> findings
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    grids: dict = field(default_factory=dict)
    explanations: dict[int, str] = field(default_factory=dict)
    decisions: list[dict] = field(default_factory=list)
    uploaded: bool = False

    @property
    def submitted(self) -> bool:
        """Handed in: submitted on the web, or collected from the inbox (arriving there is handing in)."""
        return not self.uploaded or any(d["action"] == "submit" for d in self.decisions)

    @property
    def decision(self) -> dict | None:
        """The last return/accept after the last submit."""
        last = None
        for d in self.decisions:
            last = None if d["action"] == "submit" else d
        return last


def shown(svc, row: dict, with_grids: bool = True) -> Shown:
    found = svc.ledger.findings_of([row["id"]]).get(row["id"], [])
    s = Shown(row, found, explanations=svc.store.explanations_of(row["id"]),
              decisions=svc.store.decisions_of([row["id"]]).get(row["id"], []),
              uploaded=bool(svc.store.uploaded_ids([row["id"]])))
    groups: dict[str, list[dict]] = {}
    for f in found:
        groups.setdefault(f["sheet"] or "（整个文件）", []).append(f)
        (s.errors if f["severity"] == "error" else s.warnings).append(f)
    s.groups = list(groups.items())
    if with_grids:
        s.grids = {where: _marked(g) for where, g in svc.store.grids_of(row["sha256"]).items()}
    return s


def _marked(grid: dict) -> dict:
    """A grid as the page draws it: each row's cells as (text, is the finding's cell)."""
    at_row, at_col = grid["at"]
    return {"cols": grid["cols"],
            "rows": [(number, [(v, r == at_row and c == at_col) for c, v in enumerate(cells)])
                     for r, (number, cells) in enumerate(grid["rows"])]}


def figures(row: dict) -> dict[str, str | None]:
    """label -> value: the figures collect recorded for this version, and its scores."""
    out = {f["label"]: f["value"] for f in detail_of(row)["figures"]}
    out.update({label: row.get(k) for k, label in SCORE_LABELS.items()})
    return out


def changes(older: dict, older_findings: list[dict], newer: dict, newer_findings: list[dict]) -> dict:
    """What changed from one version to the next: findings fixed and new, figures changed."""
    before, after = {_key(f): f for f in older_findings}, {_key(f): f for f in newer_findings}
    a, b = figures(older), figures(newer)
    return {"fixed": [f for k, f in before.items() if k not in after],
            "new": [f for k, f in after.items() if k not in before],
            "figures": [(label, a.get(label), b.get(label)) for label in dict.fromkeys([*a, *b])
                        if a.get(label) != b.get(label)]}


def versions(svc, rows: list[dict]) -> list[dict]:
    """Each version, newest first, with its decisions and what changed since the one before."""
    rows = sorted(rows, key=lambda r: r["id"])
    found = svc.ledger.findings_of(r["id"] for r in rows)
    decided = svc.store.decisions_of(r["id"] for r in rows)
    out, before = [], {}
    for r in rows:
        prev = before.get(r["unit_key"])
        out.append({"row": r, "decisions": decided.get(r["id"], []),
                    "changes": changes(prev, found.get(prev["id"], []), r, found.get(r["id"], [])) if prev else None})
        before[r["unit_key"]] = r
    return out[::-1]


def return_draft(s: Shown) -> str:
    """The 退回意见 the staff member starts from: the errors as collect words them, else the
    warnings with the unit's explanations, for the unit to look at again."""
    if s.errors or s.row["status"] == "refused":
        return return_text(s.row, s.findings)
    lines = [f"{s.row['unit']}：", f"你单位报送的{s.row['year']}年度绩效自评报告（第 {s.row['version']} 版）经审核，"
             "以下事项请核实后修改并重新报送："]
    for n, f in enumerate(s.warnings, start=1):
        where = f"{f['sheet']}!{f['cell']}：" if f["sheet"] and f["cell"] else ""
        said = s.explanations.get(f["position"])
        lines.append(f"{n}. {where}{f['message']}" + (f"（单位说明：{said}）" if said else ""))
    lines += ["请于____年__月__日前修改后重新报送。", detail_of(s.row)["bureau"] or "财政局"]
    return "\n".join(lines)


def season(svc, year: int) -> list[dict]:
    """Each unit account (the roster) with its status this season and its latest version."""
    rows = svc.store.season_rows(year)
    by_unit: dict[str, list[dict]] = {}
    for r in rows:
        if r["unit"]:
            by_unit.setdefault(r["unit"], []).append(r)
    decided = svc.store.decisions_of(r["id"] for r in rows)
    uploaded = svc.store.uploaded_ids(r["id"] for r in rows)
    out = []
    for account in svc.store.accounts("unit"):
        mine = sorted(by_unit.get(account["unit"], []), key=lambda r: r["version"])
        latest = mine[-1] if mine else None
        handed = [r for r in mine if r["id"] not in uploaded
                  or any(d["action"] == "submit" for d in decided.get(r["id"], []))]
        status, last = "missing", None
        if handed:
            last = handed[-1]
            actions = [d["action"] for d in decided.get(last["id"], [])]
            if actions[-1:] == ["accept"]:
                status = "accepted"
            elif actions[-1:] == ["return"]:
                status = "returned"
            elif last["status"] == "ok":
                status = "waiting"
            else:
                status = "errors"
        if latest is not None and status in ("missing", "returned") and latest["status"] != "ok" \
                and (last is None or latest["id"] > last["id"]):
            status = "errors"             # working on it: the newest upload still has errors
        out.append({"account": account, "status": status, "latest": latest, "handed": last,
                    "versions": len(mine)})
    return out
