"""Training in the app: TrainWorker (core.train.Trainer on a QThread) and TrainingController
(the worker's lifecycle, a start that waits for its dataset, pause/stop, progress arithmetic).

The worker emits typed metrics (core.metrics) and CPU snapshots, never the live model; the
controller puts them into the session and never touches a widget.
"""
from __future__ import annotations

import contextlib
import dataclasses
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from core.metrics import EpochMetrics, Outcome, StepMetrics
from explorer.session import Session, TrainingState
from explorer.tasks import TaskRunner, describe_error, start_in_thread


def format_eta(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s" if m else f"{s}s"


@dataclass(frozen=True)
class RunProgress:
    """Progress of one run: bar and label are derived from the same two numbers, so they agree."""

    done: int  # steps taken in this run
    total: int  # steps this run will take
    text: str
    step: int  # the model's step

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total

    @classmethod
    def of(cls, m: StepMetrics, start_step: int) -> "RunProgress":
        done, total = m.step - start_step, max(1, m.total_steps - start_step)
        text = (f"step {done:,} of {total:,} ({100 * done // total}%) · model at step {m.step:,}, "
                f"epoch {m.epoch:.2f} · {m.img_per_s:.0f} img/s · ETA {format_eta(m.eta_s)}")
        return cls(done, total, text, m.step)


def lower_thread_priority(nice: int = 4) -> None:
    """Make the calling (training) thread yield the CPU to the GUI thread. On Linux a thread has its own
    nice value, and the OpenMP threads torch starts from this thread later inherit it; elsewhere
    QThread's priority does the job."""
    import os
    import sys
    import threading

    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
            return
    from PySide6.QtCore import QThread

    with contextlib.suppress(RuntimeError):
        QThread.currentThread().setPriority(QThread.LowPriority)


class TrainWorker(QObject):
    """Drives core.train.Trainer at a low thread priority. Step metrics arrive in batches at most 4 times a
    second; snapshots for the GUI at epoch ends at most every `snapshot_interval_s`; autosaves every
    `autosave_interval_s` and when the run ends (so a GPU that finishes an epoch a second is not held
    up by 75 MB copies and fsyncs)."""

    steps = Signal(list)  # [StepMetrics]
    epoch = Signal(object)  # EpochMetrics at each epoch end
    preview = Signal(object)  # uint8 [8, C, H, W] reconstructions of the preview images
    snapshot = Signal(object)  # core.checkpoint.Checkpoint, CPU copies
    failed = Signal(str, str)
    autosaved = Signal(str, str)  # path, error message ("" when the save worked)
    frame = Signal(str, object, object, object)  # live map: split, indices [N], MapFrame, mu [N, D]
    finished = Signal(object)  # Outcome
    done = Signal()

    def __init__(self, dataset, config, model_config, checkpoint=None, preview_images=None,
                 run=None, emit_interval_s: float = 0.25, preview_interval_s: float = 3.0,
                 snapshot_interval_s: float = 5.0, autosave_interval_s: float = 120.0):
        super().__init__()
        self.run_folder = run  # core.runs.RunFolder the run autosaves into (None: no autosave)
        self.snapshot_interval_s, self.autosave_interval_s = snapshot_interval_s, autosave_interval_s
        self._last_snapshot = self._last_autosave = time.monotonic()
        self.dataset, self.config, self.model_config, self.checkpoint = dataset, config, model_config, checkpoint
        self.preview_images = preview_images
        self.emit_interval_s, self.preview_interval_s = emit_interval_s, preview_interval_s
        from core.train import TrainControl  # torch loads after the window is up

        self.control = TrainControl()  # pause/resume/stop flags, safe to call from the GUI thread
        self._pending: list[StepMetrics] = []
        self._last_emit = self._last_preview = 0.0

    def _flush(self) -> None:
        if self._pending:
            self.steps.emit(self._pending)
            self._pending = []
        self._last_emit = time.monotonic()

    def _publish(self, trainer, final: bool = False) -> None:
        """Hand a snapshot to the GUI, and autosave it here, off the GUI thread, when one is due
        (both always at the end of a run)."""
        from core.checkpoint import CheckpointError

        now = time.monotonic()
        autosave = self.run_folder is not None and (final or now - self._last_autosave >= self.autosave_interval_s)
        if not (final or autosave or now - self._last_snapshot >= self.snapshot_interval_s):
            return
        ckpt = trainer.checkpoint()
        self.snapshot.emit(ckpt)
        self._last_snapshot = now
        if autosave:
            self._last_autosave = now
            try:
                self.autosaved.emit(str(self.run_folder.save(ckpt)), "")
            except CheckpointError as e:
                self.autosaved.emit(str(self.run_folder.checkpoint), str(e))

    def _emit_preview(self, trainer) -> None:
        from core.latent import reconstruct

        if self.preview_images is not None:
            self.preview.emit(reconstruct(trainer.model, self.preview_images))
        self._last_preview = time.monotonic()

    @Slot()
    def run(self) -> None:
        from core.devices import release_memory
        from core.train import Trainer

        outcome, trainer = Outcome.FAILED, None
        lower_thread_priority()
        try:
            trainer = Trainer(self.dataset, self.config, self.model_config, checkpoint=self.checkpoint)
            self.checkpoint = None  # the trainer owns the weights now

            def on_step(m: StepMetrics) -> None:
                self._pending.append(m)
                now = time.monotonic()
                if now - self._last_emit >= self.emit_interval_s:
                    self._flush()
                if now - self._last_preview >= self.preview_interval_s:
                    self._emit_preview(trainer)
                if self.run_folder is not None and now - self._last_autosave >= self.autosave_interval_s:
                    self._publish(trainer)

            def on_epoch(m: EpochMetrics) -> None:
                self._flush()
                self.epoch.emit(m)
                self._emit_preview(trainer)
                self._publish(trainer)

            def on_frame(frame) -> None:
                live = trainer.live_map
                self.frame.emit(live.split, live.indices, frame, live.last_mu)

            self._emit_preview(trainer)
            outcome = trainer.run(on_step, on_epoch, self.control, on_frame)
            self._flush()
            if trainer.step > 0:
                self._publish(trainer, final=True)
        except Exception as e:  # NaN loss, out of memory, anything: a message, and the app stays usable
            self._flush()
            if trainer is not None and trainer.step > 0:
                # after a NaN stop (or an OOM before the update) the weights are the last good ones
                with contextlib.suppress(Exception):
                    self._publish(trainer, final=True)
            self.failed.emit(describe_error(e), traceback.format_exc())
        finally:
            if self.run_folder is not None:
                self.run_folder.close()
            if trainer is not None:  # the run's weights and data leave the accelerator's cache
                device, trainer = trainer.device, None
                release_memory(device)
            self.finished.emit(outcome)
            self.done.emit()


class TrainingController(QObject):
    """Starts, pauses and stops training, and feeds its results into the session.

    `report(title, message, details)` and `ask(title, question) -> bool` are the window's error and
    question policy. If the wanted dataset is not loaded yet, `start` emits `dataset_needed` and
    starts once the session has it (or forgets the request on `cancel_pending`).
    """

    progress = Signal(object)  # RunProgress
    status = Signal(str)  # "starting...", "stopped", ...
    preview = Signal(object, object)  # originals, reconstructions: uint8 [8, C, H, W] each
    epoch_message = Signal(str)
    dataset_needed = Signal()
    finished = Signal(object)  # Outcome, once the thread has ended
    saved = Signal(str)  # a run's checkpoint (and summary) were saved at this path

    def __init__(self, session: Session, report: Callable[[str, str, str], None],
                 ask: Callable[[str, str], bool], runs_root: Path, runner: TaskRunner,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session, self._report, self._ask, self._runner = session, report, ask, runner
        self.runs_root = runs_root  # each run autosaves into a new folder here (core.runs)
        self.worker: TrainWorker | None = None
        self.thread = None
        self._pending: tuple | None = None  # (continue_, model_config, config, dataset_spec, steps)
        self._start_step = 0
        self._preview_images: np.ndarray | None = None
        self._shut_down = False
        session.dataset_changed.connect(self._on_dataset_changed)

    @property
    def busy(self) -> bool:
        return self.worker is not None

    @property
    def model_config(self):
        """The ModelConfig of the run in progress (None when idle)."""
        return self.worker.model_config if self.worker is not None else None

    @property
    def step(self) -> int | None:
        """The step the model in training has reached (None when idle)."""
        if self.worker is None:
            return None
        steps = self.session.history.steps
        return int(steps.column("step")[-1]) if len(steps) else self._start_step

    def start(self, continue_: bool, model_config, config, dataset_spec: str, steps: int | None = None) -> None:
        """Train a new model (continue_=False) or the current one, on the dataset `dataset_spec`."""
        if self.worker is not None or self._shut_down:
            return
        # a report every 0.1 s, or every 20 steps at GPU rates (each report waits for the device);
        # the worker hands them to the window in batches, 4 times a second. A copy: the caller's stays as it is
        config = dataclasses.replace(config, steps=steps, log_every=20, log_interval_s=0.1)
        ds, session = self.session.dataset, self.session
        if ds is None or (dataset_spec in ("shapes", "cifar10") and ds.name != dataset_spec):
            self._pending = (continue_, model_config, config, dataset_spec, steps)
            self.dataset_needed.emit()
            return
        checkpoint = session.checkpoint if continue_ else None
        if continue_ and (checkpoint is None or not checkpoint.trainable):
            return
        if not continue_ and session.checkpoint is not None:
            changed = model_config != session.checkpoint.model_config
            question = (("The architecture changed. " if changed else "")
                        + "Discard the current model and start a new one?")
            if not self._ask("Start a new model", question):
                return
        if checkpoint is not None:
            model_config = checkpoint.model_config
        else:
            session.clear_model()
        self._start_step = checkpoint.step if checkpoint is not None else 0
        self._preview_images = ds.test.images[:8]
        from core.checkpoint import CheckpointError

        try:
            run = self._run_folder(checkpoint, ds.name, config.loss)
        except CheckpointError as e:
            self._report("Cannot start training", str(e), "")
            return
        worker = TrainWorker(ds, config, model_config, checkpoint, preview_images=self._preview_images, run=run)
        # bound methods of this GUI-thread object: Qt queues them into the GUI thread
        worker.steps.connect(self._on_steps)
        worker.epoch.connect(self._on_epoch)
        worker.preview.connect(self._on_preview)
        worker.snapshot.connect(self._on_snapshot)
        worker.failed.connect(self._on_failed)
        worker.autosaved.connect(self._on_autosaved)
        worker.frame.connect(self.session.add_frame)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.thread = start_in_thread(worker, self)
        from core.devices import select_device

        session.set_training_state(TrainingState.RUNNING, select_device(config.device).type)
        self.status.emit("starting...")

    def _run_folder(self, checkpoint, dataset: str, loss: str):
        """Where this run saves: the run folder of the checkpoint it continues, else a new one."""
        from core.runs import RunFolder

        if checkpoint is not None and self.session.checkpoint_path:
            run = RunFolder.of_checkpoint(Path(self.session.checkpoint_path), checkpoint.step)
            if run is not None:
                return run
        run = RunFolder.create(self.runs_root, dataset, loss)
        run.since_step(checkpoint.step if checkpoint is not None else 0)
        return run

    def evaluate_now(self) -> None:
        """Evaluate the current snapshot on the test split, as an epoch end does, in the background; the
        figures join the history (diagnostics, the test loss) at the snapshot's step."""
        from core.config import TrainConfig
        from core.train import Trainer

        ckpt, ds = self.session.checkpoint, self.session.dataset
        if ckpt is None or ds is None or self.busy:
            return
        if not ckpt.trainable:
            self._report("Cannot evaluate this model", f"{ckpt.name} was opened from a model file: it has no loss "
                         "or training settings here to evaluate with. Its map, samples and lenses work.", "")
            return
        trained = ckpt.train_config or TrainConfig()  # scored as that run's epoch ends were
        config = TrainConfig(steps=1, device="cpu", live_map=False, eval_images=trained.eval_images, loss=trained.loss)
        self.status.emit(f"evaluating the model at step {ckpt.step:,}...")
        self._runner.run(lambda progress: Trainer(ds, config, checkpoint=ckpt).evaluate(), self._on_evaluated,
                         "Evaluation failed", kind="evaluate")

    def _on_evaluated(self, metrics: EpochMetrics) -> None:
        self.session.add_epoch(metrics)
        self.status.emit(f"evaluated at step {metrics.step:,}: test PSNR {metrics.test_psnr:.2f} dB")

    def cancel_pending(self) -> None:
        self._pending = None

    def set_paused(self, paused: bool) -> None:
        if self.worker is not None:
            (self.worker.control.pause if paused else self.worker.control.resume)()
            self.session.set_training_state(TrainingState.PAUSED if paused else TrainingState.RUNNING)

    def stop(self) -> None:
        """Ask the worker to stop; it autosaves and `finished` follows."""
        if self.worker is not None:
            self.worker.control.stop()
            self.session.set_training_state(TrainingState.STOPPING)
            self.status.emit("stopping...")

    def shutdown(self) -> None:
        """Stop (the worker autosaves) and start nothing more; `finished` follows if it was running."""
        self._shut_down, self._pending = True, None
        self.stop()

    def _on_dataset_changed(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            continue_, model_config, config, spec, steps = pending
            self.start(continue_, model_config, config, spec, steps)

    def _on_steps(self, metrics: list) -> None:
        self.session.add_steps(metrics)
        if self.session.training_state is TrainingState.RUNNING:
            self.progress.emit(RunProgress.of(metrics[-1], self._start_step))

    def _on_epoch(self, m: EpochMetrics) -> None:
        self.session.add_epoch(m)
        self.epoch_message.emit(f"epoch {m.epoch}: test MSE {m.test_mse:.4f}, PSNR {m.test_psnr:.2f} dB, "
                                f"KL/dim {m.kl_per_dim:.3f}")

    def _on_preview(self, recons) -> None:
        self.preview.emit(self._preview_images, recons)

    def _on_snapshot(self, checkpoint) -> None:
        self.session.set_checkpoint(checkpoint)

    def _on_failed(self, message: str, details: str) -> None:
        self._report("Training stopped", message, details)

    def _on_autosaved(self, path: str, error: str) -> None:
        if error:
            self._report("Autosave failed", error, "")
        else:
            self.session.checkpoint_path = path  # Save and continuing write to the run's own folder
            self.saved.emit(path)

    def _on_finished(self, outcome: Outcome) -> None:
        self.thread.wait()  # the worker has returned; let the thread end
        self.thread.deleteLater()
        self.worker, self.thread = None, None
        self.session.set_training_state(TrainingState.IDLE)
        self.status.emit({Outcome.FINISHED: "finished", Outcome.STOPPED: "stopped"}.get(outcome, "stopped by an error"))
        self.finished.emit(outcome)
