"""Bundled resources (palette, icon) read with importlib.resources, so they work when frozen too."""
from __future__ import annotations

from importlib import resources

import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QLabel, QSizePolicy, QWidget

from core.colours import class_rgb, palette


def class_colors(n: int = 10) -> list[QColor]:
    """The fixed class colours (core.colours); more than ten classes cycle through them."""
    return [QColor(int(r), int(g), int(b)) for r, g, b in class_rgb(n)]


def curve_color(name: str) -> str:
    return palette()["curves"][name]


def plot_widget(grid_alpha: float = 0.2, x_grid: bool = True) -> pg.PlotWidget:
    """A white plot with a grid whose axes are cached as pixmaps. The grid lines belong to the axes and
    cross the whole plot, so without the cache every moved point or new loss value replays the axes'
    text and lines (about 6 of the 7.5 ms a frame of a moving map costs); the cache is rebuilt when the
    axes change. Drawn pixels are the same."""
    plot = pg.PlotWidget(background="w")
    plot.showGrid(x=x_grid, y=True, alpha=grid_alpha)
    for name in ("left", "bottom", "top", "right"):
        axis = plot.getPlotItem().getAxis(name)
        axis.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        axis.enableAutoSIPrefix(False)  # a label such as "PC2 (4.4% variance)" is never rescaled to "(x0.001)"
    return plot


def swatch(color, side: int = 12) -> QIcon:
    """A small square of one colour, for legends."""
    pixmap = QPixmap(side, side)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


def app_icon() -> QIcon:
    data = resources.files("resources").joinpath("icon.svg").read_bytes()
    pixmap = QPixmap()
    pixmap.loadFromData(data, "SVG")
    return QIcon(pixmap)


class FitLabel(QLabel):
    """A one-line label that never clips and never widens its panel: text wider than the label is elided
    (…) and then the whole text is its tooltip. `text()` is the whole text."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)  # its text's width, or less
        self._text = ""
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self._text = text
        self.updateGeometry()
        self._fit()

    def text(self) -> str:
        return self._text

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(self.fontMetrics().horizontalAdvance(self._text) + 4, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(min(self.sizeHint().width(), 60), super().minimumSizeHint().height())

    def elided(self) -> bool:
        return super().text() != self._text

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        shown = self.fontMetrics().elidedText(self._text, Qt.ElideRight, max(self.contentsRect().width(), 1))
        super().setText(shown)
        self.setToolTip(self._text if shown != self._text else "")


def while_alive(widget: QWidget, method):
    """A slot calling `method(widget)` only while the widget is alive (held weakly, checked with shiboken)."""
    import weakref

    from shiboken6 import isValid

    ref = weakref.ref(widget)

    def slot(*_) -> None:
        target = ref()
        if target is not None and isValid(target):
            method(target)
    return slot
