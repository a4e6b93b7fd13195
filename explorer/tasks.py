"""Background work on QThreads: one-off tasks (imports, loading, encoding) and the TaskRunner.

Workers talk only through queued signals carrying plain values or CPU copies, and never touch a
widget. Every result carries the session generation it was computed for; stale ones are dropped.
"""
from __future__ import annotations

import gc
import traceback
from typing import Callable

from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from core.data import Progress  # progress(done, total) -> False once cancelled: the one progress type


class GuiThreadGarbage:
    """While any window lives, Python's cycle collector runs on the GUI thread only.

    Python's cycle collector runs on whichever thread allocates. On a training thread it destroyed
    Qt objects held in garbage cycles (pyqtgraph items and their menus) while the GUI thread was
    destroying others, and the two threads deadlocked (a Qt mutex against the GIL). pyqtgraph's
    GarbageCollector turns automatic collection off and collects on a timer of this thread instead.

    The switch is process-wide and, once a window has lived, stays on for the life of the process: a
    closed window's C++ side is deleted after its `closeEvent`, leaving Python wrappers in cycles that
    still own live Qt objects (pyqtgraph's ViewBox menus), and any thread that allocates, tqdm's monitor
    among them, would have collected those off the GUI thread. When the last window stops, one collection
    runs here; the timer collects the rest.
    Before, the first window to close turned automatic collection back on under the others."""

    _holders = 0
    _collector: GarbageCollector | None = None

    def __init__(self, interval_s: float = 1.0) -> None:
        cls = type(self)
        if cls._collector is None:
            cls._collector = GarbageCollector(interval=interval_s)
        cls._holders += 1
        self._holding = True

    def stop(self) -> None:
        if not self._holding:
            return
        self._holding = False
        cls = type(self)
        cls._holders -= 1
        if cls._holders == 0:
            gc.collect()  # what the window left so far; its deleted widgets' wrappers follow on the timer


def start_in_thread(worker: QObject, parent: QObject, on_finished: Callable[[], None] | None = None) -> QThread:
    """Move `worker` to a new QThread, run `worker.run` there, quit the thread when it emits `done`.

    `on_finished` is connected before the thread starts: a fast task cannot end unnoticed."""
    thread = QThread(parent)
    if on_finished is not None:
        thread.finished.connect(on_finished)
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

    def __init__(self, fn: Callable[[Progress], object]):
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
            pass  # cancelled: no result, no error
        except Exception as e:  # reported to the user as a message
            self.failed.emit(describe_error(e), traceback.format_exc())
        finally:
            self.done.emit()


class Task(QObject):
    """GUI-thread handle of one TaskWorker; its callbacks always run in the GUI thread."""

    finished = Signal(object)  # self, once the thread has ended

    def __init__(self, fn, on_result, on_failed, on_progress=None, kind: str = "",
                 is_current: Callable[[], bool] = lambda: True, parent: QObject | None = None):
        super().__init__(parent)
        self.kind, self.is_current = kind, is_current
        self._on_result_cb, self._on_failed_cb, self._on_progress_cb = on_result, on_failed, on_progress
        self.worker = TaskWorker(fn)
        self.worker.result.connect(self._on_result)
        self.worker.failed.connect(self._on_failed)
        self.worker.progress.connect(self._on_progress)
        self.thread = start_in_thread(self.worker, self, self._on_thread_finished)

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancelled = True

    @property
    def cancelled(self) -> bool:
        return self.worker is None or self.worker.cancelled

    @Slot(object)
    def _on_result(self, value) -> None:
        if not self.cancelled and self.is_current():  # a stale result is dropped, never shown
            self._on_result_cb(value)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        if not self.cancelled:
            self._on_failed_cb(message, details)

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if self._on_progress_cb is not None and not self.cancelled:
            self._on_progress_cb(done, total)

    @Slot()
    def _on_thread_finished(self) -> None:
        self.finished.emit(self)

    def release(self) -> None:
        """Let go of the callbacks and the worker once the thread has ended, before the task is deleted.

        They close over the runner, its controllers and the session. Held until the task's deferred delete,
        the last reference to a runner could go with them, inside the task's destructor; the runner then
        deleted its children, this task among them, a second time (a segfault in QObject::~QObject)."""
        self._on_result_cb = self._on_failed_cb = self._on_progress_cb = self.is_current = None
        self.worker = None  # so `cancelled`: nothing that still arrives is delivered


class TaskRunner(QObject):
    """Runs cancellable tasks, tags them with the session's generation, and knows when all are done.

    `generation` returns the document's current generation; a result computed for an older one is
    dropped. `report(title, message, details)` shows failures (the window's error policy).
    """

    idle = Signal()  # the last running task has ended

    def __init__(self, generation: Callable[[], int], report: Callable[[str, str, str], None],
                 parent: QObject | None = None):
        super().__init__(parent)
        self._generation, self._report = generation, report
        self.tasks: list[Task] = []
        self.shut_down = False

    def run(self, fn: Callable[[Progress], object], on_result: Callable[[object], None], failure_title: str,
            *, kind: str = "", on_progress=None, on_failed=None, tagged: bool = True) -> Task | None:
        """Run `fn(progress)` on a worker thread. A new task of the same `kind` cancels the old one.

        `tagged`: drop the result if the session's generation changed meanwhile. After `shutdown`
        nothing new starts (returns None).
        """
        if self.shut_down:
            return None
        if kind:
            self.cancel(kind)
        # the task's callbacks hold the document's generation and the error policy, never this runner
        generation_of, report = self._generation, self._report
        generation = generation_of()
        is_current = (lambda: generation_of() == generation) if tagged else (lambda: True)
        on_failed = on_failed or (lambda message, details: report(failure_title, message, details))
        task = Task(fn, on_result, on_failed, on_progress, kind, is_current, parent=self)
        task.finished.connect(self._on_task_finished)
        self.tasks.append(task)
        return task

    def running(self, kind: str = "") -> list[Task]:
        return [t for t in self.tasks if not kind or t.kind == kind]

    def cancel(self, kind: str = "") -> None:
        """Ask tasks (of one kind, or all) to stop; uninterruptible ones finish first."""
        for task in self.running(kind):
            task.cancel()

    def shutdown(self) -> None:
        """Cancel every task and start no new one; `idle` follows once the last thread has ended."""
        self.shut_down = True
        self.cancel()

    @property
    def busy(self) -> bool:
        return bool(self.tasks)

    def _on_task_finished(self, task: Task) -> None:
        if task in self.tasks:
            self.tasks.remove(task)
        task.thread.wait()  # already finished: returns at once
        task.release()
        task.deleteLater()
        if not self.tasks:
            self.idle.emit()
