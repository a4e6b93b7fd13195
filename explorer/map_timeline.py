"""MapTimeline: under the map, a slider over the live map's frames and a line naming the one shown. Hidden
with fewer than two frames; moving it asks for a frame with `frame_selected(index)`.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

from explorer.style import FitLabel


class MapTimeline(QWidget):
    frame_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.valueChanged.connect(self.frame_selected)
        self.label = FitLabel("")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Timeline:"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.label)
        self.setVisible(False)

    def set_frames(self, count: int, index: int, text: str = "") -> None:
        """`count` frames, showing `index` (no signal); hidden with fewer than two frames."""
        self.setVisible(count > 1)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, count - 1))
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self.label.setText(text)
