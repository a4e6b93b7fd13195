"""MapLegend: beside the map, the classes with their colours and counts (a tick hides or shows one) and,
under them, the key of a category lens (dominant hue, cluster, component). It keeps no choice: a tick asks
with `hidden_requested(classes hidden)`, and `set_hidden` draws the session's.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from core.colours import Colouring
from explorer.map_colours import qcolours
from explorer.style import class_colors, swatch


class MapLegend(QWidget):
    hidden_requested = Signal(object)  # frozenset of the class indices the user wants hidden now

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.hidden: frozenset = frozenset()  # drawn (the session's)
        self.classes = QListWidget()
        self.classes.setMaximumWidth(220)
        self.classes.itemChanged.connect(self._on_ticked)
        self.lens = QLabel()
        self.lens.setWordWrap(True)
        self.lens.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Classes (click to hide/show)"))
        layout.addWidget(self.classes, 1)
        layout.addWidget(self.lens)

    def set_classes(self, classes: list[str], labels: np.ndarray) -> None:
        """One entry per class: its colour, name and how many points it has."""
        self.classes.blockSignals(True)
        self.classes.clear()
        for k, (name, color) in enumerate(zip(classes, class_colors(len(classes)))):
            entry = QListWidgetItem(swatch(color, 14), f"{name} ({int(np.sum(labels == k)):,})")
            entry.setFlags(entry.flags() | Qt.ItemIsUserCheckable)
            self.classes.addItem(entry)
        self.classes.blockSignals(False)
        self.set_hidden(self.hidden)

    def set_hidden(self, hidden: frozenset) -> None:
        """Tick every class but these."""
        self.hidden = hidden
        self.classes.blockSignals(True)
        for k in range(self.classes.count()):
            self.classes.item(k).setCheckState(Qt.Unchecked if k in hidden else Qt.Checked)
        self.classes.blockSignals(False)

    def set_lens(self, colouring: Colouring | None) -> None:
        """The key of a category lens (hidden for class and for numbers, which have a colour bar)."""
        legend = colouring.legend if colouring is not None and colouring.name != "class" else []
        colours = qcolours(colouring.rgb) if legend else []
        self.lens.setText(f"<b>{colouring.title}</b><br>" + "<br>".join(
            f"<span style='color:{colours[k].name()}'>■</span> {text}" for text, k in legend) if legend else "")
        self.lens.setVisible(bool(legend))

    def _on_ticked(self, entry: QListWidgetItem) -> None:
        k = self.classes.row(entry)
        self.hidden_requested.emit(self.hidden - {k} if entry.checkState() == Qt.Checked else self.hidden | {k})
