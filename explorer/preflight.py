"""Checks before Qt starts (Linux): is there a display, and can Qt's X11 plugin load?

Without them Qt aborts with "no Qt platform plugin could be initialized"; this says instead
what is missing and how to fix it. The libraries are found by asking the dynamic loader
(`ldd`) about the plugin PySide6 actually ships, not from a fixed list.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

# soname -> (Debian/Ubuntu package, Fedora package) for the libraries Qt's xcb plugin needs
PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
}
HEADLESS_HINT = ("Without a display, use the command line (vae-explorer train|sample|encode, see "
                 "vae-explorer --help) or run the app's check offscreen: vae-explorer --self-test.")


def _packages(soname: str) -> tuple[str, str]:
    if soname in PACKAGES:
        return PACKAGES[soname]
    if soname.startswith("libxcb-"):  # libxcb-shape.so.0 -> libxcb-shape0 (Debian); all in libxcb (Fedora)
        name, _, version = soname.partition(".so.")
        return name + version, "libxcb"
    return soname, soname


def xcb_plugin() -> Path | None:
    """Qt's X11 platform plugin as shipped with PySide6 (also inside the frozen app), if present."""
    from PySide6.QtCore import QLibraryInfo  # QtCore loads without any display library

    plugin = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def missing_libraries(plugin: Path, ldd: Callable[[Path], str] | None = None) -> list[str]:
    """Sonames the dynamic loader cannot find for `plugin` (and what it links), in order."""
    if ldd is None:
        if shutil.which("ldd") is None:
            return []  # no way to ask; Qt will report it itself
        ldd = lambda path: subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=30).stdout  # noqa: E731
    missing = []
    for line in ldd(plugin).splitlines():
        name, _, where = line.strip().partition(" => ")
        if where.strip() == "not found" and name not in missing:
            missing.append(name)
    return missing


def problem(env: dict | None = None, platform: str = sys.platform, plugin: Callable[[], Path | None] = xcb_plugin,
            ldd: Callable[[Path], str] | None = None) -> str | None:
    """A message naming what stops Qt from showing a window, and the fix; None if nothing does."""
    env = os.environ if env is None else env
    if not platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return None  # another OS, or the user chose a platform plugin on purpose
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return ("error: no display: neither DISPLAY nor WAYLAND_DISPLAY is set (for example over SSH without -X). "
                "Run the app on the machine's desktop, or connect with `ssh -X`. " + HEADLESS_HINT)
    if env.get("WAYLAND_DISPLAY"):
        return None  # Qt uses its Wayland plugin, which needs none of the X11 libraries
    path = plugin()
    missing = missing_libraries(path, ldd) if path is not None else []
    if not missing:
        return None
    debian = " ".join(dict.fromkeys(_packages(m)[0] for m in missing))
    fedora = " ".join(dict.fromkeys(_packages(m)[1] for m in missing))
    return (f"error: Qt cannot open a window on X11: missing {', '.join(missing)}. Install them with "
            f"`sudo apt install {debian}` (Debian, Ubuntu) or `sudo dnf install {fedora}` (Fedora), "
            f"then start again. " + HEADLESS_HINT)
