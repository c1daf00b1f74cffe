"""A real LibreOffice Calc window for the tests, driven as a user drives it.

Xvfb gives a screen; Debian's libreoffice-calc (the GUI, which -nogui lacks) opens the workbook
in a window; xdotool types, presses keys and clicks the mouse; xclip puts text on the clipboard
as a word processor does; xwd takes screenshots, kept as PNG in the test's artefact folder.
tests/office_window_uno.py (run by the Python that has `uno`) only looks and selects: the open
document, its rows' heights, a range selected and scrolled into view, a copy saved as .xlsx.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import unavailable

HERE = Path(__file__).resolve().parent
UNO_CLIENT = HERE / "office_window_uno.py"
SCREEN = (1600, 1000)
TOOLS = {"Xvfb": "xvfb", "xdotool": "xdotool", "xclip": "xclip", "xwd": "x11-apps"}


def _gui_soffice() -> str:
    """The soffice of a LibreOffice with a window (libreoffice-calc, not -nogui)."""
    from xltools.office import bridge
    soffice = bridge.find_soffice()
    if soffice is None:
        unavailable("未找到 LibreOffice（soffice）")
    program = Path(soffice).resolve().parent
    if not list(program.glob("libvclplug_gen*")) and not list(program.glob("libvclplug_gtk3*")):
        unavailable("LibreOffice 没有图形界面（libreoffice-calc-nogui）：请安装 libreoffice-calc")
    return soffice


# Requests that change nothing in the open document (asking twice is asking once)
_LOOKS = {"ping", "active", "text", "notes", "rows", "select", "show_note", "optimal"}


class Window:
    """One LibreOffice process with a window on its own X screen; `shot()` keeps screenshots in
    `folder`."""

    def __init__(self, folder: Path):
        missing = [f"{tool}（{package}）" for tool, package in TOOLS.items() if shutil.which(tool) is None]
        if missing:
            unavailable("驱动 LibreOffice 窗口需要 " + "、".join(missing))
        self.folder = folder
        self.soffice = _gui_soffice()
        self.shots: list[Path] = []
        self.url: str | None = None
        self._procs: list[subprocess.Popen] = []
        self._profile = Path(tempfile.mkdtemp(prefix="xltools-window-"))

    # -- the screen and the program -------------------------------------------------------------
    def start(self) -> "Window":
        read, write = os.pipe()
        xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
                                 "-nolisten", "tcp", "-noreset"], pass_fds=(write,),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(write)
        self._procs.append(xvfb)
        with os.fdopen(read) as fd:
            display = fd.readline().strip()
        if not display:
            raise RuntimeError("Xvfb did not start")
        self.env = {**os.environ, "DISPLAY": f":{display}", "SAL_USE_VCLPLUGIN": "gen"}
        # its own pipe: a later window of the same run may get the same display number while the
        # earlier LibreOffice is still going away
        self.pipe = f"xltools-window-{os.getpid()}-{display}-{self._profile.name}"
        office = subprocess.Popen([self.soffice, f"-env:UserInstallation=file://{self._profile}", "--norestore",
                                   "--nologo", "--nodefault", "--nolockcheck", f"--accept=pipe,name={self.pipe};urp;"],
                                  env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        self._procs.append(office)
        self.uno({"op": "ping"}, check=False, timeout=120)
        return self

    def stop(self) -> None:
        try:
            self.uno({"op": "quit"}, check=False, timeout=30)
        except Exception:
            pass
        for proc in reversed(self._procs):      # LibreOffice, then its screen (and the xclip it serves)
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(self._profile, ignore_errors=True)

    def uno(self, request: dict, check: bool = True, timeout: float = 120) -> dict:
        from xltools.office.bridge import _find_uno_python
        command = [_find_uno_python(self.soffice), str(UNO_CLIENT), self.pipe, json.dumps(request)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode < 0 and request["op"] in _LOOKS:
            # the UNO client (not LibreOffice) now and then dies by a signal as its bridge closes,
            # on a loaded machine: a request that only looks or selects is asked once more
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"UNO {request['op']} (exit {done.returncode}): {done.stderr.strip()[-800:]}")
        return json.loads(done.stdout or "{}") if done.returncode == 0 else {}

    # -- what a user does -----------------------------------------------------------------------
    def open(self, path: Path) -> None:
        self.url = self.uno({"op": "open", "path": str(path)})["url"]
        time.sleep(3)
        self.xdotool("mousemove", str(SCREEN[0] // 2), str(SCREEN[1] - 60))   # keys go where the pointer is

    def close(self) -> None:
        self.uno({"op": "close", "url": self.url})
        self.url = None

    def select(self, sheet: str, ref: str, above: int = 0, left: int = 0) -> None:
        """Select `ref` (a cell, or whole rows as A5:XFD9) scrolled to the top of the window, the
        first `left` columns scrolled out of it."""
        self.uno({"op": "select", "url": self.url, "sheet": sheet, "range": ref, "above": above, "left": left})
        time.sleep(0.5)

    def xdotool(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=self.env, check=True, timeout=300)

    def key(self, *keys: str) -> None:
        self.xdotool("key", "--delay", "150", *keys)
        time.sleep(0.8)

    def type(self, text: str) -> None:
        """Typed key by key. Chinese characters get keys of their own first (the keyboard map's
        multimedia keys): xdotool would otherwise lend each a spare key for a moment, and
        LibreOffice reads some of those keys after they were lent to the next character
        (characters dropped or swapped)."""
        for line_no, line in enumerate(text.split("\n")):
            if line_no:
                self.key("ctrl+Return")          # a line break inside the cell (LibreOffice's keys)
            while line:
                chunk, line = self._map_keys(line)
                self.xdotool("type", "--delay", "40", chunk)
                time.sleep(1.5)                  # read by LibreOffice before its keys are lent again
        time.sleep(0.5)

    def _map_keys(self, text: str) -> tuple[str, str]:
        """Map as much of `text`'s non-ASCII characters to keys as there are keys to lend (two a
        key: plain and with Shift); returns (the part mapped, the rest)."""
        if not hasattr(self, "_spare_keys"):
            table = subprocess.run(["xmodmap", "-pke"], env=self.env, capture_output=True, text=True,
                                   check=True).stdout
            modifiers = subprocess.run(["xmodmap", "-pm"], env=self.env, capture_output=True, text=True,
                                       check=True).stdout     # keys that shift, whatever they are called
            held = {int(code, 16) for code in re.findall(r"\((0x[0-9a-f]+)\)", modifiers)}
            self._spare_keys = []
            for line in table.splitlines():
                code, syms = int(line.split()[1]), line.split("=", 1)[1].split()
                # multimedia keys and unused ones (8 is no key); not the keypad, whose second
                # level comes with Num Lock instead of Shift
                if code > 8 and code not in held and all(k.startswith("XF86") or k == "NoSymbol" for k in syms):
                    self._spare_keys.append(code)
        slots = 2 * len(self._spare_keys)
        wanted: list[str] = []
        cut = len(text)
        for i, ch in enumerate(text):
            if ord(ch) > 127 and ch not in wanted:
                if len(wanted) == slots:
                    cut = i
                    break
                wanted.append(ch)
        lines = [f"keycode {code} = " + " ".join(f"U{ord(c):04X}" for c in wanted[2 * k: 2 * k + 2])
                 for k, code in enumerate(self._spare_keys) if wanted[2 * k: 2 * k + 2]]
        if lines:
            subprocess.run(["xmodmap", "-"], input="\n".join(lines) + "\n", env=self.env, text=True,
                           check=True, timeout=30)
            time.sleep(0.3)
        return text[:cut], text[cut:]

    def copy(self, text: str) -> None:
        """`text` on the clipboard as plain text, as a word processor or a browser puts it there."""
        subprocess.run(["xclip", "-selection", "clipboard", "-t", "UTF8_STRING", "-i"], input=text.encode("utf-8"),
                       env=self.env, check=True, timeout=30)
        time.sleep(0.5)

    def dialog(self, title: str, wait: float = 20) -> tuple[int, int, int, int]:
        """(x, y, width, height) of the dialog window titled `title`, once it shows; it is given
        the keyboard (there is no window manager to do it) and the pointer."""
        end = time.monotonic() + wait
        while time.monotonic() < end:
            found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"], env=self.env,
                                   capture_output=True, text=True).stdout.split()
            if found:
                geometry = subprocess.run(["xdotool", "getwindowgeometry", "--shell", found[-1]], env=self.env,
                                          capture_output=True, text=True, check=True).stdout
                g = dict(line.split("=", 1) for line in geometry.split())
                x, y, w, h = (int(g[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
                self.xdotool("mousemove", str(x + w // 2), str(y + 8))
                self.xdotool("windowfocus", found[-1])
                time.sleep(0.5)
                return x, y, w, h
            time.sleep(0.5)
        self.shot("no-dialog")                   # what was on the screen instead
        raise RuntimeError(f"no dialog “{title}” on the screen")

    def back_to_sheet(self) -> None:
        """The pointer back over the sheet (a dialog closed)."""
        self.xdotool("mousemove", str(SCREEN[0] // 2), str(SCREEN[1] - 60))
        time.sleep(0.3)

    def double_click(self, x: int, y: int) -> None:
        self.xdotool("mousemove", str(x), str(y))
        time.sleep(0.3)
        self.xdotool("click", "--repeat", "2", "--delay", "80", "1")
        time.sleep(1.5)

    # -- what a user sees -----------------------------------------------------------------------
    def shot(self, name: str):
        """The screen now, saved as `folder/NN-name.png`; returns the image (Pillow)."""
        from PIL import Image
        raw = subprocess.run(["xwd", "-root", "-silent"], env=self.env, capture_output=True, check=True,
                             timeout=60).stdout
        image = _xwd_image(raw, Image)
        path = self.folder / f"{len(self.shots) + 1:02d}-{name}.png"
        image.save(path)
        self.shots.append(path)
        return image

    def row_header_boundary(self, image) -> tuple[int, int]:
        """Where to double-click to fit the selected rows: the line under the first selected row
        among the row numbers at the left. Read off the screen at the strip's left edge, which
        the numbers do not reach: the selected rows' numbers stand on a highlight, the line
        between two of them is a shade apart."""
        pixels = image.load()
        edge = [pixels[3, y] for y in range(image.height)]
        top = next((y for y in range(90, image.height) if _saturated(edge[y])), None)
        if top is None:
            raise RuntimeError("no selected row number on the screen")
        line = next((y for y in range(top + 1, image.height) if edge[y] != edge[top]), None)
        if line is None:
            raise RuntimeError("no line under the first selected row number")
        return 16, line


def _saturated(pixel) -> bool:
    """A highlight (LibreOffice's selected row numbers), not the greys of the screen."""
    r, g, b = pixel[:3]
    return max(r, g, b) - min(r, g, b) > 40


# Keys a test presses: ASCII, editing and moving keys, modifiers, F1–F12 (their keysym names).
_KEYS_IN_USE = ({chr(c) for c in range(ord("a"), ord("z") + 1)} | {chr(c) for c in range(ord("A"), ord("Z") + 1)}
                | set("0123456789") | {
    "space", "exclam", "quotedbl", "numbersign", "dollar", "percent", "ampersand", "apostrophe", "parenleft",
    "parenright", "asterisk", "plus", "comma", "minus", "period", "slash", "colon", "semicolon", "less", "equal",
    "greater", "question", "at", "bracketleft", "backslash", "bracketright", "asciicircum", "underscore", "grave",
    "braceleft", "bar", "braceright", "asciitilde", "Return", "BackSpace", "Tab", "ISO_Left_Tab", "Escape",
    "Delete", "Insert", "Home", "End", "Prior", "Next", "Left", "Right", "Up", "Down", "KP_Enter",
    "Shift_L", "Shift_R", "Control_L", "Control_R", "Alt_L", "Alt_R", "Meta_L", "Meta_R", "Super_L", "Super_R",
    "Caps_Lock", "Num_Lock", "Mode_switch", "ISO_Level3_Shift", "Menu",
    *(f"F{n}" for n in range(1, 13))})


def _xwd_image(raw: bytes, Image):
    """An X window dump (xwd, ZPixmap, 24 or 32 bits a pixel on a TrueColor screen) as an image."""
    header_size, _version, _format, depth, width, height = struct.unpack(">6I", raw[:24])
    bits_per_pixel, bytes_per_line = struct.unpack(">2I", raw[44:52])
    ncolors = struct.unpack(">I", raw[76:80])[0]
    byte_order = struct.unpack(">I", raw[28:32])[0]
    start = header_size + 12 * ncolors
    mode = "BGRX" if byte_order == 0 else "XRGB"
    if bits_per_pixel != 32:
        raise RuntimeError(f"xwd: {bits_per_pixel} bits a pixel")
    data = raw[start:start + bytes_per_line * height]
    return Image.frombytes("RGB", (width, height), data, "raw", mode, bytes_per_line)
