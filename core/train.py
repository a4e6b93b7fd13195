"""The training loop: no Qt, driven by callbacks and a thread-safe TrainControl.

The whole dataset sits on the device as uint8 and is shuffled by a per-epoch permutation;
batches become float in [0,1] there. Resuming from a checkpoint continues at the same step.
"""
from __future__ import annotations

import math
import os
import threading
import time
from typing import Callable

import numpy as np
import torch

from core.checkpoint import Checkpoint
from core.config import ModelConfig, TrainConfig
from core.data import Dataset
from core.loss import calibrated_nll, posterior_stats, vae_loss, warmup_beta
from core.metrics import EpochMetrics, Outcome, StepMetrics, StepTerms
from core.live_map import LiveMap, LiveMapClock, MapFrame
from core.model import ConvVAE, to_float


class TrainingError(Exception):
    """Training cannot go on (for example the loss became NaN); the message says what to change."""


class TrainControl:
    """Pause / resume / stop flags shared between a GUI thread and the training thread."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._waiting = threading.Event()  # set while the training thread sits paused

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def waiting(self) -> bool:
        """True while the training thread is blocked in `wait_while_paused`."""
        return self._waiting.is_set()

    def wait_while_paused(self) -> None:
        if self._running.is_set():
            return
        self._waiting.set()
        try:
            while not self._running.wait(0.05):
                pass
        finally:
            self._waiting.clear()


def select_device(name: str = "auto") -> torch.device:
    """auto picks cuda > mps > cpu. Asking for a missing accelerator is a ValueError."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise ValueError(f"device {name!r} is not available on this machine; use auto or cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be auto, cpu, cuda or mps, got {name!r}")
    return torch.device(name)


