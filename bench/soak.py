"""Soak: the real window, offscreen, through a scripted session over and over, closed and opened again each
cycle. A cycle trains a few steps, maps the test split with t-SNE, colours it by a lens, turns cluster labels
on, opens the Runs tab, compares the two newest runs' maps and plays the morph, visits every tab and drops
an image on the map. Prints resident memory and the process's thread count after each cycle; a crash ends
the script. Not a test (minutes): `QT_QPA_PLATFORM=offscreen python bench/soak.py --cycles 20`.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import os
import tempfile
import time
from pathlib import Path

from common import bench_window  # also puts the project on sys.path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def resident_mb() -> float:
    """Resident memory once freed memory is handed back: glibc keeps what Python, torch and Qt free in its
    arenas (the resident size before this trim wandered 60-120 MB over 20 cycles with the same objects
    alive); a leak stays after the trim."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def threads() -> int:
    return len(os.listdir(f"/proc/{os.getpid()}/task"))


def cycle(folder: Path, image: Path, steps: int) -> None:
    from PySide6.QtCore import QCoreApplication, QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtTest import QTest

    from core.config import ModelConfig, TrainConfig
    from explorer.selftest import wait_until

    app, window = bench_window(folder, (1200, 800), dataset="shapes")
    window.train_panel.set_configs(ModelConfig(latent_dim=8, channels=8), TrainConfig(batch_size=32, epochs=1))
    runs_before = len(list(window.runs_root.glob("*/checkpoint.pt"))) if window.runs_root.is_dir() else 0
    for _ in range(2 if runs_before < 2 else 1):  # two runs to compare from the first cycle on
        finished = []
        window.training_finished.connect(finished.append)
        window.start_training(steps=steps)
        wait_until(app, lambda: finished and not window.runner.busy, 300, "training and its map", window)

    view, toolbar = window.map_view, window.map_view.toolbar
    window.tabs.setCurrentIndex(1)
    toolbar.projection_box.setCurrentIndex(toolbar.projection_box.findData("tsne"))
    old_map = window.session.map
    QTest.mouseClick(toolbar.encode_button, Qt.LeftButton)
    wait_until(app, lambda: window.session.map is not old_map and not window.runner.busy, 300, "t-SNE", window)
    toolbar.colour_box.setCurrentIndex(toolbar.colour_box.findData("brightness"))
    QTest.mouseClick(toolbar.labels_box, Qt.LeftButton)
    wait_until(app, lambda: view.cluster_labels.items and not window.runner.busy, 120, "cluster labels", window)

    window.tabs.setCurrentIndex(window.tabs.count() - 1)  # Runs
    wait_until(app, lambda: window.runs_panel.proxy.rowCount() >= 2, 30, "the runs listed", window)
    panel = window.runs_panel
    for row in (0, 1):  # tick the two newest runs (their tick boxes, left of the names)
        rect = panel.table.visualRect(panel.proxy.index(row, 0))
        tick = QPoint(rect.left() + 10, rect.center().y())
        QTest.mouseClick(panel.table.viewport(), Qt.LeftButton, Qt.NoModifier, tick)
    QTest.mouseClick(panel.buttons["Compare maps"], Qt.LeftButton)
    compare = window.map_compare
    wait_until(app, lambda: compare.pair is not None and not window.runner.busy, 120, "the maps compared", window)
    QTest.mouseClick(compare.play, Qt.LeftButton)
    wait_until(app, lambda: compare.morph.value() == 100, 30, "the morph")

    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        app.processEvents()
    window.tabs.setCurrentIndex(1)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image))])
    target = view.plot.viewport()
    pos = target.rect().center()
    enter = QDragEnterEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QCoreApplication.sendEvent(target, enter)
    QCoreApplication.sendEvent(target, QDropEvent(QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    wait_until(app, lambda: window.session.given is not None and not window.runner.busy, 60, "the dropped image",
               window)

    window.close()
    wait_until(app, lambda: window.closed, 60, "closing")
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    app.processEvents()
    gc.collect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--steps", type=int, default=10, help="training steps a cycle")
    parser.add_argument("--default-arenas", action="store_true",
                        help="keep glibc's default malloc arenas (the app limits them to 2; see explorer.app)")
    args = parser.parse_args()
    import numpy as np
    from PIL import Image

    from explorer.app import limit_malloc_arenas

    if not args.default_arenas:
        limit_malloc_arenas()  # as `vae-explorer` does at start
    with tempfile.TemporaryDirectory(prefix="vae-explorer-soak-") as tmp:
        folder = Path(tmp)
        os.environ["VAE_EXPLORER_DATA"] = str(folder / "userdata")
        image = folder / "mine.png"
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(image)
        print(f"{'cycle':>5}  {'seconds':>7}  {'resident MB':>11}  {'threads':>7}", flush=True)
        figures = {}
        for n in range(1, args.cycles + 1):
            t0 = time.perf_counter()
            cycle(folder, image, args.steps)
            figures[n] = resident_mb(), threads()
            print(f"{n:>5}  {time.perf_counter() - t0:>7.1f}  {figures[n][0]:>11.0f}  {figures[n][1]:>7}", flush=True)
    if args.cycles >= 2:
        (mb2, th2), (mb, th) = figures[2], figures[args.cycles]
        print(f"after cycle {args.cycles} against cycle 2 (the reference, this run): resident {mb - mb2:+.0f} MB "
              f"(limit 50), threads {th - th2:+d} (limit 2)")


if __name__ == "__main__":
    main()
