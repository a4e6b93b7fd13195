"""Opening 1,000,000 embeddings of 128 dimensions (an uncompressed .npz with labels, 10 classes and one more
column), in one run: reading them (core.embeddings) against numpy's own load of the same array, making the map
(PCA and the class-structure figure), and the app's whole path from File > Open embeddings to the map drawn,
with a PCA map and with given coordinates. Target: under 10 s in the app.

Usage: QT_QPA_PLATFORM=offscreen python bench/embeddings.py [--rows 1000000] [--dims 128]
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from common import Stopwatch  # noqa: E402


def write(path: Path, rows: int, dims: int, coords: bool) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, rows)
    vectors = rng.normal(size=(10, dims)).astype(np.float32)[labels]
    vectors += 2 * rng.standard_normal((rows, dims), dtype=np.float32)
    extra = {"coords": vectors[:, :2].copy()} if coords else {}
    np.savez(path, vectors=vectors, labels=labels, classes=np.array([f"c{k}" for k in range(10)]),
             score=rng.random(rows, dtype=np.float32), **extra)


def in_app(path: Path, folder: Path) -> float:
    """Seconds from asking the window to open `path` to its map drawn (the window already started)."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from explorer.main_window import MainWindow
    from explorer.selftest import wait_until

    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(folder / "settings.ini"), QSettings.IniFormat)
    settings.setValue("dataset", "shapes")
    window = MainWindow(settings)
    window.messages.interactive = False
    window.resize(1200, 800)
    window.show()
    window.tabs.setCurrentIndex(1)
    window.start_loading()
    wait_until(app, lambda: window.session.dataset is not None and not window.runner.busy, 120, "start-up")
    drawn = []
    window.map_ready.connect(lambda: drawn.append(True))
    with Stopwatch() as sw:
        window.loader.open_embeddings(str(path))
        wait_until(app, lambda: drawn and window.session.embeddings is not None, 120, "the map", window)
        window.map_view.plot.viewport().grab()  # the first frame, painted
    error = window.messages.last_error
    window.close()
    wait_until(app, lambda: window.closed, 60, "closing")
    if error:
        raise RuntimeError(error)
    return sw.seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dims", type=int, default=128)
    args = parser.parse_args()
    import numpy as np

    from core.embeddings import embeddings_map, read_embeddings

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["VAE_EXPLORER_DATA"] = str(folder / "userdata")
        plain, given = folder / "plain.npz", folder / "given.npz"
        with Stopwatch() as sw:
            write(plain, args.rows, args.dims, coords=False)
            write(given, args.rows, args.dims, coords=True)
        size = plain.stat().st_size / 2**20
        print(f"{args.rows:,} x {args.dims} float32 embeddings: {size:,.0f} MB a file (written in {sw.seconds:.1f} s)")
        with Stopwatch() as ref:
            with np.load(plain) as z:
                z["vectors"], z["labels"]
        with Stopwatch() as read:
            e = read_embeddings(plain)
        print(f"read: {read.seconds:.2f} s (numpy's own load of the same arrays: {ref.seconds:.2f} s)")
        with Stopwatch() as made:
            m = embeddings_map(e)
        print(f"map (PCA of the vectors and the class-structure figure {100 * m.knn:.1f}%): {made.seconds:.2f} s")
        del e, m
        for path, what in ((plain, "PCA map"), (given, "given coordinates")):
            print(f"in the app, Open embeddings to the map drawn ({what}): {in_app(path, folder):.2f} s; "
                  f"target < 10 s")


if __name__ == "__main__":
    main()
