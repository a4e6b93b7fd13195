"""Training from the GUI: start, pause, resume, stop; live plot and progress; form validation."""
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from core.config import TrainConfig
from core.metrics import Outcome, StepMetrics
from explorer.style import curve_color


def test_start_pause_resume_stop(window, qtbot):
    panel, session = window.train_panel, window.session
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    panel.fields["epochs"].setText("50")
    with qtbot.waitSignal(panel.start_requested, timeout=2_000) as started:
        qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    continue_, model, config = started.args  # Start hands over the form's configs, validated once
    assert continue_ is False and (model, config) == panel.configs() and config.epochs == 50
    qtbot.waitUntil(lambda: window.loss_plot.point_count() >= 3, timeout=60_000)
    assert config.log_every == 10 and config.steps is None  # the app's reporting pace went to a copy
    assert panel.progress.value() > 0 and "img/s" in panel.progress_label.text()
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: window.loss_plot.redraws > 0, timeout=5_000)  # the timer drew the curves
    assert window.loss_plot.point_count() > 0

    qtbot.mouseClick(panel.pause_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.training.worker.control.waiting, timeout=5_000)  # the trainer sits idle
    QApplication.processEvents()  # metrics sent before it paused may still be queued
    paused_at = len(session.history.steps)
    with qtbot.assertNotEmitted(session.steps_added, wait=700):
        pass
    assert len(session.history.steps) == paused_at, "training went on while paused"
    assert panel.pause_button.text() == "Resume" and panel.progress_label.text().endswith("paused")

    qtbot.mouseClick(panel.pause_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(session.history.steps) > paused_at + 2, timeout=30_000)

    with qtbot.waitSignal(window.training_finished, timeout=10_000) as finished:
        qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    assert finished.args == [Outcome.STOPPED]
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    assert window.session.checkpoint is not None and window.session.checkpoint.step >= paused_at


def test_resume_training_button_continues_and_progress_bar_agrees_with_label(trained_window, qtbot):
    panel = trained_window.train_panel
    start = trained_window.session.checkpoint.step  # 40
    assert panel.continue_button.isEnabled()
    seen = []
    trained_window.training.progress.connect(
        lambda p: seen.append((p.done, p.total, panel.progress.value(), panel.progress.maximum(),
                               panel.progress_label.text())))
    with qtbot.waitSignal(trained_window.training_finished, timeout=120_000) as finished:
        qtbot.mouseClick(panel.continue_button, Qt.LeftButton)
    assert finished.args == [Outcome.FINISHED]
    run = trained_window.session.checkpoint.step - start
    assert run == len(trained_window.session.dataset.train) // 32  # one epoch more, from step 40
    assert seen
    for done, total, value, maximum, text in seen:
        assert (value, maximum) == (done, total) and total == run
        percent = 100 * value // maximum
        assert text.startswith(f"step {done:,} of {total:,} ({percent}%)")
        assert f"model at step {start + done:,}" in text


def test_loss_falls_and_preview_appears(trained_window, qtbot):
    plot = trained_window.loss_plot
    loss = plot.values("loss")  # a report every 0.1 s or 20 steps: a few points for these 40 quick steps
    assert len(loss) >= 2 and loss[-1] < loss[0]
    tests = lambda: plot.test_points.getData()[0]  # noqa: E731
    qtbot.waitUntil(lambda: tests() is not None, timeout=2_000)  # the plot redraws twice a second
    assert len(tests()) == 1  # the test point at the end of the run
    preview = trained_window.preview.image()
    assert preview is not None and preview.shape[0] == 3  # originals above reconstructions


@pytest.mark.parametrize("field,text,reason", [
    ("lr", "abc", "Learning rate: 'abc' is not a number"),
    ("lr", "-1", "Learning rate"),
    ("batch_size", "0", "Batch size"),
    ("latent_dim", "2.5", "Latent dim"),
    ("beta", "", "Beta"),
    ("epochs", "0", "Epochs"),
])
def test_invalid_field_disables_start_with_reason(training_form, field, text, reason):
    panel = training_form
    good = panel.fields[field].text()
    panel.fields[field].setText(text)
    assert not panel.start_button.isEnabled()
    assert reason in panel.form_error.text()
    panel.fields[field].setText(good)
    assert panel.start_button.isEnabled() and panel.form_error.text() == ""


def test_plot_toggles_and_log_scale(window):
    plot = window.loss_plot
    plot.toggles["kld"].setChecked(False)
    assert not plot.curves["kld"].isVisible() and plot.curves["loss"].isVisible()
    plot.log_box.setChecked(True)
    assert plot.plot.getPlotItem().ctrl.logYCheck.isChecked()
    assert plot.curves["loss"].opts["pen"].color().name() == curve_color("loss")


def test_worker_error_becomes_message_and_app_stays_usable(window, qtbot, monkeypatch):
    import torch

    from core.train import Trainer

    def oom(self):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(Trainer, "train_step", oom)
    with qtbot.waitSignal(window.training_finished, timeout=30_000) as finished:
        window.start_training(steps=10)
    assert finished.args == [Outcome.FAILED]
    title, message = window.messages.last_error[:2]
    assert title == "Training stopped" and "Lower the batch size" in message
    assert window.train_panel.start_button.isEnabled()


