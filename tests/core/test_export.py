"""Exports other tools read: the metrics CSV round-trips; the Projector files match each other."""
import csv

import numpy as np
import pytest
from PIL import Image

from core.export import write_metrics_csv, write_projector
from core.metrics import EpochMetrics, StepMetrics


def test_metrics_csv_round_trips_steps_and_epoch_figures(tmp_path):
    steps = [StepMetrics(step=s, loss=100.0 / s, recon=90.0 / s, kld=10.0 / s, beta=1.0, epoch=s / 8,
                         img_per_s=50.0 + s)
             for s in range(2, 17, 2)]
    epochs = [EpochMetrics(step=8, epoch=1, test_mse=0.02, test_psnr=16.99, kl_per_dim=0.3, test_loss=9.5),
              EpochMetrics(step=15, epoch=1, test_mse=0.018, test_psnr=17.4, kl_per_dim=0.31, test_loss=9.0)]
    write_metrics_csv(tmp_path / "m.csv", steps, [e.to_dict() for e in epochs])  # dicts, as checkpoints hold
    with open(tmp_path / "m.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [2, 4, 6, 8, 10, 12, 14, 15, 16]  # 15: an epoch end not logged
    by_step = {int(r["step"]): r for r in rows}
    for m in steps:
        r = by_step[m.step]
        assert float(r["loss"]) == pytest.approx(m.loss) and float(r["img_per_s"]) == pytest.approx(m.img_per_s)
    assert float(by_step[8]["test_psnr"]) == pytest.approx(16.99) and by_step[10]["test_psnr"] == ""
    assert float(by_step[15]["test_loss"]) == pytest.approx(9.0) and by_step[15]["loss"] == ""
    with pytest.raises(ValueError, match="cannot write"):
        write_metrics_csv(tmp_path / "no" / "m.csv", steps, [])


def test_projector_files_match_each_other(tmp_path):
    rng = np.random.default_rng(0)
    n, classes = 50, ["cat", "dog", "ship"]
    mu = rng.normal(size=(n, 6)).astype(np.float32)
    labels = rng.integers(0, 3, n)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    folder = write_projector(tmp_path / "proj", mu, labels, classes, images)
    tensors = np.loadtxt(folder / "tensors.tsv", delimiter="\t")
    np.testing.assert_allclose(tensors, mu, rtol=1e-5, atol=1e-6)
    meta = (folder / "metadata.tsv").read_text().splitlines()
    assert meta[0] == "class\tindex" and len(meta) == n + 1
    assert meta[1 + 7] == f"{classes[labels[7]]}\t7"
    sprite = np.asarray(Image.open(folder / "sprite.png"))
    assert sprite.shape == (8 * 32, 8 * 32, 3)  # ceil(sqrt(50)) = 8 images a side
    np.testing.assert_array_equal(sprite[32:64, 64:96].transpose(2, 0, 1), images[8 + 2])  # row 1, column 2
    config = (folder / "projector_config.pbtxt").read_text()
    for name in ("tensors.tsv", "metadata.tsv", "sprite.png", "single_image_dim: 32"):
        assert name in config
    with pytest.raises(ValueError, match="sprite"):
        write_projector(tmp_path / "big", np.zeros((70_000, 2)), np.zeros(70_000, int), classes,
                        np.zeros((70_000, 3, 32, 32), np.uint8))
