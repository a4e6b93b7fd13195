"""The training loop: no Qt, driven by callbacks and a thread-safe TrainControl.

The whole dataset sits on the device as uint8; each epoch's permutation is made once and lives
there too. A step queues its work without waiting for the device: loss terms are summed on the
device and read, with a finiteness check, only at log points, where a last-good copy of the state
is kept (a bad step costs at most the steps since the previous log point). Under torchrun each
process takes its shard of every global batch (core.distributed). Resuming continues at the same step.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Callable

import numpy as np
import torch

from core import distributed
from core.checkpoint import Checkpoint
from core.config import ModelConfig, TrainConfig
from core.contrastive import ContrastiveTerm, recon_scale
from core.data import Dataset
from core.devices import Capabilities, autocast, capabilities, cpu_threads, select_device
from core.distributed import Ranks, lost_peers
from core.live_map import LiveMap, LiveMapClock, MapFrame
from core.loss import calibrated_nll, posterior_stats, vae_loss, warmup_beta
from core.metrics import EpochMetrics, History, Outcome, StepMetrics
from core.model import ConvVAE, to_float
from core.rollback import Rollback, cpu_copy, load_adam_state
from core.structure import PROTOCOL_ID, class_structure, structure_images


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


class Trainer:
    """Trains a ConvVAE on a Dataset; knows nothing of GUIs (progress goes to callbacks).

    `ranks` (core.distributed.Ranks) makes it one process of a data-parallel job: `batch_size` is
    per process, and only rank 0 evaluates, draws live-map frames and calls `on_epoch`/`on_frame`.
    """

    def __init__(
        self,
        dataset: Dataset,
        config: TrainConfig,
        model_config: ModelConfig | None = None,
        checkpoint: Checkpoint | None = None,
        ranks: Ranks | None = None,
        caps: Capabilities | None = None,
    ) -> None:
        config.validate()
        self.config, self.dataset, self.ranks = config, dataset, ranks or Ranks()
        self.device = select_device(config.device)
        if self.ranks.world > 1:
            self.device = distributed.start(self.ranks, self.device)
        self.caps = caps or capabilities(self.device)  # `caps`: a test runs the CPU as if it were another device
        if self.caps.cudnn_benchmark:
            torch.backends.cudnn.benchmark = True
        if self.device.type == "cpu":  # on this thread: the GUI thread keeps its own (explorer/loading.py)
            torch.set_num_threads(cpu_threads(config.threads))
        if checkpoint is not None:
            self.model = checkpoint.build_model()
            self.step, self.history = checkpoint.step, History.from_dict(checkpoint.history.to_dict())
        else:
            torch.manual_seed(config.seed)
            self.model = ConvVAE.from_config(model_config or ModelConfig())
            self.step, self.history = 0, History()
        self.model_config = self.model.config
        self.model.to(self.device)
        if self.caps.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.net = self._network()
        self.amp = self.caps.autocast
        self.scaler = torch.amp.GradScaler(self.device.type) if self.caps.grad_scaler else None
        # fused Adam on CUDA; multi-tensor (foreach) elsewhere: 14 instead of 19 ms a step for the reference
        # model on 2 CPU cores (torch's CPU default is one tensor at a time)
        implementation = {"fused": True} if self.caps.fused_adam else {"foreach": True}
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, **implementation)
        if checkpoint is not None and checkpoint.optimizer_state is not None:
            load_adam_state(self.optimizer, checkpoint.optimizer_state, config.lr)
        self.contrast = None  # the contrastive option's head, beside the model (core.contrastive)
        if config.contrast > 0:
            state = checkpoint.contrast_state if checkpoint is not None else None
            self.contrast = ContrastiveTerm(self.model_config.latent_dim, config.contrast, config.augment, config.lr,
                                            self.device, implementation, state)
            self.contrast.net = self._parallel(self.contrast.head)
        self.optimizers = [self.optimizer] + ([self.contrast.optimizer] if self.contrast else [])
        trained = torch.nn.ModuleList([self.model, self.contrast.head]) if self.contrast else self.model
        self._rollback = Rollback(trained, *self.optimizers)  # the state to go back to after a bad step
        self.noise = torch.Generator(device=self.device)  # seeded per step: see _noise
        self.train_x = torch.from_numpy(dataset.train.images).to(self.device)  # (N, C, H, W) uint8
        n_eval = config.eval_images or len(dataset.test)
        self.test_x = torch.from_numpy(dataset.test.images[:n_eval]).to(self.device)
        self.structure_x = torch.from_numpy(structure_images(dataset.test.images)[n_eval:]).to(self.device)
        self.global_batch = config.batch_size * self.ranks.world
        if self.global_batch > len(self.train_x):
            raise ValueError(f"the batch ({config.batch_size} x {self.ranks.world} processes) is larger than the "
                             f"{len(self.train_x)} training images; lower --batch-size")
        self.steps_per_epoch = max(1, len(self.train_x) // self.global_batch)
        run_steps = config.steps if config.steps else config.epochs * self.steps_per_epoch
        self.target_step = self.step + run_steps
        self.start_step = self.step
        self._order, self._order_epoch = None, -1  # the current epoch's permutation, on the device
        self._sums = torch.zeros(4, device=self.device)  # loss, recon, kld, bad steps since the last log point
        self._summed, self._beta = 0, config.beta
        self.live_map, self._live_clock = self._make_live_map(checkpoint)
        steps = self.history.steps
        self._wall_before = float(steps.column("wall_s")[-1]) if len(steps) else 0.0  # earlier sessions of the run
        self._wall_start = time.perf_counter()

    def _network(self) -> torch.nn.Module:
        """What a step calls: the model, wrapped for data parallelism and compiled when asked."""
        net = self._parallel(self.model)
        return torch.compile(net) if self.config.compile else net

    def _parallel(self, module: torch.nn.Module) -> torch.nn.Module:
        """`module` wrapped for data parallelism in a torchrun job (its gradients averaged over the processes)."""
        if self.ranks.world == 1:
            return module
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(module, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def _make_live_map(self, checkpoint: Checkpoint | None) -> tuple[LiveMap | None, LiveMapClock | None]:
        """The live map of this run: continued from the checkpoint's frames when they match."""
        if not self.config.live_map or not self.ranks.main or len(self.dataset.test) < 3:  # PCA needs a few points
            return None, None
        images, interval, min_gap = self.config.live_map_settings(self.device.type)
        live = LiveMap.choose(len(self.dataset.test), images)
        if checkpoint is not None and checkpoint.map_frames is not None:
            previous = LiveMap.from_dict(checkpoint.map_frames)
            if previous.split == live.split and np.array_equal(previous.indices, live.indices):
                live = previous
        return live, LiveMapClock(interval, min_gap)

    def capture_frame(self) -> MapFrame | None:
        """Encode the live map's subset with the model as it is now and add a frame."""
        if self.live_map is None:
            return None
        frame = self.live_map.capture(self.model, self.dataset.test.images, self.step, self.dataset.test.labels)
        self._live_clock.reset()
        return frame

    @property
    def epoch(self) -> int:
        return self.step // self.steps_per_epoch

    def _batch_indices(self) -> torch.Tensor:
        """This process's share of the step's global batch: [batch_size] indices on the device."""
        epoch, pos = divmod(self.step, self.steps_per_epoch)
        if epoch != self._order_epoch:  # once an epoch, the same on every device and process
            gen = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
            self._order, self._order_epoch = torch.randperm(len(self.train_x), generator=gen).to(self.device), epoch
        start = pos * self.global_batch + self.ranks.rank * self.config.batch_size
        return self._order[start:start + self.config.batch_size]

    def _noise(self, views: int = 1) -> torch.Tensor:
        """eps ~ N(0, I) for this process's rows of the global batch ([views * batch_size, D]), seeded by the
        step: resuming on any device needs no generator state, and N processes draw what one process at N
        times the batch would. The contrastive views' augmentations follow from the same generator."""
        self.noise.manual_seed(self.config.seed * 7_919 + self.step + 1)
        eps = torch.randn((views, self.global_batch, self.model_config.latent_dim), generator=self.noise,
                          device=self.device)
        rows = slice(self.ranks.rank * self.config.batch_size, (self.ranks.rank + 1) * self.config.batch_size)
        return eps[:, rows].flatten(0, 1)

    def train_step(self) -> None:
        """One optimizer step, queued without waiting for the device; its loss terms and a bad-step count
        are summed on the device and read at the next log point (see `run`)."""
        self.model.train()
        x = to_float(self.train_x[self._batch_indices()])
        self._beta = warmup_beta(self.config.beta, self.step, self.config.kl_warmup)
        eps = self._noise(2 if self.contrast else 1)
        if self.contrast:  # two views of each image, each reconstructed as usual
            x = self.contrast.views(x, self.noise)
        with autocast(self.device, self.amp):
            recon, mu, logvar, _ = self.net(x, eps=eps)
        terms = vae_loss(recon, x, mu, logvar, beta=self._beta, reduction=self.config.loss)
        loss = terms["loss"]
        if self.contrast:
            loss = loss + self.contrast.loss(mu, recon_scale(self.config.loss, recon, x))
        for optimizer in self.optimizers:  # the model's, and the contrastive head's
            optimizer.zero_grad(set_to_none=True)
        (self.scaler.scale(loss) if self.scaler else loss).backward()
        if self.config.grad_clip:
            for optimizer in self.optimizers if self.scaler else ():
                self.scaler.unscale_(optimizer)
            params = [p for optimizer in self.optimizers for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = self.learning_rate()
            if self.scaler:  # skips the update itself when the fp16 gradients overflowed
                self.scaler.step(optimizer)
            else:
                optimizer.step()
        if self.scaler:
            self.scaler.update()
        # a bad gradient behind a finite loss shows in the weights, checked at the log point (no per-step norm)
        bad = ~torch.isfinite(loss)
        self._sums += torch.stack([loss.detach(), terms["recon"].detach(), terms["kld"].detach(), bad]).float()
        self._summed += 1
        self.step += 1

    def _log_point(self, on_step, since: float, since_step: int, keep: bool = True) -> None:
        """Wait for the device, check the steps since the last log point and report them; `keep`: also
        make this the state to go back to. Raises TrainingError (with the state back at the last kept
        point) when one went bad."""
        self._sums[3] += self._rollback.spoiled()  # the weights after the last step, which no loss has seen yet
        with lost_peers(self.ranks):
            sums = distributed.all_sum(self._sums.clone(), self.ranks)
        loss, recon, kld, bad = (sums / self.ranks.world).tolist()  # the one host sync between log points
        n, self._summed = self._summed, 0
        self._sums.zero_()
        if bad or not math.isfinite(loss):
            first, last = self._rollback.step + 1, self.step
            self.step = self._rollback.restore()
            lost = last - self.step
            raise TrainingError(
                f"The loss or its gradients became NaN or infinite between steps {first} and {last}; "
                f"the model went back to step {self.step} ({lost} steps undone). "
                f"Lower the learning rate (now {self.config.lr:g}) or beta, or set a gradient clip, then resume."
            )
        if keep:
            self._rollback.keep(self.step)
        steps_per_s = (self.step - since_step) / max(time.perf_counter() - since, 1e-9)
        m = StepMetrics(
            step=self.step, epoch=self.step / self.steps_per_epoch, loss=loss / n, recon=recon / n, kld=kld / n,
            beta=self._beta, img_per_s=steps_per_s * self.global_batch,
            eta_s=(self.target_step - self.step) / steps_per_s, total_steps=self.target_step,
            wall_s=self._wall_before + time.perf_counter() - self._wall_start,
        )
        self.history.steps.append(m)
        if on_step and self.ranks.main:
            on_step(m)

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
        wide = torch.float64 if self.caps.float64 else torch.float32  # MPS has no float64
        sq = torch.zeros(2, device=self.device, dtype=wide)  # summed on the device, read once
        n, mus, logvars = 0, [], []
        try:
            for i in range(0, len(self.test_x), batch_size):
                if control is not None and control.stopped:
                    return None
                x = to_float(self.test_x[i:i + batch_size])
                with autocast(self.device, self.amp):
                    mu, logvar = self.model.encode(x)
                    recon = self.model.decode(mu)  # the picture users see: decoded posterior mean
                    recon_sampled = self.model.decode(self.model.reparameterize(mu, logvar, noise))  # as in training
                sq += torch.stack([(recon.float() - x).pow(2).sum(), (recon_sampled.float() - x).pow(2).sum()])
                mus.append(mu.float())
                logvars.append(logvar.float())
                n += len(x)
            structure_mus = []  # encoded only: the rest of the images class structure is measured on
            for i in range(0, len(self.structure_x), batch_size):
                with autocast(self.device, self.amp):
                    structure_mus.append(self.model.encode(to_float(self.structure_x[i:i + batch_size]))[0].float())
        finally:
            self.model.train(was_training)
        pixels, (sq, sq_sampled) = x[0].numel(), sq.tolist()
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
        structure_mu = torch.cat(mus + structure_mus).cpu().numpy()
        knn = class_structure(structure_mu, self.dataset.test.labels[:len(structure_mu)])
        return EpochMetrics(
            step=self.step, epoch=self.epoch, test_mse=mse,
            test_psnr=10 * math.log10(1 / max(mse, 1e-12)), kl_per_dim=kl_img / self.model_config.latent_dim,
            test_recon=test_recon, test_kld=kl_img * kl_w, test_loss=test_recon + beta * kl_img * kl_w, knn=knn,
            **stats,
        )

    def run(
        self,
        on_step: Callable[[StepMetrics], None] | None = None,
        on_epoch: Callable[[EpochMetrics], None] | None = None,
        control: TrainControl | None = None,
        on_frame: Callable[[MapFrame], None] | None = None,
    ) -> Outcome:
        """Train up to target_step -> FINISHED or STOPPED; raises TrainingError after a bad step and
        core.distributed.PeerLost when another process of the job is gone.

        At log points (every log_every steps, every log_interval_s seconds for a single process, and
        epoch ends) it reports StepMetrics to `on_step` and self.history. After a log point: live-map
        frames (epoch ends and every live_map_interval_s) go to `on_frame`, EpochMetrics to `on_epoch`."""
        control = control or TrainControl()
        self._rollback.keep(self.step)
        self._sums.zero_()
        self._summed = 0
        since, since_step = time.perf_counter(), self.step
        by_time = self.config.log_interval_s if self.ranks.world == 1 else 0  # ranks must log at the same steps
        while self.step < self.target_step:
            control.wait_while_paused()
            if control.stopped:
                if self._summed:  # what gets saved next must have been checked
                    self._log_point(on_step, since, since_step)
                return Outcome.STOPPED
            with lost_peers(self.ranks):
                self.train_step()
            epoch_end = self.step % self.steps_per_epoch == 0 or self.step == self.target_step
            counted = epoch_end or self.step % self.config.log_every == 0
            if not (counted or (by_time and time.perf_counter() - since >= by_time)):
                continue
            self._log_point(on_step, since, since_step, keep=counted)  # a timed report checks, but copies nothing
            if self.live_map is not None and self._live_clock.due(epoch_end or self.step == self.target_step):
                frame = self.capture_frame()
                if on_frame:
                    on_frame(frame)
            if epoch_end and self.ranks.main:
                metrics = self.evaluate(control=control)
                if metrics is None:
                    return Outcome.STOPPED
                self.history.epochs.append(metrics)
                if on_epoch:
                    on_epoch(metrics)
            since, since_step = time.perf_counter(), self.step  # map frames and evaluation are not throughput
        return Outcome.FINISHED

    def checkpoint(self) -> Checkpoint:
        """A snapshot on the CPU (copies, safe to hand to another thread or save)."""
        return Checkpoint(
            model_config=self.model_config,
            model_state={k: cpu_copy(v.contiguous()) for k, v in self.model.state_dict().items()},
            optimizer_state=cpu_copy(self.optimizer.state_dict()),
            step=self.step, epoch=self.epoch,
            history=self.history.view(),
            train_config=self.config, dataset=self.dataset.name, classes=list(self.dataset.classes),
            map_frames=self.live_map.to_dict() if self.live_map is not None and self.live_map.frames else None,
            structure=PROTOCOL_ID,
            contrast_state=self.contrast.state() if self.contrast else None,
        )
