"""The cheaper drawing (the map's scatter, cached axes) shows exactly what plain pyqtgraph shows, whatever changes."""
import numpy as np
import pyqtgraph as pg
import pytest

from explorer.map_points import MapPoints
from explorer.style import plot_widget


def _two_plots(qtbot) -> list:
    """Two identical plots: one with MapPoints, one with ScatterPlotItem -> [(widget, item)] * 2."""
    pairs = []
    for kind in (MapPoints, pg.ScatterPlotItem):
        widget = pg.PlotWidget(background="w")
        widget.resize(400, 300)
        qtbot.addWidget(widget)
        widget.show()
        item = kind(size=5, pen=None)
        widget.addItem(item)
        pairs.append((widget, item))
    return pairs


@pytest.fixture
def plots(qtbot):
    return _two_plots(qtbot)


def _same_pixels(plots) -> bool:
    (fast, _), (reference, _) = plots
    a, b = fast.viewport().grab().toImage(), reference.viewport().grab().toImage()
    return a == b


def _each(plots, action) -> None:
    for widget, item in plots:
        action(widget, item)


def test_map_points_draw_what_scatter_plot_item_draws(plots):
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(3000, 2))
    colors = [pg.mkBrush(pg.intColor(k, 10, alpha=180)) for k in range(10)]
    labels = rng.integers(0, 10, len(xy))
    _each(plots, lambda w, item: item.setData(pos=xy, brush=[colors[k] for k in labels]))
    assert _same_pixels(plots)  # every point in view

    _each(plots, lambda w, item: w.plotItem.vb.setRange(xRange=(0, 1.5), yRange=(-1, 0.5), padding=0))
    assert _same_pixels(plots)  # zoomed in: culled to the view

    _each(plots, lambda w, item: w.plotItem.vb.translateBy(x=0.7))
    assert _same_pixels(plots)  # panned

    _each(plots, lambda w, item: w.plotItem.vb.autoRange())
    _each(plots, lambda w, item: item.setBrush([colors[(k + 3) % 10] for k in labels]))
    assert _same_pixels(plots)  # new colours, the same points

    _each(plots, lambda w, item: item.setSize(9))
    assert _same_pixels(plots)  # a larger symbol

    fewer = xy[:500] * 0.5
    _each(plots, lambda w, item: item.setData(pos=fewer, brush=colors[2], size=5))
    assert _same_pixels(plots)  # fewer points: nothing left over from the larger set
    (fast, _), _ = plots
    blank = pg.PlotWidget(background="w")
    blank.resize(400, 300)
    blank.show()
    (x0, x1), (y0, y1) = fast.plotItem.vb.viewRange()
    blank.plotItem.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
    assert fast.viewport().grab().toImage() != blank.viewport().grab().toImage()  # and something is drawn
    blank.close()


def test_moved_points_draw_as_points_set_anew(plots):
    """An animation frame moves the points in place; it must look as if they had been set there."""
    rng = np.random.default_rng(1)
    xy = rng.normal(size=(2000, 2))
    colors = [pg.mkBrush(pg.intColor(k, 10)) for k in range(10)]
    brushes = [colors[k] for k in rng.integers(0, 10, len(xy))]
    (fast, points), (reference, scatter) = plots
    for widget in (fast, reference):
        widget.plotItem.vb.disableAutoRange()
        widget.plotItem.vb.setRange(xRange=(-2, 2), yRange=(-2, 2), padding=0)
    points.setData(pos=xy, brush=brushes)
    before = fast.viewport().grab().toImage()
    moved = xy * 0.5 + [0.3, -0.2]
    points.move_points(moved)
    scatter.setData(pos=moved, brush=brushes)
    assert _same_pixels(plots)
    assert fast.viewport().grab().toImage() != before  # the points did move
    assert points.dataBounds(0)[1] == pytest.approx(moved[:, 0].max())  # and the bounds followed


def test_cached_axes_follow_the_data(qtbot):
    """The axes (and their grid) are cached as pixmaps: new data, a new range, a new label or a resize must
    show exactly what an uncached plot shows."""
    cached, plain = plot_widget(), pg.PlotWidget(background="w")
    plain.showGrid(x=True, y=True, alpha=0.2)
    curves = []
    for widget in (cached, plain):
        qtbot.addWidget(widget)
        widget.resize(420, 300)
        widget.show()
        curves.append(widget.plot(np.arange(50), np.sin(np.arange(50) / 5)))

    def same() -> bool:
        return cached.grab().toImage() == plain.grab().toImage()

    assert same()
    first = cached.grab().toImage()
    for widget, curve in zip((cached, plain), curves):
        curve.setData(np.arange(400), 30 * np.cos(np.arange(400) / 9))  # new ticks on both axes
    assert same()
    assert cached.grab().toImage() != first
    for widget in (cached, plain):
        widget.setLabel("left", "loss")
        widget.resize(500, 260)
    assert same()


def test_without_the_pyqtgraph_internals_the_map_falls_back_to_pyqtgraphs_own_paint(qtbot, monkeypatch, caplog):
    """A pyqtgraph without what MapPoints' fast frame reads: a logged warning, and the map still draws."""
    import explorer.map_points as map_points

    plain = pg.ScatterPlotItem()
    assert map_points.has_internals(plain)  # the pinned pyqtgraph has them: the fast frame is in use
    del plain._pixmapFragments  # as a pyqtgraph release that renamed it would be
    assert not map_points.has_internals(plain)
    monkeypatch.setattr(MapPoints, "fast", None)
    monkeypatch.setattr(map_points, "has_internals", lambda item: False)
    painted = []
    monkeypatch.setattr(pg.ScatterPlotItem, "paint", lambda self, *a: painted.append(self) or real_paint(self, *a))
    pairs = _two_plots(qtbot)
    assert MapPoints.fast is False and "pyqtgraph's own paint" in caplog.text
    xy = np.random.default_rng(1).normal(size=(2000, 2))
    _each(pairs, lambda w, item: item.setData(pos=xy, brush=pg.mkBrush(200, 30, 30, 200)))
    assert _same_pixels(pairs) and any(isinstance(item, MapPoints) for item in painted)
    blank = pg.PlotWidget(background="w")
    blank.resize(400, 300)
    qtbot.addWidget(blank)
    blank.show()
    (x0, x1), (y0, y1) = pairs[0][0].plotItem.vb.viewRange()
    blank.plotItem.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
    assert pairs[0][0].viewport().grab().toImage() != blank.viewport().grab().toImage()


real_paint = pg.ScatterPlotItem.paint
