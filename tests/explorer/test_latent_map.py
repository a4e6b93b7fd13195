"""The latent map: points coloured by class, clicks that decode, hover, legend, samples, checkpoints."""
import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from explorer.style import class_colors


def click(qtbot, view, pos: QPointF, modifier=Qt.NoModifier):
    qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, modifier, QPoint(round(pos.x()), round(pos.y())))


def test_map_holds_every_point_coloured_by_class(trained_window):
    view, m = trained_window.map_view, trained_window.session.map
    assert view.point_count() == len(trained_window.session.dataset.test) == len(m.labels)
    colors = class_colors(10)
    for k, item in enumerate(view._items):
        assert np.all(m.labels[view.class_indices[k]] == k)
        assert np.array_equal(np.asarray(item.data["data"], dtype=int), view.class_indices[k])
        assert item.opts["brush"].color().name() == colors[k].name()
    assert "variance" in view.plot.getPlotItem().getAxis("bottom").labelText
    assert "kNN accuracy" in view.info.text()
    assert view.legend.item(0).text().startswith("circle (")


def test_clicking_a_point_shows_it_and_its_reconstruction(trained_window, qtbot):
    view, inspector = trained_window.map_view, trained_window.inspector
    assert inspector.original.image() is None
    target = int(np.argmax(view.coords[:, 0]))  # an outlying point, so no neighbour overlaps it
    with qtbot.waitSignal(view.point_clicked, timeout=2_000) as clicked:
        click(qtbot, view, view.screen_pos(target))
    index = clicked.args[0]
    assert np.linalg.norm(view.coords[index] - view.coords[target]) < 0.05 * np.ptp(view.coords[:, 0])
    assert np.array_equal(inspector.original.image(), trained_window.session.dataset.test.images[index])
    recon = inspector.reconstruction.image()
    assert recon is not None and recon.shape == (3, 32, 32) and recon.std() > 0
    assert trained_window.session.classes[trained_window.session.map.labels[index]] in inspector.title.text()


def test_clicking_empty_space_decodes_and_marks_the_spot(trained_window, qtbot):
    view, inspector = trained_window.map_view, trained_window.inspector
    rect = view.plot.plotItem.vb.viewRect()
    spot = QPointF(rect.left() + 0.02 * rect.width(), rect.top() + 0.02 * rect.height())  # a corner
    pos = view.plot.mapFromScene(view.plot.plotItem.vb.mapViewToScene(spot))
    if view.pick(view.plot.mapToScene(QPoint(round(pos.x()), round(pos.y())))) is not None:
        pytest.skip("a point happens to sit in the corner")
    with qtbot.waitSignal(view.empty_clicked, timeout=2_000):
        click(qtbot, view, pos)
    decoded = inspector.reconstruction.image()
    assert decoded is not None and decoded.std() > 0 and inspector.original.image() is None
    assert len(view.marker_item.data) == 1
    # a different spot decodes to a different image
    far = QPointF(rect.right() - 0.02 * rect.width(), rect.bottom() - 0.02 * rect.height())
    view.empty_clicked.emit(far.x(), far.y())
    assert not np.array_equal(inspector.reconstruction.image(), decoded)


def test_shift_click_interpolates(trained_window, qtbot):
    view, inspector = trained_window.map_view, trained_window.inspector
    a, b = int(np.argmax(view.coords[:, 0])), int(np.argmin(view.coords[:, 0]))
    click(qtbot, view, view.screen_pos(a))
    with qtbot.waitSignal(view.interpolate_requested, timeout=2_000):
        click(qtbot, view, view.screen_pos(b), Qt.ShiftModifier)
    strip = inspector.strip.image()
    assert strip is not None and strip.shape[2] == 2 + 10 * 34  # ten decoded images in a row


def test_hover_names_the_nearest_class(trained_window, qtbot):
    view = trained_window.map_view
    target = int(np.argmax(view.coords[:, 1]))
    viewport, pos = view.plot.viewport(), QPointF(view.screen_pos(target))
    move = QMouseEvent(QEvent.MouseMove, pos, viewport.mapToGlobal(pos), Qt.NoButton, Qt.NoButton, Qt.NoModifier)
    QApplication.sendEvent(viewport, move)  # a real hover event (QTest.mouseMove does not hover offscreen)
    qtbot.waitUntil(lambda: view.hover_label.text() != " ", timeout=2_000)
    assert view.hover_label.text().startswith("Nearest point: ")
    assert len(view.hover_item.data) == 1


def test_legend_hides_a_class(trained_window):
    view = trained_window.map_view
    total = view.point_count()
    hidden = int(np.sum(view.labels == 3))
    view.set_class_visible(3, False)
    assert view.point_count() == total - hidden and not view._items[3].isVisible()
    assert not np.isin(view._visible_idx, np.flatnonzero(view.labels == 3)).any()  # not pickable either
    view.set_class_visible(3, True)
    assert view.point_count() == total


def test_resample_changes_the_grid(trained_window):
    samples = trained_window.samples
    before = samples.view.image()
    assert before is not None
    samples.resample_button.click()
    after = samples.view.image()
    assert after.shape == before.shape and not np.array_equal(after, before)
    samples.temperature.setValue(20)
    assert not np.array_equal(samples.view.image(), after)


def test_export_latents_and_image(trained_window, tmp_path):
    assert trained_window.export_latents(str(tmp_path / "lat.npz"))
    assert np.load(tmp_path / "lat.npz")["mu"].shape[0] == trained_window.map_view.point_count()
    trained_window.tabs.setCurrentIndex(2)
    assert trained_window.export_image(str(tmp_path / "grid.png"))
    from PIL import Image

    assert Image.open(tmp_path / "grid.png").size == (2 + 8 * 34, 2 + 8 * 34)
    assert not trained_window.export_latents(str(tmp_path / "no" / "such" / "dir.npz"))
    assert "cannot write" in trained_window.last_error[1]


def test_open_checkpoint_fills_map_and_samples(window, qtbot, trained_checkpoint):
    ckpt, path = trained_checkpoint
    with qtbot.waitSignal(window.map_ready, timeout=120_000):
        window.open_checkpoint(str(path))
    assert window.session.checkpoint.step == ckpt.step
    assert window.map_view.point_count() == len(window.session.dataset.test)
    assert window.samples.view.image() is not None
    assert window.train_panel.loss_plot.point_count() == len(ckpt.history["steps"])
    assert f"step {ckpt.step}" in window.model_label.text()
    assert window.train_panel.continue_button.isEnabled()


def test_bad_checkpoint_is_refused_and_model_kept(trained_window, qtbot, tmp_path):
    before = trained_window.session.checkpoint
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    trained_window.open_checkpoint(str(bad))
    qtbot.waitUntil(lambda: trained_window.last_error is not None, timeout=10_000)
    assert trained_window.last_error[0] == "Cannot open checkpoint" and str(bad) in trained_window.last_error[1]
    assert trained_window.session.checkpoint is before and trained_window.map_view.point_count() > 0
