"""Samples from the prior or the fitted mixture, and the diagnostics panel, in the real window."""
import numpy as np
from PySide6.QtCore import Qt

from core.metrics import Outcome


def choose_source(qtbot, samples, index: int) -> None:
    samples.source_box.setFocus()
    while samples.source_box.currentIndex() != index:
        qtbot.keyClick(samples.source_box, Qt.Key_Down if samples.source_box.currentIndex() < index else Qt.Key_Up)


def test_samples_from_the_fitted_mixture(trained_window, qtbot):
    samples, sampling = trained_window.samples, trained_window.sampling
    trained_window.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: sampling.has_mixture, timeout=60_000)  # fitted in the background after training
    prior = samples.image()
    choose_source(qtbot, samples, 1)
    assert samples.source() == "mixture" and "fitted mixture" in samples.view.caption
    mixture = samples.image()
    assert mixture.shape == prior.shape and not np.array_equal(mixture, prior)
    qtbot.mouseClick(samples.resample_button, Qt.LeftButton)
    other = samples.image()
    assert not np.array_equal(other, mixture)
    samples.seed.setValue(samples.seed.value() - 1)  # the same seed draws the same grid again
    assert np.array_equal(samples.image(), mixture)


def test_mixture_is_fitted_on_demand_for_an_opened_checkpoint(window, qtbot, trained_checkpoint):
    samples, sampling = window.samples, window.sampling
    with qtbot.waitSignal(window.map_ready, timeout=120_000):
        window.loader.open_checkpoint(str(trained_checkpoint[1]))
    assert not sampling.has_mixture
    prior = samples.image()
    choose_source(qtbot, samples, 1)
    assert "Fitting" in samples.status.text()
    qtbot.waitUntil(lambda: sampling.has_mixture and not np.array_equal(samples.image(), prior), timeout=60_000)
    assert "fitted mixture" in samples.view.caption


def test_diagnostics_show_one_sorted_bar_per_latent_dimension(window, qtbot):
    window.train_panel.fields["latent_dim"].setText("128")
    with qtbot.waitSignal(window.training_finished, timeout=120_000) as finished:
        window.start_training(steps=20)
    assert finished.args == [Outcome.FINISHED]
    bars = window.diagnostics.bar_heights()
    assert len(bars) == 128 and np.all(np.diff(bars) <= 0) and bars[0] > 0
    m = window.session.epochs[-1]
    np.testing.assert_allclose(bars, np.sort(m.kl_dims)[::-1])
    text = window.diagnostics.summary.text()
    assert f"<b>{m.active_units}</b> of 128" in text and f"<b>{m.informative_dims}</b>" in text
    assert 0 <= m.active_units <= 128 and 0 <= m.informative_dims <= 128
