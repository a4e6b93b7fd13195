"""Samples from the prior or the fitted mixture, and the diagnostics panel, in the real window."""
import numpy as np
from PySide6.QtCore import Qt

from core.metrics import Outcome
from tests.explorer.gestures import save_dialog_returns


def choose_source(qtbot, samples, index: int) -> None:
    samples.source_box.setFocus()
    while samples.source_box.currentIndex() != index:
        qtbot.keyClick(samples.source_box, Qt.Key_Down if samples.source_box.currentIndex() < index else Qt.Key_Up)


def test_samples_from_the_fitted_mixture(trained_window, qtbot):
    samples, sampling = trained_window.samples, trained_window.sampling
    trained_window.tabs.setCurrentIndex(2)
    assert samples.source() == "mixture"  # the default
    qtbot.waitUntil(lambda: sampling.has_mixture, timeout=60_000)  # fitted in the background after training
    assert "fitted mixture" in samples.view.caption
    mixture = samples.image()
    choose_source(qtbot, samples, 0)
    assert samples.source() == "prior" and "prior" in samples.view.caption
    prior = samples.image()
    assert prior.shape == mixture.shape and not np.array_equal(prior, mixture)
    choose_source(qtbot, samples, 1)
    assert np.array_equal(samples.image(), mixture)  # deterministic by seed
    qtbot.mouseClick(samples.resample_button, Qt.LeftButton)
    assert not np.array_equal(samples.image(), mixture)
    samples.seed.setValue(samples.seed.value() - 1)  # the same seed draws the same grid again
    assert np.array_equal(samples.image(), mixture)


def test_mixture_is_fitted_on_demand_for_an_opened_checkpoint(window, qtbot, trained_checkpoint):
    samples, sampling = window.samples, window.sampling
    window.loader.open_checkpoint(str(trained_checkpoint[1]))
    qtbot.waitUntil(lambda: window.session.checkpoint is not None, timeout=60_000)
    assert "prior" in samples.view.caption  # prior samples at once, while the mixture is fitted
    assert "Fitting" in samples.status.text()
    qtbot.waitUntil(lambda: sampling.has_mixture and "fitted mixture" in samples.view.caption, timeout=60_000)


def test_diagnostics_show_one_sorted_bar_per_latent_dimension(window, qtbot):
    window.train_panel.fields["latent_dim"].setText("128")
    with qtbot.waitSignal(window.training_finished, timeout=120_000) as finished:
        window.start_training(steps=20)
    assert finished.args == [Outcome.FINISHED]
    bars = window.diagnostics.bar_heights()
    assert len(bars) == 128 and np.all(np.diff(bars) <= 0) and bars[0] > 0
    m = window.session.history.epochs[-1]
    np.testing.assert_allclose(bars, np.sort(m.kl_dims)[::-1])
    text = window.diagnostics.summary.text()
    assert f"<b>{m.active_units}</b> of 128" in text and f"<b>{m.informative_dims}</b>" in text
    assert 0 <= m.active_units <= 128 and 0 <= m.informative_dims <= 128


def test_resample_changes_the_grid(explored_window, qtbot):
    samples = explored_window.samples
    before = samples.image()
    assert before is not None
    qtbot.mouseClick(samples.resample_button, Qt.LeftButton)
    after = samples.image()
    assert after.shape == before.shape and not np.array_equal(after, before)
    samples.temperature.setValue(20)
    assert not np.array_equal(samples.image(), after)


def test_save_png_button_writes_the_samples(explored_window, qtbot, tmp_path, monkeypatch):
    from PIL import Image

    explored_window.tabs.setCurrentIndex(2)
    save_dialog_returns(monkeypatch, tmp_path / "grid.png")
    qtbot.mouseClick(explored_window.samples.save_button, Qt.LeftButton)
    written = np.asarray(Image.open(tmp_path / "grid.png")).transpose(2, 0, 1)
    assert np.array_equal(written, explored_window.samples.image())



def test_diagnostics_say_what_step_they_describe_and_evaluate_now_on_demand(window, qtbot):
    """Stopped between epoch ends, the model has no figures of its own yet: Evaluate now computes them."""
    from tests.explorer.gestures import click_tab

    panel, diagnostics = window.train_panel, window.diagnostics
    panel.fields["epochs"].setText("50")
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.session.history.steps) >= 2, timeout=60_000)
    assert not diagnostics.evaluate_button.isVisibleTo(diagnostics)  # not while it trains
    with qtbot.waitSignal(window.training_finished, timeout=30_000):
        qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    step = window.session.checkpoint.step
    assert 0 < step < 62 and not window.session.history.epochs  # stopped inside the first epoch
    click_tab(qtbot, window.tabs, 3)
    assert diagnostics.evaluate_button.isVisible()
    qtbot.mouseClick(diagnostics.evaluate_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.session.history.epochs) == 1, timeout=60_000)
    assert window.session.history.epochs[-1].step == step
    summary = diagnostics.summary.text()
    assert summary.startswith(f"Evaluated at step {step:,}:") and "trained on" not in summary
    assert len(diagnostics.bar_heights()) == 8 and not diagnostics.evaluate_button.isVisible()
    steps, psnr = diagnostics.psnr_curve.getData()
    assert list(steps) == [step] and psnr[0] > 5
