"""SamplesPanel: an 8x8 grid decoded from N(0, T^2 I), with temperature, seed, Resample and Save PNG.

It asks for samples with `sample_requested(temperature, seed)`; the main window answers with `set_grid`.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget

from explorer.image_view import ImageView


class SamplesPanel(QWidget):
    sample_requested = Signal(float, int)  # temperature, seed
    save_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = ImageView("No model yet: train one or open a checkpoint.", min_side=256)
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
        self._on_temperature(self.temperature.value())
        self.set_enabled(False)

    @property
    def temperature_value(self) -> float:
        return self.temperature.value() / 100

    def set_enabled(self, enabled: bool) -> None:
        for w in (self.resample_button, self.save_button, self.temperature, self.seed):
            w.setEnabled(enabled)

    def request(self) -> None:
        self.sample_requested.emit(self.temperature_value, self.seed.value())

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
