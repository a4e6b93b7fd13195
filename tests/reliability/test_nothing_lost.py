"""Nothing lost: kills during saves, resumes, disk errors, closing and start/stop storms."""
import random
import signal
import subprocess
import sys
import time

import pytest
import torch

from core.checkpoint import load_checkpoint
from tests.conftest import ROOT


def test_sigkill_during_saves_always_leaves_a_loadable_checkpoint(tmp_path):
    """`train --save-every 1` rewrites its checkpoint every step; kill it at 20 random moments."""
    out = tmp_path / "model.pt"
    rng = random.Random(0)
    last_step = 0
    cmd = [sys.executable, "-m", "core.cli", "train", "--dataset", "shapes", "--steps", "100000",
           "--batch-size", "8", "--latent-dim", "4", "--channels", "4", "--save-every", "1",
           "--log-every", "1", "--out", str(out)]
    for attempt in range(20):
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
    assert last_step > 20


def test_resume_gives_the_same_weights_and_optimizer_state(shapes, small_model_config, tmp_path):
    from core.checkpoint import save_checkpoint
    from core.config import TrainConfig
    from core.train import Trainer

    n = 25
    straight = Trainer(shapes, TrainConfig(steps=2 * n, batch_size=32), small_model_config)
    straight.run()
    half = Trainer(shapes, TrainConfig(steps=n, batch_size=32), small_model_config)
    half.run()
    path = save_checkpoint(half.checkpoint(), tmp_path / "half.pt")
    resumed = Trainer(shapes, TrainConfig(steps=n, batch_size=32), checkpoint=load_checkpoint(path))
    resumed.run()
    for k, v in straight.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    a, b = straight.optimizer.state_dict(), resumed.optimizer.state_dict()
    for i, state in a["state"].items():
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(state[key], b["state"][i][key]), (i, key)


def _train(window, qtbot, steps=100_000):
    window.start_training(steps=steps)
    qtbot.waitUntil(lambda: window.train_panel.loss_plot.point_count() >= 1, timeout=60_000)


@pytest.mark.parametrize("phase", ["training", "paused", "encoding"])
def test_closing_leaves_no_thread_running(window, qtbot, phase):
    if phase == "encoding":
        window.train_panel.fields["channels"].setText("64")  # a full-size model encodes slowly enough
        _train(window, qtbot, steps=3)
        qtbot.waitUntil(lambda: window.train_worker is None and not window.tasks, timeout=120_000)
        window.encode("train")  # 10,000 images
        qtbot.waitUntil(lambda: window.map_view.progress.value() > 0, timeout=30_000)  # mid-encoding
    else:
        _train(window, qtbot)
        if phase == "paused":
            window.train_panel.pause_button.click()
            qtbot.waitUntil(lambda: window.train_worker.control.paused, timeout=5_000)
    threads = [t.thread for t in window.tasks] + ([window.train_thread] if window.train_thread else [])
    assert threads
    window.close()  # waits at most 2 s in all
    assert all(t.isFinished() for t in threads), f"threads still running after closing during {phase}"
    if phase != "encoding":
        assert window._autosave_path.is_file()
        assert load_checkpoint(window._autosave_path).step >= 1


def test_start_stop_twenty_times(window, qtbot):
    panel = window.train_panel
    for _ in range(20):
        window.start_training(steps=100_000)
        qtbot.waitUntil(lambda: window.train_worker is not None, timeout=5_000)
        with qtbot.waitSignal(window.training_finished, timeout=30_000):
            panel.stop_button.click()
        assert window.train_worker is None and window.train_thread is None
    assert panel.start_button.isEnabled() and window.last_error is None
    window.start_training(steps=3)  # still trains afterwards
    with qtbot.waitSignal(window.training_finished, timeout=60_000) as done:
        pass
    assert done.args == ["finished"]
