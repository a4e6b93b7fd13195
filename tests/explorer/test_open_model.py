"""Someone else's VAE in the app: a model file dropped on the window opens, is mapped, and a click decodes
through that model; training says why it is off; a crafted file is refused and nothing runs."""
import numpy as np
import torch
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from core.latent import to_uint8
from tests.core.test_model_file import Payload, export_mlp
from tests.explorer.gestures import click, click_tab, file_mime


def drop_on_window(window, path) -> None:
    """Drag a file over the window (its tab bar, away from the map) and let go."""
    mime, pos = file_mime(path), window.rect().center()
    enter = QDragEnterEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))


def test_a_dropped_model_file_is_mapped_and_a_click_decodes_through_it(window, qtbot, tmp_path):
    vae = export_mlp(tmp_path / "mlp.vaemodel")
    drop_on_window(window, tmp_path / "mlp.vaemodel")
    qtbot.waitUntil(lambda: window.session.map is not None and not window.runner.busy, timeout=60_000)
    assert window.session.model.config.latent_dim == 6 and "model file: mlp" in window.model_label.text()
    assert not window.train_panel.continue_button.isEnabled()
    assert "model file" in window.train_panel.continue_button.toolTip()
    assert not window.files.actions["save"].isEnabled()

    window.tabs.setCurrentIndex(1)
    view, inspector = window.map_view, window.inspector
    target = int(np.argmax(view.coords[:, 0]))
    click(qtbot, view, view.screen_pos(target))
    image = window.session.dataset.test.images[target]
    with torch.no_grad():
        expected = to_uint8(vae.decode(vae.encode(torch.from_numpy(image[None]).float() / 255)[0]))[0]
    assert np.array_equal(inspector.original.image(), image)
    assert np.array_equal(inspector.reconstruction.image(), expected)

    vb = view.plot.plotItem.vb
    rect = vb.viewRect()
    vb.setRange(xRange=(rect.right() + 10, rect.right() + 20), padding=0)  # empty space: the PCA inverse, decoded
    spot = vb.viewRect().center()
    with qtbot.waitSignal(view.empty_clicked, timeout=2_000) as clicked:
        click(qtbot, view, view.plot.mapFromScene(vb.mapViewToScene(spot)))
    z = window.session.map.projection.to_latent(clicked.args)
    with torch.no_grad():
        expected = to_uint8(vae.decode(torch.as_tensor(np.atleast_2d(z)).float()))[0]
    assert np.array_equal(inspector.reconstruction.image(), expected)

    vb.autoRange()
    click(qtbot, view, view.screen_pos(target))
    click_tab(qtbot, inspector.tabs, 1)  # traversals, decoded through the model file
    qtbot.waitUntil(lambda: inspector.traversals.image() is not None, timeout=10_000)
    click_tab(qtbot, inspector.tabs, inspector.tabs.indexOf(window.lenses))  # the model's view among the lenses
    qtbot.waitUntil(lambda: window.lenses.report is not None, timeout=60_000)
    assert "recon_error" in {p.name for p in window.lenses.report.ranked}
    click_tab(qtbot, window.tabs, window.tabs.indexOf(window.samples))  # prior samples from its decoder
    qtbot.waitUntil(lambda: window.samples.image() is not None, timeout=30_000)
    assert window.messages.last_error is None


def test_a_crafted_model_file_dropped_on_the_window_is_refused_and_runs_nothing(window, qtbot, tmp_path):
    marker, evil = tmp_path / "marker", tmp_path / "evil.vaemodel"
    torch.save({"model": Payload(marker)}, evil)
    before = window.session.checkpoint
    drop_on_window(window, evil)
    qtbot.waitUntil(lambda: window.messages.last_error is not None, timeout=30_000)
    title, message = window.messages.last_error
    assert title == "Cannot open model" and "could run code" in message and "evil.vaemodel" in message
    assert not marker.exists() and window.session.checkpoint is before


def test_a_model_file_is_a_run_that_compares_side_by_side_with_a_trained_convvae(window, qtbot, tmp_path,
                                                                              shapes_checkpoint, monkeypatch):
    import shutil

    from PySide6.QtWidgets import QFileDialog

    from explorer.runs_panel import COLUMNS
    from tests.explorer.test_runs_tab import runs_tab, tick

    folder = tmp_path / "others"
    folder.mkdir()
    export_mlp(folder / "mlp.vaemodel")
    shutil.copyfile(shapes_checkpoint[1], folder / "ours.pt")
    panel = runs_tab(window, qtbot)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    qtbot.mouseClick(panel.buttons["Add folder..."], Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.proxy.rowCount() == 2, timeout=10_000)
    rows = {panel.proxy.index(r, 0).data(): r for r in range(2)}
    loss = panel.proxy.index(rows["mlp"], COLUMNS.index("loss")).data()
    assert loss == "model file" and panel.proxy.index(rows["mlp"], COLUMNS.index("latent")).data() == "6"
    for r in range(2):
        tick(qtbot, panel, r)
    qtbot.mouseClick(panel.buttons["Compare maps"], Qt.LeftButton)
    qtbot.waitUntil(lambda: window.map_compare.pair is not None, timeout=60_000)
    pair = window.map_compare.pair
    assert pair.coords_a.shape == pair.coords_b.shape and window.messages.last_error is None


def test_a_model_of_another_image_size_names_both_sizes_and_maps_once_a_dataset_fits(window, qtbot, tmp_path):
    export_mlp(tmp_path / "small.vaemodel", side=16, channels=1)
    drop_on_window(window, tmp_path / "small.vaemodel")
    qtbot.waitUntil(lambda: window.messages.last_error is not None, timeout=60_000)
    title, message = window.messages.last_error
    assert title == "The dataset does not fit the model" and "16 px, 1-channel" in message and "32 px" in message
    assert window.session.map is None
    window.messages.last_error = None
    click_tab(qtbot, window.tabs, 0)
    qtbot.mouseClick(window.train_panel.load_button, Qt.LeftButton)  # Shapes again: made at the model's size
    qtbot.waitUntil(lambda: window.session.map is not None and not window.runner.busy, timeout=60_000)
    assert window.session.dataset.test.images.shape[1:] == (1, 16, 16) and window.messages.last_error is None
