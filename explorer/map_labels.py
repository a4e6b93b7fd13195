"""Cluster labels on the map: a caption and one typical image per cluster, the same size at any zoom.
Where two would overlap at the current zoom, the bigger cluster's label is shown (re-checked on zoom)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem

THUMB_PX = 40


def _pixmap(image: np.ndarray) -> QPixmap:
    """uint8 [C, H, W] -> a THUMB_PX square pixmap."""
    rgb = np.ascontiguousarray(np.repeat(image, 3, 0) if image.shape[0] == 1 else image[:3]).transpose(1, 2, 0).copy()
    qimage = QImage(rgb.data, rgb.shape[1], rgb.shape[0], 3 * rgb.shape[1], QImage.Format_RGB888).copy()
    return QPixmap.fromImage(qimage).scaled(THUMB_PX, THUMB_PX)


class ClusterLabels:
    def __init__(self, plot: pg.PlotWidget):
        """The owner calls `declutter` when the view's range changes (through its own guarded slot: a window
        being destroyed still emits range changes)."""
        self.plot = plot
        self.items: list[pg.TextItem] = []  # biggest cluster first

    def set(self, labels: list, images: list[np.ndarray] | None = None) -> None:
        """Show these core.lenses.ClusterLabel (biggest first), each with its medoid's image; [] clears."""
        for item in self.items:
            self.plot.removeItem(item)
        self.items = []
        for i, label in enumerate(labels):
            item = pg.TextItem(html=f"<div style='font-weight:600'>{label.text}</div>", anchor=(0.5, 0.5),
                               fill=pg.mkBrush(255, 255, 255, 215), border=pg.mkPen(QColor(60, 60, 60), width=1))
            if images is not None:
                thumb = QGraphicsPixmapItem(_pixmap(images[i]), item.textItem)  # left of the caption
                thumb.setPos(-THUMB_PX - 4, (item.textItem.boundingRect().height() - THUMB_PX) / 2)
            item.setPos(*label.xy)
            item.setZValue(30)
            self.plot.addItem(item, ignoreBounds=True)
            self.items.append(item)
        self.declutter()

    def declutter(self) -> None:
        """Show each label unless it overlaps a bigger cluster's label shown already."""
        if not self.items:
            return
        taken, vb = [], self.plot.plotItem.vb
        for item in self.items:
            # in screen pixels from the anchor (the items themselves move only when next painted)
            centre, size = vb.mapViewToScene(item.pos()), item.textItem.boundingRect().size()
            thumb = THUMB_PX + 4 if item.textItem.childItems() else 0
            rect = QRectF(centre.x() - size.width() / 2 - thumb, centre.y() - max(size.height(), thumb) / 2,
                          size.width() + thumb, max(size.height(), thumb))
            overlaps = any(rect.intersects(r) for r in taken)
            item.setVisible(not overlaps)
            if not overlaps:
                taken.append(rect)

    def shown(self) -> list[str]:
        return [item.textItem.toPlainText() for item in self.items if item.isVisible()]
