"""Nothing lost: kills during saves, resumes, disk errors, closing and start/stop storms."""
import random
import signal
import subprocess
import sys
import time

import pytest
import shiboken6
import torch
from PySide6.QtCore import Qt

from core.checkpoint import load_checkpoint
from core.metrics import Outcome
from tests.conftest import ROOT, SHARED_CIFAR, serve_cifar


def test_sigkill_during_saves_always_leaves_a_loadable_checkpoint(tmp_path):
    """`train --save-every 1` rewrites its checkpoint every step; kill it at 10 random moments."""
    out = tmp_path / "model.pt"
    rng = random.Random(0)
    last_step = 0
    cmd = [sys.executable, "-m", "core.cli", "train", "--dataset", "shapes", "--steps", "100000",
           "--batch-size", "8", "--latent-dim", "4", "--channels", "4", "--save-every", "1",
           "--log-every", "1", "--out", str(out)]
    for attempt in range(10):
        resume = ["--resume", str(out)] if out.exists() else []
        proc = subprocess.Popen(cmd + resume, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        before = out.stat().st_mtime_ns if out.exists() else 0
        while (not out.exists() or out.stat().st_mtime_ns == before) and proc.poll() is None:
            assert time.monotonic() < deadline, "the trainer never saved"
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.3))  # somewhere inside the stream of saves
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
        ckpt = load_checkpoint(out)  # never truncated, never half-written
        assert ckpt.step >= last_step, "a kill lost saved progress"
        last_step = ckpt.step
    assert last_step > 10


def test_resume_gives_the_same_weights_and_optimizer_state(shapes, small_model_config, tmp_path):
    from core.checkpoint import save_checkpoint
    from core.config import TrainConfig
    from core.train import Trainer

    n = 25
    cpu = {"batch_size": 32, "device": "cpu"}  # bitwise equality holds on the CPU, not on CUDA
    straight = Trainer(shapes, TrainConfig(steps=2 * n, **cpu), small_model_config)
    straight.run()
    half = Trainer(shapes, TrainConfig(steps=n, **cpu), small_model_config)
    half.run()
    path = save_checkpoint(half.checkpoint(), tmp_path / "half.pt")
    resumed = Trainer(shapes, TrainConfig(steps=n, **cpu), checkpoint=load_checkpoint(path))
    resumed.run()
    for k, v in straight.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    a, b = straight.optimizer.state_dict(), resumed.optimizer.state_dict()
    for i, state in a["state"].items():
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(state[key], b["state"][i][key]), (i, key)


def _train(window, qtbot, steps=100_000):
    window.start_training(steps=steps)
    qtbot.waitUntil(lambda: window.loss_plot.point_count() >= 1, timeout=60_000)


def _running_threads(window):
    return [t.thread for t in window.runner.tasks] + ([window.training.thread] if window.training.thread else [])


def _still_running(threads) -> list:
    """The threads not yet finished; a thread Qt has already deleted had finished first."""
    return [t for t in threads if shiboken6.isValid(t) and not t.isFinished()]


def _close_and_check(window, qtbot, phase):
    threads = _running_threads(window)
    assert _still_running(threads), f"nothing was running during {phase}"
    window.close()
    qtbot.waitUntil(lambda: window.closed, timeout=10_000)
    assert not _still_running(threads), f"threads still running after closing during {phase}"


PHASES = ["dataset", "download", "checkpoint", "encoding", "training", "paused"]


@pytest.mark.parametrize("phase", PHASES)
def test_closing_in_every_phase_leaves_no_thread_running(window, qtbot, tmp_path, monkeypatch, phase,
                                                         trained_checkpoint):
    import core.checkpoint

    if phase == "dataset":
        if not (SHARED_CIFAR / "cifar-10-batches-py").is_dir():
            pytest.skip("needs ../shared/datasets/cifar10")
        window.loader.load_dataset("cifar10", str(SHARED_CIFAR))  # six 30 MB files
    elif phase == "download":
        serve_cifar(monkeypatch, tmp_path, delay_s=0.5)
        window.loader.load_dataset("cifar10", str(tmp_path / "data"), download=True)
        qtbot.waitUntil(lambda: (tmp_path / "data").is_dir(), timeout=10_000)
    elif phase == "checkpoint":
        real_load = core.checkpoint.load_checkpoint
        monkeypatch.setattr(core.checkpoint, "load_checkpoint", lambda path: time.sleep(1) or real_load(path))
        window.loader.open_checkpoint(str(trained_checkpoint[1]))  # torch.load cannot be interrupted
    elif phase == "encoding":
        window.train_panel.fields["channels"].setText("64")  # a full-size model encodes slowly enough
        _train(window, qtbot, steps=3)
        qtbot.waitUntil(lambda: window.training.worker is None and not window.runner.tasks, timeout=120_000)
        window.session.choose(split="train")
        window.maps.encode()  # 10,000 images
        qtbot.waitUntil(lambda: window.map_view.toolbar.progress.value() > 0, timeout=30_000)  # mid-encoding
    else:
        _train(window, qtbot)
        if phase == "paused":
            qtbot.mouseClick(window.train_panel.pause_button, Qt.LeftButton)
            qtbot.waitUntil(lambda: window.training.worker.control.waiting, timeout=5_000)
    _close_and_check(window, qtbot, phase)
    if phase in ("training", "paused"):
        (run,) = window.runs_root.iterdir()  # training autosaved into its run folder as it stopped
        assert load_checkpoint(run / "checkpoint.pt").step >= 1
    if phase == "download":
        assert list((tmp_path / "data").iterdir()) == []  # a cancelled download leaves nothing behind
    if phase == "dataset":
        assert window.session.dataset.name == "shapes"  # the cancelled load never landed


def test_closing_during_start_up_imports_waits_for_them(qtbot, tmp_path, monkeypatch):
    """An import cannot be interrupted: the window says so and closes once it has returned."""
    from PySide6.QtCore import QSettings

    import explorer.loading
    from explorer.main_window import MainWindow

    real_import = explorer.loading.import_heavy
    monkeypatch.setattr(explorer.loading, "import_heavy", lambda progress: time.sleep(1.5) or real_import(progress))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    settings.setValue("dataset", "shapes")
    window = MainWindow(settings)
    window.messages.interactive = False
    window.show()
    window.start_loading()
    threads = _running_threads(window)
    window.close()
    assert not window.closed and "waiting" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.closed, timeout=10_000)
    assert len(threads) == 1 and not _still_running(threads)
    assert window.session.dataset is None  # nothing new started
    window.deleteLater()


def test_start_stop_twenty_times(window, qtbot):
    panel = window.train_panel
    for _ in range(20):
        window.start_training(steps=100_000)
        qtbot.waitUntil(lambda: window.training.worker is not None, timeout=5_000)
        with qtbot.waitSignal(window.training_finished, timeout=30_000):
            qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
        assert window.training.worker is None and window.training.thread is None
    assert panel.start_button.isEnabled() and window.messages.last_error is None
    window.start_training(steps=3)  # still trains afterwards
    with qtbot.waitSignal(window.training_finished, timeout=60_000) as done:
        pass
    assert done.args == [Outcome.FINISHED]
