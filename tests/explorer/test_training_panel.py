"""Training from the GUI: start, pause, resume, stop; live plot and progress; form validation."""
import numpy as np
import pytest

from explorer.style import curve_color


def test_start_pause_resume_stop(window, qtbot):
    panel = window.train_panel
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    window.start_training(steps=100_000)
    qtbot.waitUntil(lambda: panel.loss_plot.point_count() >= 3, timeout=60_000)
    assert panel.progress.value() > 0 and "img/s" in panel.progress_label.text()
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: panel.loss_plot.redraws > 0, timeout=5_000)  # the timer drew the curves
    assert len(panel.loss_plot.curves["loss"].getData()[0]) > 0

    panel.pause_button.click()
    qtbot.waitUntil(lambda: window.train_worker.control.paused, timeout=5_000)
    qtbot.wait(300)  # let the step in flight land
    paused_at = panel.loss_plot.point_count()
    qtbot.wait(700)
    assert panel.loss_plot.point_count() == paused_at, "training went on while paused"
    assert panel.pause_button.text() == "Resume"

    panel.pause_button.click()
    qtbot.waitUntil(lambda: panel.loss_plot.point_count() > paused_at + 2, timeout=30_000)

    with qtbot.waitSignal(window.training_finished, timeout=10_000) as finished:
        panel.stop_button.click()
    assert finished.args == ["stopped"]
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    assert window.session.checkpoint is not None and window.session.checkpoint.step >= paused_at


def test_loss_falls_and_preview_appears(trained_window):
    plot = trained_window.train_panel.loss_plot
    loss = np.asarray(plot._raw["loss"])
    assert loss[-5:].mean() < loss[:5].mean()
    assert len(plot.test_points.getData()[0]) == 1  # the test point at the end of the run
    preview = trained_window.train_panel.preview.image()
    assert preview is not None and preview.shape[0] == 3  # originals above reconstructions


@pytest.mark.parametrize("field,text,reason", [
    ("lr", "abc", "Learning rate: 'abc' is not a number"),
    ("lr", "-1", "Learning rate"),
    ("batch_size", "0", "Batch size"),
    ("latent_dim", "2.5", "Latent dim"),
    ("beta", "", "Beta"),
    ("epochs", "0", "Epochs"),
])
def test_invalid_field_disables_start_with_reason(window, field, text, reason):
    panel = window.train_panel
    good = panel.fields[field].text()
    panel.fields[field].setText(text)
    assert not panel.start_button.isEnabled()
    assert reason in panel.form_error.text()
    panel.fields[field].setText(good)
    assert panel.start_button.isEnabled() and panel.form_error.text() == ""


def test_plot_toggles_and_log_scale(window):
    plot = window.train_panel.loss_plot
    plot.toggles["kld"].setChecked(False)
    assert not plot.curves["kld"].isVisible() and plot.curves["loss"].isVisible()
    plot.log_box.setChecked(True)
    assert plot.plot.getPlotItem().ctrl.logYCheck.isChecked()
    assert plot.curves["loss"].opts["pen"].color().name() == curve_color("loss")


def test_close_during_training_stops_thread_and_autosaves(window, qtbot):
    window.start_training(steps=100_000)
    qtbot.waitUntil(lambda: window.train_panel.loss_plot.point_count() >= 2, timeout=60_000)
    thread = window.train_thread
    window.close()  # waits at most 2 s for the worker
    assert thread.isFinished(), "the training thread outlived the window's 2 s close"
    assert window._autosave_path.is_file()


def test_worker_error_becomes_message_and_app_stays_usable(window, qtbot, monkeypatch):
    import torch

    from core.train import Trainer

    def oom(self):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(Trainer, "train_step", oom)
    with qtbot.waitSignal(window.training_finished, timeout=30_000) as finished:
        window.start_training(steps=10)
    assert finished.args == ["failed"]
    assert window.last_error[0] == "Training stopped" and "Lower the batch size" in window.last_error[1]
    assert window.train_panel.start_button.isEnabled()


def test_smoothing_is_debiased_and_per_step(qtbot):
    from explorer.loss_plot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.add_steps([{"step": s, "loss": 5.0, "recon": 4.0, "kld": 1.0} for s in range(1, 6)])
    assert plot._smooth["loss"] == pytest.approx([5.0] * 5)  # no pull towards zero at the start
    plot.clear()
    # a sparse history (a CLI checkpoint logs every 50 steps) is barely smoothed
    plot.add_steps([{"step": 50 * i, "loss": 100.0 - i, "recon": 1.0, "kld": 1.0} for i in range(1, 17)])
    assert plot._smooth["loss"][-1] == pytest.approx(plot._raw["loss"][-1], abs=0.05)
