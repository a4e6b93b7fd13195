"""Test PSNR after a fixed number of steps for each loss weighting (mean, sum, elbo), in one run.

Usage: python bench/loss_weighting.py [--steps 100] [--batch-size 128]
"""
from __future__ import annotations

import argparse

from common import Stopwatch, bench_dataset
from core.config import TrainConfig
from core.train import Trainer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=128)
    args = ap.parse_args()
    data = bench_dataset()
    print(f"data: {data.name}; {args.steps} steps, batch {args.batch_size}, Adam 1e-3, beta 1; "
          f"test metrics on 2,000 test images")
    rows = {}
    for mode in ("mean", "sum", "elbo"):
        config = TrainConfig(steps=args.steps, batch_size=args.batch_size, loss=mode, log_every=args.steps)
        trainer = Trainer(data, config)
        with Stopwatch() as sw:
            trainer.run()
        rows[mode] = trainer.history["epochs"][-1]
        m = rows[mode]
        print(f"{mode:<5} test MSE {m['test_mse']:.4f}  PSNR {m['test_psnr']:5.2f} dB  "
              f"KL/dim {m['kl_per_dim']:.3f}  ({sw.seconds:.0f} s)")
    ref = rows["mean"]["test_mse"]
    for mode, m in rows.items():
        print(f"MSE ratio {mode}/mean: {m['test_mse'] / ref:.2f}")


if __name__ == "__main__":
    main()
