"""Entry point of `vae-explorer`, `python -m explorer` and the frozen app.

A subcommand (train, sample, encode) or --help/--version goes to core.cli; `--self-test` runs
explorer.selftest offscreen; otherwise the window shows first and torch loads in the background.
"""
from __future__ import annotations

import os
import sys
import time

LAUNCH_T0 = time.perf_counter()


APP_HELP = """without a command:
  vae-explorer              open the desktop app (on the view it was left on)
  vae-explorer --fresh      open it without the last view
  vae-explorer --self-test  drive the app offscreen; exit 0 if everything worked"""


def limit_malloc_arenas(arenas: int = 2) -> None:
    """On glibc, before any thread starts: at most `arenas` malloc arenas (unless MALLOC_ARENA_MAX says).

    glibc gives each new thread an arena of its own, up to 8 per core, and keeps what is freed there. Every
    encode, projection and training run is a new thread, so the window's resident memory grew by about
    100 MB over its first ten maps before it levelled off (bench/soak.py: +96 MB from cycle 2 to 20; with
    2 arenas +4 MB, at 9.2 s a cycle against 8.7 s). Large arrays are mapped directly and never use an arena."""
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):  # another C library
        pass


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and (argv[0] in ("-h", "--help", "--version") or not argv[0].startswith("-")):
        from core.cli import main as cli_main

        return cli_main(argv, epilog=APP_HELP)
    if "--self-test" in argv:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from explorer.selftest import run_self_test

        return run_self_test()
    from explorer.preflight import problem

    message = problem()
    if message:  # Qt would abort with a message that does not help; say what is missing instead
        print(message, file=sys.stderr)
        return 2
    limit_malloc_arenas()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("VAE Latent Explorer")
    app.setOrganizationName("vae-explorer")
    from explorer.main_window import MainWindow

    window = MainWindow(fresh="--fresh" in argv)
    window.show()
    if "--print-launch-time" in argv:  # used by bench/gui.py
        app.processEvents()
        print(f"window visible after {time.perf_counter() - LAUNCH_T0:.3f} s", flush=True)
        window.ready.connect(lambda: print(f"ready after {time.perf_counter() - LAUNCH_T0:.3f} s", flush=True))
        if "--quit-when-ready" in argv:
            window.ready.connect(window.close)
    window.start_loading()
    return app.exec()
