"""The File menu: exports of latents, metrics and Projector files, opening a checkpoint and refusing a bad one."""
import csv

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog

from tests.explorer.gestures import save_dialog_returns


def test_export_latents_menu_writes_the_map_as_csv(explored_window, qtbot, tmp_path, monkeypatch):
    from core.lenses import LENSES

    m = explored_window.session.map
    save_dialog_returns(monkeypatch, tmp_path / "lat.csv")
    explored_window.files.actions["export_latents"].trigger()  # what choosing File > Export latents does
    qtbot.waitUntil(lambda: (tmp_path / "lat.csv").is_file(), timeout=60_000)  # after every lens value is known
    with open(tmp_path / "lat.csv") as f:
        rows = [r for r in csv.reader(f) if not r[0].startswith("#")]
    header, rows = rows[0], rows[1:]
    lenses = explored_window.session.lenses.known()
    properties = [k for k in LENSES if k != "class"]  # brightness, ..., each image's lens values, all of them
    dims = m.projection.mu.shape[1]
    assert header == ["label", "class", "pc1", "pc2", *properties] + [f"mu_{i}" for i in range(dims)]
    assert len(rows) == len(m.labels)
    for i in (0, len(rows) // 2, len(rows) - 1):
        assert int(rows[i][0]) == m.labels[i] and rows[i][1] == explored_window.session.classes[m.labels[i]]
        np.testing.assert_allclose([float(v) for v in rows[i][2:4]], m.coords[i], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose([float(rows[i][4 + k]) for k in range(len(properties))],
                                   [lenses[p][i] for p in properties], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose([float(v) for v in rows[i][-dims:]], m.projection.mu[i], rtol=1e-5, atol=1e-5)
    assert not explored_window.files.export_latents(str(tmp_path / "no" / "such" / "dir.npz"))
    assert "cannot write" in explored_window.messages.last_error[1]


def test_file_menu_exports_metrics_and_projector_files(explored_window, tmp_path, monkeypatch):
    session = explored_window.session
    save_dialog_returns(monkeypatch, tmp_path / "metrics.csv")
    explored_window.files.actions["export_metrics"].trigger()
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    logged = [m.step for m in session.history.steps]
    assert [int(r["step"]) for r in rows] == logged and logged[-1] == 40 and len(logged) >= 2
    assert float(rows[-1]["loss"]) == pytest.approx(session.history.steps[-1].loss)
    assert float(rows[-1]["test_psnr"]) == pytest.approx(session.history.epochs[-1].test_psnr)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "projector"))
    explored_window.files.actions["export_projector"].trigger()
    tensors = np.loadtxt(tmp_path / "projector" / "tensors.tsv", delimiter="\t")
    meta = (tmp_path / "projector" / "metadata.tsv").read_text().splitlines()
    assert tensors.shape == session.map.projection.mu.shape and len(meta) == len(session.map.labels) + 1


def test_open_checkpoint_fills_map_and_samples(window, qtbot, trained_checkpoint):
    ckpt, path = trained_checkpoint
    with qtbot.waitSignal(window.map_ready, timeout=120_000):
        window.loader.open_checkpoint(str(path))
    assert window.session.checkpoint.step == ckpt.step
    assert window.map_view.point_count() == len(window.session.dataset.test)
    assert window.samples.image() is not None
    assert window.loss_plot.point_count() == len(ckpt.history.steps)
    assert len(window.diagnostics.bar_heights()) == 8  # the diagnostics of the opened model, too
    assert f"step {ckpt.step}" in window.model_label.text()
    assert window.train_panel.continue_button.isEnabled()


def test_bad_checkpoint_is_refused_and_model_kept(explored_window, qtbot, tmp_path):
    before = explored_window.session.checkpoint
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    explored_window.loader.open_checkpoint(str(bad))
    qtbot.waitUntil(lambda: explored_window.messages.last_error is not None, timeout=10_000)
    title, message = explored_window.messages.last_error
    assert title == "Cannot open model" and str(bad) in message
    assert explored_window.session.checkpoint is before and explored_window.map_view.point_count() > 0

