"""SamplesPanel: an 8x8 grid decoded from the prior N(0, T^2 I) or from a mixture fitted to the
training latents, with source, temperature, seed, Resample and Save PNG.

It asks with `sample_requested(source, temperature, seed)`; the SamplesController answers with
`set_grid` (or `set_status` while it fits the mixture).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget

from explorer.image_view import ImageView


class SamplesPanel(QWidget):
    sample_requested = Signal(str, float, int)  # source ("prior" or "mixture"), temperature, seed
    save_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = ImageView("No model yet: train one or open a checkpoint.", min_side=256)
        self.source_box = QComboBox()
        self.source_box.addItem("prior N(0, T² I)", "prior")
        self.source_box.addItem("fitted mixture", "mixture")
        self.source_box.setCurrentIndex(1)  # the default: samples where the encoder puts images (README)
        self.source_box.setToolTip("A 10-component Gaussian mixture fitted to the latent means of the training "
                                   "images: samples land where the encoder puts real images")
        self.source_box.currentIndexChanged.connect(self.request)
        self.status = QLabel("")
        self.temperature = QSlider(Qt.Horizontal)
        self.temperature.setRange(10, 200)  # hundredths: 0.1 .. 2.0
        self.temperature.setValue(100)
        self.temperature_label = QLabel()
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.resample_button = QPushButton("Resample")
        self.save_button = QPushButton("Save PNG...")
        self.temperature.valueChanged.connect(self._on_temperature)
        self.temperature.sliderReleased.connect(self.request)
        self.seed.valueChanged.connect(self.request)
        self.resample_button.clicked.connect(self._on_resample)
        self.save_button.clicked.connect(self.save_requested)
        row = QHBoxLayout()
        row.addWidget(QLabel("Sample from"))
        row.addWidget(self.source_box)
        row.addWidget(QLabel("Temperature"))
        row.addWidget(self.temperature, 1)
        row.addWidget(self.temperature_label)
        row.addWidget(QLabel("Seed"))
        row.addWidget(self.seed)
        row.addWidget(self.resample_button)
        row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self._on_temperature(self.temperature.value())
        self.set_enabled(False)

    @property
    def temperature_value(self) -> float:
        return self.temperature.value() / 100

    def set_enabled(self, enabled: bool) -> None:
        for w in (self.resample_button, self.save_button, self.temperature, self.seed, self.source_box):
            w.setEnabled(enabled)

    def request(self) -> None:
        self.sample_requested.emit(self.source(), self.temperature_value, self.seed.value())

    def source(self) -> str:
        return self.source_box.currentData()

    def set_status(self, text: str) -> None:
        """A line under the grid (e.g. progress of the mixture fit)."""
        self.status.setText(text)

    def image(self):
        """The grid shown (uint8 [3, H, W]) or None."""
        return self.view.image()

    def set_grid(self, grid: np.ndarray, caption: str = "") -> None:
        self.view.set_image(grid, caption)
        self.set_enabled(True)

    def clear(self) -> None:
        self.view.set_image(None)
        self.set_enabled(False)

    def _on_temperature(self, value: int) -> None:
        self.temperature_label.setText(f"{value / 100:.2f}")
        if not self.temperature.isSliderDown():
            self.request()

    def _on_resample(self) -> None:
        self.seed.setValue(self.seed.value() + 1)  # emits sample_requested through valueChanged
