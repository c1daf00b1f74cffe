"""What one collect worker does with one submission, and the pool that runs the workers.

The pool is pebble's ProcessPool. Every task has its own future and its own timeout: a worker
that hangs is killed at the timeout, one killed from outside (OOM killer, a crash in C) ends only
its own task's future (pebble.ProcessExpired) and the pool starts a fresh worker. The stdlib pool
cannot do this: one dead worker breaks every pending future of a ProcessPoolExecutor
(BrokenProcessPool), there is no per-task timeout, and its max_tasks_per_child hangs on Python
3.11 to 3.14 (CPython issue 115634). A memory cap (RLIMIT_AS) set in each worker turns a runaway
allocation into a MemoryError that the worker reports as that file's row.

Workers return a Result (record.py: the shape of `check --json` plus the figures its spec
declares); only the parent writes the ledger and the summary.
"""
from __future__ import annotations

import os
import resource
import signal
import time

from .. import __version__
from ..catalogue import REFUSED_REASONS
from ..errors import XltoolsError
from ..spec.registry import Registry
from .record import Result, record_of, refusal

# A test hook: XLTOOLS_TEST_FAULT="hang:NAME,die:NAME,memory:NAME" makes the worker hang, kill
# itself or allocate without bound on any file whose label contains NAME.
FAULT_ENV = "XLTOOLS_TEST_FAULT"
MEMORY_ENV = "XLTOOLS_COLLECT_MEMORY_MB"
DEFAULT_MEMORY_MB = 1024          # a report workbook needs a few MB; headroom above what is mapped
DEFAULT_TIMEOUT_S = 60.0

_REGISTRY: Registry | None = None
# forkserver: workers start from a clean interpreter, not as forks of a parent that holds every
# submission's bytes, a database connection and pebble's threads. (bench/collect.py forks, so
# that its openpyxl baseline reaches the workers.)
START_METHOD = "forkserver"


def init_worker(registry: Registry, memory_mb: int | None = None) -> None:
    global _REGISTRY
    _REGISTRY = registry
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


def reason_of(err: XltoolsError) -> str:
    """The stable code of why a file was refused (catalogue.REFUSALS), set where it was found;
    an error that is no refusal of a file (a spec's, a bug's) is ours."""
    return err.reason if err.reason in REFUSED_REASONS else "internal-error"


def check_job(job: dict) -> Result:
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


def _check(job: dict) -> Result:
    """As xltools.check(data, name=label) with the registry's specs, keeping what was read (the
    unit, the figures) beside the report: the spec is the one that made the file (its template's
    fingerprint, or a data file's year and region)."""
    from ..checker import read_any
    from ..rules import run_rules
    spec, filled = read_any(job["label"], _REGISTRY, job["data"])
    report = run_rules(filled, spec)
    out = report.to_json()
    out.update(refused=None, message="", fingerprint=str(spec.fingerprint), year=spec.year, region=spec.region,
               bureau=spec.bureau, xltools_version=__version__, **record_of(filled, report, spec))
    return out


# -- the pool ---------------------------------------------------------------------------------

def start_pool(registry: Registry, workers: int):
    """The pebble pool of checking workers (each initialised with the registry). collect opens
    one per run; `xltools serve` keeps one for its lifetime and schedules its own jobs on it."""
    import multiprocessing
    from pebble import ProcessPool
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        context.set_forkserver_preload(["xltools.collect.worker", "xltools.read.workbook", "xltools.rules"])
    return ProcessPool(max_workers=max(1, workers), initializer=init_worker, initargs=(registry,),
                       context=context)


def failed(err: BaseException, label: str, timeout: float) -> Result:
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
