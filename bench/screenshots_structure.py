"""The README's maps of class structure: a CIFAR-10 checkpoint's test split in the real window (offscreen), PCA
and UMAP, coloured by class, with the Lenses tab in view. For the contrastive preset against the default.

Usage: python bench/screenshots_structure.py CKPT NAME   (writes resources/screenshots/NAME_pca.png, NAME_umap.png)
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from common import ROOT, bench_window  # noqa: E402

OUT = ROOT / "resources" / "screenshots"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("name")
    args = ap.parse_args()
    from explorer.selftest import wait_until

    os.environ["VAE_EXPLORER_DATA"] = tempfile.mkdtemp(prefix="vae-shots-")
    app, window = bench_window(Path(os.environ["VAE_EXPLORER_DATA"]))
    window.loader.open_checkpoint(str(args.checkpoint))
    wait_until(app, lambda: not window.runner.tasks and window.session.map is not None, 300, "the latent map")
    window.tabs.setCurrentIndex(1)
    window.inspector.tabs.setCurrentWidget(window.lenses)
    for projection in ("pca", "umap"):
        window.session.choose(split="test", projection=projection)
        window.maps.encode()
        wait_until(app, lambda: not window.runner.tasks and window.session.map.projection.name == projection
                   and window.lenses.report is not None, 900, projection)
        for _ in range(40):
            app.processEvents()
        path = OUT / f"{args.name}_{projection}.png"
        window.grab().save(str(path))
        print(f"{path}: {window.map_view.info.text()}")
    window.close()


if __name__ == "__main__":
    main()
