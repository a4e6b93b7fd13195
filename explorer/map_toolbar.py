"""MapToolbar: the latent map's rows of controls. What to map (the split, the projection, Encode,
and the progress of that work with Cancel) and how to draw it (what a drag does, point size and
opacity, hidden classes in grey, class ellipses, images when zoomed in; a number lens's colour scale: its
range, map and log scale, shown while a number colours the map). It draws nothing itself and keeps
no choice: a control changed asks with `choice_requested(name, value)` (an explorer.choices.Choices field),
and `set_choices` shows the choices the session holds.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)


class MapToolbar(QWidget):
    encode_requested = Signal()  # map the split chosen with the projection chosen
    cancel_requested = Signal()
    choice_requested = Signal(str, object)  # a Choices field and the value the user gave it

    def __init__(self, thumbnail_px: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.split_box = QComboBox()
        self.split_box.addItems(["test", "train", "all"])
        self.projection_box = QComboBox()
        self.projection_box.addItem("PCA", "pca")
        self.projection_box.addItem("t-SNE", "tsne")
        self.projection_box.addItem("UMAP", "umap")
        self.projection_box.setToolTip("PCA: linear, every spot decodes exactly. t-SNE (openTSNE) and UMAP "
                                       "(umap-learn): "
                                       "keep neighbourhoods; empty spots decode an estimate. UMAP's first use compiles "
                                       "for about 20 s. Each map is cached per model and split.")
        self.encode_button = QPushButton("Encode")
        self.encode_button.setToolTip("Encode the chosen split with the current model and map it to 2D with the "
                                      "chosen projection")
        self.encode_button.clicked.connect(self.encode_requested)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_requested)

        from core.lenses import LENSES  # Qt-free and light (numpy): the lens names and their help

        self.colour_box = QComboBox()
        self._dimension_shown = False  # the last entry is a latent dimension's (asked for by the Lenses tab)
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
        self.scale_row = QWidget()  # a number lens's colour scale
        self.cmap_box = QComboBox()
        for name, tip in (("viridis", "perceptually uniform, dark to light"),
                          ("cividis", "perceptually uniform, readable with colour-vision deficiency"),
                          ("diverging", "blue - white - red around 0, for signed values (CET-D1)")):
            self.cmap_box.addItem(name, name)
            self.cmap_box.setItemData(self.cmap_box.count() - 1, tip, Qt.ToolTipRole)
        self.log_box = QCheckBox("log")
        self.log_box.setToolTip("A log10 scale (values at or below 0 draw at the low end)")
        self.low_edit, self.high_edit = QLineEdit(), QLineEdit()
        for edit in (self.low_edit, self.high_edit):
            edit.setValidator(QDoubleValidator())
            edit.setMaximumWidth(90)
            edit.setToolTip("Type the colour range's ends (Enter); empty: auto, the 1st to 99th percentile")
            edit.editingFinished.connect(self._ask_range)
        self.auto_button = QPushButton("Auto")
        self.auto_button.setToolTip("The range from the 1st to the 99th percentile of the values")
        self.auto_button.clicked.connect(lambda: self.choice_requested.emit("colour_range", ()))
        scale = QHBoxLayout(self.scale_row)
        scale.setContentsMargins(0, 0, 0, 0)
        for w in (QLabel("Scale:"), self.cmap_box, self.log_box, QLabel("range"), self.low_edit, QLabel("to"),
                  self.high_edit, self.auto_button):
            scale.addWidget(w)
        scale.addStretch(1)
        self.scale_row.hide()
        self._asking = True  # False while set_choices draws (no request goes back)
        for name, signal, value in (
                ("split", self.split_box.currentIndexChanged, self.split_box.currentText),
                ("projection", self.projection_box.currentIndexChanged, self.projection_box.currentData),
                ("colour_by", self.colour_box.currentIndexChanged, self.colour_box.currentData),
                ("cluster_labels", self.labels_box.toggled, self.labels_box.isChecked),
                ("cluster_k", self.clusters_spin.valueChanged, self.clusters_spin.value),
                ("drag_mode", self.drag_box.currentIndexChanged, self.drag_box.currentText),
                ("point_size", self.size_box.valueChanged, self.size_box.value),
                ("opacity", self.opacity.valueChanged, self.opacity.value),
                ("grey_hidden", self.grey_box.toggled, self.grey_box.isChecked),
                ("centroids", self.centroid_box.toggled, self.centroid_box.isChecked),
                ("images", self.images_box.toggled, self.images_box.isChecked),
                ("colour_map", self.cmap_box.currentIndexChanged, self.cmap_box.currentData),
                ("colour_log", self.log_box.toggled, self.log_box.isChecked)):
            signal.connect(self._asker(name, value))

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
        layout.addWidget(self.scale_row)

    def _ask_range(self) -> None:
        """Both ends typed: ask for that range (one end alone waits for the other)."""
        low, high = self.low_edit.text().strip(), self.high_edit.text().strip()
        if self._asking and low and high:
            try:
                self.choice_requested.emit("colour_range", (float(low), float(high)))
            except ValueError:  # the validator lets "1e" through while typing
                self.choice_requested.emit("colour_range", (low, high))

    def show_scale(self, levels: tuple[float, float] | None, log: bool = False) -> None:
        """The scale row shows while a number colours the map; an auto range shows its ends greyed (`levels`:
        log10 of the values on a log scale)."""
        self.scale_row.setVisible(levels is not None)
        for edit, value in zip((self.low_edit, self.high_edit), levels or (None, None)):
            edit.setPlaceholderText(f"{10 ** value if log else value:.4g}" if value is not None else "")

    def _asker(self, name: str, value):
        def ask(*_) -> None:
            if self._asking:
                self.choice_requested.emit(name, value())
        return ask

    def _show_colour(self, name: str) -> None:
        """Select lens `name` in the Colour by box; a latent dimension's (from the Lenses tab) gets the last entry,
        in place of the one before."""
        from core.lenses import lens

        last = self.colour_box.count() - (1 if self._dimension_shown else 0)
        if self.colour_box.findData(name) < 0 and lens(name) is not None:
            if self._dimension_shown:
                self.colour_box.removeItem(last)
            self.colour_box.addItem(lens(name).title, name)
            self.colour_box.setItemData(last, lens(name).help, Qt.ToolTipRole)
            self._dimension_shown = True
        self.colour_box.setCurrentIndex(self.colour_box.findData(name))

    def set_columns(self, names: list[str], colour_by: str) -> None:
        """The lenses an embeddings file brought ("col:NAME"), listed after ours (none: ours only)."""
        from core.lenses import LENSES, lens

        self._asking = False
        try:
            while self.colour_box.count() > len(LENSES):
                self.colour_box.removeItem(len(LENSES))
            self._dimension_shown = False
            for name in names:
                self.colour_box.addItem(lens(name).title, name)
                self.colour_box.setItemData(self.colour_box.count() - 1, lens(name).help, Qt.ToolTipRole)
            self._show_colour(colour_by)
        finally:
            self._asking = True

    def set_choices(self, choices) -> None:
        """Show the session's explorer.choices.Choices (asking for nothing)."""
        self._asking = False
        try:
            self.split_box.setCurrentText(choices.split)
            self.projection_box.setCurrentIndex(self.projection_box.findData(choices.projection))
            self._show_colour(choices.colour_by)
            self.labels_box.setChecked(choices.cluster_labels)
            self.clusters_spin.setValue(choices.cluster_k)
            self.drag_box.setCurrentText(choices.drag_mode)
            self.size_box.setValue(choices.point_size)
            self.opacity.setValue(choices.opacity)
            self.grey_box.setChecked(choices.grey_hidden)
            self.centroid_box.setChecked(choices.centroids)
            self.images_box.setChecked(choices.images)
            self.cmap_box.setCurrentIndex(self.cmap_box.findData(choices.colour_map))
            self.log_box.setChecked(choices.colour_log)
            for edit, value in zip((self.low_edit, self.high_edit), choices.colour_range or ("", "")):
                edit.setText(f"{value:g}" if value != "" else "")
        finally:
            self._asking = True

    def set_progress(self, done: int, total: int, text: str = "%p%") -> None:
        """Background work on a map (encoding, a projection): visible with Cancel until done == total."""
        self.progress.setVisible(done < total)
        self.cancel_button.setVisible(done < total)
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(text)
