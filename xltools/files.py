"""The user's files, read and written so that none is ever lost: the one place every command
reads an input file and writes an output file.

Reading: only regular files. A FIFO, a device or a socket given as input would block `open`
(or read forever), so the kind is checked with `stat` first and the file is then opened with
O_NONBLOCK and checked again on the open descriptor (it may have been swapped in between).

Writing (`check_output` before any work, then `atomic_writer`, the one way every command writes a
file; `write_atomic` hands it bytes already made):
- only regular files are replaced: `-o /dev/null` as root would otherwise turn /dev/null into a
  workbook, and a folder or a FIFO cannot hold one;
- an output that is one of the inputs (the same file by st_dev/st_ino, so also through a
  symbolic or hard link) is refused: the user asked to read it, not to lose it;
- a symbolic link is written through to its target, and a file that is replaced keeps its
  permission bits: `--in-place` on a 0600 file leaves a 0600 file, and the link stays a link;
- the bytes go to a hidden temporary file beside the target, are flushed to disk, and the temp
  is renamed over the target: a crash or kill leaves either the old file or the new one, never
  a truncated one. The temp is removed on any error, on Ctrl-C and on SIGTERM/SIGHUP; one left
  by a SIGKILL or a power cut is named `.~xltools-<pid>-<random>.tmp`, and a later write in the
  same folder removes it once that process is gone;
- every failure (disk full, read-only file system, no permission, a parent path that is a file,
  a file-size limit...) is one OutputError naming the path and the cause in Chinese.
"""
from __future__ import annotations

import errno
import os
import re
import stat
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError

TEMP_PREFIX = ".~xltools-"
TEMP_SUFFIX = ".tmp"
_TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-[0-9a-f]+" + re.escape(TEMP_SUFFIX) + r"\Z")
# A temp whose process still runs is another write in progress, unless it is this old: then the
# pid was reused (a write takes seconds at most).
STALE_SECONDS = 3600
# Test hook: seconds to wait between writing the temp and renaming it, so that a test can kill a
# real run while its temp exists. Read at each write; unset in normal use.
PAUSE_ENV = "XLTOOLS_TEST_PAUSE_BEFORE_RENAME"

# Flags that exist on POSIX only (the add-in may run this on Windows, where they are 0).
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_CREATE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
                 | getattr(os, "O_BINARY", 0))
_WINDOWS_IN_USE = (32, 33)        # ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION: open in Excel

_CAUSES = {
    errno.ENOENT: "文件或文件夹不存在",
    errno.EACCES: "没有权限",
    errno.EPERM: "没有权限（操作不被允许，文件可能被锁定或设为不可更改）",
    errno.EISDIR: "这是一个文件夹",
    errno.ENOTDIR: "路径中有一段不是文件夹",
    errno.ENOSPC: "磁盘空间不足",
    errno.EDQUOT: "超出了磁盘配额",
    errno.EROFS: "位于只读的文件系统",
    errno.EFBIG: "超出了允许的文件大小上限",
    errno.ENAMETOOLONG: "文件名或路径过长",
    errno.ELOOP: "符号链接层数过多（可能循环指向自身）",
    errno.EIO: "磁盘读写出错",
    errno.EBUSY: "文件正被占用",
    errno.ETXTBSY: "文件正被占用",
    errno.EXDEV: "不能跨文件系统改名",
    errno.EMFILE: "打开的文件过多",
    errno.ENFILE: "打开的文件过多",
    errno.ENOMEM: "内存不足",
}


