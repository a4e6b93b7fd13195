"""The runs library's measures, each beside a reference from the same run:
- opening the Runs panel on a folder of 200 runs (listing their summaries and filling the table), against
  reading every run's checkpoint instead (what a listing without summaries would cost);
- a frame of the overlaid curves with 10 runs of 10,000 logged steps each, against one such run;
- aligning and drawing two maps of 10,000 images (after both are encoded), against drawing one map.

Usage: QT_QPA_PLATFORM=offscreen python bench/runs.py [--runs 200]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from common import Stopwatch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_runs(root: Path, n: int) -> None:
    """n run folders: one real reference-size run saved once, copied with varied summaries."""
    from core.checkpoint import Checkpoint
    from core.config import ModelConfig, TrainConfig
    from core.metrics import EpochMetrics, History, StepMetrics
    from core.model import ConvVAE
    from core.runs import SUMMARY, RunFolder

    history = History()
    history.steps.extend(StepMetrics(step=s, loss=100 - s / 100, recon=90, kld=10, wall_s=s / 10)
                         for s in range(1, 2001))
    history.epochs.extend(EpochMetrics(step=s, epoch=s // 391, test_mse=0.01, test_psnr=18 + s / 1000, kl_per_dim=1,
                                       knn=0.3) for s in range(391, 2001, 391))
    model = ConvVAE.from_config(ModelConfig())
    ckpt = Checkpoint(ModelConfig(), model.state_dict(), step=2000, epoch=5, history=history,
                      train_config=TrainConfig(dataset="cifar10"), dataset="cifar10")
    first = RunFolder.create(root, "cifar10", "calibrated")
    first.save(ckpt)
    first.close()
    summary = (first.folder / SUMMARY).read_text()
    for i in range(1, n):
        folder = root / f"{first.folder.name}-{i}"
        folder.mkdir()
        os.link(first.checkpoint, folder / "checkpoint.pt")  # the same bytes, no extra disk
        (folder / SUMMARY).write_text(summary.replace('"beta": 1.0', f'"beta": {1 + i % 8}.0'))


def bench_listing(n: int) -> None:
    from PySide6.QtWidgets import QApplication

    from core.checkpoint import peek_checkpoint
    from core.runs import list_runs
    from explorer.runs_panel import RunsPanel

    app = QApplication.instance() or QApplication([])
    root = Path(tempfile.mkdtemp(prefix="runs-bench-"))
    try:
        make_runs(root, n)
        panel = RunsPanel()
        panel.resize(1200, 500)
        panel.show()
        times = []
        for _ in range(3):
            with Stopwatch() as sw:
                runs = list_runs([root])
                panel.set_runs(runs, {}, set(), [str(root)])
                app.processEvents()
            times.append(sw.seconds)
        with Stopwatch() as ref:
            for run in runs:
                peek_checkpoint(run.checkpoint)
        print(f"Runs panel with {len(runs)} runs: listed and shown in {1000 * min(times):.0f} ms (median "
              f"{1000 * statistics.median(times):.0f} ms; target < 1,000 ms); reference, reading each run's "
              f"checkpoint instead: {1000 * ref.seconds:.0f} ms")
    finally:
        shutil.rmtree(root)


def frame_ms(view, app, frames: int = 15) -> float:
    """Median time to repaint every chart on screen (as a cursor move does; grab() would bypass item caches)."""
    times = []
    for i in range(frames):
        view.set_cursor(100 + i)
        t = time.perf_counter()
        for plot in view.plots.values():
            plot.viewport().repaint()
        times.append(time.perf_counter() - t)
        app.processEvents()
    return 1000 * statistics.median(times)


def bench_overlay() -> None:
    from PySide6.QtWidgets import QApplication

    from core.metrics import History, StepMetrics
    from explorer.run_curves import Curves, RunCurves

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)

    def run(i: int) -> Curves:
        h = History()
        steps = np.arange(1, 10_001)
        loss = 200 * np.exp(-steps / 3000) + rng.normal(0, 3, len(steps)) + 10 * i
        h.steps.extend(StepMetrics(step=int(s), loss=float(v), recon=float(v) * 0.9, kld=float(v) * 0.1,
                                   wall_s=float(s) / 20) for s, v in zip(steps, loss))
        return Curves(f"run{i}", f"run {i}", f"#{rng.integers(0, 0xFFFFFF):06x}", h, 128)

    runs = [run(i) for i in range(10)]
    view = RunCurves()
    view.resize(1200, 600)
    view.show()
    view.set_runs(runs[:1])
    app.processEvents()
    one = frame_ms(view, app)
    view.set_runs(runs)
    app.processEvents()
    ten = frame_ms(view, app)
    view.set_runs(runs[:1])
    app.processEvents()
    one_again = frame_ms(view, app)
    with Stopwatch() as sw:
        view.smoothing.setValue(900)
        app.processEvents()
    print(f"Overlaid curves, frame time: 1 run x 10,000 steps {min(one, one_again):.1f} ms, 10 runs x 10,000 steps "
          f"{ten:.1f} ms (+{ten - min(one, one_again):.1f} ms; target within 2 ms); re-smoothing 10 runs "
          f"{1000 * sw.seconds:.0f} ms")


def bench_compare() -> None:
    from PySide6.QtWidgets import QApplication

    from core.compare import MapPair, compare_latents, procrustes
    from core.projection import PROJECTORS
    from explorer.map_compare import MapCompare

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (10, 128))
    labels = rng.integers(0, 10, 10_000)
    mu_a = (centres[labels] + rng.normal(0, 1, (10_000, 128))).astype(np.float32)
    mu_b = (mu_a @ np.linalg.qr(rng.normal(size=(128, 128)))[0] + rng.normal(0, 0.5, mu_a.shape)).astype(np.float32)
    view = MapCompare()
    view.resize(1200, 600)
    view.show()
    app.processEvents()
    with Stopwatch() as ref:
        PROJECTORS["pca"].fit(mu_a)
        view.a.points.setData(pos=PROJECTORS["pca"].fit(mu_a).coords, size=5)
        view.a.plot.grab()
    with Stopwatch() as sw:
        coords_a = PROJECTORS["pca"].fit(mu_a).coords
        coords_b = procrustes(coords_a, PROJECTORS["pca"].fit(mu_b).coords)
        view.set_pair(MapPair(labels, coords_a, coords_b, np.ones(len(labels)), "pca"), [str(i) for i in range(10)],
                      ("A", "B"))
        view.grab()
    with Stopwatch() as agree:
        pair = compare_latents(mu_a, mu_b, labels)
    print(f"Two maps of 10,000 images (128-d latents): aligned (PCA each, Procrustes) and drawn in "
          f"{1000 * sw.seconds:.0f} ms (target < 1,000 ms); reference, one PCA map drawn: {1000 * ref.seconds:.0f} ms; "
          f"the whole comparison with neighbour agreement (10 nearest in latent space, exact): "
          f"{1000 * agree.seconds:.0f} ms (mean agreement {100 * pair.mean_agreement:.0f}%)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    bench_listing(args.runs)
    bench_overlay()
    bench_compare()


if __name__ == "__main__":
    main()
