"""LatentMapView: the 2D PCA scatter of encoded images, coloured by class, clickable.

Needs from whoever feeds it (the MapController): `set_data(coords [N,2], labels [N], classes,
explained [2], knn)`; it answers with signals and never decodes anything itself:
point_clicked(index), empty_clicked(x, y), interpolate_requested(a, b), encode_requested(split).
One ScatterPlotItem and one QBrush per class, point indices as data; picking measures screen
pixels (core.latent.PixelPicker), so it is right at any zoom and with unequal axis scales.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar, QPushButton,
    QSplitter, QVBoxLayout, QWidget,
)

from explorer.style import class_colors

PICK_RADIUS_PX = 6.0


class LatentMapView(QWidget):
    point_clicked = Signal(int)
    empty_clicked = Signal(float, float)
    interpolate_requested = Signal(int, int)
    encode_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.coords = np.zeros((0, 2), np.float32)
        self.labels = np.zeros(0, np.int64)
        self.classes: list[str] = []
        self.selected: int | None = None  # last clicked point: start of a shift-click interpolation
        self._picker = None  # core.latent.PixelPicker over the visible points
        self._items: list[pg.ScatterPlotItem] = []
        self.class_indices: list[np.ndarray] = []  # point indices drawn by each class's item

        self.plot = pg.PlotWidget(background="w")
        self.plot.setAspectLocked(False)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setLabel("bottom", "PC1")
        self.plot.setLabel("left", "PC2")
        self.plot.getPlotItem().setMenuEnabled(False)
        self.hover_item = pg.ScatterPlotItem(size=12, pen=pg.mkPen("k", width=2), brush=None)
        self.selected_item = pg.ScatterPlotItem(size=14, pen=pg.mkPen("k", width=3), brush=None, symbol="s")
        self.marker_item = pg.ScatterPlotItem(size=18, pen=pg.mkPen("k", width=3), brush=None, symbol="+")
        for item in (self.hover_item, self.selected_item, self.marker_item):
            item.setZValue(10)
            self.plot.addItem(item)
        self.hover_text = pg.TextItem("", color="k", anchor=(0, 1), fill=pg.mkBrush(255, 255, 255, 200))
        self.hover_text.setZValue(11)
        self.hover_text.setVisible(False)  # an empty TextItem would still paint its white fill
        self.plot.addItem(self.hover_text)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)

        self.legend = QListWidget()
        self.legend.setMaximumWidth(220)
        self.legend.itemChanged.connect(self._on_legend_changed)
        self.split_box = QComboBox()
        self.split_box.addItems(["test", "train"])
        self.encode_button = QPushButton("Encode")
        self.encode_button.setToolTip("Encode the chosen split and map it to 2D with PCA")
        self.encode_button.clicked.connect(lambda: self.encode_requested.emit(self.split_box.currentText()))
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.info = QLabel("No map yet: train a model or open a checkpoint, then Encode.")
        self.info.setWordWrap(True)
        self.hover_label = QLabel(" ")

        top = QHBoxLayout()
        top.addWidget(QLabel("Split:"))
        top.addWidget(self.split_box)
        top.addWidget(self.encode_button)
        top.addWidget(self.progress, 1)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(QLabel("Classes (click to hide/show)"))
        side_layout.addWidget(self.legend, 1)
        split = QSplitter()
        split.addWidget(self.plot)
        split.addWidget(side)
        split.setStretchFactor(0, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.info)
        layout.addWidget(self.hover_label)

    # ------------------------------------------------------------ data

    def set_data(self, coords: np.ndarray, labels: np.ndarray, classes: list[str],
                 explained: np.ndarray, knn: float | None, split: str = "test") -> None:
        self.coords, self.labels, self.classes = np.asarray(coords, np.float32), np.asarray(labels), list(classes)
        for item in self._items:
            self.plot.removeItem(item)
        colors = class_colors(len(classes))
        self._items, self.class_indices = [], []
        self.legend.blockSignals(True)
        self.legend.clear()
        for k, name in enumerate(classes):
            idx = np.flatnonzero(self.labels == k)
            brush = pg.mkBrush(colors[k])  # one brush per class, shared by all its points
            item = pg.ScatterPlotItem(
                x=self.coords[idx, 0], y=self.coords[idx, 1], data=idx, size=5, pen=None, brush=brush,
                name=name,
            )
            self.plot.addItem(item)
            self._items.append(item)
            self.class_indices.append(idx)
            entry = QListWidgetItem(self._swatch(colors[k]), f"{name} ({len(idx):,})")
            entry.setFlags(entry.flags() | Qt.ItemIsUserCheckable)
            entry.setCheckState(Qt.Checked)
            self.legend.addItem(entry)
        self.legend.blockSignals(False)
        self.plot.setLabel("bottom", f"PC1 ({100 * explained[0]:.1f}% variance)")
        self.plot.setLabel("left", f"PC2 ({100 * explained[1]:.1f}% variance)")
        knn_text = f"kNN accuracy (k=5) of the latent means: {100 * knn:.1f}%" if knn is not None else ""
        self.info.setText(f"{len(self.labels):,} {split} images. {knn_text}. "
                          "Click a point to inspect it, empty space to decode it, shift-click a second point "
                          "to interpolate.")
        self.selected = None
        for item in (self.hover_item, self.selected_item, self.marker_item):
            item.setData([], [])
        self.hover_text.setVisible(False)
        self._rebuild_picker()
        self.plot.autoRange()

    def clear(self) -> None:
        self.set_data(np.zeros((0, 2)), np.zeros(0, np.int64), [], np.zeros(2), None)
        self.info.setText("No map yet: train a model or open a checkpoint, then Encode.")

    def point_count(self) -> int:
        return sum(len(idx) for idx, item in zip(self.class_indices, self._items) if item.isVisible())

    def split(self) -> str:
        """The split chosen in the Split box: "test" or "train"."""
        return self.split_box.currentText()

    def visible_indices(self) -> np.ndarray:
        """Indices of the points of the classes shown (the ones that can be picked)."""
        return np.sort(self._picker.index) if self._picker is not None else np.zeros(0, np.int64)

    def set_class_visible(self, k: int, visible: bool) -> None:
        self.legend.item(k).setCheckState(Qt.Checked if visible else Qt.Unchecked)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setVisible(done < total)
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    @staticmethod
    def _swatch(color: QColor) -> QIcon:
        pm = QPixmap(14, 14)
        pm.fill(color)
        return QIcon(pm)

    def _on_legend_changed(self, entry: QListWidgetItem) -> None:
        k = self.legend.row(entry)
        self._items[k].setVisible(entry.checkState() == Qt.Checked)
        self._rebuild_picker()

    def _rebuild_picker(self) -> None:
        from core.latent import PixelPicker

        visible = [k for k, item in enumerate(self._items) if item.isVisible()]
        self._picker = PixelPicker(self.coords, np.isin(self.labels, visible))

    # ------------------------------------------------------------ picking

    def screen_pos(self, index: int) -> QPointF:
        """Viewport position of a point (for tests and benchmarks that click)."""
        x, y = self.coords[index]
        return self.plot.mapFromScene(self.plot.plotItem.vb.mapViewToScene(QPointF(float(x), float(y))))

    def pick(self, scene_pos: QPointF) -> int | None:
        """Index of the visible point nearest a scene position, within PICK_RADIUS_PX screen pixels."""
        if self._picker is None or not len(self._picker):
            return None
        vb = self.plot.plotItem.vb
        p = vb.mapSceneToView(scene_pos)
        px_w, px_h = vb.viewPixelSize()  # data units per pixel, per axis
        return self._picker.nearest(p.x(), p.y(), px_w, px_h, PICK_RADIUS_PX)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        index = self.pick(scene_pos)
        if index is None:
            self.hover_item.setData([], [])
            self.hover_text.setVisible(False)
            self.hover_label.setText(" ")
            return
        x, y = self.coords[index]
        self.hover_item.setData([x], [y])
        name = self.classes[self.labels[index]]
        self.hover_text.setText(f"{name} #{index}")
        self.hover_text.setPos(float(x), float(y))
        self.hover_text.setVisible(True)
        self.hover_label.setText(f"Nearest point: {name}, index {index}")

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.LeftButton or not len(self.labels):
            return
        index = self.pick(event.scenePos())
        if index is not None:
            if event.modifiers() & Qt.ShiftModifier and self.selected is not None and self.selected != index:
                self.interpolate_requested.emit(self.selected, index)
                return
            self.selected = index
            self.selected_item.setData([self.coords[index, 0]], [self.coords[index, 1]])
            self.marker_item.setData([], [])
            self.point_clicked.emit(index)
        else:
            p = self.plot.plotItem.vb.mapSceneToView(event.scenePos())
            self.marker_item.setData([p.x()], [p.y()])
            self.empty_clicked.emit(p.x(), p.y())
