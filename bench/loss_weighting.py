"""Each loss weighting after the same training, in one run: test PSNR, KL per dim, informative dims
(> 0.1 nat), active units, latent kNN accuracy (raw pixels as the reference), prior mismatch, and
sample grids from the prior and from the fitted mixture (written to bench/out/).

Usage: python bench/loss_weighting.py [--epochs 1] [--modes elbo calibrated sum mean] [--batch-size 128]
(one CIFAR-10 epoch is 391 steps, about 3.5 minutes per weighting on 2 CPU cores)
"""
from __future__ import annotations

import argparse

import numpy as np
from common import ROOT, Stopwatch, bench_dataset

from core.config import LOSS_MODES, TrainConfig
from core.latent import fit_training_mixture, image_grid, sample_mixture, sample_prior, save_png
from core.structure import class_structure
from core.train import Trainer

OUT = ROOT / "bench" / "out"


def compare(stems: list[str], path) -> None:
    """One PNG of the grids side by side: for each stem, its prior then its mixture samples."""
    from PIL import Image

    grids = [np.asarray(Image.open(OUT / f"{stem}_{kind}.png").convert("RGB")) for stem in stems
             for kind in ("prior", "mixture")]
    gap = np.full((grids[0].shape[0], 12, 3), 255, np.uint8)
    row = np.concatenate([part for g in grids for part in (g, gap)][:-1], axis=1)
    save_png(row.transpose(2, 0, 1), path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--modes", nargs="+", choices=LOSS_MODES, default=["elbo", "calibrated"])
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=TrainConfig.lr)
    ap.add_argument("--lr-schedule", default=TrainConfig.lr_schedule)
    ap.add_argument("--lr-warmup", type=int, default=TrainConfig.lr_warmup)
    ap.add_argument("--grad-clip", type=float, default=TrainConfig.grad_clip)
    args = ap.parse_args()
    data = bench_dataset()
    OUT.mkdir(exist_ok=True)
    pixels = data.test.images[:5000].reshape(5000, -1).astype(np.float32) / 255
    print(f"data: {data.name}; {args.epochs} epoch(s), batch {args.batch_size}, Adam {args.lr:g} "
          f"({args.lr_schedule}, warm-up {args.lr_warmup}, clip {args.grad_clip:g}), beta 1, seed 0; "
          f"test figures on 2,000 test images, kNN (core.structure) on 5,000")
    print(f"reference: kNN accuracy of raw pixels {100 * class_structure(pixels, data.test.labels[:5000]):.1f}%")
    print(f"{'weighting':<11} {'PSNR dB':>8} {'KL/dim':>7} {'>0.1 nat':>8} {'active':>6} {'kNN %':>6} "
          f"{'mismatch':>9} {'time':>6}")
    for mode in args.modes:
        config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, loss=mode, log_every=100, device="cpu",
                             lr=args.lr, lr_schedule=args.lr_schedule, lr_warmup=args.lr_warmup,
                             grad_clip=args.grad_clip, live_map=False)
        trainer = Trainer(data, config)
        with Stopwatch() as sw:
            trainer.run()
        m = trainer.history.epochs[-1]
        model = trainer.model.cpu().eval()
        from core.latent import encode

        knn = class_structure(encode(model, data.test.images[:5000]), data.test.labels[:5000])
        print(f"{mode:<11} {m.test_psnr:>8.2f} {m.kl_per_dim:>7.3f} {m.informative_dims:>8} "
              f"{m.active_units:>6} {100 * knn:>6.1f} {m.prior_mismatch:>9.1f} {sw.seconds:>5.0f}s", flush=True)
        stem = f"samples_{mode}_{args.epochs}ep_{args.lr_schedule}"
        save_png(image_grid(sample_prior(model, 64, 1.0, seed=0), nrow=8), OUT / f"{stem}_prior.png")
        mixture = fit_training_mixture(model, data.train.images)
        save_png(image_grid(sample_mixture(model, mixture, 64, 1.0, seed=0), nrow=8), OUT / f"{stem}_mixture.png")
    print(f"sample grids: {OUT}/samples_<weighting>_{args.epochs}ep_{args.lr_schedule}_{{prior,mixture}}.png")
    side_by_side = OUT / f"samples_compare_{args.epochs}ep.png"
    compare([f"samples_{mode}_{args.epochs}ep_{args.lr_schedule}" for mode in args.modes], side_by_side)
    print(f"side by side ({', '.join(f'{m} prior, {m} mixture' for m in args.modes)}): {side_by_side}")


if __name__ == "__main__":
    main()
