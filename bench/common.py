"""Helpers shared by the benchmark scripts: data choice and a stopwatch. Benchmarks print, never assert."""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_CIFAR = ROOT.parent / "shared" / "datasets" / "cifar10"


def bench_dataset():
    """Real CIFAR-10 from ../shared when present, else the synthetic shapes set."""
    from core.data import load_cifar10, make_shapes

    if (SHARED_CIFAR / "cifar-10-batches-py").is_dir():
        return load_cifar10(SHARED_CIFAR)
    print("(../shared CIFAR-10 not found: using shapes)")
    return make_shapes()


class Stopwatch:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def plain_loop(data, device, steps: int, batch: int, model_config=None, caps=None, loss: str | None = None,
               compile_: bool = False) -> float:
    """The fair reference for the trainer -> img/s: the same model, loss, Adam implementation, layout and
    autocast (by the device's Capabilities), each step's batch gathered from the same uint8 images on the
    device by an order made once, no per-step sync; 3 warm-up steps, then `steps` timed ones."""
    import torch

    from core.config import ModelConfig, TrainConfig
    from core.devices import autocast, capabilities
    from core.loss import vae_loss
    from core.model import ConvVAE

    caps = caps or capabilities(device)
    torch.manual_seed(0)
    model = ConvVAE.from_config(model_config or ModelConfig()).to(device)
    layout = torch.channels_last if caps.channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)
    net = torch.compile(model) if compile_ else model
    opt = torch.optim.Adam(model.parameters(), 1e-3, **({"fused": True} if caps.fused_adam else {"foreach": True}))
    scaler = torch.amp.GradScaler(device.type) if caps.grad_scaler else None
    images = torch.from_numpy(data.train.images).to(device)
    order = torch.randperm(len(images)).to(device)
    loss_mode = loss or TrainConfig().loss

    def step(i):
        j = i % (len(images) // batch)
        x = images[order[j * batch:(j + 1) * batch]].float().div_(255).contiguous(memory_format=layout)
        with autocast(device, caps.autocast):
            recon, mu, logvar, _ = net(x)
        value = vae_loss(recon, x, mu, logvar, reduction=loss_mode)["loss"]
        opt.zero_grad(set_to_none=True)
        if scaler:
            scaler.scale(value).backward()
            scaler.step(opt)
            scaler.update()
        else:
            value.backward()
            opt.step()  # no loss.item(): no per-step sync in the reference either

    for i in range(3):
        step(i)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    with Stopwatch() as sw:
        for i in range(3, 3 + steps):
            step(i)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    return steps * batch / sw.seconds


def bench_window(folder: Path, size: tuple[int, int] = (1400, 860), dataset: str = "cifar10", **settings):
    """(app, the real MainWindow offscreen) once `dataset` has loaded (CIFAR-10 from ../shared, or "shapes"),
    its settings in `folder` (plus `settings`), errors recorded rather than shown: the screenshot and soak
    scripts' start."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from explorer.main_window import MainWindow
    from explorer.selftest import wait_until

    app = QApplication.instance() or QApplication(sys.argv[:1])
    stored = QSettings(str(folder / "settings.ini"), QSettings.IniFormat)
    data_dir = {"data_dir": str(SHARED_CIFAR)} if dataset == "cifar10" else {}
    for key, value in {**data_dir, "dataset": dataset, **settings}.items():
        stored.setValue(key, value)
    window = MainWindow(stored)
    window.messages.interactive = False
    window.resize(*size)
    window.show()
    window.start_loading()
    wait_until(app, lambda: window.session.dataset is not None and not window.runner.busy, 120, dataset)
    return app, window
