"""LensesPanel: what the map is organised by. A ranked bar chart of how well the latent means predict each
property (R^2 for numbers, k-NN accuracy above chance for categories) with raw pixels beside each as the
reference, the linear class probe, and a button per row that colours the map by that property.

Fed with `set_report(core.lenses.LensReport)`; says `colour_requested(name)` when a bar is clicked, and
`shown_changed(shown)` when it comes into view or leaves it (the report is computed only for a panel in view).
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from core.structure import PROTOCOL
from explorer.style import plot_widget

LATENT, PIXELS = "#4e79a7", "#bab0ac"


class LensesPanel(QWidget):
    colour_requested = Signal(str)
    shown_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.report = None
        self.headline = QLabel("Encode a map: its latents are then scored against each property of the images.")
        self.headline.setWordWrap(True)
        self.plot = plot_widget(x_grid=True)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.setLabel("bottom", "R², or kNN accuracy above chance")
        self.plot.setToolTip(f"Each property predicted from its 20 nearest neighbours, {PROTOCOL}")
        self.plot.getAxis("left").setWidth(130)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.probe = QLabel()
        self.probe.setWordWrap(True)
        legend = QLabel(f"<span style='color:{LATENT}'>■</span> latent means &nbsp; "
                        f"<span style='color:{PIXELS}'>■</span> raw pixels (the reference). Click a bar to colour "
                        f"the map by it.")
        legend.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.plot, 1)
        layout.addWidget(legend)
        layout.addWidget(self.probe)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.shown_changed.emit(True)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.shown_changed.emit(False)

    def clear(self, text: str) -> None:
        self.report = None
        self.plot.clear()
        self.headline.setText(text)
        self.probe.clear()

    def set_report(self, report) -> None:
        """Draw a core.lenses.LensReport: best first, at the top."""
        from core.lenses import LENSES

        self.report = report
        self.plot.clear()
        n = len(report.ranked)
        ys = [n - 1 - i for i in range(n)]
        latent = [max(p.score, 0) for p in report.ranked]
        pixels = [max(p.pixels if p.kind == "number" else (p.pixels - p.chance) / max(1 - p.chance, 1e-9), 0)
                  for p in report.ranked]
        self.plot.addItem(pg.BarGraphItem(x0=0, y=[y + 0.18 for y in ys], height=0.34, width=latent, brush=LATENT))
        self.plot.addItem(pg.BarGraphItem(x0=0, y=[y - 0.18 for y in ys], height=0.34, width=pixels, brush=PIXELS))
        for p, y, w, wp in zip(report.ranked, ys, latent, pixels):
            for figure, at, dy in ((p.figure.split(" (")[0], w, 0.18), (p.figure.split(" (")[1][:-1], wp, -0.18)):
                text = pg.TextItem(figure, color="#333" if dy > 0 else "#777", anchor=(0, 0.5))
                text.setPos(at + 0.01, y + dy)
                self.plot.addItem(text)
        self.plot.getAxis("left").setTicks([[(y, LENSES[p.name].title) for p, y in zip(report.ranked, ys)]])
        self.plot.setXRange(0, 1.35, padding=0)
        self.plot.setYRange(-0.6, n - 0.4, padding=0)
        self.headline.setText(report.headline)
        self.probe.setText(f"Linear probe for class (logistic regression, held out): latent means "
                           f"{100 * report.probe:.1f} %, raw pixels {100 * report.pixel_probe:.1f} %.")

    def bar_position(self, name: str):
        """The centre of a property's latent bar, in the plot's viewport (for tests)."""
        i = [p.name for p in self.report.ranked].index(name)
        y = len(self.report.ranked) - 1 - i + 0.18
        vb = self.plot.plotItem.vb
        return self.plot.mapFromScene(vb.mapViewToScene(pg.Point(0.05, y)))

    def _on_click(self, ev) -> None:
        if self.report is None or ev.button() != Qt.LeftButton:
            return
        vb = self.plot.plotItem.vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        y = vb.mapSceneToView(ev.scenePos()).y()
        i = len(self.report.ranked) - 1 - round(y)
        if 0 <= i < len(self.report.ranked):
            self.colour_requested.emit(self.report.ranked[i].name)
