"""What one collect worker does with one submission, and the pool that runs the workers.

The pool is pebble's ProcessPool. Every task has its own future and its own timeout: a worker
that hangs is killed at the timeout, one killed from outside (OOM killer, a crash in C) ends only
its own task's future (pebble.ProcessExpired) and the pool starts a fresh worker. The stdlib pool
cannot do this: one dead worker breaks every pending future of a ProcessPoolExecutor
(BrokenProcessPool), there is no per-task timeout, and its max_tasks_per_child hangs on Python
3.11 to 3.14 (CPython issue 115634). A memory cap (RLIMIT_AS) set in each worker turns a runaway
allocation into a MemoryError that the worker reports as that file's row.

A timeout, a dead worker, the memory cap and a bug of ours are the bureau's limits, not verdicts
on the file (catalogue.TRANSIENT): their rows say so, and the ledger lets the next run check the
file again.

A job names its file (`origin`): the worker reads a loose file itself; a zip member's bytes are
read by the parent just before the job is scheduled, and the bytes scheduled but not yet checked
stay under MAX_IN_FLIGHT_BYTES, so a run's memory does not grow with the inbox. The worker checks
that what it read is what intake hashed (a file replaced meanwhile is checked on the next run).

Workers return a Result (record.py: the shape of `check --json` plus the figures its spec
declares); only the parent writes the ledger and the summary.
"""
from __future__ import annotations

import hashlib
import os
import resource
import signal
import time

from .. import __version__
from ..catalogue import REFUSED_REASONS
from ..errors import BookError, XltoolsError
from ..ooxml.container import MAX_FILE_BYTES
from ..spec.registry import Registry
from .record import Result, record_of, refusal

# A test hook: XLTOOLS_TEST_FAULT="hang:NAME,die:NAME,memory:NAME,bug:NAME" makes the worker hang,
# kill itself, allocate without bound or fail with a bug of ours on any file whose label contains NAME.
FAULT_ENV = "XLTOOLS_TEST_FAULT"
MEMORY_ENV = "XLTOOLS_COLLECT_MEMORY_MB"
DEFAULT_MEMORY_MB = 1024          # a report workbook needs a few MB; headroom above what is mapped
DEFAULT_TIMEOUT_S = 60.0
MAX_IN_FLIGHT_BYTES = 128 * 2**20
RETRY = "下次运行 collect 时会自动重新校验"

_REGISTRY: Registry | None = None
# forkserver: workers start from a clean interpreter, not as forks of a parent that holds a
# database connection and pebble's threads. (bench/collect.py forks, so that its openpyxl
# baseline reaches the workers.)
START_METHOD = "forkserver"


def memory_mb() -> int:
    return int(os.environ.get(MEMORY_ENV) or DEFAULT_MEMORY_MB)


def init_worker(registry: Registry, memory: int | None = None) -> None:
    global _REGISTRY
    _REGISTRY = registry
    limit_mb = memory or memory_mb()
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
            if what == "die":       # once at work: a worker gone before the pool has read its task's
                time.sleep(1)       # acknowledgement is taken for a timeout (pebble 5.2's two manager
                                    # threads race, as in its issue 153)
                os.kill(os.getpid(), signal.SIGKILL)
            if what == "memory":
                hog = []
                while True:
                    hog.append(bytearray(64 * 2**20))
            if what == "bug":
                raise KeyError(label)


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
        return failed(MemoryError(), label, 0)
    except RecursionError:
        return refusal("damaged", f"文件 {label} 的结构嵌套过深，无法读取", label)


def _bytes(job: dict) -> bytes:
    """The job's bytes: given, or read from its file, and the same as intake hashed."""
    data = job.get("data")
    if data is None:
        from ..files import read_regular
        data = read_regular(job["origin"][0], MAX_FILE_BYTES, BookError)
    want = job.get("sha256")
    if want and hashlib.sha256(data).hexdigest() != want:
        raise XltoolsError(f"文件 {job['label']} 在收取过程中被改动（校验时读到的内容与收取时不同），已暂缓；{RETRY}",
                           "changed")
    return data


