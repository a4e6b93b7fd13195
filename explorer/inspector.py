"""Inspector: the latent map's side panel. Tab "Point": original and reconstruction of a clicked point
(or the image decoded at an empty spot), its nearest neighbours in latent space, and an interpolation
strip. Tab "Traversals": the clicked point walked -3 to +3 sigma along PC1, PC2 and the 8 highest-KL
latent dimensions, a row each, and moved along an attribute vector (from a class, the selection or
a group's mean latent to another's) as a strip of 8. Tab "Selection": a lasso or rectangle selection
as an image grid, its counts per class and its decoded mean latent, with export and "Save as group".
Images are pixel-exact; strips show at least 64 px per image; every picture saves as a PNG from its
context menu.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.image_view import ImageView

STRIP_PX = 64  # least screen pixels per image in a strip: 2 screen pixels per pixel of a 32 px image


def _scrolling(view: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(view)
    return area


class Inspector(QWidget):
    choice_requested = Signal(str, object)  # an explorer.choices.Choices field: interpolation, attribute_*
    export_selection_requested = Signal()
    group_requested = Signal()  # save the selection as the next named group
    traversals_visible = Signal(bool)  # the Traversals tab came to the front (or left it): decoded on demand
    save_image_requested = Signal(object)  # uint8 [C, H, W]: a picture's context menu asked to save it

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel("Click the map")
        self.title.setWordWrap(True)
        self.original = ImageView("original")
        self.reconstruction = ImageView("reconstruction / decoded")
        self.neighbours = ImageView("the nearest neighbours in latent space appear here", STRIP_PX, min_scale=2)
        self.neighbour_text = QLabel("")
        self.neighbour_text.setWordWrap(True)
        self.strip = ImageView("shift-click a second point to interpolate", STRIP_PX, min_scale=2)
        self.mode_box = QComboBox()
        self.mode_box.addItems(["linear", "spherical"])
        self.mode_box.textActivated.connect(lambda mode: self.choice_requested.emit("interpolation", mode))
        grid = QGridLayout()
        grid.addWidget(QLabel("Original"), 0, 0)
        grid.addWidget(QLabel("Decoded"), 0, 1)
        grid.addWidget(self.original, 1, 0)
        grid.addWidget(self.reconstruction, 1, 1)
        mode_row = QHBoxLayout()
        mode_row.addWidget(QLabel("Interpolation:"))
        mode_row.addWidget(self.mode_box)
        mode_row.addStretch(1)
        point = QWidget()
        layout = QVBoxLayout(point)
        layout.addWidget(self.title)
        layout.addLayout(grid, 3)
        layout.addWidget(QLabel("Nearest neighbours in latent space (ringed on the map)"))
        layout.addWidget(self.neighbours, 1)
        layout.addWidget(self.neighbour_text)
        layout.addLayout(mode_row)
        layout.addWidget(self.strip, 1)

        self.selection_text = QLabel("Choose Drag: rectangle or lasso above the map, then drag around points.")
        self.selection_text.setWordWrap(True)
        self.selection_grid = ImageView("the selected images appear here")
        self.selection_mean = ImageView("decoded mean latent", min_side=STRIP_PX)
        self.selection_typical = ImageView("its most typical images (medoids in latent space)", min_side=STRIP_PX)
        self.selection_properties = QLabel()
        self.selection_properties.setWordWrap(True)
        self.selection_properties.setToolTip("Each property in the selection against the rest of the map: the mean "
                                             "(numbers) or the commonest category's share, and the distributions "
                                             "over the map's range (selection | rest)")
        self.export_button = QPushButton("Export selection...")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export_selection_requested)
        self.group_button = QPushButton("Save as group")
        self.group_button.setToolTip("Name the selection A, B, ...: groups are sources and targets of attribute "
                                     "vectors")
        self.group_button.setEnabled(False)
        self.group_button.clicked.connect(self.group_requested)
        self.groups_text = QLabel("")
        self.groups_text.setWordWrap(True)
        selection = QWidget()
        layout = QVBoxLayout(selection)
        layout.addWidget(self.selection_text)
        layout.addWidget(self.selection_grid, 3)
        layout.addWidget(self.selection_typical, 1)
        properties = _scrolling(self.selection_properties)  # nine rows: they scroll where the window is short
        properties.setFrameShape(QScrollArea.NoFrame)
        properties.setMinimumHeight(90)
        layout.addWidget(properties, 2)
        row = QHBoxLayout()
        row.addWidget(self.selection_mean, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.group_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.groups_text)
        buttons.addStretch(1)
        row.addLayout(buttons)
        layout.addLayout(row, 1)

        self.traversal_names = QLabel("Click a point: its traversals appear here.")
        self.traversal_names.setWordWrap(True)
        self.traversals = ImageView("", STRIP_PX, min_scale=2)
        self.attribute_from, self.attribute_to = QComboBox(), QComboBox()
        self.strength = QSlider(Qt.Horizontal, minimum=1, maximum=6, value=2)  # half steps: 0.5 ... 3.0
        self.strength_label = QLabel("")
        self.strength_label.setMinimumWidth(self.strength_label.fontMetrics().horizontalAdvance("× 3.0") + 6)
        self.attribute_from.textActivated.connect(lambda name: self.choice_requested.emit("attribute_from", name))
        self.attribute_to.textActivated.connect(lambda name: self.choice_requested.emit("attribute_to", name))
        self.strength.valueChanged.connect(self._on_strength)
        self.attribute = ImageView("pick a point and two classes (or your selection)", STRIP_PX, min_scale=2)
        walks = QWidget()  # names above; the strips scroll when 64 px per image needs more room
        layout = QVBoxLayout(walks)
        layout.addWidget(self.traversal_names)
        layout.addWidget(_scrolling(self.traversals), 4)
        row = QHBoxLayout()  # two rows: the inspector is narrow in a 1024 px window
        for w in (QLabel("Attribute vector from"), self.attribute_from, QLabel("to"), self.attribute_to):
            row.addWidget(w)
        row.addStretch(1)
        layout.addLayout(row)
        row = QHBoxLayout()
        for w in (QLabel("Strength"), self.strength, self.strength_label):
            row.addWidget(w)
        layout.addLayout(row)
        layout.addWidget(_scrolling(self.attribute), 1)

        self.tabs = QTabWidget()
        self._point_page, self._walks_page, self._selection_page = point, walks, selection
        self.tabs.addTab(point, "Point")
        self.tabs.addTab(walks, "Traversals")
        self._walks_page = walks
        self.tabs.addTab(selection, "Selection")
        # queued, so a window being destroyed (which removes its tabs) never calls back into this panel
        self.tabs.currentChanged.connect(self._on_tab_changed, Qt.QueuedConnection)
        for view in self._views():
            view.save_requested.connect(self.save_image_requested)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.tabs)

    def set_decodable(self, decodable: bool, why_not: str = "") -> None:
        """Without a decoder (embeddings alone) the Traversals tab is off, and says why."""
        walks = self.tabs.indexOf(self._walks_page)
        if not decodable and self.tabs.currentIndex() == walks:
            self.tabs.setCurrentWidget(self._point_page)
        self.tabs.setTabEnabled(walks, decodable)
        self.tabs.setTabToolTip(walks, "" if decodable else why_not)

    def show_point(self, index: int, class_name: str, original: np.ndarray | None, recon: np.ndarray | None) -> None:
        if not self.showing_traversals():  # stay on the traversals when picking point after point
            self.tabs.setCurrentWidget(self._point_page)
        self.title.setText(f"<b>{class_name}</b>, image #{index}")
        self.original.set_image(original, class_name)
        self.reconstruction.set_image(recon, "reconstruction" if recon is not None else "")

    def show_neighbours(self, strip: np.ndarray | None, names: list[str], distances: np.ndarray) -> None:
        """A strip of the k nearest images and, below it, each one's class and latent distance."""
        self.neighbours.set_image(strip, f"{len(names)} nearest" if strip is not None else "")
        self.neighbour_text.setText(" · ".join(f"{n} {d:.2f}" for n, d in zip(names, distances)))

    def set_attribute_sources(self, names: list[str]) -> None:
        """What an attribute vector can start and end at: class names, "selection" when there is one, and
        the groups ("group A", ...). The same names leave the boxes alone (an open list stays open)."""
        if [self.attribute_from.itemText(i) for i in range(self.attribute_from.count())] == names:
            return
        for box in (self.attribute_from, self.attribute_to):
            box.blockSignals(True)
            box.clear()
            box.addItems(names)
            box.blockSignals(False)

    def set_choices(self, choices) -> None:
        """Show the session's explorer.choices.Choices: the interpolation, the attribute vector's ends and strength."""
        for box, text in ((self.mode_box, choices.interpolation), (self.attribute_from, choices.attribute_from),
                          (self.attribute_to, choices.attribute_to)):
            box.blockSignals(True)
            box.setCurrentIndex(box.findText(text))
            box.blockSignals(False)
        self.strength.blockSignals(True)
        self.strength.setValue(round(2 * choices.attribute_strength))
        self.strength.blockSignals(False)
        self.strength_label.setText(f"× {choices.attribute_strength:g}")

    def show_attribute(self, strip: np.ndarray | None, text: str = "") -> None:
        self.attribute.set_image(strip, text)

    def _on_strength(self, value: int) -> None:
        self.choice_requested.emit("attribute_strength", value / 2)

    def _on_tab_changed(self, index: int) -> None:
        self.traversals_visible.emit(self.tabs.widget(index) is self._walks_page)

    def showing_traversals(self) -> bool:
        return self.tabs.currentWidget() is self._walks_page

    def show_traversals(self, grid: np.ndarray, names: list[str]) -> None:
        """Rows of a traversal grid (-3 sigma left, the point itself in the middle, +3 sigma right)."""
        self.traversal_names.setText("Rows, top to bottom (−3σ … +3σ, the point in the middle): " + ", ".join(names))
        self.traversals.set_image(grid, "")

    def show_given(self, name: str, image: np.ndarray, recon: np.ndarray, xy: np.ndarray) -> None:
        """An image the user brought: as the model sees it, its reconstruction, where it landed."""
        self.tabs.setCurrentWidget(self._point_page)
        self.title.setText(f"<b>{name}</b> (yours), lands at ({xy[0]:.2f}, {xy[1]:.2f}), marked ★ on the map")
        self.original.set_image(image, "yours (cropped, resized)")
        self.reconstruction.set_image(recon, "reconstruction")

    def show_decoded(self, x: float, y: float, image: np.ndarray, how: str = "PCA inverse") -> None:
        self.tabs.setCurrentWidget(self._point_page)
        self.title.setText(f"Decoded at ({x:.2f}, {y:.2f}) ({how})")
        self.original.set_image(None)
        self.reconstruction.set_image(image, "decoded")
        self.show_neighbours(None, [], np.zeros(0))

    def show_strip(self, a: str, b: str, grid: np.ndarray) -> None:
        self.strip.set_image(grid, f"{self.mode_box.currentText()}: {a} → {b}")

    def show_selection(self, count: int, per_class: str, grid: np.ndarray | None, mean: np.ndarray | None,
                       typical: np.ndarray | None = None, properties: str = "") -> None:
        """A selection: its size and counts per class, up to 64 of its images, its decoded mean latent, its most
        typical images and a summary of its properties (rich text). A new selection brings its tab to the
        front; a cleared one leaves the tab shown as it is."""
        if count:
            self.tabs.setCurrentWidget(self._selection_page)
        shown = "" if grid is None or count <= 64 else " (the first 64 shown)"
        self.selection_text.setText(f"<b>{count:,} points selected</b>{shown}: {per_class}" if count else
                                    "Nothing selected: drag around points with Drag: rectangle or lasso.")
        self.selection_grid.set_image(grid, "")
        self.selection_mean.set_image(mean, "decoded mean latent" if mean is not None else "")
        self.selection_typical.set_image(typical,
                                         "most typical (medoids in latent space)" if typical is not None else "")
        self.selection_properties.setText(properties)
        self.export_button.setEnabled(count > 0)
        self.group_button.setEnabled(count > 0)

    def show_contrasts(self, properties: str) -> None:
        """The selection's properties against the rest of the map (rich text), once they are known."""
        self.selection_properties.setText(properties)

    def show_groups(self, text: str) -> None:
        self.groups_text.setText(text)

    def clear(self) -> None:
        self.title.setText("Click the map")
        for view in self._views():
            view.set_image(None)
        self.neighbour_text.setText("")
        self.export_button.setEnabled(False)
        self.group_button.setEnabled(False)

    def _views(self) -> list[ImageView]:
        return [self.original, self.reconstruction, self.neighbours, self.strip, self.traversals, self.attribute,
                self.selection_grid, self.selection_mean, self.selection_typical]

    def current_image(self) -> np.ndarray | None:
        """The image an 'Export image' should write: of the tab shown, the main picture first."""
        views = {self._point_page: (self.reconstruction, self.original, self.neighbours, self.strip),
                 self._walks_page: (self.traversals, self.attribute),
                 self._selection_page: (self.selection_grid, self.selection_mean)}[self.tabs.currentWidget()]
        for view in views:
            if view.image() is not None:
                return view.image()
        return None
