"""How the map scales, in one run: a pan + zoom + full render of the map with 60,000 and 1,000,000
points (a density image when zoomed out) against the same frame of an empty map, and picking (nearest point
in screen pixels) at 60,000 and 1,000,000 points against a brute-force search over the same points.

Usage: QT_QPA_PLATFORM=offscreen python bench/map_scale.py
"""
from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from common import Stopwatch  # noqa: E402


def main() -> None:
    import numpy as np
    from PySide6.QtWidgets import QApplication

    from core.latent import PixelPicker
    from explorer.latent_map import LatentMapView

    app = QApplication.instance() or QApplication([])
    view = LatentMapView()
    view.resize(1000, 700)
    view.show()
    rng = np.random.default_rng(0)
    classes = [f"class {k}" for k in range(10)]

    def frame_ms(n: int) -> float:
        coords = rng.normal(size=(n, 2)).astype(np.float32)
        view.set_data(coords, rng.integers(0, 10, n), classes, np.array([0.1, 0.1]))
        app.processEvents()
        vb, times = view.plot.plotItem.vb, []
        for i in range(20):
            with Stopwatch() as sw:
                vb.translateBy(x=0.05 if i % 2 else -0.05)
                vb.scaleBy((1.01, 1.01) if i % 4 < 2 else (1 / 1.01, 1 / 1.01))
                view.plot.viewport().grab()
            times.append(1000 * sw.seconds)
        return statistics.median(times)

    empty, full, million = frame_ms(0), frame_ms(60_000), frame_ms(1_000_000)
    print(f"map frame (pan + zoom + render): 60,000 points {full:.1f} ms, empty map {empty:.1f} ms, "
          f"difference {full - empty:.1f} ms; target <= 10 ms")
    print(f"map frame with 1,000,000 points ({view.mode()}): {million:.1f} ms, difference {million - empty:.1f} ms; "
          f"target <= 30 ms")
    view.plot.plotItem.vb.setRange(xRange=(-0.2, 0.2), yRange=(-0.2, 0.2), padding=0)  # ~25,000 in view
    app.processEvents()
    vb, times = view.plot.plotItem.vb, []
    for i in range(20):
        with Stopwatch() as sw:
            vb.translateBy(x=0.005 if i % 2 else -0.005)
            view.plot.viewport().grab()
        times.append(1000 * sw.seconds)
    print(f"map frame with 1,000,000 points zoomed in ({view.mode()}, {len(view.points.data):,} drawn): "
          f"{statistics.median(times):.1f} ms, difference {statistics.median(times) - empty:.1f} ms")
    for n in (60_000, 1_000_000):
        coords = rng.normal(size=(n, 2))
        with Stopwatch() as build:
            picker = PixelPicker(coords)
        queries = rng.normal(size=(200, 2))
        t0 = time.perf_counter()
        for q in queries:
            picker.nearest(q[0], q[1], 0.01, 0.004, 6)
        pick_ms = 1000 * (time.perf_counter() - t0) / len(queries)
        t0 = time.perf_counter()
        for q in queries[:20]:
            np.argmin(np.hypot((coords[:, 0] - q[0]) / 0.01, (coords[:, 1] - q[1]) / 0.004))
        brute_ms = 1000 * (time.perf_counter() - t0) / 20
        print(f"picking at {n:,} points: {pick_ms:.2f} ms a click (brute force {brute_ms:.1f} ms, "
              f"{brute_ms / pick_ms:.0f}x), index built in {1000 * build.seconds:.0f} ms; target <= 5 ms")


if __name__ == "__main__":
    main()
