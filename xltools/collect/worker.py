"""What one collect worker does with one submission, and the pool that runs the workers.

The pool is pebble's ProcessPool. Every task has its own future and its own timeout: a worker
that hangs is killed at the timeout, one killed from outside (OOM killer, a crash in C) ends only
its own task's future (pebble.ProcessExpired) and the pool starts a fresh worker. The stdlib pool
cannot do this: one dead worker breaks every pending future of a ProcessPoolExecutor
(BrokenProcessPool), there is no per-task timeout, and its max_tasks_per_child hangs on Python
3.11 to 3.14 (CPython issue 115634). A memory cap (RLIMIT_AS) set in each worker turns a runaway
allocation into a MemoryError that the worker reports as that file's row.

Workers return plain dicts (the shape of `check --json` plus the summary's figures); only the
parent writes the ledger and the summary.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import time
import tomllib
from decimal import Decimal

from .. import __version__
from ..build.names import FINGERPRINT_NAME
from ..errors import XltoolsError
from ..findings import ERROR
from ..spec.registry import Registry, SpecInfo, spec_at

# A test hook: XLTOOLS_TEST_FAULT="hang:NAME,die:NAME,memory:NAME" makes the worker hang, kill
# itself or allocate without bound on any file whose label contains NAME.
FAULT_ENV = "XLTOOLS_TEST_FAULT"
MEMORY_ENV = "XLTOOLS_COLLECT_MEMORY_MB"
DEFAULT_MEMORY_MB = 1024          # a report workbook needs a few MB; headroom above what is mapped
DEFAULT_TIMEOUT_S = 60.0

# The summary's money columns: (key, label, table, column), each the sum over the table's 机构
# rows (its total row when the table has one) of what the unit stated.
DEPT_FIGURES = (("income", "收入合计", "income", "total"), ("spend", "支出合计", "spend", "total"),
                ("basic", "基本支出", "spend", "basic"), ("project", "项目支出", "spend", "project"),
                ("three_public", "三公经费", "three_public", "total"))
PROJECT_FIGURES = (("plan", "计划安排资金", "fund_plan_total"), ("arrived", "实际到位资金", "fund_arrived_total"),
                   ("spent", "实际支出", "fund_spent_total"))

_REGISTRY: Registry | None = None
# forkserver: workers start from a clean interpreter, not as forks of a parent that holds every
# submission's bytes, a database connection and pebble's threads. (bench/collect.py forks, so
# that its openpyxl baseline reaches the workers.)
START_METHOD = "forkserver"


def init_worker(infos: list[SpecInfo], memory_mb: int | None = None) -> None:
    global _REGISTRY
    _REGISTRY = Registry(infos)
    limit_mb = memory_mb or int(os.environ.get(MEMORY_ENV) or DEFAULT_MEMORY_MB)
    try:
        with open("/proc/self/statm") as fh:       # what is mapped already (interpreter, libraries)
            mapped = int(fh.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (mapped + limit_mb * 2**20, resource.RLIM_INFINITY))
    except (OSError, ValueError):
        pass                                      # not Linux: no cap, the timeout still holds


def _fault(label: str) -> None:
    for item in filter(None, os.environ.get(FAULT_ENV, "").split(",")):
        what, _, needle = item.partition(":")
        if needle and needle in label:
            if what == "hang":
                while True:
                    time.sleep(3600)
            if what == "die":
                os.kill(os.getpid(), signal.SIGKILL)
            if what == "memory":
                hog = []
                while True:
                    hog.append(bytearray(64 * 2**20))


def refusal(code: str, message: str, label: str) -> dict:
    return {"file": label, "ok": False, "refused": code, "message": message, "findings": [], "score": {}}


def reason_of(err: XltoolsError) -> str:
    """The stable code of why a file was refused (xltools.REFUSED_REASONS), set where it was found."""
    return getattr(err, "reason", None) or "damaged"


def check_job(job: dict) -> dict:
    """One submission -> its result. Never raises for a bad file: the file becomes a row."""
    label = job["label"]
    try:
        _fault(label)
        return _check(job)
    except XltoolsError as err:
        return refusal(reason_of(err), str(err), label)
    except MemoryError:
        return refusal("out-of-memory", f"文件 {label} 读取时内存超出上限，已放弃（文件异常或过于复杂）", label)
    except RecursionError:
        return refusal("damaged", f"文件 {label} 的结构嵌套过深，无法读取", label)


def _check(job: dict) -> dict:
    """As xltools.check(data, spec, name=label), keeping what was read (the unit, the figures)
    beside the report: the spec is the one the file's own template fingerprint names."""
    from ..checker import read_any
    from ..rules import run_rules
    label, data = job["label"], job["data"]
    if job["kind"] == "data":
        info = _data_spec(label, data, job["suffix"])
    else:
        from ..xlsx import open_book
        found = open_book(label, data).defined_name(FINGERPRINT_NAME)
        found = found.strip('"') if found else None
        info = _REGISTRY.for_fingerprint(found)
        if info is None:
            return _unknown_template(label, found)
    spec = spec_at(info.path)
    filled = read_any(label, spec, data)
    report = run_rules(filled, spec)
    out = report.to_json()
    out.update(refused=None, message="", fingerprint=info.fingerprint, year=info.year, region=info.region,
               bureau=info.bureau, xltools_version=__version__, **_figures(filled, report, spec))
    return out


