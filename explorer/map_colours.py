"""Colourings of the map's points: by class (the default), by a category (dominant hue, k-means cluster,
mixture component) or by a number (brightness, saturation, contrast, reconstruction error, KL, loss) on
a perceptually uniform colormap (viridis) with a colour bar.

A Colouring gives each point a code and each code one colour, so the map keeps one shared brush per
code (64 levels for a number); `ColourBar` shows a number's scale beside the plot.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from explorer.style import class_colors

LEVELS = 64  # colours a number is drawn with
HUE_COLOURS = {"red": "#d62728", "yellow": "#e5c100", "green": "#2ca02c", "cyan": "#17becf", "blue": "#1f5fd6",
               "magenta": "#c43dc4", "grey": "#8c8c8c"}


@dataclass
class Colouring:
    name: str  # a core.lenses.LENSES key
    title: str
    codes: np.ndarray  # [N] int64: each point's colour
    colours: list[QColor]
    legend: list[tuple[str, QColor]]  # categories with their colours (empty for a number)
    levels: tuple[float, float] | None = None  # a number's range (the colour bar's ends)

    @classmethod
    def by_class(cls, labels: np.ndarray, classes: list[str]) -> "Colouring":
        colours = class_colors(max(len(classes), int(labels.max()) + 1 if len(labels) else 1))
        return cls("class", "class", np.asarray(labels, np.int64), colours, list(zip(classes, colours)))

    @classmethod
    def of(cls, name: str, title: str, kind: str, values: np.ndarray, names: list[str] | None = None) -> "Colouring":
        """A category's colouring (`names` of its values) or a number's (1st to 99th percentile over 64 levels)."""
        if kind == "category":
            codes = np.asarray(values, np.int64)
            names = names or [str(k) for k in range(int(codes.max()) + 1 if len(codes) else 1)]
            colours = ([QColor(HUE_COLOURS[n]) for n in names] if set(names) <= set(HUE_COLOURS)
                       else class_colors(len(names)))
            counts = np.bincount(codes, minlength=len(names))
            return cls(name, title, codes, colours, [(f"{n} ({c:,})", col) for n, c, col in zip(names, counts, colours)])
        values = np.asarray(values, np.float64)
        lo, hi = (np.nanpercentile(values, [1, 99]) if len(values) else (0.0, 1.0))
        hi = hi if hi > lo else lo + 1e-9
        codes = np.clip(((values - lo) / (hi - lo) * LEVELS).astype(np.int64), 0, LEVELS - 1)
        cmap = pg.colormap.get("viridis")
        colours = [cmap.map((k + 0.5) / LEVELS, mode="qcolor") for k in range(LEVELS)]
        return cls(name, title, codes, colours, [], (float(lo), float(hi)))


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
        self.bar = pg.ColorBarItem(values=colouring.levels, colorMap=pg.colormap.get("viridis"), interactive=False,
                                   width=14, label=colouring.title)
        self.plot.plotItem.layout.addItem(self.bar, 2, 5)

    @property
    def levels(self) -> tuple[float, float] | None:
        return None if self.bar is None else tuple(self.bar.levels())
