"""MapCompare: two models' maps of the same images side by side (core.compare.MapPair: B aligned to A).

Hover, click and select in either map and the same images light up in both: a hovered or clicked image
is ringed in both maps; a rectangle dragged in one selects those images in both (the rest greys out),
so a cluster of A can be found in B. Colour by class or by neighbour agreement (the share of each image's
10 nearest latent neighbours the two models share); *Morph* animates the points from A's places to B's.
Fed with `set_pair`.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimeLine, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from core.colours import colouring, viridis
from core.selection import inside_polygon
from explorer.map_colours import qcolours
from explorer.map_marks import Mark
from explorer.map_points import MapPoints
from explorer.map_select import DragSelect
from explorer.style import class_colors, plot_widget

HOVER_RADIUS_PX = 8
GREY = QColor(205, 205, 205, 120)
AGREEMENT_LEVELS = 11  # k = 10 nearest neighbours: eleven possible shares


class _Pane:
    """One map: its plot, points, a ring for the hovered/clicked image and a rectangle selection."""

    def __init__(self, owner: "MapCompare", title: str):
        self.plot = plot_widget()
        self.plot.setMinimumSize(260, 260)
        self.plot.setAspectLocked(True)
        self.plot.setTitle(title, size="9pt")
        self.points = MapPoints(size=5, pen=None, pxMode=True)
        self.plot.addItem(self.points)
        self.ring = Mark(self.plot, 16, "o", 2.5)
        self.select = DragSelect(self.plot, lambda: "rectangle", lambda polygon: owner._on_polygon(self, polygon))
        self.plot.scene().sigMouseMoved.connect(lambda pos: owner._on_hover(self, pos))
        self.plot.scene().sigMouseClicked.connect(lambda ev: owner._on_click(self, ev))
        self.coords = np.zeros((0, 2), np.float32)
        self._picker = None  # core.latent.PixelPicker over `coords`, made when first asked (torch loads late)

    def set_coords(self, coords: np.ndarray) -> None:
        self.coords, self._picker = coords, None

    def nearest(self, scene_pos) -> int | None:
        """The point within HOVER_RADIUS_PX screen pixels of a scene position (the map's own pixel picker)."""
        vb = self.plot.plotItem.vb
        if not len(self.coords) or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        if self._picker is None:
            from core.latent import PixelPicker

            self._picker = PixelPicker(self.coords)
        p = vb.mapSceneToView(scene_pos)
        return self._picker.nearest(p.x(), p.y(), *vb.viewPixelSize(), HOVER_RADIUS_PX)

    def view_to_widget(self, i: int):
        """Where point `i` is, in the plot's viewport coordinates (for tests and tooltips)."""
        vb = self.plot.plotItem.vb
        scene = vb.mapViewToScene(pg.Point(*map(float, self.coords[i])))
        return self.plot.mapFromScene(scene)


class MapCompare(QWidget):
    picked_changed = Signal(int)  # an image (index into the pair) was clicked in either map
    selection_changed = Signal(object)  # [K] selected images, or None

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.pair = None
        self.classes: list[str] = []
        self.picked: int | None = None
        self.selection: np.ndarray | None = None
        self.a, self.b = _Pane(self, "A"), _Pane(self, "B (aligned to A)")
        self.b.plot.setXLink(self.a.plot)
        self.b.plot.setYLink(self.a.plot)
        self.colour_by = QComboBox()
        self.colour_by.addItems(["class", "neighbour agreement"])
        self.colour_by.currentTextChanged.connect(lambda _: self._restyle())
        self.morph = QSlider(Qt.Horizontal)
        self.morph.setRange(0, 100)
        self.morph.setToolTip("Move map A's points towards their places in map B")
        self.morph.valueChanged.connect(self._on_morph)
        self.play = QPushButton("Morph A → B")
        self.play.setToolTip("Animate every point from its place in A to its place in B, and back")
        self.timeline = QTimeLine(2000, self)
        self.timeline.setFrameRange(0, 100)
        self.timeline.frameChanged.connect(self.morph.setValue)
        self.play.clicked.connect(self._play)
        self.clear = QPushButton("Clear selection")
        self.clear.clicked.connect(lambda: self.set_selection(None))
        self.info = QLabel("Tick two runs and press Compare maps: both models map the same test images.")
        self.info.setWordWrap(True)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Colour by"))
        controls.addWidget(self.colour_by)
        controls.addSpacing(12)
        controls.addWidget(self.play)
        controls.addWidget(self.morph, 1)
        controls.addWidget(self.clear)
        maps = QHBoxLayout()
        maps.addWidget(self.a.plot)
        maps.addWidget(self.b.plot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addLayout(maps, 1)
        layout.addWidget(self.legend)
        layout.addWidget(self.info)

    def show_message(self, text: str) -> None:
        """A line under the maps (what is being computed)."""
        self.info.setText(text)

    def set_pair(self, pair, classes: list[str], titles: tuple[str, str]) -> None:
        """Show two maps (a core.compare.MapPair) of the same images."""
        self.pair, self.classes, self.picked, self.selection = pair, list(classes), None, None
        self.a.plot.setTitle(f"A: {titles[0]}", size="9pt")
        self.b.plot.setTitle(f"B: {titles[1]} (aligned to A)", size="9pt")
        self.a.set_coords(pair.coords_a)
        self.b.set_coords(pair.coords_b)
        self.timeline.stop()
        self.morph.blockSignals(True)
        self.morph.setValue(0)
        self.morph.blockSignals(False)
        self._restyle()
        self.a.plot.enableAutoRange()
        self._describe()

    def _brushes(self) -> list:
        pair = self.pair
        if self.colour_by.currentText() == "class":
            by_class = colouring("class", pair.labels, self.classes)
            palette, codes = [pg.mkBrush(c) for c in qcolours(by_class.rgb)], by_class.codes
        else:
            shares = np.linspace(0, 1, AGREEMENT_LEVELS)
            palette = [pg.mkBrush(c) for c in qcolours(viridis(shares))]
            codes = np.round(pair.agreement * (AGREEMENT_LEVELS - 1)).astype(int)
        brushes = [palette[k] for k in codes]
        if self.selection is not None:
            grey, chosen = pg.mkBrush(GREY), np.zeros(len(pair.labels), bool)
            chosen[self.selection] = True
            brushes = [b if c else grey for b, c in zip(brushes, chosen)]
        return brushes

    def _restyle(self) -> None:
        if self.pair is None:
            return
        brushes = self._brushes()
        for pane in (self.a, self.b):
            pane.points.setData(pos=pane.coords, brush=brushes, pen=None, size=5)
        self._mark(self.picked)
        if self.colour_by.currentText() == "class":
            self.legend.setText("  ".join(f"<span style='color:{c.name()}'>■</span> {n}"
                                          for n, c in zip(self.classes, class_colors(len(self.classes)))))
        else:
            low, high = qcolours(viridis([0.0, 1.0]))
            self.legend.setText(f"<span style='color:{low.name()}'>■</span> 0% of the 10 nearest neighbours shared "
                                f"… <span style='color:{high.name()}'>■</span> 100%")

    def _on_morph(self, value: int) -> None:
        if self.pair is None:
            return
        self.a.set_coords(self.pair.morph(value / 100))
        self.a.points.setData(pos=self.a.coords, brush=self._brushes(), pen=None, size=5)
        self._mark(self.picked)

    def _play(self) -> None:
        if self.pair is None:
            return
        forward = self.morph.value() < 50
        self.timeline.setDirection(QTimeLine.Forward if forward else QTimeLine.Backward)
        self.timeline.start()

    def _mark(self, i: int | None) -> None:
        for pane in (self.a, self.b):
            pane.ring.set(None if i is None else pane.coords[i][None])

    def _on_hover(self, pane: _Pane, pos) -> None:
        i = pane.nearest(pos)
        self._mark(i if i is not None else self.picked)

    def _on_click(self, pane: _Pane, ev) -> None:
        if ev.button() != Qt.LeftButton or self.pair is None:
            return
        i = pane.nearest(ev.scenePos())
        if i is None:
            return
        self.picked = i
        self._mark(i)
        self._describe()
        self.picked_changed.emit(i)

    def _on_polygon(self, pane: _Pane, polygon: np.ndarray) -> None:
        if self.pair is None:
            return
        chosen = np.flatnonzero(inside_polygon(pane.coords, polygon))
        self.set_selection(chosen if len(chosen) else None)

    def set_selection(self, points: np.ndarray | None) -> None:
        """Select these images in both maps (None: clear)."""
        self.selection = None if points is None else np.asarray(points)
        self._restyle()
        self._describe()
        self.selection_changed.emit(self.selection)

    def _describe(self) -> None:
        pair = self.pair
        if pair is None:
            return
        text = (f"{len(pair.labels):,} test images, {pair.projection.upper()}. Mean neighbour agreement "
                f"{100 * pair.mean_agreement:.1f}% (of each image's 10 nearest neighbours in latent space, the "
                f"share both models have in common).")
        if self.picked is not None:
            i = self.picked
            text += (f" Clicked: image {int(pair.indices[i]) if pair.indices is not None else i} "
                     f"({self.classes[pair.labels[i]] if pair.labels[i] < len(self.classes) else pair.labels[i]}), "
                     f"agreement {100 * pair.agreement[i]:.0f}%.")
        if self.selection is not None:
            agreement = 100 * pair.agreement[self.selection].mean()
            text += (f" Selected {len(self.selection):,} images: their agreement {agreement:.1f}%;"
                     f" in B they spread over {self._spread(self.selection):.1f}x the area they take in A.")
        self.info.setText(text)

    def _spread(self, points: np.ndarray) -> float:
        """How much more of B's map the selected images cover than of A's (the ratio of their std areas)."""
        a, b = self.pair.coords_a[points], self.pair.coords_b[points]
        return float(np.prod(b.std(0) + 1e-9) / np.prod(a.std(0) + 1e-9))
