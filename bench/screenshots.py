"""Regenerate the README screenshots (resources/screenshots/*.png) from a real CIFAR-10 run.

Trains the reference model headless for --epochs on ../shared's CIFAR-10 (unless --checkpoint is
given), opens it in the real window offscreen, resumes training briefly so the live views fill,
replays three live-map frames, clicks the map, maps it with t-SNE, and grabs each panel.
Usage: python bench/screenshots.py [--checkpoint CKPT] [--epochs 1]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from common import ROOT, SHARED_CIFAR, bench_window  # noqa: E402

OUT = ROOT / "resources" / "screenshots"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", type=Path)
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vae-shots-"))
    os.environ["VAE_EXPLORER_DATA"] = str(tmp)
    ckpt_path = args.checkpoint
    if ckpt_path is None:
        from core.cli import main as cli

        ckpt_path = tmp / "cifar.pt"
        code = cli(["train", "--dataset", "cifar10", "--data-dir", str(SHARED_CIFAR), "--epochs", str(args.epochs),
                    "--out", str(ckpt_path), "--log-every", "100"])
        if code:
            return code

    import numpy as np
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from explorer.selftest import click, wait_until

    app, window = bench_window(tmp)
    window.loader.open_checkpoint(str(ckpt_path))
    wait_until(app, lambda: not window.runner.tasks and window.session.map is not None, 300, "the latent map")
    done = []
    window.training_finished.connect(done.append)
    window.start_training(True, steps=30)  # resume briefly: live curve, progress and preview fill in
    wait_until(app, lambda: window.preview.image() is not None and window.train_panel.progress.value() >= 10, 300,
               "training")
    window.train_panel.pause_button.click()
    wait_until(app, lambda: window.training.worker.control.paused, 30, "pause")
    for _ in range(30):
        app.processEvents()
    OUT.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(OUT / "train.png"))
    window.train_panel.stop_button.click()
    wait_until(app, lambda: done, 120, "stop")
    idle = lambda: not window.runner.tasks  # noqa: E731

    def grab(name: str, tab: int) -> None:
        window.tabs.setCurrentIndex(tab)
        for _ in range(40):
            app.processEvents()
        window.grab().save(str(OUT / name))

    view, live = window.map_view, window.session.live
    last = len(live.frames) - 1
    for name, k in [("map_early.png", 0), ("map_mid.png", len(live.frames) // 2), ("map_late.png", last)]:
        window.maps.show_frame(k)  # what moving the timeline slider does: replay a live-map frame
        wait_until(app, lambda: window.session.map.frame == k, 30, f"frame {k}")
        wait_until(app, lambda: view._animation.state() == view._animation.State.NotRunning, 30, "the move")
        grab(name, 1)
    window.session.choose(split="test", projection="pca")
    window.maps.encode()
    wait_until(app, lambda: idle() and window.session.map.frame is None, 300, "encoding")
    coords = view.coords
    a, b = int(np.argmax(coords[:, 0])), int(np.argmin(coords[:, 0]))
    window.tabs.setCurrentIndex(1)
    click(view, view.screen_pos(a))  # a point, then shift-click another: the interpolation strip
    QTest.mouseClick(view.plot.viewport(), Qt.LeftButton, Qt.ShiftModifier, view.screen_pos(b))
    grab("map.png", 1)
    from core.selection import inside_polygon, rectangle

    (x0, x1), (y0, y1) = view.plot.plotItem.vb.viewRange()  # zoom to the upper right until images show
    for share in (0.4, 0.3, 0.22, 0.16, 0.12, 0.08):
        view.plot.plotItem.vb.setRange(xRange=(x1 - share * (x1 - x0), x1), yRange=(y1 - share * (y1 - y0), y1),
                                       padding=0)
        if view.thumbnails.count():
            break
    (x0, x1), (y0, y1) = view.plot.plotItem.vb.viewRange()
    wait_until(app, lambda: view.thumbnails.count() > 0, 30, "images on the map")
    in_view = np.flatnonzero(inside_polygon(coords, rectangle(x0, y0, x1, y1)))
    click(view, view.screen_pos(int(in_view[np.argmax(coords[in_view, 1])])))  # neighbours listed and ringed
    box = rectangle(x0 + 0.5 * (x1 - x0), y0 + 0.3 * (y1 - y0), x1, y0 + 0.75 * (y1 - y0))  # then a rectangle
    window.session.select(np.flatnonzero(inside_polygon(view.coords, box)))
    window.inspector.group_button.click()
    grab("map_selection.png", 1)
    window.session.select(None)
    view.plot.plotItem.vb.autoRange()
    window.inspecting.show_given_image("icon.png", str(ROOT / "resources" / "icon.png"))  # what a drop does
    grab("map_dropped.png", 1)
    view.toolbar.projection_box.setCurrentIndex(1)  # t-SNE, as a user picks it
    window.maps.encode()
    wait_until(app, lambda: idle() and window.session.map.explained is None, 900, "t-SNE")
    grab("tsne.png", 1)
    wait_until(app, lambda: window.sampling.has_mixture, 600, "the mixture")
    grab("samples.png", 2)
    grab("diagnostics.png", 3)
    window.close()
    wait_until(app, lambda: window.closed, 60, "closing")
    print(f"wrote {', '.join(p.name for p in sorted(OUT.glob('*.png')))} to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
