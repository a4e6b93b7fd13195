"""Selections on the map: a lasso and a rectangle select exactly the points inside, the rest greys, the
selection exports, and saved groups drive an attribute vector."""
import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from tests.explorer.gestures import choose, click, click_tab, drag


def test_a_lasso_around_a_cluster_selects_exactly_its_points_and_exports_them(qtbot, window, tmp_path, monkeypatch):
    import math

    from core.latent import LatentMap
    from core.maps import MapData

    session, view, inspector = window.session, window.map_view, window.inspector
    qtbot.waitUntil(lambda: session.dataset is not None, timeout=60_000)
    from core.checkpoint import Checkpoint
    from core.model import ConvVAE

    model = ConvVAE(latent_dim=8, channels=8)
    session.set_checkpoint(Checkpoint(model.config, model.state_dict()))
    rng = np.random.default_rng(0)
    n = 300
    mu = rng.normal(size=(n, 8)).astype(np.float32)
    coords = rng.uniform(-10, 10, (n, 2))
    near = np.hypot(coords[:, 0] - 5, coords[:, 1] - 5) < 3
    coords[near] -= 8  # nothing within 3 of (5, 5) ...
    cluster = np.arange(20)  # ... but a cluster inside a disc of radius 1.5 around it
    r, angle = 1.5 * np.sqrt(rng.uniform(0, 1, 20)), rng.uniform(0, 2 * np.pi, 20)
    coords[cluster] = np.stack([5 + r * np.cos(angle), 5 + r * np.sin(angle)], 1)
    coords = coords.astype(np.float32)
    lmap = LatentMap(mu, coords, np.array([0.5, 0.2]), np.zeros((2, 8), np.float32), mu.mean(0))
    labels = session.dataset.test.labels[:n]
    session.set_map(MapData("test", labels, coords, None, lmap, indices=np.arange(n)))
    window.tabs.setCurrentIndex(1)
    QApplication.processEvents()
    view.toolbar.drag_box.setCurrentText("lasso")
    vb = view.plot.plotItem.vb
    ring = [view.plot.mapFromScene(vb.mapViewToScene(QPointF(5 + 2.2 * math.cos(t), 5 + 2.2 * math.sin(t))))
            for t in np.linspace(0, 2 * np.pi, 40)]
    drag(qtbot, view, ring)
    assert np.array_equal(session.selection, cluster) and np.array_equal(view.selection, cluster)
    assert inspector.selection_text.text().startswith("<b>20 points selected</b>")
    assert inspector.selection_mean.image() is not None and inspector.selection_grid.image() is not None
    brushes = view.points.data["brush"]  # unselected points stay visible, greyed
    assert len(view.points.data) == n and sum(b.color().alpha() == 90 for b in brushes) == n - 20

    path = tmp_path / "sel.npz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    qtbot.mouseClick(inspector.export_button, Qt.LeftButton)
    saved = np.load(path)
    assert np.array_equal(saved["indices"], cluster) and np.array_equal(saved["labels"], labels[cluster])
    assert np.allclose(saved["mu"], mu[cluster])
    assert (tmp_path / "sel.png").stat().st_size > 0

    view.toolbar.drag_box.setCurrentText("rectangle")  # a rectangle over the left half selects exactly those points
    corners = [view.plot.mapFromScene(vb.mapViewToScene(QPointF(x, y))) for x, y in ((-9, -9), (-5, 0), (0, 9))]
    drag(qtbot, view, corners)
    x0, y0, x1, y1 = (view.plot.plotItem.vb.mapSceneToView(view.plot.mapToScene(corners[i])) for i in (0, 0, 2, 2))
    x0, y0, x1, y1 = x0.x(), y0.y(), x1.x(), y1.y()  # the corners as the mouse hit them (whole pixels)
    x, y = coords[:, 0], coords[:, 1]
    expected = np.flatnonzero((x >= x0) & (x <= x1) & (y >= min(y0, y1)) & (y <= max(y0, y1)))
    assert len(expected) > 20 and np.array_equal(session.selection, expected)

    qtbot.mouseClick(inspector.group_button, Qt.LeftButton)  # group A: the rectangle; group B: the lasso
    view.toolbar.drag_box.setCurrentText("lasso")
    drag(qtbot, view, ring)
    qtbot.mouseClick(inspector.group_button, Qt.LeftButton)
    view.toolbar.drag_box.setCurrentText("pan")
    assert inspector.groups_text.text() == f"Groups: A\u00a0({len(expected)}), B\u00a0(20)"  # no break inside one
    click_tab(qtbot, inspector.tabs, 1)  # Traversals: attribute vector A -> B
    picked = int(np.argmax(coords[:, 1]))  # the topmost point, alone under the cursor
    with qtbot.waitSignal(view.point_clicked, timeout=2_000):
        click(qtbot, view, view.screen_pos(picked))
    choose(qtbot, inspector.attribute_from, "group A")
    choose(qtbot, inspector.attribute_to, "group B")
    end = session.query.decode((mu[picked] + mu[cluster].mean(0) - mu[expected].mean(0))[None])[0]
    assert np.array_equal(inspector.attribute.image()[:, 36:68, 2 + 3 * 34:2 + 3 * 34 + 32], end)  # the 8th image