def device_label(device: torch.device) -> str:
    """Human description, e.g. "CUDA: NVIDIA A100" or "CPU, 1 of 2 threads"."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU, {torch.get_num_threads()} of {os.cpu_count()} threads"


class Trainer:
    """Trains a ConvVAE on a Dataset; knows nothing of GUIs (progress goes to callbacks)."""

    def __init__(
        self,
        dataset: Dataset,
        config: TrainConfig,
        model_config: ModelConfig | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        config.validate()
        self.config, self.dataset = config, dataset
        self.device = select_device(config.device)
        if self.device.type == "cpu" and config.threads:
            torch.set_num_threads(config.threads)
        if checkpoint is not None:
            self.model = checkpoint.build_model()
            self.step, self.history = checkpoint.step, {k: list(v) for k, v in checkpoint.history.items()}
        else:
            torch.manual_seed(config.seed)
            self.model = ConvVAE.from_config(model_config or ModelConfig())
            self.step, self.history = 0, {"steps": [], "epochs": []}
        self.model_config = self.model.config
        self.model.to(self.device)
        if self.device.type == "cuda":
            self.model.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        if checkpoint is not None and checkpoint.optimizer_state is not None:
            self.optimizer.load_state_dict(checkpoint.optimizer_state)
            for group in self.optimizer.param_groups:
                group["lr"] = config.lr
        self.noise = torch.Generator(device=self.device)
        self.noise.manual_seed(config.seed)
        if checkpoint is not None and checkpoint.rng_state is not None:
            self.noise.set_state(checkpoint.rng_state)
        self.train_x = torch.from_numpy(dataset.train.images).to(self.device)  # (N, C, H, W) uint8
        n_eval = config.eval_images or len(dataset.test)
        self.test_x = torch.from_numpy(dataset.test.images[:n_eval]).to(self.device)
        self.steps_per_epoch = max(1, len(dataset.train) // config.batch_size)
        run_steps = config.steps if config.steps else config.epochs * self.steps_per_epoch
        self.target_step = self.step + run_steps
        self.start_step = self.step
        self.amp = self.device.type == "cuda" and torch.cuda.is_bf16_supported()
        self.live_map, self._live_clock = self._make_live_map(checkpoint)

    def _make_live_map(self, checkpoint: Checkpoint | None) -> tuple[LiveMap | None, LiveMapClock | None]:
        """The live map of this run: continued from the checkpoint's frames when they match."""
        if not self.config.live_map or len(self.dataset.test) < 3:  # PCA of a frame needs a few points
            return None, None
        images, interval = self.config.live_map_settings(self.device.type)
        live = LiveMap.choose(len(self.dataset.test), images)
        if checkpoint is not None and checkpoint.map_frames is not None:
            previous = LiveMap.from_dict(checkpoint.map_frames)
            if previous.split == live.split and np.array_equal(previous.indices, live.indices):
                live = previous
        return live, LiveMapClock(interval)

    def capture_frame(self) -> MapFrame | None:
        """Encode the live map's subset with the model as it is now and add a frame."""
        if self.live_map is None:
            return None
        frame = self.live_map.capture(self.model, self.dataset.test.images, self.step)
        self._live_clock.reset()
        return frame

    @property
    def epoch(self) -> int:
        return self.step // self.steps_per_epoch

    def _batch_indices(self) -> torch.Tensor:
        epoch, pos = divmod(self.step, self.steps_per_epoch)
        gen = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        perm = torch.randperm(len(self.train_x), generator=gen)
        b = self.config.batch_size
        return perm[pos * b:(pos + 1) * b].to(self.device)

    def train_step(self) -> StepTerms:
        """One optimizer step -> its loss terms. Raises TrainingError on NaN/inf."""
        self.model.train()
        x = to_float(self.train_x[self._batch_indices()])
        beta = warmup_beta(self.config.beta, self.step, self.config.kl_warmup)
        buffers = [b.clone() for b in self.model.buffers()]  # BN statistics, restored on NaN
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            recon, mu, logvar, _ = self.model(x, generator=self.noise)
        terms = vae_loss(recon, x, mu, logvar, beta=beta, reduction=self.config.loss)
        loss, rec, kld = torch.stack([terms["loss"], terms["recon"], terms["kld"]]).tolist()
        if not math.isfinite(loss):
            for b, saved in zip(self.model.buffers(), buffers):
                b.copy_(saved)
            raise TrainingError(
                f"The loss became {loss} at step {self.step}; the weights were not updated. "
                f"Lower the learning rate (now {self.config.lr:g}) or beta, then resume."
            )
        self.optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        if self.config.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        self.optimizer.step()
        self.step += 1
        return StepTerms(loss, rec, kld, beta)

    def learning_rate(self) -> float:
        """The learning rate of the next step: warm-up, then constant or cosine decay over this run."""
        t, total = self.step - self.start_step, max(1, self.target_step - self.start_step)
        lr = self.config.lr * min(1.0, (t + 1) / self.config.lr_warmup) if self.config.lr_warmup else self.config.lr
        if self.config.lr_schedule == "cosine":
            lr *= 0.5 * (1 + math.cos(math.pi * t / total))
        return lr

    @torch.inference_mode()
    def evaluate(self, batch_size: int = 500, control: TrainControl | None = None) -> EpochMetrics | None:
        """Test MSE and PSNR (dB) of the decoded posterior means, KL per latent dim, and the test
        loss terms in the training weighting with a sampled z (so they plot beside the training curve).
        Returns None if `control` is stopped part-way (closing the app must not wait for it)."""
        was_training = self.model.training
        self.model.eval()
        noise = torch.Generator(device=self.device).manual_seed(0)  # fixed: the same draw every epoch
        sq, sq_sampled, n = 0.0, 0.0, 0
        mus, logvars = [], []
        try:
            for i in range(0, len(self.test_x), batch_size):
                if control is not None and control.stopped:
                    return None
                x = to_float(self.test_x[i:i + batch_size])
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                    mu, logvar = self.model.encode(x)
                    recon = self.model.decode(mu)  # the picture users see: decoded posterior mean
                    recon_sampled = self.model.decode(self.model.reparameterize(mu, logvar, noise))  # as in training
                sq += (recon.float() - x).pow(2).sum().item()
                sq_sampled += (recon_sampled.float() - x).pow(2).sum().item()
                mus.append(mu.float())
                logvars.append(logvar.float())
                n += len(x)
        finally:
            self.model.train(was_training)
        pixels = x[0].numel()
        stats = posterior_stats(torch.cat(mus), torch.cat(logvars))
        sq_img, kl_img = sq_sampled / n, sum(stats["kl_dims"])  # per-image sums, averaged over images
        scale = {"elbo": (1, 1), "calibrated": (1, 1), "mean": (1 / pixels, 1),
                 "sum": (self.config.batch_size, self.config.batch_size)}
        rec_w, kl_w = scale[self.config.loss]
        test_recon = sq_img * rec_w
        if self.config.loss == "calibrated":  # nats per image, as in training
            test_recon = calibrated_nll(torch.tensor(sq_img), torch.tensor(sq_img / pixels), pixels).item()
        beta = warmup_beta(self.config.beta, self.step, self.config.kl_warmup)
        mse = sq / n / pixels
        return EpochMetrics(
            step=self.step, epoch=self.epoch, test_mse=mse,
            test_psnr=10 * math.log10(1 / max(mse, 1e-12)), kl_per_dim=kl_img / self.model_config.latent_dim,
            test_recon=test_recon, test_kld=kl_img * kl_w, test_loss=test_recon + beta * kl_img * kl_w, **stats,
        )

    def run(
        self,
        on_step: Callable[[StepMetrics], None] | None = None,
        on_epoch: Callable[[EpochMetrics], None] | None = None,
        control: TrainControl | None = None,
        on_frame: Callable[[MapFrame], None] | None = None,
    ) -> Outcome:
        """Train up to target_step -> FINISHED or STOPPED. Metrics also go to self.history (as dicts);
        live-map frames (at epoch ends and every live_map_interval_s) to `on_frame` and self.live_map."""
        control = control or TrainControl()
        sums, t0, s0 = [0.0, 0.0, 0.0], time.perf_counter(), self.step
        while self.step < self.target_step:
            control.wait_while_paused()
            if control.stopped:
                return Outcome.STOPPED
            terms = self.train_step()
            sums = [sums[0] + terms.loss, sums[1] + terms.recon, sums[2] + terms.kld]
            if self.step % self.config.log_every == 0 or self.step == self.target_step:
                now = time.perf_counter()
                n = self.step - s0
                steps_per_s = n / max(now - t0, 1e-9)
                m = StepMetrics(
                    step=self.step, epoch=self.step / self.steps_per_epoch,
                    loss=sums[0] / n, recon=sums[1] / n, kld=sums[2] / n, beta=terms.beta,
                    img_per_s=steps_per_s * self.config.batch_size,
                    eta_s=(self.target_step - self.step) / steps_per_s, total_steps=self.target_step,
                )
                self.history["steps"].append(m.to_dict())
                if on_step:
                    on_step(m)
                sums, t0, s0 = [0.0, 0.0, 0.0], time.perf_counter(), self.step
            epoch_end = self.step % self.steps_per_epoch == 0 or self.step == self.target_step
            if self.live_map is not None and (epoch_end or self._live_clock.due()):
                started = time.perf_counter()
                frame = self.capture_frame()
                if on_frame:
                    on_frame(frame)
                t0 += time.perf_counter() - started  # map frames are not training throughput
            if epoch_end:
                metrics = self.evaluate(control=control)
                if metrics is None:
                    return Outcome.STOPPED
                self.history["epochs"].append(metrics.to_dict())
                if on_epoch:
                    on_epoch(metrics)
                t0 = time.perf_counter()  # evaluation time is not training throughput
        return Outcome.FINISHED

    def checkpoint(self) -> Checkpoint:
        """A snapshot on the CPU (copies, safe to hand to another thread or save)."""
        def cpu(obj):
            if isinstance(obj, torch.Tensor):
                return obj.detach().to("cpu", copy=True)
            if isinstance(obj, dict):
                return {k: cpu(v) for k, v in obj.items()}
            if isinstance(obj, list):
                return [cpu(v) for v in obj]
            return obj

        return Checkpoint(
            model_config=self.model_config,
            model_state={k: cpu(v.contiguous()) for k, v in self.model.state_dict().items()},
            optimizer_state=cpu(self.optimizer.state_dict()),
            step=self.step, epoch=self.epoch,
            history={k: [dict(m) for m in v] for k, v in self.history.items()},
            train_config=self.config, dataset=self.dataset.name, classes=list(self.dataset.classes),
            rng_state=self.noise.get_state().cpu(),
            map_frames=self.live_map.to_dict() if self.live_map is not None and self.live_map.frames else None,
        )
