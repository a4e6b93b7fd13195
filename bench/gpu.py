"""GPU figures in one short run (a few minutes) on any CUDA machine. `--dry` runs the same code on the CPU
with a tiny model in seconds, so the script cannot rot (tests/explorer/test_gpu_bench.py runs it).

Prints the core trainer's img/s against a plain loop of the same model (fused Adam, no per-step
sync, data already on the device), each AMP and torch.compile variant of that loop, the achieved
TFLOP/s against the device's dense bf16 peak, and the GUI-versus-headless ratio when a display exists.
Usage: python bench/gpu.py [--batch-size 1024] [--seconds 8] [--no-gui] [--dry]
"""
from __future__ import annotations

import argparse
import contextlib
import os

import numpy as np
import torch

from common import Stopwatch  # noqa: F401  (puts the repository on sys.path)
from core.config import ModelConfig, TrainConfig
from core.data import Dataset, ImageSet
from core.loss import vae_loss
from core.model import ConvVAE, to_float
from core.devices import amp_dtype, device_label
from core.train import Trainer

PEAK_BF16_TFLOPS = {"H200": 989, "H100": 989, "A100": 312, "L40S": 362, "L4": 121, "A10": 125, "4090": 165}


def synthetic(n: int, side: int) -> Dataset:
    """CIFAR-10-sized random images (throughput does not depend on what the pixels show)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 3, side, side), dtype=np.uint8)
    labels = rng.integers(0, 10, n)
    return Dataset("synthetic", [str(k) for k in range(10)], ImageSet(images, labels), ImageSet(images[:256], labels[:256]))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_rate(step, device: torch.device, batch: int, seconds: float) -> float:
    """img/s of `step()` over about `seconds`, after a warm-up; one sync at each end, none in between."""
    for _ in range(3):
        step()
    sync(device)
    with Stopwatch() as probe:
        for _ in range(5):
            step()
        sync(device)
    n = max(5, int(seconds / max(probe.seconds / 5, 1e-6)))
    with Stopwatch() as sw:
        for _ in range(n):
            step()
        sync(device)
    return n * batch / sw.seconds


def flops_per_image(model_config: ModelConfig, device: torch.device, batch: int) -> float:
    """FLOPs of one training step (forward and backward) per image, counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    model = ConvVAE.from_config(model_config).to(device)
    x = torch.rand(batch, model_config.in_ch, model_config.img_size, model_config.img_size, device=device)
    with FlopCounterMode(display=False) as counter:
        recon, mu, logvar, _ = model(x)
        vae_loss(recon, x, mu, logvar)["loss"].backward()
    return counter.get_total_flops() / batch


def plain_loop(model_config, device, batch: int, amp: torch.dtype | None, compiled: bool, seconds: float) -> float:
    """The reference: the same model, loss and Adam, a fixed batch already on the device."""
    torch.manual_seed(0)
    model = ConvVAE.from_config(model_config).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    net = torch.compile(model) if compiled else model
    opt = torch.optim.Adam(model.parameters(), 1e-3, fused=device.type == "cuda")
    scaler = torch.amp.GradScaler("cuda") if amp is torch.float16 else None
    x = to_float(torch.randint(0, 256, (batch, model_config.in_ch, model_config.img_size, model_config.img_size),
                               dtype=torch.uint8, device=device))

    def step():
        with torch.autocast(device.type, dtype=amp) if amp else contextlib.nullcontext():
            recon, mu, logvar, _ = net(x)
        loss = vae_loss(recon, x, mu, logvar)["loss"]
        opt.zero_grad(set_to_none=True)
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()

    return timed_rate(step, device, batch, seconds)


def trainer_rate(data, model_config, device, batch: int, seconds: float) -> float:
    """core.train.Trainer.run as `vae-explorer train` runs it (a log point, with its one sync, every 50
    steps): the median img/s of its log points, stopped after `seconds`."""
    import threading

    from core.train import TrainControl

    config = TrainConfig(steps=10**9, batch_size=batch, log_every=50 if device.type == "cuda" else 5,
                         live_map=False, eval_images=256, device=device.type)
    trainer, control, rates = Trainer(data, config, model_config), TrainControl(), []
    threading.Timer(seconds + 1, control.stop).start()
    trainer.run(on_step=lambda m: rates.append(m.img_per_s), control=control)
    return float(np.median(rates[1:] or rates))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--seconds", type=float, default=8, help="per measurement")
    ap.add_argument("--no-gui", action="store_true")
    ap.add_argument("--dry", action="store_true", help="CPU, tiny model, short runs: checks the script works")
    args = ap.parse_args()
    if args.dry:
        device, model_config, batch, seconds = torch.device("cpu"), ModelConfig(latent_dim=8, channels=4), 16, 0.5
    elif torch.cuda.is_available():
        device, model_config, batch, seconds = torch.device("cuda"), ModelConfig(), args.batch_size, args.seconds
    else:
        raise SystemExit("no CUDA device here; run with --dry to check the script on the CPU")
    print(f"device: {device_label(device)}; model {model_config}; batch {batch}; torch {torch.__version__}")
    data = synthetic(50_000 if not args.dry else 2_048, model_config.img_size)
    flops = flops_per_image(model_config, device, min(batch, 64))
    own_amp = amp_dtype(device)
    reference = plain_loop(model_config, device, batch, own_amp, False, seconds)
    rate = trainer_rate(data, model_config, device, batch, seconds)
    print(f"core trainer: {rate:,.0f} img/s vs plain loop {reference:,.0f} img/s (AMP {own_amp}), ratio "
          f"{rate / reference:.2f}; target >= 1.0; {rate * 50_000 ** -1:.2f} CIFAR-10 epochs/s")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else ""
    peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    for amp in ([None, torch.bfloat16, torch.float16] if device.type == "cuda" else [None]):
        for compiled in ([False, True] if device.type == "cuda" else [False]):
            try:
                r = plain_loop(model_config, device, batch, amp, compiled, seconds)
            except Exception as e:  # a variant this device or build cannot run is reported, not fatal
                print(f"plain loop AMP {amp} compile {compiled}: failed ({type(e).__name__}: {str(e)[:120]})")
                continue
            tflops = r * flops / 1e12
            share = f", {100 * tflops / peak:.1f}% of the {peak} TFLOP/s bf16 peak" if peak else ""
            print(f"plain loop AMP {str(amp).replace('torch.', '')} compile {compiled}: {r:,.0f} img/s, "
                  f"{tflops:.2f} TFLOP/s{share}")
    print(f"training FLOPs per image: {flops / 1e9:.3f} GFLOP (forward + backward)")
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if args.no_gui or not (has_display or args.dry):
        print("GUI vs headless: skipped (no display)")
        return
    if args.dry:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from gui import gui_vs_headless

    app = QApplication.instance() or QApplication([])
    config = TrainConfig(epochs=100000, batch_size=batch, device=device.type)
    gui_vs_headless(app, "shapes", model_config, config, 6 if args.dry else 60, "GUI vs headless")


if __name__ == "__main__":
    main()
