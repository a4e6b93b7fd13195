"""MapToolbar: the latent map's two rows of controls. What to map (the split, the projection, Encode,
and the progress of that work with Cancel) and how to draw it (what a drag does, point size and
opacity, hidden classes in grey, class ellipses, images when zoomed in). It draws nothing itself.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget,
)


class MapToolbar(QWidget):
    encode_requested = Signal(str, str)  # split, projection ("pca", "tsne" or "umap")
    cancel_requested = Signal()
    style_changed = Signal()  # point size, opacity or hidden classes in grey
    labels_changed = Signal()  # cluster labels turned on or off, or their count changed

    def __init__(self, thumbnail_px: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.split_box = QComboBox()
        self.split_box.addItems(["test", "train", "all"])
        self.projection_box = QComboBox()
        self.projection_box.addItem("PCA", "pca")
        self.projection_box.addItem("t-SNE", "tsne")
        self.projection_box.addItem("UMAP", "umap")
        self.projection_box.setToolTip("PCA: linear, every spot decodes exactly. t-SNE (openTSNE) and UMAP (umap-learn): "
                                       "keep neighbourhoods; empty spots decode an estimate. UMAP's first use compiles "
                                       "for about 20 s. Each map is cached per model and split.")
        self.encode_button = QPushButton("Encode")
        self.encode_button.setToolTip("Encode the chosen split with the current model and map it to 2D with the chosen projection")
        self.encode_button.clicked.connect(lambda: self.encode_requested.emit(self.split(), self.projection()))
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_requested)

        from core.lenses import LENSES  # Qt-free and light (numpy): the lens names and their help

        self.colour_box = QComboBox()
        for lens in LENSES.values():
            self.colour_box.addItem(lens.title, lens.name)
            self.colour_box.setItemData(self.colour_box.count() - 1, lens.help, Qt.ToolTipRole)
        self.colour_box.setToolTip("Colour the points by a property of their images or of the model's view of them; "
                                   "the Lenses tab ranks how well the latents predict each")
        self.labels_box = QCheckBox("cluster labels")
        self.labels_box.setToolTip("Cluster the latents (k-means) and label each cluster on the map with what sets it "
                                   "apart and its commonest class, with one typical image")
        self.clusters_spin = QSpinBox(minimum=0, maximum=40, value=0)
        self.clusters_spin.setSpecialValueText("k by BIC")
        self.clusters_spin.setToolTip("How many clusters (k by BIC: the Gaussian mixture size with the lowest BIC)")
        self.labels_box.toggled.connect(lambda _: self.labels_changed.emit())
        self.clusters_spin.valueChanged.connect(lambda _: self.labels_box.isChecked() and self.labels_changed.emit())
        self.drag_box = QComboBox()
        self.drag_box.addItems(["pan", "rectangle", "lasso"])
        self.drag_box.setToolTip("What a left drag on the map does: pan the view, or select the points inside a "
                                 "rectangle or a free-hand lasso (a click without dragging clears the selection)")
        self.size_box = QSpinBox(minimum=1, maximum=20, value=5, suffix=" px")
        self.opacity = QSlider(Qt.Horizontal, minimum=10, maximum=100, value=80)
        self.grey_box = QCheckBox("hidden classes in grey")
        self.centroid_box = QCheckBox("class centroids (1σ)")
        self.images_box = QCheckBox("images")
        self.images_box.setChecked(True)
        self.images_box.setToolTip(f"Draw the points as their images (framed in their class colour) when each "
                                   f"would get {thumbnail_px} pixels or more: zoom in")
        for box in (self.size_box, self.opacity):
            box.valueChanged.connect(self.style_changed)
        self.grey_box.toggled.connect(self.style_changed)

        top = QHBoxLayout()
        for w in (QLabel("Split:"), self.split_box, QLabel("Projection:"), self.projection_box, self.encode_button):
            top.addWidget(w)
        top.addWidget(self.progress, 1)
        top.addWidget(self.cancel_button)
        style = QHBoxLayout()  # two rows, so the map fits a 1024 px wide window beside the inspector
        for w in (QLabel("Drag:"), self.drag_box, QLabel("Points:"), self.size_box, QLabel("opacity"), self.opacity):
            style.addWidget(w)
        for w in (self.labels_box, self.clusters_spin):
            style.addWidget(w)
        style.addStretch(1)
        shown = QHBoxLayout()
        for w in (QLabel("Colour by:"), self.colour_box, self.images_box, self.grey_box, self.centroid_box):
            shown.addWidget(w)

        shown.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(style)
        layout.addLayout(shown)

    def split(self) -> str:
        """The split chosen: "test", "train" or "all"."""
        return self.split_box.currentText()

    def projection(self) -> str:
        """The projection chosen: "pca", "tsne" or "umap"."""
        return self.projection_box.currentData()

    def cluster_count(self) -> int | None:
        """None: no cluster labels; 0: k by BIC; else k."""
        return self.clusters_spin.value() if self.labels_box.isChecked() else None

    def colour_by(self) -> str:
        """What the points are coloured by: a core.lenses.LENSES key."""
        return self.colour_box.currentData()

    def set_colour_by(self, name: str) -> None:
        index = self.colour_box.findData(name)
        if index >= 0:
            self.colour_box.setCurrentIndex(index)

    def drag_mode(self) -> str:
        """What a left drag does: "pan", "rectangle" or "lasso"."""
        return self.drag_box.currentText()

    def point_size(self) -> int:
        return self.size_box.value()

    def alpha(self) -> int:
        """The points' opacity, 0-255."""
        return int(255 * self.opacity.value() / 100)

    def set_progress(self, done: int, total: int, text: str = "%p%") -> None:
        """Background work on a map (encoding, a projection): visible with Cancel until done == total."""
        self.progress.setVisible(done < total)
        self.cancel_button.setVisible(done < total)
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(text)
