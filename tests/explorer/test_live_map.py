"""The living map: frames arrive while the model trains, the points move, and the timeline replays
them, also from a saved and reopened checkpoint."""
import numpy as np
from PySide6.QtCore import Qt

from core.metrics import Outcome


def train_with_frames(window, qtbot, steps=30):
    window.train_panel.fields["batch_size"].setText("1000")  # 10 steps an epoch: a frame at each epoch end
    shown = []
    window.session.map_changed.connect(lambda: shown.append(window.session.map and window.session.map.frame))
    with qtbot.waitSignal(window.training_finished, timeout=120_000) as finished:
        window.start_training(steps=steps)
    assert finished.args == [Outcome.FINISHED]
    return shown


def test_the_map_moves_while_the_model_trains(window, qtbot):
    shown = train_with_frames(window, qtbot)
    live = window.session.live
    assert [f.step for f in live.frames] == [10, 20, 30]
    assert [k for k in shown if k is not None][:3] == [0, 1, 2]  # each frame was shown as it arrived
    first, last = (f.coords.astype(np.float32) for f in (live.frames[0], live.frames[-1]))
    assert np.abs(last - first).mean() > 0.01 * np.abs(first).mean()  # the points moved
    qtbot.waitUntil(lambda: window.session.map.frame is None, timeout=60_000)  # then the full map of the test split
    assert window.map_view.timeline.isVisibleTo(window.map_view) and window.map_view.timeline.slider.maximum() == 2


def test_timeline_restores_frame_k_exactly_after_save_and_reopen(window, qtbot, tmp_path):
    train_with_frames(window, qtbot)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    frames = [f.coords.astype(np.float32).copy() for f in window.session.live.frames]
    path = str(tmp_path / "run.pt")
    assert window.files.save_checkpoint(path)
    window.session.clear_model()
    with qtbot.waitSignal(window.map_ready, timeout=120_000):
        window.loader.open_checkpoint(path)
    view = window.map_view
    window.tabs.setCurrentIndex(1)
    view.timeline.slider.setFocus()
    qtbot.keyClick(view.timeline.slider, Qt.Key_Home)  # scrub to the first frame, as a user does with the keyboard
    qtbot.waitUntil(lambda: window.session.map.frame == 0, timeout=5_000)
    qtbot.waitUntil(lambda: np.array_equal(view.coords, frames[0]), timeout=5_000)  # after the move animation
    qtbot.keyClick(view.timeline.slider, Qt.Key_Right)
    qtbot.waitUntil(lambda: np.array_equal(view.coords, frames[1]), timeout=5_000)
    assert "frame 2 of 3" in view.timeline.label.text() and "step 20" in view.timeline.label.text()
    target = int(np.argmax(frames[1][:, 0]))
    qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, Qt.NoModifier, view.screen_pos(target))
    index = int(window.session.live.indices[target])  # a frame point opens its own image
    assert np.array_equal(window.inspector.original.image(), window.session.dataset.test.images[index])


def choose(qtbot, box, index):
    box.setFocus()
    while box.currentIndex() != index:
        qtbot.keyClick(box, Qt.Key_Down if box.currentIndex() < index else Qt.Key_Up)


def test_tsne_map_runs_in_the_background_and_cancel_keeps_the_previous_map(explored_window, qtbot):
    window, view = explored_window, explored_window.map_view
    window.tabs.setCurrentIndex(1)
    pca_map = window.session.map
    choose(qtbot, view.toolbar.projection_box, 1)
    assert window.session.choices.projection == "tsne"
    qtbot.mouseClick(view.toolbar.encode_button, Qt.LeftButton)
    n = len(pca_map.labels)
    qtbot.waitUntil(lambda: view.toolbar.progress.value() > n + 50, timeout=120_000)  # inside the t-SNE iterations
    qtbot.mouseClick(view.toolbar.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.running("encode"), timeout=30_000)
    assert window.session.map is pca_map and "PC1" in view.plot.getPlotItem().getAxis("bottom").labelText

    qtbot.mouseClick(view.toolbar.encode_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.session.map.explained is None, timeout=180_000)
    assert view.plot.getPlotItem().getAxis("bottom").labelText == "t-SNE 1" and "estimate" in view.info.text()
    assert view.point_count() == n
    rect = view.plot.plotItem.vb.viewRect()
    view.plot.plotItem.vb.setRange(xRange=(rect.right() + 5, rect.right() + 10), padding=0)
    qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, Qt.NoModifier, view.plot.viewport().rect().center())
    assert "estimate" in window.inspector.title.text() and window.inspector.reconstruction.image() is not None

    choose(qtbot, view.toolbar.projection_box, 0)
    qtbot.mouseClick(view.toolbar.encode_button, Qt.LeftButton)
    assert window.session.map is pca_map  # cached for this model and split: back at once


def test_umap_map_cancels_mid_layout_and_then_draws_with_its_own_axes(explored_window, qtbot):
    window, view = explored_window, explored_window.map_view
    window.tabs.setCurrentIndex(1)
    pca_map, n = window.session.map, len(window.session.map.labels)
    choose(qtbot, view.toolbar.projection_box, 2)
    assert window.session.choices.projection == "umap"
    qtbot.mouseClick(view.toolbar.encode_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: view.toolbar.progress.value() > n, timeout=120_000)  # inside the layout epochs
    qtbot.mouseClick(view.toolbar.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.running("encode"), timeout=60_000)
    assert window.session.map is pca_map and not view.toolbar.progress.isVisible()

    qtbot.mouseClick(view.toolbar.encode_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.session.map.explained is None, timeout=180_000)
    assert view.plot.getPlotItem().getAxis("bottom").labelText == "UMAP 1" and "UMAP (umap-learn" in view.info.text()
    assert view.point_count() == n and np.isfinite(view.coords).all()
