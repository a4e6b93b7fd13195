"""MapMarks: what the latent map draws over its points: the hovered point and its name, the clicked
point, the clicked empty spot, a clicked point's neighbours, the star of an image the user brought,
and each class's 1-sigma ellipse.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor


def ellipse(center: np.ndarray, cov: np.ndarray, n: int = 60) -> np.ndarray:
    """Points [n, 2] of the 1-sigma ellipse of a 2D Gaussian."""
    values, vectors = np.linalg.eigh(cov)
    t = np.linspace(0, 2 * np.pi, n)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1) * np.sqrt(np.maximum(values, 0))
    return center + circle @ vectors.T


HALO = (255, 255, 255, 235)  # under every mark: it reads over dark points and images alike


class Mark:
    """One kind of mark: a dark outline over a light halo (two scatter items at the same spots), sized to
    what it marks (a point, or a drawn image)."""

    def __init__(self, plot: pg.PlotWidget, size: int, symbol: str, width: float, brush=None, pen=(20, 20, 20)):
        self.base = size
        self.halo = pg.ScatterPlotItem(size=size, pen=pg.mkPen(HALO, width=width + 3), brush=None, symbol=symbol)
        self.item = pg.ScatterPlotItem(size=size, pen=pg.mkPen(pen, width=width), brush=brush, symbol=symbol)
        for z, item in ((10, self.halo), (11, self.item)):
            item.setZValue(z)
            plot.addItem(item)

    def set(self, xy: np.ndarray | None) -> None:
        """Mark these positions [K, 2] (None: none)."""
        xy = np.zeros((0, 2)) if xy is None else np.atleast_2d(xy)
        for item in (self.halo, self.item):
            item.setData(xy[:, 0], xy[:, 1])

    def fit(self, marked_px: float) -> None:
        """Size the mark to enclose what it marks, `marked_px` screen pixels wide (at least its base size)."""
        size = max(self.base, marked_px + 8)
        for item in (self.halo, self.item):
            item.setSize(size)

    @property
    def data(self):
        return self.item.data

    def getData(self):  # noqa: N802 (pyqtgraph's name)
        return self.item.getData()


class MapMarks:
    def __init__(self, plot: pg.PlotWidget):
        self.plot = plot
        self.hover_item = Mark(plot, 12, "o", 2)
        self.selected_item = Mark(plot, 14, "s", 2.5)
        self.marker_item = Mark(plot, 18, "+", 2.5)
        self.neighbour_item = Mark(plot, 13, "o", 2)
        self.given_item = Mark(plot, 24, "star", 1.5, brush=pg.mkBrush(255, 200, 0))  # an image the user brought
        self.hover_text = pg.TextItem("", color="k", anchor=(0, 1), fill=pg.mkBrush(255, 255, 255, 200))
        self.hover_text.setZValue(12)
        self.hover_text.setVisible(False)  # an empty TextItem would still paint its white fill
        plot.addItem(self.hover_text)
        self.centroids: list[pg.PlotCurveItem] = []  # one ring per class shown
        self._halos: list[pg.PlotCurveItem] = []  # and a white one under each

    def _items(self) -> tuple[Mark, ...]:
        return self.hover_item, self.selected_item, self.marker_item, self.neighbour_item, self.given_item

    def fit(self, marked_px: float) -> None:
        """Points or images are drawn `marked_px` pixels wide now: the marks on them grow to enclose them."""
        for mark in (self.hover_item, self.selected_item, self.neighbour_item):
            mark.fit(marked_px)

    def clear(self) -> None:
        """No marks (a new map)."""
        for item in self._items():
            item.set(None)
        self.hover_text.setVisible(False)

    def clear_clicks(self) -> None:
        """No clicked point, spot or neighbours (the points moved away from them)."""
        for item in (self.selected_item, self.marker_item, self.neighbour_item):
            item.set(None)

    def hover(self, xy: np.ndarray | None, text: str = "") -> None:
        """Ring the point under the mouse at `xy` and name it (None: nothing under the mouse)."""
        self.hover_item.set(xy)
        self.hover_text.setVisible(xy is not None)
        if xy is not None:
            self.hover_text.setText(text)
            self.hover_text.setPos(float(xy[0]), float(xy[1]))

    def click_point(self, xy: np.ndarray | None) -> None:
        """A square on the clicked point (and no clicked-spot cross); None: neither."""
        self.selected_item.set(xy)
        self.marker_item.set(None)

    def click_spot(self, x: float, y: float) -> None:
        """A cross on a clicked empty spot (and no clicked-point square)."""
        self.marker_item.set(np.array([x, y]))
        self.selected_item.set(None)

    def neighbours(self, xy: np.ndarray) -> None:
        """Ring these positions [K, 2] (a clicked point's nearest neighbours in latent space)."""
        self.neighbour_item.set(xy)

    def given(self, xy: np.ndarray | None) -> None:
        """Star the spot where an image the user brought lands (None: no star)."""
        self.given_item.set(xy)

    def given_position(self) -> tuple[float, float] | None:
        pts = self.given_item.data
        return (float(pts[0]["x"]), float(pts[0]["y"])) if len(pts) else None

    def set_centroids(self, clouds: list[np.ndarray], colors: list[QColor]) -> None:
        """One 1-sigma ellipse per point cloud [M, 2] (clouds of fewer than 3 points get none)."""
        for item in self.centroids + self._halos:
            self.plot.removeItem(item)
        self.centroids, self._halos = [], []
        for pts, color in zip(clouds, colors):
            if len(pts) < 3:
                continue
            ring = ellipse(pts.mean(axis=0), np.cov(pts.T))
            # on a white halo, a little darker than the class's points: visible over its own points
            halo = pg.PlotCurveItem(ring[:, 0], ring[:, 1], pen=pg.mkPen(255, 255, 255, 230, width=5))
            item = pg.PlotCurveItem(ring[:, 0], ring[:, 1], pen=pg.mkPen(QColor(color).darker(140), width=2.5))
            for z, curve in ((5, halo), (6, item)):
                curve.setZValue(z)
                self.plot.addItem(curve)
            self.centroids.append(item)
            self._halos.append(halo)
