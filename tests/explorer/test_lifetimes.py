"""Nothing a run opens outlives it: each training run's TensorBoard event writer (a thread, a queue and its
feeder thread) ends with the run, and ten runs trained one after another in one window leave the process
with the threads it had."""
import os
import threading

import pytest

from tests.conftest import event_writers


def os_threads() -> int:
    """Every thread of this process, Qt's and torch's included (Python's own list misses those)."""
    task = f"/proc/{os.getpid()}/task"
    return len(os.listdir(task)) if os.path.isdir(task) else threading.active_count()


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts the threads of /proc")
def test_ten_runs_trained_in_one_window_leave_the_thread_count_where_it_started(window, qtbot):
    def train_one() -> None:
        with qtbot.waitSignal(window.training_finished, timeout=120_000):
            window.start_training(steps=2)
        qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)  # the map of the trained model

    train_one()  # the first run starts torch's and Qt's pools, which stay for the process's life
    qtbot.waitUntil(lambda: not event_writers(), timeout=10_000)
    before = os_threads()
    for _ in range(10):
        train_one()
        assert window.session.checkpoint_path  # it saved into its run folder, so it wrote events
        qtbot.waitUntil(lambda: not event_writers(), timeout=10_000)  # none outlives its run
    assert len({p.parent for p in window.runs_root.glob("*/checkpoint.pt")}) == 11
    qtbot.waitUntil(lambda: os_threads() <= before, timeout=10_000)
