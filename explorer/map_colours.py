"""The map's colours drawn with Qt: a core.colours.Colouring's QColors, and `ColourBar`, a number's scale
beside the plot (its map, the same table as core.colours). The colours themselves live in core.colours.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from core.colours import COLOUR_MAPS, Colouring


def qcolours(rgb: np.ndarray) -> list[QColor]:
    """[K, 3] uint8 -> K QColors."""
    return [QColor(int(r), int(g), int(b)) for r, g, b in np.asarray(rgb).reshape(-1, 3)]


def colour_map(name: str = "viridis") -> pg.ColorMap:
    table = COLOUR_MAPS[name]
    return pg.ColorMap(np.linspace(0, 1, len(table)), table.astype(np.uint8))


class ColourBar:
    """A number's colour scale at the right of a plot (hidden for class and categories)."""

    def __init__(self, plot: pg.PlotWidget):
        self.plot = plot
        self.bar: pg.ColorBarItem | None = None

    def show(self, colouring: Colouring | None) -> None:
        if self.bar is not None:
            self.plot.plotItem.layout.removeItem(self.bar)
            self.bar.setParentItem(None)
            self.bar.scene() and self.bar.scene().removeItem(self.bar)
            self.bar = None
        if colouring is None or colouring.levels is None:
            return
        self.bar = pg.ColorBarItem(values=colouring.levels, colorMap=colour_map(colouring.cmap), interactive=False,
                                   width=14, label=colouring.title)
        self.plot.plotItem.layout.addItem(self.bar, 2, 5)

    @property
    def levels(self) -> tuple[float, float] | None:
        return None if self.bar is None else tuple(self.bar.levels())
