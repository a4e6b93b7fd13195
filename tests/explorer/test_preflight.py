"""Before Qt starts: no display, or missing X11 libraries, is one clear message and exit 2, not an abort."""
import os
import subprocess
import sys
from pathlib import Path

from explorer.preflight import problem
from tests.conftest import ROOT

LDD_MISSING_CURSOR = """\tlinux-vdso.so.1 (0x00007ffc)
\tlibQt6XcbQpa.so.6 => /opt/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-shape.so.0 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)
"""


def test_no_display_exits_2_with_one_message():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "-m", "explorer"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2, r.stderr  # not 134 (abort)
    assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith("error: no display") and "--self-test" in r.stderr and "train" in r.stderr


def test_missing_xcb_libraries_are_named_with_their_packages():
    message = problem({"DISPLAY": ":0"}, "linux", plugin=lambda: Path("libqxcb.so"), ldd=lambda p: LDD_MISSING_CURSOR)
    assert message.startswith("error: Qt cannot open a window on X11: missing libxcb-cursor.so.0, libxcb-shape.so.0")
    assert "sudo apt install libxcb-cursor0 libxcb-shape0" in message
    assert "sudo dnf install xcb-util-cursor libxcb" in message


def test_nothing_to_say_when_qt_can_start():
    all_found = LDD_MISSING_CURSOR.replace("not found", "/usr/lib/x.so (0x1)")
    assert problem({"DISPLAY": ":0"}, "linux", plugin=lambda: Path("libqxcb.so"), ldd=lambda p: all_found) is None
    assert problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", plugin=lambda: None) is None
    assert problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert problem({}, "darwin") is None and problem({}, "win32") is None
