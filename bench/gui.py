"""GUI figures, each with a reference taken in the same run (machines here are noisy).

- launch: process start to visible window, vs a bare PySide6 window      (target <= 1.5 s)
- training: GUI img/s vs the headless core trainer, same settings        (target >= 0.95)
- event-loop stall p99 during GUI training, 10 ms QTimer probe           (target <= 50 ms)
- encode + PCA of 10,000 test images on CPU, vs the bare encoder forward  (target <= 8 s)
- map frame time with 50,000 points, vs an empty map                     (target <= 33 ms)
- click-to-image latency, vs decoding one latent alone                   (target <= 20 ms)
Usage: QT_QPA_PLATFORM=offscreen python bench/gui.py [--steps 20]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from common import ROOT, Stopwatch, bench_dataset  # noqa: E402


def time_to_line(cmd: list[str], marker: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if marker in line:
            elapsed = time.perf_counter() - t0
            break
    proc.kill()
    proc.wait()
    return elapsed


def bench_launch() -> None:
    bare = ("from PySide6.QtWidgets import QApplication, QWidget; a = QApplication([]); w = QWidget(); "
            "w.show(); a.processEvents(); print('visible', flush=True)")
    ref = min(time_to_line([sys.executable, "-c", bare], "visible") for _ in range(3))
    app = min(time_to_line([sys.executable, "-m", "explorer", "--print-launch-time"], "window visible") for _ in range(3))
    print(f"launch to visible window: {app:.2f} s (bare PySide6 window {ref:.2f} s, ratio {app / ref:.2f}); target <= 1.5 s")


def bench_training_and_stall(app, steps: int) -> None:
    import numpy as np
    from PySide6.QtCore import QSettings, QTimer

    from core.config import ModelConfig, TrainConfig
    from core.data import make_shapes
    from core.train import Trainer
    from explorer.main_window import MainWindow
    from explorer.selftest import wait_until

    data = make_shapes()
    threads = max(1, (os.cpu_count() or 2) - 1)  # what the GUI form uses by default
    config = TrainConfig(steps=steps, batch_size=128, threads=threads, log_every=1, eval_images=1)
    def headless() -> float:
        """The core trainer alone, on a plain thread like the GUI's worker."""
        result = []

        def work():
            trainer = Trainer(data, config, ModelConfig())
            trainer.train_step()
            with Stopwatch() as sw:
                for _ in range(steps):
                    trainer.train_step()
            result.append(steps * 128 / sw.seconds)

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return result[0]

    before = headless()

    settings = QSettings(tempfile.mktemp(suffix=".ini"), QSettings.IniFormat)
    settings.setValue("dataset", "shapes")
    window = MainWindow(settings)
    window.messages.interactive = False
    window.show()
    window.start_loading()
    wait_until(app, lambda: window.session.dataset is not None, 120, "start-up")
    window.train_panel.set_configs(ModelConfig(), TrainConfig(batch_size=128, threads=threads))
    window.train_panel.fields["epochs"].setText("1")
    rates, gaps, done = [], [], []
    last = [time.perf_counter()]

    def probe():
        now = time.perf_counter()
        gaps.append(now - last[0] - 0.010)
        last[0] = now

    timer = QTimer(interval=10)
    timer.timeout.connect(probe)
    window.training_finished.connect(done.append)
    window.start_training(steps=steps + 1)
    window.training.worker.steps.connect(lambda ms: rates.extend(m.img_per_s for m in ms if m.step > 1))
    timer.start()
    wait_until(app, lambda: done, 600, "GUI training")
    timer.stop()
    gui = float(np.median(rates))
    window.close()
    wait_until(app, lambda: window.closed, 60, "closing")
    ref = (before + headless()) / 2  # headless measured before and after the GUI run, averaged
    print(f"training: GUI {gui:.1f} img/s vs headless {ref:.1f} img/s ({threads} thread(s)), ratio {gui / ref:.2f}; "
          f"target >= 0.95")
    stall = 1000 * np.percentile(np.maximum(gaps, 0), 99)
    print(f"event-loop stall during training: p99 {stall:.1f} ms, max {1000 * max(gaps):.1f} ms "
          f"over {len(gaps)} probes (probe period 10 ms); target p99 <= 50 ms")


def bench_encode() -> None:
    import torch

    from core.latent import LatentMap, encode
    from core.model import ConvVAE

    images = bench_dataset().test.images[:10000]
    model = ConvVAE().eval()
    encode(model, images[:500])  # warm up both paths
    with Stopwatch() as ref:
        with torch.inference_mode():
            for i in range(0, len(images), 500):
                model.encode(torch.from_numpy(images[i:i + 500]).float() / 255)
    with Stopwatch() as sw:
        LatentMap.fit(encode(model, images))
    print(f"encode + PCA of {len(images):,} images: {sw.seconds:.2f} s (bare encoder forward {ref.seconds:.2f} s, "
          f"ratio {sw.seconds / ref.seconds:.2f}); target <= 8 s")


def bench_map_and_click(app) -> None:
    import numpy as np

    from core.latent import LatentMap
    from core.model import ConvVAE
    from explorer.inspector import Inspector
    from explorer.latent_map import LatentMapView

    rng = np.random.default_rng(0)
    n = 50_000
    labels = rng.integers(0, 10, n)
    coords = (rng.normal(size=(n, 2)) + labels[:, None] * 0.3).astype(np.float32)
    view = LatentMapView()
    view.resize(1000, 700)
    view.show()
    classes = [f"class {k}" for k in range(10)]

    def frame_ms() -> float:
        vb = view.plot.plotItem.vb
        for _ in range(3):
            vb.translateBy(x=0.01)
            view.plot.viewport().grab()
        t0 = time.perf_counter()
        for i in range(20):
            vb.translateBy(x=0.05 if i % 2 else -0.05)  # pan, zoom, then render the whole view
            vb.scaleBy((1.01, 1.01) if i % 4 < 2 else (1 / 1.01, 1 / 1.01))
            view.plot.viewport().grab()
        return 1000 * (time.perf_counter() - t0) / 20

    view.set_data(coords[:0], labels[:0], classes, np.array([0.1, 0.1]))
    empty = frame_ms()
    view.set_data(coords, labels, classes, np.array([0.1, 0.1]))
    full = frame_ms()
    print(f"map frame (pan + zoom + full render) with {n:,} points: {full:.1f} ms (empty map {empty:.1f} ms, "
          f"ratio {full / max(empty, 1e-3):.1f}); target <= 33 ms")

    model = ConvVAE().eval()
    mu = rng.normal(size=(n, 128)).astype(np.float32)
    lmap = LatentMap.fit(mu)
    inspector = Inspector()
    inspector.show()
    from core.latent import decode

    decode(model, mu[:1])
    t0 = time.perf_counter()
    for i in range(20):
        decode(model, mu[i:i + 1])
    ref = 1000 * (time.perf_counter() - t0) / 20
    t0 = time.perf_counter()
    for i in range(20):
        index, _ = lmap.nearest(lmap.coords[i])
        image = decode(model, lmap.mu[index:index + 1])[0]
        inspector.show_point(index, "class", image, image)
        inspector.repaint()
    click = 1000 * (time.perf_counter() - t0) / 20
    print(f"click to image (pick + decode + paint): {click:.1f} ms (decode alone {ref:.1f} ms, "
          f"ratio {click / ref:.2f}); target <= 20 ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    bench_launch()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    bench_map_and_click(app)
    bench_encode()
    bench_training_and_stall(app, args.steps)


if __name__ == "__main__":
    main()
