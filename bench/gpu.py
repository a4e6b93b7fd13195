"""The GPU check: one line per check, in a few minutes on one CUDA GPU. `--dry` runs every check on the CPU
with a tiny model in seconds (tests/explorer/test_gpu_bench.py), so the script cannot rot before a GPU comes.

Checks: a CPU checkpoint resumed on the GPU and a GPU one on the CPU; bf16 and fp16 (GradScaler, clip) within
0.3 dB of an autocast-off run after the same steps; no host sync inside a step; no recompiles with --compile;
the trainer's img/s against a plain loop of the same loss (alternating, whole runs); achieved TFLOP/s against
the GPU's dense bf16 peak (exact name); whether torch.compile speeds the plain loop; and the GUI-versus-CLI
ratio when a display exists.
Usage: python bench/gpu.py [--batch-size 1024] [--steps 200] [--no-gui] [--dry]
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import os

import numpy as np
import torch
from common import Stopwatch, plain_loop

from core.config import ModelConfig, TrainConfig
from core.data import make_shapes
from core.devices import Capabilities, capabilities, device_label
from core.loss import vae_loss
from core.metrics import Outcome
from core.model import ConvVAE
from core.train import Trainer

# dense bf16 tensor TFLOP/s by torch.cuda.get_device_name, matched exactly (vendor datasheets)
PEAK_BF16_TFLOPS = {
    "NVIDIA H200": 989, "NVIDIA H100 80GB HBM3": 989, "NVIDIA H100 PCIe": 756, "NVIDIA H100 NVL": 835,
    "NVIDIA A100-SXM4-80GB": 312, "NVIDIA A100-SXM4-40GB": 312, "NVIDIA A100 80GB PCIe": 312,
    "NVIDIA A100-PCIE-40GB": 312, "NVIDIA L40S": 362, "NVIDIA L40": 181, "NVIDIA L4": 121, "NVIDIA A10": 125,
    "NVIDIA GeForce RTX 4090": 165,
}
AMP_TOLERANCE_DB = 0.3


def report(name: str, ok: bool | None, detail: str) -> bool:
    print(f"{name:<34} {'PASS' if ok else 'skip' if ok is None else 'FAIL'}  {detail}")
    return ok is not False


def train(data, config: TrainConfig, model_config, checkpoint=None, caps: Capabilities | None = None) -> Trainer:
    trainer = Trainer(data, config, model_config, checkpoint=checkpoint, caps=caps)
    if trainer.run() is not Outcome.FINISHED:
        raise RuntimeError("the run did not finish")
    return trainer


def moments_match(trainer: Trainer) -> bool:
    return all(trainer.optimizer.state[p][k].stride() == p.stride()
               for p in trainer.model.parameters() for k in ("exp_avg", "exp_avg_sq"))


def check_resume(data, config, model_config, device) -> bool:
    """A checkpoint of one device resumed on the other, both ways, each 3 steps on."""
    ok = True
    for there, here in (("cpu", device.type), (device.type, "cpu")):  # on the CPU (--dry): cpu twice
        first = train(data, dataclasses.replace(config, steps=3, device=there), model_config)
        resumed = train(data, dataclasses.replace(config, steps=3, device=here), None, checkpoint=first.checkpoint())
        loss = resumed.history.steps[-1].loss
        good = resumed.step == 6 and np.isfinite(loss) and moments_match(resumed)
        ok &= report(f"resume {there} checkpoint on {here}", good, f"step {resumed.step}, loss {loss:.4g}")
    return ok


def check_amp(data, config, model_config, device, steps: int) -> bool:
    """bf16 and fp16 (GradScaler, gradient clip) against autocast off: test PSNR after the same steps."""
    base = capabilities(device)
    psnr = {}
    for name, dtype in (("off", None), ("bf16", torch.bfloat16), ("fp16", torch.float16)):
        run = dataclasses.replace(config, steps=steps, grad_clip=1.0 if dtype is torch.float16 else 0.0)
        psnr[name] = train(data, run, model_config, caps=dataclasses.replace(base, autocast=dtype)).evaluate().test_psnr
    ok = True
    for name in ("bf16", "fp16"):
        gap = psnr[name] - psnr["off"]
        ok &= report(f"autocast {name} vs off", abs(gap) <= AMP_TOLERANCE_DB,
                     f"{psnr[name]:.2f} vs {psnr['off']:.2f} dB after {steps} steps "
                     f"({gap:+.2f}; within {AMP_TOLERANCE_DB})")
    return ok


def check_no_sync(data, config, model_config, device) -> bool:
    """Steps between log points never wait for the device (torch.cuda.set_sync_debug_mode raises)."""
    if device.type != "cuda":
        return report("no host sync inside a step", None, "CUDA only")
    trainer = Trainer(data, dataclasses.replace(config, steps=10**6), model_config)
    trainer.train_step()  # the first epoch's permutation and lazy state out of the way
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(2 * trainer.steps_per_epoch):  # across an epoch end (a new permutation)
            trainer.train_step()
        good, detail = True, f"{2 * trainer.steps_per_epoch} steps"
    except RuntimeError as e:
        good, detail = False, str(e).splitlines()[0][:160]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return report("no host sync inside a step", good, detail)


def check_no_recompile(data, config, model_config) -> bool:
    """torch.compile compiles once: log points, evaluation and a new epoch change no guard."""
    import torch._dynamo

    torch._dynamo.reset()
    run = dataclasses.replace(config, compile=True, steps=None, epochs=2)
    with torch._dynamo.config.patch(error_on_recompile=True):
        try:
            train(data, run, model_config)
            good, detail = True, "2 epochs, one compilation"
        except Exception as e:  # RecompileError, or a backend this build cannot run
            good, detail = False, f"{type(e).__name__}: {str(e).splitlines()[0][:140]}"
    return report("no recompiles with --compile", good, detail)


def check_throughput(data, config, model_config, device, steps: int, order=(0, 1, 1, 0, 0, 1)) -> float:
    """Trainer.run (its log points, last-good copies and end-of-run evaluation included) against a plain
    loop of the same loss, layout, Adam and autocast; whole runs, alternating ABBAAB, medians -> img/s."""
    caps, rates = capabilities(device), {"trainer": [], "plain": []}
    run = dataclasses.replace(config, steps=steps, eval_images=256, log_every=50)  # as `vae-explorer train` logs

    def trainer_rate():
        trainer = Trainer(data, run, model_config)
        trainer.train_step()  # warm-up step, as the plain loop has
        with Stopwatch() as sw:
            trainer.run()
        return (trainer.step - 1) * config.batch_size / sw.seconds

    def plain_rate():
        return plain_loop(data, device, steps, config.batch_size, model_config, caps, loss=config.loss)

    for first in order:
        for name in (("trainer", "plain") if first == 0 else ("plain", "trainer")):
            rates[name].append(trainer_rate() if name == "trainer" else plain_rate())
    trainer, plain = float(np.median(rates["trainer"])), float(np.median(rates["plain"]))
    compiled = plain_loop(data, device, steps, config.batch_size, model_config, caps, loss=config.loss, compile_=True)
    report("plain loop with torch.compile", None, f"{compiled:,.0f} img/s, {compiled / plain:.2f} of eager "
                                                  f"(worth --compile where this is above 1)")
    report("trainer vs plain loop", None if device.type == "cpu" else trainer / plain >= 0.95,
           f"{trainer:,.0f} vs {plain:,.0f} img/s, ratio {trainer / plain:.2f} (loss {config.loss}, "
           f"AMP {caps.autocast}; target >= 1.0 within noise)")
    return trainer


def check_tflops(model_config, device, rate: float) -> None:
    """FLOPs of one training step counted by torch, times the trainer's rate, against the card's peak."""
    from torch.utils.flop_counter import FlopCounterMode

    model = ConvVAE.from_config(model_config).to(device)
    x = torch.rand(8, model_config.in_ch, model_config.img_size, model_config.img_size, device=device)
    with FlopCounterMode(display=False) as counter:
        recon, mu, logvar, _ = model(x)
        vae_loss(recon, x, mu, logvar)["loss"].backward()
    tflops = rate * counter.get_total_flops() / 8 / 1e12
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    peak = PEAK_BF16_TFLOPS.get(name)
    share = (f"{100 * tflops / peak:.1f}% of {name}'s {peak} TFLOP/s bf16 peak" if peak
             else f"no peak known for {name!r}")
    report("achieved TFLOP/s", None, f"{tflops:.2f} TFLOP/s; {share}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=200, help="steps of each AMP and throughput run")
    ap.add_argument("--no-gui", action="store_true")
    ap.add_argument("--dry", action="store_true", help="CPU, tiny model, short runs: checks the script works")
    args = ap.parse_args()
    if args.dry:
        device, model_config, batch, steps = torch.device("cpu"), ModelConfig(latent_dim=8, channels=4), 32, 12
        torch.compile = functools.partial(torch.compile, backend="eager")  # dynamo's guards, no C++ build
    elif torch.cuda.is_available():
        device, model_config, batch, steps = torch.device("cuda"), ModelConfig(), args.batch_size, args.steps
    else:
        raise SystemExit("no CUDA device here; run with --dry to check the script on the CPU")
    print(f"device: {device_label(device)}; model {model_config}; batch {batch}; torch {torch.__version__}")
    data = make_shapes(n_train=20 * batch, n_test=512, seed=0)  # learnable, so the AMP runs compare quality
    config = TrainConfig(batch_size=batch, device=device.type, live_map=False, eval_images=512)
    ok = check_resume(data, config, model_config, device)
    ok &= check_amp(data, config, model_config, device, steps)
    ok &= check_no_sync(data, config, model_config, device)
    ok &= check_no_recompile(data, config, model_config)
    order = (0, 1) if args.dry else (0, 1, 1, 0, 0, 1)  # dry: once each, the script only has to work
    check_tflops(model_config, device, check_throughput(data, config, model_config, device, steps, order))
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if args.no_gui or not (has_display or args.dry):
        report("GUI vs CLI", None, "no display")
    else:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from gui import gui_vs_headless
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([])
        gui_vs_headless(app, "shapes", model_config, TrainConfig(epochs=100000, batch_size=batch, device=device.type),
                        6 if args.dry else 60, "GUI vs CLI")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
