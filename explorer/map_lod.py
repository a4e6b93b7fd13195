"""Level of detail for very large latent maps. A map of more than DENSITY_MAP_POINTS points is drawn as
a density image (per-class counts binned with numpy, coloured into one ImageItem) while more than
DENSITY_VIEW_POINTS of its points are in view, and as the points near the view once zoomed in.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

DENSITY_MAP_POINTS = 200_000  # maps up to this size are always drawn as points (60,000 for CIFAR-10 "all")
DENSITY_VIEW_POINTS = 50_000  # above it, more points than this in view draw as a density image
DENSITY_BINS = 512  # bins of the density image along its longer side

Rect = tuple[float, float, float, float]  # x0, x1, y0, y1 in data units


def density_image(coords: np.ndarray, labels: np.ndarray, colors: np.ndarray, bins: int = DENSITY_BINS):
    """-> (rgba uint8 [W, H, 4] for pyqtgraph's ImageItem, (x, y, w, h) it covers). Each bin's colour
    is the count-weighted mean of its classes' colours; its opacity grows with log(count)."""
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    span = np.maximum(hi - lo, 1e-9)
    shape = np.maximum((bins * span / span.max()).astype(int), 8)  # square bins
    cell = np.minimum(((coords - lo) / span * shape).astype(np.int64), shape - 1)  # [N, 2]
    k = len(colors)
    counts = np.bincount((labels * shape[0] + cell[:, 0]) * shape[1] + cell[:, 1],
                         minlength=k * shape[0] * shape[1]).reshape(k, shape[0], shape[1])  # [K, W, H]
    total = counts.sum(axis=0)
    rgb = np.asarray(colors, float).reshape(-1, 3)  # [K, 3] uint8 colours (core.colours)
    mix = np.einsum("kwh,kc->whc", counts, rgb) / np.maximum(total, 1)[..., None]
    alpha = np.log1p(total) / max(np.log1p(total.max()), 1e-9)
    rgba = np.concatenate([mix, 255 * (0.25 + 0.75 * alpha)[..., None] * (total > 0)[..., None]], axis=2)
    return rgba.astype(np.uint8), (float(lo[0]), float(lo[1]), float(span[0]), float(span[1]))


def inside(coords: np.ndarray, rect: Rect) -> np.ndarray:
    """Which points [N, 2] lie in `rect` -> bool [N]."""
    x0, x1, y0, y1 = rect
    x, y = coords[:, 0], coords[:, 1]
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def _grown(rect: Rect, margin: float) -> Rect:
    x0, x1, y0, y1 = rect
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    return x0 - mx, x1 + mx, y0 - my, y1 + my


class LevelOfDetail:
    """The density image of one map, and which of its points to draw for a view."""

    def __init__(self, plot: pg.PlotWidget):
        self.image = pg.ImageItem()
        self.image.setVisible(False)
        plot.addItem(self.image)
        self.dirty = True  # the points, their classes shown or colours changed: the image is rebuilt when next shown
        self._loaded: Rect | None = None  # the area whose points are drawn

    @property
    def showing_density(self) -> bool:
        return self.image.isVisible()

    def points_to_draw(self, coords: np.ndarray, labels: np.ndarray, shown: np.ndarray, colors: np.ndarray,
                       picker, view: Rect) -> np.ndarray | None:
        """bool [N]: the points to draw for this view, or None when the density image stands for them.
        `shown` [N]: the points of the classes shown; `picker`: a core.latent.PixelPicker over them."""
        if len(coords) <= DENSITY_MAP_POINTS:
            self.image.setVisible(False)
            return np.ones(len(coords), bool)
        if picker.count_within(*view) > DENSITY_VIEW_POINTS:  # the picker is sorted by x: a fast count
            if self.dirty:
                rgba, (x, y, w, h) = density_image(coords[shown], labels[shown], colors)
                self.image.setImage(rgba, autoLevels=False)
                self.image.setRect(x, y, w, h)
                self.dirty = False
            self.image.setVisible(True)
            self._loaded = None
            return None
        self.image.setVisible(False)
        self._loaded = _grown(view, 0.5)  # the points near the view; reloaded when the view leaves them
        return inside(coords, self._loaded)

    def needs_redraw(self, n_points: int, view: Rect) -> bool:
        """After the view moved: does a very large map need other points or the other mode?"""
        if n_points <= DENSITY_MAP_POINTS:
            return False
        x0, x1, y0, y1 = view
        loaded = self._loaded
        return (self.showing_density or loaded is None or x0 < loaded[0] or x1 > loaded[1] or y0 < loaded[2]
                or y1 > loaded[3])
