"""What the live map costs training on the CPU, in one run: the time of one frame (encode the map
subset + aligned PCA) against the training time between frames, and training img/s with and
without the live map over the same steps.

Usage: python bench/live_map.py [--steps 200] [--images 1000] [--interval 30]  (the CPU defaults)
"""
from __future__ import annotations

import argparse
import statistics

from common import Stopwatch, bench_dataset

from core.config import TrainConfig
from core.train import Trainer


def img_per_s(data, steps: int, live: bool, images: int, interval: float) -> float:
    config = TrainConfig(steps=steps + 1, batch_size=128, device="cpu", live_map=live, live_map_images=images,
                         live_map_interval_s=interval, log_every=steps + 1)
    trainer = Trainer(data, config)
    trainer.target_step = 10**9  # no epoch-end evaluation inside the timed window
    trainer.train_step()  # warm-up
    with Stopwatch() as sw:
        for _ in range(steps):
            trainer.train_step()
            if live and trainer._live_clock.due(epoch_end=False):
                trainer.capture_frame()
    return steps * 128 / sw.seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)  # about a minute: at least one frame in the live run
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--interval", type=float, default=30.0)
    args = ap.parse_args()
    data = bench_dataset()
    trainer = Trainer(data, TrainConfig(steps=1, device="cpu", live_map_images=args.images))
    times = []
    for _ in range(3):
        with Stopwatch() as sw:
            trainer.capture_frame()
        times.append(sw.seconds)
    frame_s = statistics.median(times)
    print(f"data: {data.name}; one live-map frame of {args.images:,} images: {1000 * frame_s:.0f} ms (median of 3); "
          f"every {args.interval:g} s of training that is {100 * frame_s / (args.interval + frame_s):.1f}% "
          f"of the time; target <= 3%")
    off = img_per_s(data, args.steps, False, args.images, args.interval)
    on = img_per_s(data, args.steps, True, args.images, args.interval)
    print(f"training {args.steps} steps: {on:.1f} img/s with the live map, {off:.1f} img/s without "
          f"(ratio {on / off:.3f}; machines vary by +-20%, the frame cost above is the steadier figure)")


if __name__ == "__main__":
    main()
