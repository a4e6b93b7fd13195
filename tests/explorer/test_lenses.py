"""Lenses on the map, as a user meets them: colour by a property (with a colour bar), read which property
the latents follow most, and click a bar to colour the map by it."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from core.lenses import LENSES
from tests.explorer.gestures import choose, click_tab, drag


def drawn_colours(view) -> np.ndarray:
    """[N, 3] RGB of the points as drawn, in map order."""
    rgb = np.array([b.color().getRgb()[:3] for b in view.points.data["brush"]], float)
    out = np.zeros((len(view.coords), 3))
    out[view._drawn] = rgb
    return out


def test_colour_by_brightness_draws_a_scale_that_follows_the_images(explored_window, qtbot):
    window, view = explored_window, explored_window.map_view
    before = drawn_colours(view)
    choose(qtbot, view.toolbar.colour_box, "brightness")
    qtbot.waitUntil(lambda: view.colouring.name == "brightness", timeout=30_000)  # computed when first asked
    colours = drawn_colours(view)
    assert not np.allclose(colours, before)
    brightness = window.session.lenses.get("brightness")
    assert brightness is not None and view.colour_bar.bar is not None  # a number gets a colour bar
    lo, hi = view.colour_bar.levels
    assert lo == np.percentile(brightness, 1) and hi == np.percentile(brightness, 99)
    # viridis runs from dark purple to yellow: its green channel rises with the value
    assert np.corrcoef(colours[:, 1], np.clip(brightness, lo, hi))[0, 1] > 0.95

    def points_drawn():  # the plot below its top 60 px (where the colour bar may still be settling)
        image = view.plot.grab().toImage()
        return image.copy(0, 60, image.width(), image.height() - 60)

    recoloured = points_drawn()  # drawn by recolouring the points in place
    size = view.toolbar.size_box
    qtbot.keyClick(size, Qt.Key_Up)
    qtbot.keyClick(size, Qt.Key_Down)  # the same size again, every point restyled from scratch
    assert points_drawn() == recoloured

    choose(qtbot, view.toolbar.colour_box, "dominant hue")  # a category: a legend, no colour bar
    qtbot.waitUntil(lambda: view.colouring.name == "hue", timeout=30_000)
    assert view.colour_bar.bar is None and view.legend.lens.isVisible() and "red" in view.legend.lens.text()
    choose(qtbot, view.toolbar.colour_box, "class")
    assert np.allclose(drawn_colours(view), before) and not view.legend.lens.isVisible()



def test_a_number_lens_takes_a_typed_range_another_map_and_a_log_scale(explored_window, qtbot):
    from core.colours import COLOUR_MAPS, LEVELS

    window, view = explored_window, explored_window.map_view
    bar = view.toolbar
    assert not bar.scale_row.isVisible()  # class: no scale
    choose(qtbot, bar.colour_box, "brightness")
    qtbot.waitUntil(lambda: view.colouring.name == "brightness", timeout=30_000)
    brightness = window.session.lenses.get("brightness")
    assert bar.scale_row.isVisible() and bar.low_edit.placeholderText() == f"{np.percentile(brightness, 1):.4g}"

    low, high = (float(f"{v:.2f}") for v in np.percentile(brightness, [30, 60]))
    for edit, value in ((bar.low_edit, low), (bar.high_edit, high)):
        qtbot.keyClicks(edit, f"{value}")
        qtbot.keyClick(edit, Qt.Key_Return)
    assert window.session.choices.colour_range == (low, high) and view.colour_bar.levels == (low, high)
    colours = drawn_colours(view)
    darkest, brightest = (COLOUR_MAPS["viridis"][i] for i in (0, -1))
    assert np.allclose(colours[brightness <= low], darkest, atol=12)  # everything below the range: its low end
    assert np.allclose(colours[brightness >= high], brightest, atol=12)

    choose(qtbot, bar.cmap_box, "cividis")
    assert view.colouring.cmap == "cividis"
    assert np.allclose(drawn_colours(view)[brightness >= high], COLOUR_MAPS["cividis"][-1], atol=12)
    qtbot.mouseClick(bar.log_box, Qt.LeftButton)
    assert np.allclose(view.colour_bar.levels, np.log10([low, high])) and view.colouring.title.startswith("log10")
    codes = view.colouring.codes
    inside = (brightness > low) & (brightness < high)
    expected = np.clip(((np.log10(brightness) - np.log10(low)) / np.log10(high / low) * LEVELS), 0, LEVELS - 1)
    assert np.array_equal(codes[inside], expected[inside].astype(np.int64))
    qtbot.mouseClick(bar.auto_button, Qt.LeftButton)
    assert window.session.choices.colour_range == () and bar.low_edit.text() == ""
    assert np.allclose(view.colour_bar.levels, np.percentile(np.log10(brightness[brightness > 0]), [1, 99]))
    qtbot.keyClicks(bar.low_edit, "0.9")  # a range the wrong way round says so and changes nothing
    qtbot.keyClick(bar.low_edit, Qt.Key_Return)
    qtbot.keyClicks(bar.high_edit, "0.1")
    qtbot.keyClick(bar.high_edit, Qt.Key_Return)
    assert window.session.choices.colour_range == () and "low one first" in window.messages.last_error[1]

def test_the_lenses_tab_ranks_what_the_latents_predict_and_which_dimension_follows_what(explored_window, qtbot):
    from tests.explorer.gestures import click

    window, view, panel = explored_window, explored_window.map_view, explored_window.lenses
    click_tab(qtbot, window.inspector.tabs, window.inspector.tabs.indexOf(panel))
    qtbot.waitUntil(lambda: panel.report is not None, timeout=180_000)  # a loaded machine: 3x its 30 s
    names = [p.name for p in panel.report.ranked]
    assert {"class", "brightness", "saturation", "hue", "contrast", "recon_error", "kl", "loss"} == set(names)
    scores = [p.score for p in panel.report.ranked]
    assert scores == sorted(scores, reverse=True)  # best first
    assert LENSES[panel.report.ranked[0].name].title in panel.headline.text()
    assert "Linear probe" in panel.probe.text()
    by_class = next(p for p in panel.report.ranked if p.name == "class")
    assert by_class.latent == window.session.map.knn  # one model, one figure: the caption's
    target = panel.report.ranked[1].name
    qtbot.mouseClick(panel.plot.viewport(), Qt.LeftButton, pos=panel.bar_position(target))
    assert window.session.choices.colour_by == target
    qtbot.waitUntil(lambda: view.colouring.name == target, timeout=30_000)

    # which dimension follows what: a click on a dimension colours the map by it, and the traversals walk it first
    inspector = window.inspector
    dims = panel.report.dimensions
    assert dims is not None and dims.dims and dims.rho.shape == (len(dims.dims), len(dims.columns))
    assert np.abs(dims.rho).max() <= 1 + 1e-9 and "brightness" in dims.columns
    assert {c for c in dims.columns if c.startswith("class: ")} == {f"class: {c}" for c in window.session.classes}
    assert panel.cells.image.shape == (len(dims.columns), len(dims.dims))  # drawn: a property a row
    assert panel.follows.text().startswith("Strongest: z")

    column = len(dims.dims) - 1  # the least active shown: not a direction the traversals walk anyway
    d = dims.dims[column]
    qtbot.mouseClick(panel.heatmap.viewport(), Qt.LeftButton, pos=panel.dimension_position(column))
    assert (window.session.choices.colour_by, window.session.choices.walk_dimension) == (f"z{d}", d)
    qtbot.waitUntil(lambda: view.colouring.name == f"z{d}", timeout=30_000)
    assert view.toolbar.colour_box.currentText() == f"latent dimension {d}"
    values, codes = window.session.query.latents()[:, d], view.colouring.codes
    assert codes[np.argmax(values)] > codes[np.argmin(values)]  # coloured by the dimension's value

    click_tab(qtbot, inspector.tabs, 1)  # the Traversals tab: the picked point walks that dimension first
    qtbot.waitUntil(inspector.showing_traversals, timeout=2_000)
    qtbot.wait(20)  # the tab's change reaches the controller (a queued signal)
    with qtbot.waitSignal(view.point_clicked, timeout=2_000):
        click(qtbot, view, view.screen_pos(0))
    rows = inspector.traversal_names.text().split(": ", 1)[1]
    assert rows.startswith(f"z{d} (") and "PC1" in rows


def test_lenses_are_computed_only_when_asked_a_hidden_tab_starts_nothing(window, qtbot, monkeypatch,
                                                                          shapes_checkpoint):
    """A PCA map coloured by class with the Lenses tab hidden starts no k-means, mixture, kNN fit, probe, image
    statistics or decoding pass; showing the tab starts them (once per map), and so do cluster labels."""
    import core.lenses
    import core.maps

    calls: dict[str, int] = {}

    def counted(module, name):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, **k: calls.update({name: calls.get(name, 0) + 1}) or real(*a, **k))

    for name in ("kmeans_clusters", "mixture_components", "image_properties", "model_properties"):
        counted(core.maps, name)  # what MapLenses calls
    for name in ("predictability", "linear_probe_accuracy", "lens_report", "cluster_labels"):
        counted(core.lenses, name)
    view, panel = window.map_view, window.lenses
    window.loader.open_checkpoint(str(shapes_checkpoint[1]))
    qtbot.waitUntil(lambda: window.session.map is not None and not window.runner.busy, timeout=60_000)
    qtbot.mouseClick(view.toolbar.encode_button, Qt.LeftButton)  # the map is shown again
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    assert calls == {} and panel.report is None and not panel.isVisible()

    click_tab(qtbot, window.tabs, 1)
    click_tab(qtbot, window.inspector.tabs, window.inspector.tabs.indexOf(panel))
    qtbot.waitUntil(lambda: panel.report is not None, timeout=180_000)  # a loaded machine: 3x its 30 s
    assert calls["lens_report"] == 1 and calls["predictability"] >= 8 and calls["linear_probe_accuracy"] == 2
    assert calls["image_properties"] == calls["model_properties"] == 1 and "kmeans_clusters" not in calls
    qtbot.mouseClick(view.toolbar.encode_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    assert calls["lens_report"] == 1 and panel.report is not None  # the same map is scored once

    qtbot.mouseClick(view.toolbar.labels_box, Qt.LeftButton)  # cluster labels: k-means, with the values known
    qtbot.waitUntil(lambda: calls.get("cluster_labels") == 1 and not window.runner.busy, timeout=60_000)
    assert calls["image_properties"] == calls["model_properties"] == 1 and "mixture_components" not in calls
    assert len(view.cluster_labels.items) > 0


def test_a_selected_region_is_summarised_against_the_rest(explored_window, qtbot):
    window, view, inspector = explored_window, explored_window.map_view, explored_window.inspector
    m = window.session.map
    vb = view.plot.plotItem.vb
    x_mid = float(np.median(m.coords[:, 0]))
    (_, y0), (x1, y1) = m.coords.min(0), m.coords.max(0)
    choose(qtbot, view.toolbar.drag_box, "rectangle")
    corners = [view.plot.mapFromScene(vb.mapViewToScene(pg.Point(x, y))) for x, y in ((x_mid, y0), (x1, y1))]
    drag(qtbot, view, [corners[0], (corners[0] + corners[1]) / 2, corners[1]])
    selected = window.session.selection
    assert selected is not None and 0 < len(selected) < len(m.coords)
    qtbot.waitUntil(lambda: "brightness" in inspector.selection_properties.text(), timeout=60_000)  # when computed
    text = inspector.selection_properties.text()
    inside = window.session.lenses.get("brightness")[selected].mean()
    assert "brightness" in text and f"{inside:.3g}" in text and "rest" in text
    assert inspector.selection_typical.image() is not None  # the medoids' images
    summary = window.session.query.selection(selected)
    mu = window.session.query.latents()[selected]
    spread = np.linalg.norm(mu[:, None] - mu[None], axis=2).mean(1)
    assert summary.typical[0] == selected[np.argmin(spread)]  # the most typical: nearest the others on average


def wheel(view, steps: int) -> None:
    """Real mouse-wheel notches over the middle of the map (negative: zoom out)."""
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    viewport = view.plot.viewport()
    pos = QPointF(viewport.width() / 2, viewport.height() / 2)
    for _ in range(abs(steps)):
        event = QWheelEvent(pos, viewport.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120 if steps > 0 else -120),
                            Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
        QApplication.sendEvent(viewport, event)


def test_cluster_labels_name_each_cluster_and_never_overlap(explored_window, qtbot):
    window, view = explored_window, explored_window.map_view
    m = window.session.map
    spin = view.toolbar.clusters_spin
    spin.setValue(6)  # as typed into the box
    qtbot.mouseClick(view.toolbar.labels_box, Qt.LeftButton, pos=view.toolbar.labels_box.rect().center())
    qtbot.waitUntil(lambda: len(view.cluster_labels.items) == 6, timeout=60_000)
    classes = window.session.classes
    texts = [item.textItem.toPlainText() for item in view.cluster_labels.items]
    assert all(any(f"{c} " in t for c in classes) and t.endswith("%") for t in texts)

    def visible_rects():
        items = [i for i in view.cluster_labels.items if i.isVisible()]
        return [i.textItem.mapRectToScene(i.textItem.boundingRect() | i.textItem.childrenBoundingRect()) for i in items]

    def overlapping(rects):
        return any(a.intersects(b) for k, a in enumerate(rects) for b in rects[k + 1:])

    assert not overlapping(visible_rects())
    wheel(view, -8)  # zoomed far out, the labels would pile up: the smaller clusters' give way
    qtbot.wait(50)
    rects = visible_rects()
    assert 1 <= len(rects) < 6 and not overlapping(rects)
    assert view.cluster_labels.items[0].isVisible()  # the biggest cluster keeps its label
    qtbot.mouseClick(view.toolbar.labels_box, Qt.LeftButton, pos=view.toolbar.labels_box.rect().center())
    qtbot.waitUntil(lambda: not view.cluster_labels.items, timeout=5_000)
    assert m is window.session.map

