"""The keeper of one soffice process: it starts soffice and ends it, with its private profile and
sockets, when the Python process that needs it ends or asks, however that process ends.

soffice cannot be told to die with us: the launcher execs oosplash, which starts soffice.bin as
its own child, so a parent-death signal set on what we start never reaches soffice.bin. The
keeper is our child, in a session of its own (a kill -9 of our whole process group, as a service
manager or `kill -9 -PGID` sends it, must not take the keeper with us and leave soffice behind),
and asks the kernel for SIGTERM when we die (PR_SET_PDEATHSIG: a kill -9, an OOM kill, a crash;
where prctl is missing it notices within a second that its parent changed); on that, on
SIGTERM/SIGINT/SIGHUP and when soffice exits, it kills soffice's process group (oosplash and
soffice.bin), removes the sockets soffice leaves in /tmp, and exits; when its parent is gone it removes the private folder too (a parent that
lives removes it itself, after reading the log there). The kernel sends the signal when the
*thread* that started the keeper ends: bridge.py starts it from the thread that uses LibreOffice.

Run by bridge.py as `python -I keeper.py PARENT_PID FOLDER SOCKET... -- SOFFICE ARGS...`; it prints
soffice's process id once started. Standard library only; never imported by xltools.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass                                    # not Linux: the loop below watches the parent
    if os.getppid() != parent:                  # it died before we asked
        raise SystemExit(0)


def main(argv: list[str]) -> int:
    parent, folder = int(argv[0]), argv[1]
    cut = argv.index("--")
    sockets, command = argv[2:cut], argv[cut + 1:]
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: stopping.append(signum))
    office = None
    try:
        _die_with_parent(parent)
        log = open(os.path.join(folder, "office.log"), "ab")
        office = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                  start_new_session=True)   # its own group: oosplash and soffice.bin
        print(office.pid, flush=True)
        while not stopping and office.poll() is None and os.getppid() == parent:
            try:
                office.wait(0.5)
            except subprocess.TimeoutExpired:
                pass
        if office.returncode is not None:       # it ended by itself: say how, as it would have
            return office.returncode % 256
    finally:
        if office is not None and office.poll() is None:
            try:
                os.killpg(office.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            office.wait()
        for socket in sockets:
            try:
                os.unlink(socket)
            except OSError:
                pass
        for _ in range(10):                     # soffice's last writes may race the removal
            if os.getppid() == parent or not os.path.exists(folder):
                break
            shutil.rmtree(folder, ignore_errors=True)
            time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