def cause(err: OSError | int) -> str:
    """An OSError's (or errno's) cause in Chinese (never Python's English text)."""
    if getattr(err, "winerror", None) in _WINDOWS_IN_USE:
        return "文件正被其他程序（如 Excel、WPS）打开，请先关闭它"
    code = err if isinstance(err, int) else err.errno
    return _CAUSES.get(code, f"系统错误 {errno.errorcode.get(code, code)}")


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words a user knows."""
    if stat.S_ISDIR(mode):
        return "一个文件夹"
    if stat.S_ISFIFO(mode):
        return "一个命名管道（FIFO）"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "一个设备文件"
    if stat.S_ISSOCK(mode):
        return "一个套接字"
    return "一个特殊文件"


def _label(path) -> str:
    label = os.fspath(path)
    return label.decode(errors="replace") if isinstance(label, bytes) else label


# --- reading --------------------------------------------------------------------------------------

def read_regular(path, limit: int, error: type[Exception], noun: str = "文件",
                 too_large: str = "已拒绝读取", reasons: dict[int, str] | None = None) -> bytes:
    """A regular file's whole bytes, at most `limit` of them; anything else raises `error`
    with one line: "<noun> <path> <what is wrong>" and the stable code `reason`
    ("unreadable-file", "too-large"). `reasons` overrides the wording of causes."""
    label = _label(path)

    def fail(text: str, reason: str):
        err = error(f"{noun} {label} {text}")
        err.reason = reason
        return err

    def unusable(err: OSError):
        why = (reasons or {}).get(err.errno) or cause(err)
        return fail(f"无法打开：{why}", "unreadable-file")

    try:
        st = os.stat(path)
    except OSError as err:
        raise unusable(err) from None
    except ValueError:                     # a NUL byte in the name
        raise fail("无法打开：文件名无效", "unreadable-file") from None
    if not stat.S_ISREG(st.st_mode):
        raise fail(f"是{kind_of(st.st_mode)}，不是普通文件，已拒绝读取", "unreadable-file")
    if st.st_size > limit:
        raise fail(f"过大（{st.st_size // 2**20} MB，上限 {limit // 2**20} MB），{too_large}", "too-large")
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as err:
        raise unusable(err) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):   # swapped for a FIFO or device after the stat above
            raise fail(f"是{kind_of(st.st_mode)}，不是普通文件，已拒绝读取", "unreadable-file")
        pieces, size = [], 0
        while size <= limit:
            piece = os.read(fd, min(limit + 1 - size, 1 << 20))
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
    except OSError as err:
        raise fail(f"读取失败：{cause(err)}", "unreadable-file") from None
    finally:
        os.close(fd)
    if size > limit:                       # grew after the stat
        raise fail(f"过大（超过 {limit // 2**20} MB），{too_large}", "too-large")
    return b"".join(pieces)


# --- writing --------------------------------------------------------------------------------------

def _target(path) -> Path:
    """Where writing to `path` lands: a symbolic link's final target (a dangling link's too)."""
    return Path(os.path.realpath(path))


def _unwritable(label: str, why: str) -> OutputError:
    return OutputError(f"无法写入 {label}：{why}，未写入任何文件")


def _folder_problem(folder: Path, label: str) -> OutputError | None:
    """Why files cannot be created in `folder` (which may not exist yet), or None."""
    probe = folder
    while True:
        try:
            st = os.stat(probe)
            break
        except (FileNotFoundError, NotADirectoryError):   # walk up to what exists, and say what it is
            if probe.parent == probe:
                return _unwritable(label, "所在位置不存在")
            probe = probe.parent
        except OSError as err:
            return _unwritable(label, cause(err))
    if not stat.S_ISDIR(st.st_mode):
        return _unwritable(label, f"路径中的 {probe} 不是文件夹，而是{'一个文件' if stat.S_ISREG(st.st_mode) else kind_of(st.st_mode)}")
    if not os.access(probe, os.W_OK | os.X_OK):
        try:
            read_only = bool(os.statvfs(probe).f_flag & os.ST_RDONLY)
        except (OSError, AttributeError):     # no statvfs on Windows
            read_only = False
        return _unwritable(label, f"文件夹 {probe} {'位于只读的文件系统' if read_only else '没有写入权限'}")
    return None


def check_output(path, inputs=(), noun: str = "输出文件") -> Path:
    """Before any work is done: refuse an output that cannot or must not be written. `inputs`
    are the files the command reads (None entries are skipped); the output may be none of them.
    Returns the path the bytes will land at (a symbolic link's target)."""
    label = _label(path)
    try:
        target = _target(path)
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except ValueError:
        raise _unwritable(label, "文件名无效") from None
    except NotADirectoryError:
        raise _folder_problem(target.parent, label) or _unwritable(label, cause(errno.ENOTDIR)) from None
    except OSError as err:
        raise _unwritable(label, cause(err)) from None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise _unwritable(label, f"它是{kind_of(st.st_mode)}，不是普通文件；请另选{noun}")
        for source in inputs:
            if source is None:
                continue
            try:
                sst = os.stat(source)
            except (OSError, ValueError):
                continue
            if (sst.st_dev, sst.st_ino) == (st.st_dev, st.st_ino):
                same = "" if os.path.abspath(source) == os.path.abspath(label) else f"（与输入文件 {_label(source)} 是同一个文件）"
                raise OutputError(f"拒绝写入 {label}：它是本命令的输入文件{same}，写入会覆盖原文件；"
                                  f"请另选{noun}，未写入任何文件")
    problem = _folder_problem(target.parent, label)
    if problem is not None:
        raise problem
    return target


def temp_path(folder) -> Path:
    """A new hidden temporary name in `folder` (for a file or a folder): the name clear_stale_temps
    knows, so that what a killed run leaves there is removed by a later run."""
    return Path(folder) / f"{TEMP_PREFIX}{os.getpid()}-{os.urandom(4).hex()}{TEMP_SUFFIX}"


def process_alive(pid: int) -> bool:
    if os.name != "posix":     # os.kill(pid, 0) would end the process on Windows: age decides there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def clear_stale_temps(folder) -> None:
    """Remove temps (files, and folders pack builds in) that killed runs left in `folder` (see the
    module doc); never raises."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        m = _TEMP_NAME.match(entry.name)
        if m is None or int(m.group(1)) == os.getpid():
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                continue
            if not process_alive(int(m.group(1))) or now - st.st_mtime > STALE_SECONDS:
                if stat.S_ISDIR(st.st_mode):
                    import shutil           # only here: it costs the checker's cold start
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
        except OSError:
            pass


class _Signalled(BaseException):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _signals_raise():
    """While a temp exists, SIGTERM and SIGHUP raise _Signalled (so that the temp is removed
    like on Ctrl-C's KeyboardInterrupt); `_die_of` then ends the process as the signal would."""
    import signal      # only on the write path: importing it costs the checker 0.6 ms
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield                             # handlers can only be set from the main thread
        return
    previous = {}

    def handler(signum, frame):
        raise _Signalled(signum)

    try:
        for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if sig is None:
                continue
            previous[sig] = signal.signal(sig, handler)
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _die_of(signum: int):
    """Deliver the signal again, now to the handler that was there before (by default: the
    process ends, killed by it, as the sender expects)."""
    os.kill(os.getpid(), signum)
    raise SystemExit(128 + signum)        # that handler chose not to end the process


def _new_mode(existing: os.stat_result | None) -> int:
    if existing is not None:
        return stat.S_IMODE(existing.st_mode) & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_writer(path, inputs=(), noun: str = "输出文件"):
    """A binary file object whose bytes become the whole new content of `path` when the block
    ends without an error (see the module doc); on any error, Ctrl-C or SIGTERM nothing changes
    and nothing is left behind. `inputs`: files the caller reads, which `path` may not be.

        with atomic_writer(out) as fh:
            fh.write(data)           # or: zipfile.ZipFile(fh, "w") ... (the file is seekable)
    """
    label = _label(path)
    target = check_output(path, inputs=inputs, noun=noun)
    try:
        existing = os.stat(target)
    except OSError:
        existing = None
    folder = target.parent
    created = []                          # folders made for this file, deepest first
    probe = folder
    while not os.path.lexists(probe) and probe.parent != probe:
        created.append(probe)
        probe = probe.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        _remove_folders(created)
        raise _unwritable(label, f"无法创建文件夹 {folder}：{cause(err)}") from None
    clear_stale_temps(folder)
    tmp = temp_path(folder)
    try:
        with _signals_raise():
            with os.fdopen(os.open(tmp, _CREATE_FLAGS, 0o600), "w+b") as fh:
                yield fh
                fh.flush()
                fd = fh.fileno()
                if hasattr(os, "fchmod"):
                    os.fchmod(fd, _new_mode(existing))
                if existing is not None and hasattr(os, "fchown") and os.geteuid() == 0:
                    try:   # root replacing a user's file: it stays the user's
                        os.fchown(fd, existing.st_uid, existing.st_gid)
                    except OSError:
                        pass
                os.fsync(fd)
            pause = os.environ.get(PAUSE_ENV)
            if pause:
                time.sleep(float(pause))
            os.replace(tmp, target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        _remove_folders(created)
        raise _unwritable(label, cause(err)) from None
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        _remove_folders(created)
        if isinstance(err, _Signalled):
            _die_of(err.signum)
        raise


def write_atomic(path, data: bytes, inputs=()) -> Path:
    """`data` as the whole new content of `path`, through atomic_writer. Returns `path`."""
    with atomic_writer(path, inputs) as fh:
        fh.write(data)
    return Path(path)


def _remove_folders(folders) -> None:
    """A failed write leaves no trace: the (empty) folders it made go too."""
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:
            return