def test_settings_round_trip_reopens_the_last_checkpoint(window, qtbot, trained_checkpoint, tmp_path):
    from PySide6.QtCore import QSettings

    from explorer.main_window import MainWindow
    from tests.conftest import close_window

    ckpt, path = trained_checkpoint
    with qtbot.waitSignal(window.map_ready, timeout=120_000):
        window.loader.open_checkpoint(str(path))
    elsewhere = str(tmp_path / "elsewhere")
    window.train_panel.data_dir_edit.clear()
    qtbot.keyClicks(window.train_panel.data_dir_edit, elsewhere)
    window.resize(window.minimumSizeHint())  # a size the offscreen screen (800 x 600) can hold
    size = window.size()
    close_window(window, qtbot)

    again = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))  # the fixture's file
    again.messages.interactive = False
    again.show()
    with qtbot.waitSignal(again.map_ready, timeout=120_000):  # the last checkpoint reopens and maps
        again.start_loading()
    assert again.session.checkpoint.step == ckpt.step and again.session.checkpoint_path == str(path)
    assert again.train_panel.data_dir() == elsewhere
    assert again.size() == size
    close_window(again, qtbot)


def test_smoothing_is_debiased_and_per_step(qtbot):
    from explorer.loss_plot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.add_steps([StepMetrics(step=s, loss=5.0, recon=4.0, kld=1.0) for s in range(1, 6)])
    assert list(plot.values("loss", smoothed=True)) == pytest.approx([5.0] * 5)  # no pull towards zero at the start
    plot.clear()
    # a sparse history (a CLI checkpoint logs every 50 steps) is barely smoothed
    plot.add_steps([StepMetrics(step=50 * i, loss=100.0 - i, recon=1.0, kld=1.0) for i in range(1, 17)])
    assert plot.values("loss", smoothed=True)[-1] == pytest.approx(plot.values("loss")[-1], abs=0.05)


def test_the_plot_draws_a_decimated_view_of_a_long_history(qtbot):
    from explorer.loss_plot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 300)
    plot.show()
    n = 200_000  # ten minutes of a GPU-rate run with a log point every step
    plot.add_steps([StepMetrics(step=s, loss=100.0 / s, recon=1.0, kld=1.0) for s in range(1, n + 1)])
    qtbot.waitUntil(lambda: plot.redraws > 0)
    plot.plot.grab()  # render once, as the screen would
    x, y = plot.curves["loss"].getData()
    columns = plot.curves["loss"].getViewBox().width()  # pixels
    assert plot.point_count() == n and len(x) <= 3 * columns  # min and max per pixel column, not 200,000
    assert x[0] <= n / 100 and x[-1] >= n - n / 100  # the whole run is in view


def test_worker_autosaves_on_its_timer_and_at_the_end_not_every_epoch(shapes, small_model_config, tmp_path):
    from core.checkpoint import load_checkpoint
    from core.runs import RunFolder
    from explorer.training import TrainWorker

    config = TrainConfig(epochs=4, batch_size=500, live_map=False, eval_images=50)  # 4 epochs of 4 steps
    worker = TrainWorker(shapes, config, small_model_config, run=RunFolder.create(tmp_path, "shapes", "elbo"),
                         snapshot_interval_s=3600, autosave_interval_s=3600)
    saves, snapshots, epochs = [], [], []
    worker.autosaved.connect(lambda path, error: saves.append(error))
    worker.snapshot.connect(snapshots.append)
    worker.epoch.connect(epochs.append)
    worker.run()  # on this thread: the signals arrive directly
    assert len(epochs) == 4 and saves == [""] and len(snapshots) == 1  # once, when the run ended
    (folder,) = tmp_path.iterdir()
    assert load_checkpoint(folder / "checkpoint.pt").step == 16


def test_a_preset_fills_the_loss_and_beta_and_editing_them_makes_the_form_custom(qtbot, tmp_path):
    from core.config import PRESETS, TrainConfig
    from explorer.training_panel import TrainingPanel
    from tests.explorer.gestures import choose

    panel = TrainingPanel(str(tmp_path))
    qtbot.addWidget(panel)
    panel.show()
    assert not panel.preset_box.isEnabled()  # like every field, until the libraries have loaded
    panel.set_ready(True)
    defaults = TrainConfig()
    default = next(p.name for p in PRESETS if (p.loss, p.beta) == (defaults.loss, defaults.beta))
    assert panel.preset_box.currentText() == default  # the defaults are a preset
    other = next(p for p in PRESETS if p.name != default)
    choose(qtbot, panel.preset_box, other.name)
    trained_with = panel.configs()[1]  # what Start would train with
    assert {name: getattr(trained_with, name) for name in other.settings()} == other.settings()
    assert panel.fields["loss"].currentText() == other.loss and float(panel.fields["beta"].text()) == other.beta
    panel.fields["beta"].selectAll()
    qtbot.keyClicks(panel.fields["beta"], "2.5")
    assert panel.preset_box.currentText() == "custom"
    tip = panel.preset_box.itemData(panel.preset_box.findText(other.name), Qt.ToolTipRole)
    assert other.measured in tip and "dB" in tip  # the measured figures travel with the preset
