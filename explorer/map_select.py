"""DragSelect: rectangle and lasso selection on a pyqtgraph plot. With the mode set to "rectangle" or
"lasso", a left drag draws a dashed outline and, on release, hands its polygon (data units) to a
callback; in "pan" mode, and for every other drag, pyqtgraph pans as usual.
"""
from __future__ import annotations

import weakref
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt


def _select_on_drag(vb: pg.ViewBox, on_drag) -> None:
    """Left drags on `vb` go to `on_drag(event) -> handled` first, then to panning. pyqtgraph dispatches
    drags in Python, so an instance attribute overrides the method. Both are held weakly: a ViewBox
    subclass holding the map view made Qt crash while windows were destroyed."""
    box, handler = weakref.ref(vb), weakref.WeakMethod(on_drag)

    def drag(ev, axis=None) -> None:
        select, target = handler(), box()
        if axis is None and ev.button() == Qt.LeftButton and select is not None and select(ev):
            ev.accept()
        elif target is not None:
            pg.ViewBox.mouseDragEvent(target, ev, axis)

    vb.mouseDragEvent = drag


class DragSelect:
    def __init__(self, plot: pg.PlotWidget, mode: Callable[[], str], on_select: Callable[[np.ndarray], None]):
        """`mode()` -> "pan", "rectangle" or "lasso"; `on_select(polygon [K, 2])` at the end of a drag."""
        self.plot, self.mode, self.on_select = plot, mode, on_select
        self.outline = pg.PlotCurveItem(pen=pg.mkPen(20, 20, 20, width=1.5, style=Qt.DashLine))
        self.outline.setZValue(10)
        plot.addItem(self.outline)
        self._drag: list[tuple[float, float]] | None = None  # the outline's corners so far (data units)
        _select_on_drag(plot.plotItem.vb, self.handle)

    def handle(self, event) -> bool:
        """A left drag on the plot (pyqtgraph's drag event) -> True when it selects (not pan)."""
        mode = self.mode()
        if mode == "pan":
            return False
        vb = self.plot.plotItem.vb
        p = vb.mapSceneToView(event.scenePos())
        if event.isStart() or self._drag is None:
            start = vb.mapSceneToView(event.buttonDownScenePos())
            self._drag = [(start.x(), start.y())]
        if mode == "lasso":
            self._drag.append((p.x(), p.y()))
        else:
            self._drag[1:] = [(p.x(), p.y())]
        polygon = self._polygon(mode)
        if not event.isFinish():
            closed = np.concatenate([polygon, polygon[:1]])
            self.outline.setData(closed[:, 0], closed[:, 1])
            return True
        self._drag = None
        self.outline.setData([], [])
        self.on_select(polygon)
        return True

    def _polygon(self, mode: str) -> np.ndarray:
        from core.selection import rectangle

        if mode == "rectangle" and len(self._drag) == 2:
            (x0, y0), (x1, y1) = self._drag
            return rectangle(x0, y0, x1, y1)
        return np.array(self._drag, float).reshape(-1, 2)
