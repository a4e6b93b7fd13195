"""Exports other tools read: the training history as CSV, and an embedding for the TensorBoard
Projector (tensors.tsv, metadata.tsv, sprite.png and projector_config.pbtxt).

Errors writing files become ValueError naming the path and the fix.
"""
from __future__ import annotations

import csv
import math
from dataclasses import fields
from pathlib import Path

import numpy as np

from core.metrics import EpochMetrics, StepMetrics

STEP_COLUMNS = [f.name for f in fields(StepMetrics) if f.name not in ("total_steps", "eta_s")]
EPOCH_COLUMNS = ["test_mse", "test_psnr", "kl_per_dim", "test_recon", "test_kld", "test_loss"]
PROJECTOR_FILES = ("tensors.tsv", "metadata.tsv", "sprite.png", "projector_config.pbtxt")
SPRITE_LIMIT_PX = 8192  # the Projector's largest sprite image side


def _as(cls, m):
    return m if isinstance(m, cls) else cls.from_dict(m)


def write_metrics_csv(path, steps: list, epochs: list) -> None:
    """One row per logged step (StepMetrics or their dicts); the test figures of an epoch end sit in
    their own columns on the row of that step (a row of its own if that step was not logged)."""
    rows: dict[int, dict] = {}
    for m in map(lambda m: _as(StepMetrics, m), steps):
        rows[m.step] = {k: getattr(m, k) for k in STEP_COLUMNS}
    for m in map(lambda m: _as(EpochMetrics, m), epochs):
        rows.setdefault(m.step, {"step": m.step, "epoch": m.epoch}).update({k: getattr(m, k) for k in EPOCH_COLUMNS})
    path = Path(path)
    try:
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=STEP_COLUMNS + EPOCH_COLUMNS, restval="")
            writer.writeheader()
            writer.writerows(rows[step] for step in sorted(rows))
    except OSError as e:
        raise ValueError(f"cannot write {path}: {e.strerror or e}; choose a writable location") from e


def write_projector(folder, mu: np.ndarray, labels: np.ndarray, classes: list[str], images: np.ndarray) -> Path:
    """Write the files the TensorBoard Projector loads for latents `mu` [N, D] and their images.

    Open it at projector.tensorflow.org (Load: tensors.tsv, then metadata.tsv) or point TensorBoard's
    projector plugin at the folder (projector_config.pbtxt). Returns the folder.
    """
    from core.latent import image_grid, save_png

    folder = Path(folder)
    n, (h, w) = len(mu), images.shape[-2:]
    side = max(1, math.ceil(math.sqrt(n)))
    if side * max(h, w) > SPRITE_LIMIT_PX:
        raise ValueError(f"{n:,} images of {w}x{h} do not fit the Projector's {SPRITE_LIMIT_PX}-pixel sprite; "
                         f"export a smaller split (at most {(SPRITE_LIMIT_PX // max(h, w)) ** 2:,} images)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        np.savetxt(folder / "tensors.tsv", mu, delimiter="\t", fmt="%.6g")
        with open(folder / "metadata.tsv", "w", encoding="utf-8") as f:
            f.write("class\tindex\n")
            f.writelines(f"{classes[label]}\t{i}\n" for i, label in enumerate(labels))
        sprite = image_grid(images, nrow=side, padding=0, pad_value=0)
        full = np.zeros((3, side * h, side * w), np.uint8)  # the Projector expects a square sprite
        full[:, :sprite.shape[1], :sprite.shape[2]] = sprite
        save_png(full, folder / "sprite.png")
        (folder / "projector_config.pbtxt").write_text(
            'embeddings {\n  tensor_name: "vae-latent-means"\n  tensor_path: "tensors.tsv"\n'
            '  metadata_path: "metadata.tsv"\n  sprite {\n    image_path: "sprite.png"\n'
            f'    single_image_dim: {w}\n    single_image_dim: {h}\n  }}\n}}\n', encoding="utf-8")
    except OSError as e:
        raise ValueError(f"cannot write the Projector files into {folder}: {e.strerror or e}; "
                         f"choose a writable folder") from e
    return folder
