"""Inspector: the latent map's side panel: original and reconstruction of a clicked point, the image
decoded at an empty spot, and an interpolation strip between two points."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from explorer.image_view import ImageView


class Inspector(QWidget):
    mode_changed = Signal(str)  # "linear" or "spherical"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel("Click the map")
        self.title.setWordWrap(True)
        self.original = ImageView("original")
        self.reconstruction = ImageView("reconstruction / decoded")
        self.strip = ImageView("shift-click a second point to interpolate", min_side=48)
        self.mode_box = QComboBox()
        self.mode_box.addItems(["linear", "spherical"])
        self.mode_box.currentTextChanged.connect(self.mode_changed)
        grid = QGridLayout()
        grid.addWidget(QLabel("Original"), 0, 0)
        grid.addWidget(QLabel("Decoded"), 0, 1)
        grid.addWidget(self.original, 1, 0)
        grid.addWidget(self.reconstruction, 1, 1)
        mode_row = QHBoxLayout()
        mode_row.addWidget(QLabel("Interpolation:"))
        mode_row.addWidget(self.mode_box)
        mode_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(grid, 3)
        layout.addLayout(mode_row)
        layout.addWidget(self.strip, 1)

    @property
    def mode(self) -> str:
        return self.mode_box.currentText()

    def show_point(self, index: int, class_name: str, original: np.ndarray, recon: np.ndarray) -> None:
        self.title.setText(f"<b>{class_name}</b>, image #{index}")
        self.original.set_image(original, class_name)
        self.reconstruction.set_image(recon, "reconstruction")

    def show_decoded(self, x: float, y: float, image: np.ndarray, how: str = "PCA inverse") -> None:
        self.title.setText(f"Decoded at ({x:.2f}, {y:.2f}) ({how})")
        self.original.set_image(None)
        self.reconstruction.set_image(image, "decoded")

    def show_strip(self, a: str, b: str, grid: np.ndarray) -> None:
        self.strip.set_image(grid, f"{self.mode}: {a} → {b}")

    def clear(self) -> None:
        self.title.setText("Click the map")
        for view in (self.original, self.reconstruction, self.strip):
            view.set_image(None)

    def current_image(self) -> np.ndarray | None:
        """The image an 'Export image' should write: the decoded/reconstructed view first."""
        for view in (self.reconstruction, self.original, self.strip):
            if view.image() is not None:
                return view.image()
        return None
