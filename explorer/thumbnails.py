"""ThumbnailLayer: the images of map points drawn at their positions, scaled with the zoom.

A pyqtgraph item in data coordinates. `set_points(xy, images, size, faded, colors)` builds one texture
atlas (a QPixmap grid of the images) for the points shown; `paint` maps each position to the screen and
draws its cell of the atlas, square and pixel-exact, in a frame of its class colour (so the legend stays
true); faded images (outside a selection) are drawn first, at FADED_OPACITY. PySide's drawPixmapFragments
takes no list, so cells are drawn one by one: about 6 ms for 2,000 images.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap

from explorer.image_view import to_qimage

FADED_OPACITY = 0.25
FRAME_PX = 3  # the class-colour frame around each image


class ThumbnailLayer(pg.GraphicsObject):
    def __init__(self) -> None:
        super().__init__()
        self._pixmap: QPixmap | None = None
        self._xy = np.zeros((0, 2))
        self._side = 32  # pixels of one image in the atlas
        self._cols = 1
        self._size = 1.0  # drawn width of an image, in data units along x
        self._bounds = QRectF()
        self._faded = np.zeros(0, bool)
        self._frames: list[QPen] = []  # one pen per image: its class colour

    def count(self) -> int:
        """Images drawn."""
        return len(self._xy) if self._pixmap is not None else 0

    def set_points(self, xy: np.ndarray, images: np.ndarray, size: float, faded: np.ndarray | None = None,
                   colors: list[QColor] | None = None) -> None:
        """Draw `images` uint8 [M, C, H, W] at `xy` [M, 2], each `size` data units wide (x), framed in `colors`
        [M] (their classes'); those where `faded` [M] is True see-through, under the others."""
        m, c, h, w = images.shape
        cols = max(1, math.ceil(math.sqrt(m)))
        rows = math.ceil(m / cols)
        grid = np.zeros((c, rows * h, cols * w), np.uint8)
        for k in range(m):  # at most a few thousand small copies
            r, q = divmod(k, cols)
            grid[:, r * h:(r + 1) * h, q * w:(q + 1) * w] = images[k]
        self.prepareGeometryChange()
        self._pixmap = QPixmap.fromImage(to_qimage(grid))
        self._xy, self._side, self._cols, self._size = xy, w, cols, size
        self._faded = np.zeros(m, bool) if faded is None else np.asarray(faded, bool)
        pens = {}  # one pen per colour, shared
        self._frames = [pens.setdefault(c.rgba(), QPen(c, FRAME_PX)) for c in colors] if colors else []
        (x0, y0), (x1, y1) = xy.min(axis=0) - size, xy.max(axis=0) + size
        self._bounds = QRectF(float(x0), float(y0), float(x1 - x0), float(y1 - y0))
        self.update()

    def drawn_side(self) -> float:
        """The side of each image drawn, in data units along x."""
        return self._size

    def faded_count(self) -> int:
        """Images drawn see-through."""
        return int(self._faded.sum()) if self._pixmap is not None else 0

    def clear(self) -> None:
        if self._pixmap is not None:
            self.prepareGeometryChange()
            self._pixmap, self._xy, self._bounds = None, np.zeros((0, 2)), QRectF()
            self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, *args) -> None:
        if self._pixmap is None:
            return
        t = painter.transform()
        x = t.m11() * self._xy[:, 0] + t.m21() * self._xy[:, 1] + t.dx()  # screen positions
        y = t.m12() * self._xy[:, 0] + t.m22() * self._xy[:, 1] + t.dy()
        px = self._size * math.hypot(t.m11(), t.m12())  # drawn side in screen pixels
        side = self._side
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.SmoothPixmapTransform, False)  # pixel-exact
        painter.setBrush(Qt.NoBrush)
        faded = self._faded
        for k in np.concatenate([np.flatnonzero(faded), np.flatnonzero(~faded)]).tolist():
            painter.setOpacity(FADED_OPACITY if faded[k] else 1.0)
            r, q = divmod(k, self._cols)
            cell = QRectF(x[k] - px / 2, y[k] - px / 2, px, px)
            painter.drawPixmap(cell, self._pixmap, QRectF(q * side, r * side, side, side))
            if self._frames:
                painter.setPen(self._frames[k])
                painter.drawRect(cell.adjusted(-FRAME_PX / 2, -FRAME_PX / 2, FRAME_PX / 2, FRAME_PX / 2))
        painter.restore()