def _check(job: dict) -> Result:
    """As xltools.check(data, name=label) with the registry's specs, keeping what was read (the
    unit, the figures) beside the report: the spec is the one that made the file (its template's
    fingerprint, or a data file's year and region)."""
    from ..checker import read_any
    from ..rules import run_rules
    spec, filled = read_any(job["label"], _REGISTRY, _bytes(job))
    report = run_rules(filled, spec)
    out = report.to_json()
    out.update(refused=None, message="", fingerprint=str(spec.fingerprint), year=spec.year, region=spec.region,
               bureau=spec.bureau, xltools_version=__version__, **record_of(filled, report, spec))
    return out


def failed(err: BaseException, label: str, timeout: float) -> Result:
    """The row of a job that ended without a result of its own: what happened, worded as the
    bureau's limit or our fault, never the unit's (catalogue.TRANSIENT: checked again next run)."""
    from concurrent.futures import TimeoutError as FutureTimeout
    from pebble import ProcessExpired
    if isinstance(err, FutureTimeout):
        return refusal("timeout", f"文件 {label} 在本局设置的校验时限（{timeout:g} 秒）内未能读完，已暂缓；"
                       f"这是收取设置的限制，{RETRY}（可用 --timeout 放宽时限）", label)
    if isinstance(err, ProcessExpired):
        return refusal("worker-died", f"文件 {label} 校验时本机的校验进程意外终止（退出码 {err.exitcode}，"
                       f"多为本机内存不足），已暂缓；{RETRY}", label)
    if isinstance(err, MemoryError):
        return refusal("out-of-memory", f"文件 {label} 校验时超出本局设置的内存上限（{memory_mb()} MB），已暂缓；"
                       f"{RETRY}（可设环境变量 {MEMORY_ENV} 放宽上限）", label)
    return refusal("internal-error", f"文件 {label} 校验时本程序出错（{type(err).__name__}），不是报送单位的问题，"
                   f"已暂缓；{RETRY}，如仍出错请把该文件发给维护人员", label)


# -- the pool ---------------------------------------------------------------------------------

def start_pool(registry: Registry, workers: int):
    """The pebble pool of checking workers (each initialised with the registry). collect opens
    one per run; `xltools serve` keeps one for its lifetime and schedules its own jobs on it."""
    import multiprocessing
    from pebble import ProcessPool
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        context.set_forkserver_preload(["xltools.collect.worker", "xltools.read.workbook", "xltools.rules"])
    return ProcessPool(max_workers=max(1, workers), initializer=init_worker, initargs=(registry,), context=context)


def run_pool(jobs: list[dict], registry: Registry, workers: int, timeout: float, on_done, load=None) -> None:
    """Check every job in `workers` processes; `on_done(index, result)` in the parent as each
    finishes (in completion order). Every job gets a result, whatever happens to its worker.
    `load(job)`: the bytes of a job whose file the worker cannot read itself (a zip member),
    read when it is scheduled; an XltoolsError from it is that job's row."""
    if not jobs:
        return
    import queue
    finished: queue.Queue = queue.Queue()
    pending: dict = {}                    # future -> (index, bytes it holds)
    in_flight = 0
    with start_pool(registry, workers) as pool:
        def settle_one() -> None:
            nonlocal in_flight
            future = finished.get()
            i, held = pending.pop(future)
            in_flight -= held
            try:
                result = future.result()
            except Exception as err:
                result = failed(err, jobs[i]["label"], timeout)
            on_done(i, result)

        for i, job in enumerate(jobs):
            if load is not None and job.get("data") is None and job["origin"][1]:
                try:
                    job = {**job, "data": load(job)}
                except XltoolsError as err:
                    on_done(i, refusal(reason_of(err), str(err), job["label"]))
                    continue
            held = len(job.get("data") or b"")
            while pending and in_flight + held > MAX_IN_FLIGHT_BYTES:
                settle_one()
            future = pool.schedule(check_job, (job,), timeout=timeout)
            pending[future] = (i, held)
            in_flight += held
            future.add_done_callback(finished.put)
        while pending:
            settle_one()
