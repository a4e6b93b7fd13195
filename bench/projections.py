"""t-SNE (openTSNE) and UMAP (umap-learn) on 10,000 and all 60,000 CIFAR-10 latent means, timed, with
PCA of the same latents as the same-run reference. UMAP is timed twice in this process: the first call
includes numba compiling the kernels it does not cache. Optionally draws each map of all images in the
app's map view and saves it as a README screenshot.

Usage: python bench/projections.py --checkpoint CKPT [--points 10000 60000] [--screenshots]
(no checkpoint: a 1-epoch model is trained first; without ../shared CIFAR-10, shapes are used)
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from common import ROOT, Stopwatch, bench_dataset  # noqa: E402


def latents(ckpt_path: Path | None, data):
    """Latent means of the training then the test images (what `encode --split all` maps)."""
    from core.checkpoint import load_checkpoint
    from core.latent import encode

    if ckpt_path is None:
        from core.config import TrainConfig
        from core.train import Trainer

        trainer = Trainer(data, TrainConfig(epochs=1))
        trainer.run()
        ckpt = trainer.checkpoint()
    else:
        ckpt = load_checkpoint(ckpt_path)
    every = data.split("all")
    with Stopwatch() as t:
        mu = encode(ckpt.build_model(), every.images)
    print(f"encoded {len(mu):,} images in {t.seconds:.1f} s")
    return mu, every.labels


def screenshot(coords, labels, classes, title: str, path: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from explorer.latent_map import LatentMapView

    app = QApplication.instance() or QApplication([])
    view = LatentMapView()
    view.resize(900, 760)
    view.show()
    view.toolbar.split_box.setCurrentText("all")  # what a user chooses to get this map
    view.toolbar.projection_box.setCurrentText(title)
    view.set_data(coords, labels, classes, None, f"{title} of all {len(labels):,} CIFAR-10 images", title)
    for _ in range(10):
        app.processEvents()
    view.grab().save(str(path))
    view.close()
    print(f"saved {path}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", type=Path)
    ap.add_argument("--points", type=int, nargs="+", default=[10_000, 60_000])
    ap.add_argument("--screenshots", action="store_true",
                    help="save the maps of the largest size to resources/screenshots")
    args = ap.parse_args()
    os.environ.setdefault("VAE_EXPLORER_DATA", tempfile.mkdtemp(prefix="vae-bench-"))
    import numpy as np

    from core.latent import LatentMap
    from core.projection import tsne, umap

    data = bench_dataset()
    mu, labels = latents(args.checkpoint, data)
    rng = np.random.default_rng(0)
    for k, n in enumerate(args.points):
        first = k == 0  # UMAP's first call in this process compiles its kernels
        n = min(n, len(mu))
        idx = np.sort(rng.choice(len(mu), n, replace=False)) if n < len(mu) else np.arange(len(mu))
        x = mu[idx]
        with Stopwatch() as t_pca:
            LatentMap.fit(x)
        with Stopwatch() as t_umap:
            umap_map = umap(x)
        with Stopwatch() as t_umap2:
            umap(x, seed=1)
        with Stopwatch() as t_tsne:
            tsne_map = tsne(x)
        print(f"{n:>6,} points x {mu.shape[1]} dims: PCA {t_pca.seconds:6.2f} s (reference) | "
              f"t-SNE {t_tsne.seconds:6.1f} s"
              f" | UMAP {t_umap.seconds:6.1f} s ({'first call in the process' if first else 'a later call'}), "
              f"{t_umap2.seconds:6.1f} s (the next call)",
              flush=True)
        if args.screenshots and n == max(args.points):
            shots = ROOT / "resources" / "screenshots"
            screenshot(tsne_map.coords, labels[idx], data.classes, "t-SNE", shots / "tsne_all.png")
            screenshot(umap_map.coords, labels[idx], data.classes, "UMAP", shots / "umap_all.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
