"""`xltools collect`: a season of submissions -> checked in parallel -> ledger -> summary workbook.

inputs (intake.py) -> submissions, each keyed by its sha256 -> those the ledger has not seen
are checked in worker processes (worker.py), each against the spec its template's
fingerprint names (spec/registry.py) -> the parent records them (ledger.py) and writes the
summary from the ledger's latest versions (summary.py). Nothing under the input paths is
written to; the run always completes.

Exit code, of what this run found new (submissions already in the ledger were reported, and
answered by a letter, on the run that recorded them; a rerun over an inbox that still holds an old
damaged file must not raise the alarm again, nor can the clerk clear it without deleting what a
unit sent): 2 if a new submission could not be used, else 1 if one had errors, else 0. The
summary and the totals line still count every latest submission.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..catalogue import STATUS_LABEL
from ..errors import XltoolsError
from ..usertext import visible
from .intake import collect_inputs
from .packs import pack_names
from .record import Result, local_time, packed, status_of, unpacked
from .submission import Submission
from .zips import read_member


@dataclass
class Outcome:
    held: list[bytes] = field(default_factory=list)      # one result per submission, input order, packed
    fresh: list[str] = field(default_factory=list)       # ... the statuses of those not in the ledger before
    checked: int = 0
    skipped: int = 0            # already in the ledger (same sha256)
    duplicates: int = 0         # the same bytes twice in this run
    temp_skipped: int = 0
    other_skipped: int = 0
    summary: Path | None = None
    summary_unchanged: bool = False   # nothing new since it was written: not rewritten
    db_url: str = ""
    roster: int | None = None         # units on the roster (None: no roster given)
    missing: int = 0                  # ... of which have not reported

    def results(self) -> Iterator[Result]:
        """Each submission's result, in input order (unpacked one at a time)."""
        return map(unpacked, self.held)

    @property
    def exit_code(self) -> int:
        """Of the submissions new in this run (see the module's docstring)."""
        if "refused" in self.fresh:
            return 2
        return 1 if "errors" in self.fresh else 0


