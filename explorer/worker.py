"""Background work on QThreads: training, and one-off tasks (loading data, encoding).

Workers talk only through signals carrying plain values, numpy arrays or CPU snapshots
(copies), never the live model, and they never touch a widget.
"""
from __future__ import annotations

import contextlib
import time
import traceback
from typing import Callable

from PySide6.QtCore import QObject, QThread, Qt, Signal, Slot


def start_in_thread(worker: "QObject", parent: QObject) -> QThread:
    """Move `worker` to a new QThread, run `worker.run` there, clean up when it emits `done`."""
    thread = QThread(parent)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    worker.done.connect(thread.quit, Qt.DirectConnection)  # quit is thread-safe; never wait on a queue
    # No worker.deleteLater here: a Python QObject destroyed in its own thread needs the GIL inside
    # Qt's connection locks and can deadlock the GUI thread. The GUI thread drops the last reference
    # after the thread has finished, so the worker is destroyed there.
    thread.start()
    return thread


def describe_error(exc: BaseException) -> str:
    """A message a user can act on, for errors raised inside workers."""
    import torch

    if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return "The device ran out of memory. Lower the batch size (or the channels) and start again."
    return str(exc) or type(exc).__name__


class TaskWorker(QObject):
    """Runs `fn(progress)` once in its thread; `progress(done, total)` returns False when cancelled."""

    progress = Signal(int, int)
    result = Signal(object)
    failed = Signal(str, str)  # message, details
    done = Signal()

    def __init__(self, fn: Callable[[Callable[[int, int], bool]], object]):
        super().__init__()
        self._fn, self.cancelled = fn, False

    def _progress(self, done: int, total: int) -> bool:
        self.progress.emit(done, total)
        return not self.cancelled

    @Slot()
    def run(self) -> None:
        try:
            self.result.emit(self._fn(self._progress))
        except InterruptedError:
            pass
        except Exception as e:  # reported to the user as a dialog
            self.failed.emit(describe_error(e), traceback.format_exc())
        finally:
            self.done.emit()


class Task(QObject):
    """GUI-thread handle of a TaskWorker: its signals arrive here (queued) and go to plain callbacks.

    Callbacks therefore always run in the GUI thread, never in the worker's.
    """

    finished = Signal(object)  # self, when the thread has ended

    def __init__(self, fn, on_result, on_failed, on_progress=None, parent: QObject | None = None):
        super().__init__(parent)
        self._on_result_cb, self._on_failed_cb, self._on_progress_cb = on_result, on_failed, on_progress
        self.worker = TaskWorker(fn)
        self.worker.result.connect(self._on_result)
        self.worker.failed.connect(self._on_failed)
        self.worker.progress.connect(self._on_progress)
        self.thread = start_in_thread(self.worker, self)
        self.thread.finished.connect(self._on_thread_finished)

    def cancel(self) -> None:
        self.worker.cancelled = True

    @Slot(object)
    def _on_result(self, value) -> None:
        if not self.worker.cancelled:
            self._on_result_cb(value)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self._on_failed_cb(message, details)

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if self._on_progress_cb is not None:
            self._on_progress_cb(done, total)

    @Slot()
    def _on_thread_finished(self) -> None:
        self.finished.emit(self)


class TrainWorker(QObject):
    """Drives core.train.Trainer. Step metrics arrive in batches at most ~20 times a second."""

    steps = Signal(list)  # list of step-metric dicts
    epoch = Signal(dict)  # test metrics at each epoch end
    preview = Signal(object)  # uint8 [8, C, H, W] reconstructions of the preview images
    snapshot = Signal(object)  # core.checkpoint.Checkpoint, CPU copies
    failed = Signal(str, str)
    finished = Signal(str)  # "finished", "stopped" or "failed"
    done = Signal()

    autosaved = Signal(str, str)  # path, error message ("" when the save worked)

    def __init__(self, dataset, config, model_config, checkpoint=None, preview_images=None,
                 autosave_path=None, emit_interval_s: float = 0.05, preview_interval_s: float = 3.0):
        super().__init__()
        self.autosave_path = autosave_path
        self.dataset, self.config, self.model_config, self.checkpoint = dataset, config, model_config, checkpoint
        self.preview_images = preview_images
        self.emit_interval_s, self.preview_interval_s = emit_interval_s, preview_interval_s
        from core.train import TrainControl  # torch loads after the window is up

        self.control = TrainControl()  # pause/resume/stop flags, safe to call from the GUI thread
        self._pending: list[dict] = []
        self._last_emit = self._last_preview = 0.0

    def _flush(self) -> None:
        if self._pending:
            self.steps.emit(self._pending)
            self._pending = []
        self._last_emit = time.monotonic()

    def _publish(self, trainer) -> None:
        """Hand a snapshot to the GUI and autosave it here, off the GUI thread."""
        from core.checkpoint import CheckpointError, save_checkpoint

        ckpt = trainer.checkpoint()
        self.snapshot.emit(ckpt)
        if self.autosave_path is not None:
            try:
                save_checkpoint(ckpt, self.autosave_path)
                self.autosaved.emit(str(self.autosave_path), "")
            except CheckpointError as e:
                self.autosaved.emit(str(self.autosave_path), str(e))

    def _emit_preview(self, trainer) -> None:
        from core.latent import reconstruct

        if self.preview_images is not None:
            self.preview.emit(reconstruct(trainer.model, self.preview_images))
        self._last_preview = time.monotonic()

    @Slot()
    def run(self) -> None:
        from core.train import Trainer

        outcome, trainer = "failed", None
        try:
            trainer = Trainer(self.dataset, self.config, self.model_config, checkpoint=self.checkpoint)
            self.checkpoint = None  # the trainer owns the weights now

            def on_step(m: dict) -> None:
                self._pending.append(m)
                now = time.monotonic()
                if now - self._last_emit >= self.emit_interval_s:
                    self._flush()
                if now - self._last_preview >= self.preview_interval_s:
                    self._emit_preview(trainer)

            def on_epoch(m: dict) -> None:
                self._flush()
                self.epoch.emit(m)
                self._emit_preview(trainer)
                self._publish(trainer)

            self._emit_preview(trainer)
            outcome = trainer.run(on_step, on_epoch, self.control)
            self._flush()
            if outcome == "stopped" and trainer.step > 0:
                self._publish(trainer)
        except Exception as e:  # NaN loss, out of memory, anything: a dialog, and the app stays usable
            self._flush()
            if trainer is not None and trainer.step > 0:
                # after a NaN stop (or an OOM before the update) the weights are the last good ones
                with contextlib.suppress(Exception):
                    self._publish(trainer)
            self.failed.emit(describe_error(e), traceback.format_exc())
        finally:
            self.finished.emit(outcome)
            self.done.emit()
