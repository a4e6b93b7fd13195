"""Embeddings without a model in the app: dropped on the window, their given map is shown as it is, a click
shows the point's own image and neighbours, their columns colour the map, and what needs a decoder is off
and says why."""
import numpy as np
from PySide6.QtCore import Qt

from tests.explorer.gestures import choose, click, click_tab
from tests.explorer.test_open_model import drop_on_window


def write_embeddings(path, n=400, with_images=True):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, n)
    vectors = (rng.normal(size=(4, 12))[labels] * 3 + rng.normal(size=(n, 12))).astype(np.float32)
    coords = (vectors[:, :2] * [1.0, 0.5]).astype(np.float32)  # a map of their own, not a projection of ours
    images = rng.integers(0, 256, (n, 3, 16, 16), dtype=np.uint8)
    extra = {"images": images} if with_images else {}
    np.savez(path, vectors=vectors, labels=labels, classes=np.array(["w", "x", "y", "z"]), coords=coords,
             score=np.arange(n, dtype=np.float32), **extra)
    return vectors, labels, coords, images


def test_dropped_embeddings_show_their_own_map_images_and_columns_and_no_decoder(window, qtbot, tmp_path):
    vectors, labels, coords, images = write_embeddings(tmp_path / "theirs.npz")
    drop_on_window(window, tmp_path / "theirs.npz")
    qtbot.waitUntil(lambda: window.session.embeddings is not None and window.session.map is not None, timeout=60_000)
    view, inspector = window.map_view, window.inspector
    click_tab(qtbot, window.tabs, 1)
    assert np.array_equal(view.coords, coords)  # the given map, nothing re-projected
    assert "400 embeddings (12-d) from theirs.npz" in view.info.text()
    assert "embeddings: theirs.npz" in window.model_label.text()

    target = int(np.argmax(coords[:, 0]))
    click(qtbot, view, view.screen_pos(target))
    assert np.array_equal(inspector.original.image(), images[target]) and inspector.reconstruction.image() is None
    assert inspector.neighbours.image() is not None
    d = np.linalg.norm(vectors - vectors[target], axis=1)
    nearest = np.argsort(d)[1:9]  # the 8 nearest in the vectors, itself left out
    assert inspector.neighbour_text.text() == " · ".join(f"{'wxyz'[labels[i]]} {d[i]:.2f}" for i in nearest)

    walks = inspector.tabs.indexOf(inspector._walks_page)
    assert not inspector.tabs.isTabEnabled(walks) and "without a model" in inspector.tabs.tabToolTip(walks)
    samples = window.tabs.indexOf(window.samples)
    assert not window.tabs.isTabEnabled(samples) and "without a model" in window.tabs.tabToolTip(samples)

    vb = view.plot.plotItem.vb
    rect = vb.viewRect()
    vb.setRange(xRange=(rect.right() + 10, rect.right() + 20), padding=0)
    with qtbot.waitSignal(view.empty_clicked, timeout=2_000):
        click(qtbot, view, view.plot.mapFromScene(vb.mapViewToScene(vb.viewRect().center())))
    assert "without a model" in view.info.text() and inspector.reconstruction.image() is None
    vb.autoRange()

    click_tab(qtbot, inspector.tabs, inspector.tabs.indexOf(window.lenses))  # the file's columns are ranked too
    qtbot.waitUntil(lambda: window.lenses.report is not None or window.messages.last_error is not None,
                    timeout=60_000)
    assert window.messages.last_error is None
    assert {"class", "col:score", "brightness"} <= {p.name for p in window.lenses.report.ranked}
    choose(qtbot, view.toolbar.colour_box, "score")  # a column of the file is a lens
    qtbot.waitUntil(lambda: view.colouring.name == "col:score", timeout=10_000)
    assert window.session.choices.colour_by == "col:score"
    assert window.messages.last_error is None


def test_embeddings_without_images_or_coordinates_get_a_pca_map_and_no_pictures(window, qtbot, tmp_path):
    vectors, *_ = write_embeddings(tmp_path / "bare.npz", with_images=False)
    np.savez(tmp_path / "bare.npz", vectors=vectors)
    drop_on_window(window, tmp_path / "bare.npz")
    qtbot.waitUntil(lambda: window.session.embeddings is not None and window.session.map is not None, timeout=60_000)
    view = window.map_view
    click_tab(qtbot, window.tabs, 1)
    assert "PCA explains" in view.info.text()
    click(qtbot, view, view.screen_pos(0))
    assert window.session.picked == 0 and window.inspector.original.image() is None
    assert not window.files.actions["export_projector"].isEnabled()
    assert window.messages.last_error is None
    inspector = window.inspector
    click_tab(qtbot, inspector.tabs, inspector.tabs.indexOf(window.lenses))  # what the vectors follow: no pixels
    qtbot.waitUntil(lambda: "Nothing to rank" in window.lenses.headline.text(), timeout=60_000)
    assert window.messages.last_error is None
    qtbot.mouseClick(view.toolbar.encode_button, Qt.LeftButton)  # t-SNE or PCA again, of the vectors
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    assert window.messages.last_error is None


def test_a_model_opened_over_embeddings_maps_their_images(window, qtbot, tmp_path):
    from tests.core.test_model_file import export_mlp

    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (300, 3, 32, 32), dtype=np.uint8)
    np.savez(tmp_path / "e.npz", vectors=rng.normal(size=(300, 5)).astype(np.float32), images=images)
    drop_on_window(window, tmp_path / "e.npz")
    qtbot.waitUntil(lambda: window.session.embeddings is not None and window.session.map is not None, timeout=60_000)
    vae = export_mlp(tmp_path / "mlp.vaemodel")
    drop_on_window(window, tmp_path / "mlp.vaemodel")  # the model that could have made them: it maps their images
    qtbot.waitUntil(lambda: window.session.embeddings is None and window.session.map is not None
                    and not window.runner.busy, timeout=60_000)
    import torch

    with torch.no_grad():
        expected = vae.encode(torch.from_numpy(images).float() / 255)[0].numpy()
    np.testing.assert_allclose(window.session.map.projection.mu, expected, atol=1e-5)  # their images, its latents
    assert window.messages.last_error is None
    assert window.tabs.isTabEnabled(window.tabs.indexOf(window.samples))
