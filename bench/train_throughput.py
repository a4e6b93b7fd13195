"""Training throughput in one run: core trainer vs a plain loop vs a torchvision DataLoader pipeline.

Prints img/s, ratios against the plain loop, and achieved GFLOP/s (0.315 GFLOP per image per step).
The trainer and the plain loop run alternately six times each; their medians are compared.
Usage: python bench/train_throughput.py [--steps 20] [--batch-size 128] [--compile]
"""
from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import torch
from common import Stopwatch, bench_dataset, plain_loop

from core.config import TrainConfig
from core.devices import capabilities, device_label, select_device
from core.loss import vae_loss
from core.model import ConvVAE
from core.train import Trainer

GFLOP_PER_IMAGE = 0.315


def core_trainer(data, device, steps, batch) -> float:
    """The trainer as it trains: `run()` with its default log points (each a sync, a finiteness check
    and a last-good copy of the state); no live map, and the end-of-run evaluation on 16 images."""
    config = TrainConfig(steps=steps + 3, batch_size=batch, eval_images=16, live_map=False, device=device.type)
    trainer = Trainer(data, config)
    for _ in range(3):
        trainer.train_step()
    with Stopwatch() as sw:
        trainer.run()
    return steps * batch / sw.seconds


class PILDataset(torch.utils.data.Dataset):
    """What a torchvision CIFAR10 dataset does per item: PIL image -> ToTensor."""

    def __init__(self, images: np.ndarray):
        from torchvision import transforms

        self.images, self.to_tensor = images.transpose(0, 2, 3, 1), transforms.ToTensor()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        from PIL import Image

        return self.to_tensor(Image.fromarray(self.images[i]))


def dataloader_loop(data, device, steps, batch) -> float:
    torch.manual_seed(0)
    model = ConvVAE().to(device)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loader = torch.utils.data.DataLoader(PILDataset(data.train.images), batch_size=batch, shuffle=True, drop_last=True)
    it = iter(loader)
    for i in range(steps + 3):
        if i == 3:
            sw = Stopwatch().__enter__()
        x = next(it).to(device)
        recon, mu, logvar, _ = model(x)
        loss = vae_loss(recon, x, mu, logvar)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
    sw.__exit__()
    return steps * batch / sw.seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile on the plain loop")
    args = ap.parse_args()
    device = select_device("auto")
    data = bench_dataset()
    print(f"device: {device_label(device)}; data: {data.name}; batch {args.batch_size}; {args.steps} timed steps")
    # the trainer and its reference alternate (ABBAAB) and each reports its median: whichever runs
    # second in a process was 3-4 % slower here, which alone decided the ratio
    pairs = [(core_trainer, []), (plain_loop, [])]
    for first in (0, 1, 1, 0, 0, 1):
        fn, rates = pairs[first]
        rates.append(fn(data, device, args.steps, args.batch_size))
        fn, rates = pairs[1 - first]
        rates.append(fn(data, device, args.steps, args.batch_size))
    results = {
        "plain loop (reference)": float(np.median(pairs[1][1])),
        "core trainer": float(np.median(pairs[0][1])),
        "torchvision DataLoader + ToTensor": dataloader_loop(data, device, args.steps, args.batch_size),
        "plain loop, channels_last": plain_loop(data, device, args.steps, args.batch_size,
                                                caps=dataclasses.replace(capabilities(device), channels_last=True)),
    }
    threads = torch.get_num_threads()
    if device.type == "cpu" and threads > 1:
        torch.set_num_threads(threads - 1)
        results[f"plain loop, {threads - 1} thread(s)"] = plain_loop(data, device, args.steps, args.batch_size)
        torch.set_num_threads(threads)
    if args.compile:
        results["plain loop, torch.compile"] = plain_loop(data, device, args.steps, args.batch_size, compile_=True)
    ref = results["plain loop (reference)"]
    for name, ips in results.items():
        print(f"{name:<38} {ips:8.1f} img/s  ratio {ips / ref:5.2f}  {ips * GFLOP_PER_IMAGE:6.1f} GFLOP/s")


if __name__ == "__main__":
    main()