class Progress:
    """A rich bar on a terminal's stderr; plain lines every few seconds otherwise (logs, CI)."""

    def __init__(self, total: int, stream=None):
        self.total, self.done, self.stream = total, 0, stream or sys.stderr
        self.bar = None
        self.last = time.monotonic()
        if total and self.stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TimeRemainingColumn
            self.bar = Bar("校验", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                           console=Console(file=self.stream), transient=True)
            self.task = self.bar.add_task("校验", total=total)
            self.bar.start()

    def advance(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.advance(self.task)
        elif time.monotonic() - self.last >= 5 or self.done == self.total:
            self.last = time.monotonic()
            print(f"校验进度：{self.done}/{self.total}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _with_intake_findings(sub: Submission, result: Result) -> Result:
    """A pack's manifest findings belong to the submission, beside the checker's."""
    if sub.findings:
        result["findings"] = [f.to_json() for f in sub.findings] + result["findings"]
        result["ok"] = result["ok"] and not any(f.severity == "error" for f in sub.findings)
    result["file"] = sub.label
    return result


def collect(paths, output, *, db_url: str | None = None, roster=None, specs_dirs=(), jobs: int | None = None,
            timeout: float | None = None, progress=True) -> Outcome:
    from .record import refusal, stored
    from .worker import DEFAULT_TIMEOUT_S, RETRY, run_pool
    from .ledger import Ledger, as_result, database_error, default_url, ledger_shown
    from ..spec.registry import Registry
    from .roster import compare, read_roster

    output = Path(output)
    registry = Registry.from_dirs(specs_dirs, more="请用 --specs 指定含该年度规格的文件夹")
    specs = registry.specs()          # every spec read here, before any work: a broken one says so now
    roster_rows = read_roster(roster) if roster else None
    db_url = db_url or default_url(output)
    exclude = [output]
    if db_url.startswith("sqlite:///"):
        exclude += [db_url[len("sqlite:///"):], db_url[len("sqlite:///"):] + "-journal"]
    opened: list = []                 # the ledger, opened once the inputs are known to exist

    def ledger_now():
        if not opened:
            output.parent.mkdir(parents=True, exist_ok=True)
            opened.append(Ledger(db_url))
        return opened[0]

    def unchanged(stats) -> dict:
        """The loose files the ledger saw with this size and time, all of whose submissions it
        holds with a verdict: not read again."""
        ledger = ledger_now()
        remembered = ledger.seen(stats)
        held = ledger.known({sha for found in remembered.values() for _, sha in found})
        return {p: found for p, found in remembered.items() if all(sha in held for _, sha in found)}

    refuse_outputs_among_inputs(paths, exclude)
    from sqlalchemy.exc import SQLAlchemyError
    try:
        intake = collect_inputs(paths, exclude=exclude, packs=pack_names(s.pack_name for s in specs), seen=unchanged)
        ledger = ledger_now()
        out = Outcome(temp_skipped=intake.temp_skipped, other_skipped=intake.other_skipped, db_url=db_url)
        subs = intake.submissions
        known = ledger.known({s.sha256 for s in subs})
        results = [None] * len(subs)     # bytes: packed (record.packed), a province's run holds 7,000
        first_of: dict[str, int] = {}
        todo: list[int] = []
        for i, s in enumerate(subs):
            if s.sha256 in known:
                out.skipped += 1
            elif s.sha256 in first_of:
                out.duplicates += 1
            else:
                first_of[s.sha256] = i
                if s.kind == "refused":
                    results[i] = packed(refusal(s.refused, s.message, s.label))
                elif s.kind == "known":       # its row became transient since it was looked up
                    results[i] = packed(refusal("changed", f"文件 {s.label} 在收取过程中被改动，已暂缓；{RETRY}", s.label))
                else:
                    todo.append(i)
        bar = Progress(len(todo)) if progress else None
        jobs_list = [{"label": subs[i].label, "origin": subs[i].origin, "data": subs[i].data or None,
                      "sha256": subs[i].body_sha256 or subs[i].sha256} for i in todo]
        members: dict = {}                # the zip last read from (read_member's cache)

        def load(job: dict) -> bytes:
            return read_member(*job["origin"], job["label"], members)

        def done(k: int, result: Result) -> None:
            results[todo[k]] = packed(_with_intake_findings(subs[todo[k]], result))
            if bar:
                bar.advance()

        try:
            run_pool(jobs_list, registry, jobs or os.cpu_count() or 1, timeout or DEFAULT_TIMEOUT_S, done, load)
        finally:
            if bar:
                bar.close()
            for held in members.get("files", ()):
                held.close()
        out.checked = len(todo)
        firsts = sorted(first_of.values())
        against_last_year(results, firsts, ledger, registry)
        try:
            recorded = {r["sha256"]: (r["unit"], r["year"], r["version"])
                        for r in ledger.record([(subs[i], results[i]) for i in firsts], seen=intake.seen)}
        except SQLAlchemyError as err:       # one transaction: nothing was recorded
            raise XltoolsError(f"{database_error(db_url, err, '记录到')}，本次未记录任何报送，也未写汇总表") from None
        found = ledger.findings_of(r["id"] for r in known.values())
        for i, s in enumerate(subs):
            if s.sha256 in known:
                res = as_result(known[s.sha256], found.get(known[s.sha256]["id"], []))
                res.update(file=stored(s.label), skipped=True)
            else:
                res = stored({k: v for k, v in unpacked(results[first_of[s.sha256]]).items()
                              if k not in ("year_start", "year_end")})
                unit, year, version = recorded[s.sha256]
                res.update(file=stored(s.label), unit=unit, year=year, version=version,
                           sha256=s.sha256, skipped=i != first_of[s.sha256])
                out.fresh.append("refused" if res.get("refused") else "ok" if res["ok"] else "errors")
            out.held.append(packed(res))
        results = known = found = recorded = None    # what the summary does not need: not held while it is written
        try:
            out.summary, out.summary_unchanged = summarize(ledger, output, specs, roster_rows)
        except Exception as err:
            raise XltoolsError(f"本次 {len(firsts)} 份新报送已记入台账 {visible(ledger_shown(db_url))}，但{_summary_failure(err, db_url)}") from err
        if roster_rows is not None:
            out.roster = len({unit for unit, _ in roster_rows})
            out.missing = len(compare(ledger.latest_heads(), roster_rows)[0])
        return out
    finally:
        for ledger in opened:
            ledger.close()


def _summary_failure(err: Exception, db_url: str) -> str:
    """What went wrong with the summary, truthfully (after the ledger was written)."""
    from sqlalchemy.exc import SQLAlchemyError
    from ..errors import unexpected
    from .ledger import database_error
    if isinstance(err, _StateNotSaved):
        return f"汇总表已写出，只是未能记下它的状态（{err}），下次运行会重写汇总表"
    if isinstance(err, SQLAlchemyError):
        return f"汇总表未写出：{database_error(db_url, err, '读取')}"
    return f"汇总表未写出：{err if isinstance(err, XltoolsError) else unexpected(err)}"


class _StateNotSaved(Exception):
    pass


def refuse_outputs_among_inputs(paths, outputs) -> None:
    """The summary and its ledger are never written among the submissions: there they would
    replace a unit's file of the same name, or be collected as one next time."""
    for out in outputs:
        real = Path(os.path.realpath(out))
        for p in paths:
            inside = Path(os.path.realpath(p))
            if real == inside or (inside.is_dir() and inside in real.parents):
                what = "就是输入的文件" if real == inside else f"在收件文件夹 {p} 之中"
                raise XltoolsError(f"输出 {out} {what}：汇总表和台账不能写进收件的文件夹（会覆盖报送的文件，"
                                   "或在下次被当作报送收取），请用 -o 指定收件文件夹以外的位置；未写入任何文件")


# What a summary is made by: a new layout or wording rebuilds it.
def _summary_sources() -> list[Path]:
    from . import letters, roster, sheets, summary
    return [Path(m.__file__) for m in (summary, sheets, letters, roster)]


def against_last_year(results: list, new: list[int], ledger, registry) -> None:
    """Each new submission (`results[k]` for k in `new`, packed: record.packed) against its unit's
    previous year, as its spec's [previous] declares (rules/previous.py): the previous year's
    submission in this run, else the ledger's latest version of it. Adds the findings and the
    figures with last year's (`previous`)."""
    from ..rules.previous import compare, figures_compared
    from ..spec.fingerprint import Fingerprint
    from .record import detail_of
    in_run = {}
    for k in new:
        res = unpacked(results[k])
        if not res.get("refused"):
            in_run[(res.get("unit"), res.get("year"))] = k
    for k in new:
        res = unpacked(results[k])
        if res.get("refused") or not res.get("unit") or not res.get("year"):
            continue
        before = in_run.get((res["unit"], res["year"] - 1))
        last = unpacked(results[before]) if before is not None else None
        if last is None:
            row = ledger.latest_of(res["unit"], res["year"] - 1)
            last = detail_of(row) if row and row["status"] != "refused" else None
        spec = registry.spec_of(Fingerprint.parse(res.get("fingerprint")))
        if last is None or spec is None:
            continue
        found = [f.to_json() for f in compare(res.get("year_start") or {}, last.get("year_end") or {}, spec)]
        res["findings"] = res["findings"] + found
        res["ok"] = res["ok"] and not any(f["severity"] == "error" for f in found)
        res["previous"] = figures_compared(res.get("figures") or [], last.get("figures") or [])
        results[k] = packed(res)


def summarize(ledger, output: Path, specs, roster_rows=None, explanations=None) -> tuple[Path, bool]:
    """Write the summary of the ledger's latest versions to `output` unless it is already built
    from exactly those: (path, unchanged). `specs`: the registry's (the first gives the grades);
    `explanations`: {(submission id, position): text}, the units' explanations of their warnings
    (xltools serve), shown beside each finding. Raises _StateNotSaved when the summary was
    written but its state could not be recorded."""
    from ..build.protect import password_from
    from ..errors import unexpected
    from .summary import write_summary
    latest = ledger.latest_heads()
    grade_labels = [g.label for g in specs[0].grades] if specs else []
    password = password_from(None)
    state = _summary_state(latest, roster_rows, grade_labels, password, explanations)
    where = str(output.resolve())
    recorded_state = ledger.summary_state(where)
    if recorded_state and recorded_state[0] == state and output.is_file() \
            and hashlib.sha256(output.read_bytes()).hexdigest() == recorded_state[1]:
        return output, True               # built from exactly this: left as it is
    write_summary(output, ledger, latest, explanations=explanations, roster=roster_rows, grade_labels=grade_labels,
                  password=password, specs=specs)
    try:
        ledger.save_summary_state(where, state, hashlib.sha256(output.read_bytes()).hexdigest())
    except Exception as err:
        raise _StateNotSaved(err if isinstance(err, XltoolsError) else unexpected(err)) from err
    return output, False


def _summary_state(latest: list[dict], roster, grade_labels, password, explanations=None) -> str:
    """What a summary is built from: the latest submissions, the roster, the grades, the code."""
    from .. import __version__
    h = hashlib.sha256()
    h.update(json.dumps([[r["id"], r["sha256"], r["version"]] for r in latest]).encode())
    h.update(json.dumps([roster, list(grade_labels), bool(password), __version__], ensure_ascii=False).encode())
    h.update(json.dumps(sorted((list(k), v) for k, v in (explanations or {}).items()), ensure_ascii=False).encode())
    for source in _summary_sources():             # a new summary layout or wording rebuilds it
        h.update(source.read_bytes())
    return h.hexdigest()


def render_line(res: Result) -> str:
    """One submission's line: the file, then who sent which version, then what was found. Its
    texts are as the ledger stores them (record.stored: visible already)."""
    tail = "；已收录，未重新校验" if res.get("skipped") else ""
    file = res["file"]
    if res.get("refused"):
        return f"{file}：{STATUS_LABEL['refused']}（{res['refused']}）：{res['message']}{tail}"
    who = f"{res['unit']} {res['year']}年度第 {res['version']} 版，" if res.get("unit") else ""
    errors = sum(f["severity"] == "error" for f in res["findings"])
    state = STATUS_LABEL["ok" if res["ok"] else "errors"]
    return f"{file}：{who}{state}（错误 {errors} 处，提示 {len(res['findings']) - errors} 处）{tail}"


def render_totals(out: Outcome) -> str:
    from .ledger import ledger_shown
    statuses = [status_of(r) for r in out.results()]
    n = {k: statuses.count(k) for k in STATUS_LABEL}
    parts = ["共 {} 份：{}".format(len(statuses), "，".join(f"{STATUS_LABEL[k]} {n[k]}" for k in STATUS_LABEL)),
             f"本次校验 {out.checked} 份，跳过已收录 {out.skipped} 份"]
    if out.duplicates:
        parts.append(f"重复文件 {out.duplicates} 份")
    if out.temp_skipped:
        parts.append(f"跳过临时文件 {out.temp_skipped} 个")
    if out.other_skipped:
        parts.append(f"忽略其他文件 {out.other_skipped} 个")
    if out.roster is None:
        roster = "未提供单位名单（--roster 单位名单.xlsx 或 .csv），没有核对哪些单位尚未报送"
    elif out.missing:
        roster = f"单位名单 {out.roster} 个单位，尚未报送 {out.missing} 个（见汇总表“未报送”）"
    else:
        roster = f"单位名单 {out.roster} 个单位，均已报送"
    same = "（与上次相同，未重写）" if out.summary_unchanged else ""
    return "；".join(parts) + f"。\n{roster}。\n汇总表：{visible(out.summary)}{same}\n台账：{visible(ledger_shown(out.db_url))}"


def history_unit(units: list[str], asked: str) -> str:
    """The unit of the ledger `asked` names: its full name, or the one name containing it. Else
    one line listing the candidates, or the names closest to it."""
    asked = asked.strip()
    if asked in units:
        return asked
    found = [u for u in units if asked and asked.casefold() in u.casefold()]
    if len(found) == 1:
        return found[0]
    if found:
        shown = "、".join(found[:20]) + ("等" if len(found) > 20 else "")
        raise XltoolsError(f"台账中名称含“{visible(asked)}”的单位有 {len(found)} 个：{shown}；请写出其中一个的完整名称")
    import difflib
    close = difflib.get_close_matches(asked, units, n=5, cutoff=0.3)
    hint = f"名称相近的有：{'、'.join(close)}" if close else "请用单位全称或其中一段文字"
    raise XltoolsError(f"台账中没有名称含“{visible(asked)}”的单位（台账中共有 {len(units)} 个单位）；{hint}")


def _clock(iso: str | None) -> str:
    at = local_time(iso)
    return at.strftime("%Y-%m-%d %H:%M") if at else "（时间不详）"


def render_history(rows: list[dict], unit: str) -> str:
    """A unit's versions as the ledger stores them (texts visible already)."""
    from ..catalogue import severity_label
    lines = [f"{unit}：共 {len(rows)} 版报送"]
    for r in rows:
        state = STATUS_LABEL[r["status"]]
        score = f"，填报得分 {r['score_stated'] or '未填'}，重算 {r['score_computed']}，等次 {r['grade_computed']}" \
            if r["score_computed"] else ""
        lines.append(f"  {r['year']}年度第 {r['version']} 版  收到于 {_clock(r['received_at'])}  "
                     f"{r['file_name']}  {state}（错误 {r['errors']}，提示 {r['warnings']}）{score}"
                     f"  sha256 {r['sha256'][:12]}")
        for f in r["findings"]:
            where = f"{f['sheet']}!{f['cell']}" if f["sheet"] and f["cell"] else f["cell"] or ""
            lines.append(f"      [{severity_label(f['severity'])}] {where} {f['code']} {f['message']}")
    return "\n".join(lines)