def _unknown_template(label: str, found: str | None) -> dict:
    if not found:
        return refusal("not-template", f"文件 {label} 不是本工具的模板生成的工作簿（缺少模板标识 {FINGERPRINT_NAME}）", label)
    parts = found.split(":")
    what = f"{parts[1]}{parts[2]}年度（表式 {parts[3]}）" if len(parts) >= 4 else found
    out = refusal("other-template", f"文件 {label} 是 {what}的模板（{found}），没有对应的规格；"
                  f"已知：{_REGISTRY.known()}。请用 --specs 指定含该年度规格的文件夹", label)
    out["fingerprint"] = found
    return out


def _data_spec(label: str, data: bytes, suffix: str) -> SpecInfo:
    """A data file names no template: its spec is found by its year and region."""
    from ..errors import DataError
    try:
        text = data.decode("utf-8-sig")
        doc = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except (UnicodeDecodeError, ValueError):
        doc = None               # load_data says what is wrong with it, in its own words
    if not isinstance(doc, dict):
        return _REGISTRY.infos[0]
    info = _REGISTRY.for_data(doc.get("year"), doc.get("region"))
    if info is None:
        raise DataError(f"数据文件 {label} 的年度 {doc.get('year')!r}、地区 {doc.get('region')!r} 没有对应的规格；"
                        f"已知：{_REGISTRY.known()}。请用 --specs 指定含该年度规格的文件夹", reason="other-template")
    return info


def _column_sum(inst, table, column: str) -> Decimal | None:
    rows = [table.total_row] if table.total_row else table.rows
    values = [inst.values.get(table.name(column, r)) for r in rows]
    values = [v for v in values if isinstance(v, Decimal)]
    return sum(values, Decimal(0)) if values else None


def _text(v) -> str | None:
    return None if v is None else str(v)


def _figures(filled, report, spec) -> dict:
    dept = filled.dept
    figures = {key: _text(_column_sum(dept, spec.dept.tables[table], col)) for key, _, table, col in DEPT_FIGURES}
    score = report.score.get(dept.sheet, {})
    by_sheet: dict[str, list] = {}
    for f in report.findings:
        by_sheet.setdefault(f.sheet, []).append(f.severity)
    projects = []
    for inst in filled.projects:
        s = report.score.get(inst.sheet, {})
        sev = by_sheet.get(inst.sheet, [])
        projects.append({"sheet": inst.sheet, "name": inst.values.get("project_name"),
                         **{k: _text(inst.values.get(name)) for k, _, name in PROJECT_FIGURES},
                         "score_stated": s.get("stated_score"), "score_computed": s.get("computed_score"),
                         "grade_stated": s.get("stated_grade"), "grade_computed": s.get("computed_grade"),
                         "errors": sev.count(ERROR), "warnings": len(sev) - sev.count(ERROR)})
    unit = dept.values.get("dept_name")
    return {"unit": unit.strip() if isinstance(unit, str) and unit.strip() else None, "figures": figures,
            "score_stated": score.get("stated_score"), "score_computed": score.get("computed_score"),
            "grade_stated": score.get("stated_grade"), "grade_computed": score.get("computed_grade"),
            "projects": projects}


# -- the pool ---------------------------------------------------------------------------------

def start_pool(registry: Registry, workers: int):
    """The pebble pool of checking workers (each initialised with the registry's specs). collect
    opens one per run; `xltools serve` keeps one for its lifetime and schedules its own jobs on it."""
    import multiprocessing
    from pebble import ProcessPool
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        context.set_forkserver_preload(["xltools.collect.worker", "xltools.read.workbook", "xltools.rules"])
    return ProcessPool(max_workers=max(1, workers), initializer=init_worker, initargs=(registry.infos,),
                       context=context)


def failed(err: BaseException, label: str, timeout: float) -> dict:
    """The result of a job whose future raised instead of returning: the file's row says why."""
    from concurrent.futures import TimeoutError as FutureTimeout
    from pebble import ProcessExpired
    if isinstance(err, FutureTimeout):
        return refusal("timeout", f"文件 {label} 超过 {timeout:g} 秒仍未读完，已放弃（文件异常）", label)
    if isinstance(err, ProcessExpired):
        return refusal("worker-died", f"文件 {label} 校验时进程意外终止（退出码 {err.exitcode}，"
                       "可能内存不足或文件异常），已跳过该文件", label)
    if isinstance(err, MemoryError):
        return refusal("out-of-memory", f"文件 {label} 读取时内存超出上限，已放弃", label)
    # a bug of ours: that file's row says so, the run goes on
    return refusal("internal-error", f"文件 {label} 校验时程序出错（{type(err).__name__}: {err}）", label)


def run_pool(jobs: list[dict], registry: Registry, workers: int, timeout: float, on_done) -> None:
    """Check every job in `workers` processes; `on_done(index, result)` in the parent as each
    finishes (in completion order). Every job gets a result, whatever happens to its worker."""
    if not jobs:
        return
    from concurrent.futures import as_completed
    with start_pool(registry, workers) as pool:
        futures = {pool.schedule(check_job, (job,), timeout=timeout): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                result = future.result()
            except Exception as err:
                result = failed(err, jobs[i]["label"], timeout)
            on_done(i, result)
