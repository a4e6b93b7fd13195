"""LensesPanel: what the map is organised by. A ranked bar chart of how well the latent means predict each
property (R^2 for numbers, k-NN accuracy above chance for categories) with raw pixels beside each as the
reference, the linear class probe, and below it a heatmap of which property each active latent dimension
follows (Spearman's rho).

Fed with `set_report(core.lenses.LensReport)`; says `colour_requested(name)` when a bar is clicked,
`dimension_requested(d)` when a heatmap column is, and `shown_changed(shown)` when it comes into view or leaves
it (the report is computed only for a panel in view).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from core.structure import PROTOCOL
from explorer.style import plot_widget

LATENT, PIXELS = "#4e79a7", "#bab0ac"
RHO = pg.ColorMap([0.0, 0.5, 1.0], ["#2166ac", "#f7f7f7", "#b2182b"])  # rho -1 blue, 0 white, +1 red (levels -1, 1)


class LensesPanel(QWidget):
    colour_requested = Signal(str)
    dimension_requested = Signal(int)  # a latent dimension: colour the map by it and walk it first
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
        self.heatmap = plot_widget(x_grid=False)
        self.heatmap.setMenuEnabled(False)
        self.heatmap.setMouseEnabled(False, False)
        self.heatmap.getAxis("left").setWidth(130)
        self.heatmap.setLabel("bottom", "latent dimension (most KL at the left)")
        self.heatmap.showGrid(x=False, y=False)
        self.heatmap_title = QLabel("What each active latent dimension follows (Spearman's ρ; red follows, blue "
                                    "opposes). Click a dimension to colour the map by it.")
        self.heatmap_title.setWordWrap(True)  # a plot title would widen the plot past the panel
        self.heatmap.setToolTip("Rank correlation of each latent dimension (most KL first) with each property, "
                                "one-vs-rest for hues and classes; red follows, blue opposes. Click a dimension "
                                "to colour the map by it and walk it first in the Traversals tab.")
        self.heatmap.scene().sigMouseClicked.connect(self._on_heatmap_click)
        self.cells = pg.ImageItem(axisOrder="row-major")
        self.cells.setColorMap(RHO)
        self.heatmap.addItem(self.cells)
        self.follows = QLabel()
        self.follows.setWordWrap(True)
        legend = QLabel(f"<span style='color:{LATENT}'>■</span> latent means &nbsp; "
                        f"<span style='color:{PIXELS}'>■</span> raw pixels (the reference). Click a bar to colour "
                        f"the map by it.")
        legend.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.plot, 1)
        layout.addWidget(legend)
        layout.addWidget(self.probe)
        layout.addWidget(self.heatmap_title)
        layout.addWidget(self.heatmap, 1)
        layout.addWidget(self.follows)

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
        self.cells.clear()
        self.follows.clear()

    def set_report(self, report) -> None:
        """Draw a core.lenses.LensReport: best first, at the top."""
        from core.lenses import lens

        self.report = report
        self.plot.clear()
        n = len(report.ranked)
        ys = [n - 1 - i for i in range(n)]
        latent = [max(p.score, 0) for p in report.ranked]
        pixels = [np.nan_to_num(max(p.pixels if p.kind == "number" else (p.pixels - p.chance) / max(1 - p.chance, 1e-9),
                                    0)) for p in report.ranked]  # 0: embeddings without images
        self.plot.addItem(pg.BarGraphItem(x0=0, y=[y + 0.18 for y in ys], height=0.34, width=latent, brush=LATENT))
        self.plot.addItem(pg.BarGraphItem(x0=0, y=[y - 0.18 for y in ys], height=0.34, width=pixels, brush=PIXELS))
        for p, y, w, wp in zip(report.ranked, ys, latent, pixels):
            for figure, at, dy in ((p.figure.split(" (")[0], w, 0.18), (p.figure.split(" (")[1][:-1], wp, -0.18)):
                text = pg.TextItem(figure, color="#333" if dy > 0 else "#777", anchor=(0, 0.5))
                text.setPos(at + 0.01, y + dy)
                self.plot.addItem(text)
        self.plot.getAxis("left").setTicks([[(y, lens(p.name).title) for p, y in zip(report.ranked, ys)]])
        self.plot.setXRange(0, 1.35, padding=0)
        self.plot.setYRange(-0.6, n - 0.4, padding=0)
        self.headline.setText(report.headline)
        pixels = f"raw pixels {100 * report.pixel_probe:.1f} %" if np.isfinite(report.pixel_probe) else "no pixels"
        self.probe.setText(f"Linear probe for class (logistic regression, held out): latent means "
                           f"{100 * report.probe:.1f} %, {pixels}." if np.isfinite(report.probe) else "")
        self._draw_dimensions(report.dimensions)

    def _draw_dimensions(self, dims) -> None:
        """Properties as rows (top to bottom), active dimensions as columns (most active at the left)."""
        if dims is None or not dims.dims:
            self.cells.clear()
            self.follows.setText("No latent dimension is active (KL above 0.1 nat) on this map.")
            return
        rho = dims.rho.T[::-1]  # [columns, dims], the first property in the top row
        self.cells.setImage(rho, levels=(-1, 1))
        self.cells.setRect(-0.5, -0.5, len(dims.dims), len(dims.columns))
        self.heatmap.getAxis("left").setTicks([[(len(dims.columns) - 1 - i, c) for i, c in enumerate(dims.columns)]])
        step = 1 if len(dims.dims) <= 10 else 2  # every other number when three digits would touch
        self.heatmap.getAxis("bottom").setTicks([[(i, str(d)) for i, d in enumerate(dims.dims) if i % step == 0],
                                                 [(i, "") for i in range(len(dims.dims))]])
        self.heatmap.setXRange(-0.5, len(dims.dims) - 0.5, padding=0.02)  # room for the last column's label
        self.heatmap.setYRange(-0.5, len(dims.columns) - 0.5, padding=0)
        strongest = np.argsort(-np.abs(dims.rho).max(axis=1))[:3]
        self.follows.setText("Strongest: " + "; ".join(dims.follows(int(r)) for r in strongest) + ".")

    def dimension_position(self, column: int):
        """The centre of a dimension's column in the heatmap's viewport (for tests)."""
        vb = self.heatmap.plotItem.vb
        return self.heatmap.mapFromScene(vb.mapViewToScene(pg.Point(column, 0)))

    def _on_heatmap_click(self, ev) -> None:
        dims = self.report.dimensions if self.report is not None else None
        vb = self.heatmap.plotItem.vb
        if dims is None or ev.button() != Qt.LeftButton or not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        column = round(vb.mapSceneToView(ev.scenePos()).x())
        if 0 <= column < len(dims.dims):
            self.dimension_requested.emit(dims.dims[column])

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
