"""FirstRunPanel: shown on the Train tab at first start when no CIFAR-10 is found. One click each:
download CIFAR-10 (progress, size, time left, cancel), choose an existing folder, or use Shapes.

It only emits requests; the window loads the data and reports download progress back.
"""
from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

CIFAR_MB = 170.5  # the official archive, cifar-10-python.tar.gz


class FirstRunPanel(QFrame):
    download_requested = Signal()
    folder_chosen = Signal(str)  # a folder that holds (or is) cifar-10-batches-py
    shapes_chosen = Signal()
    cancel_requested = Signal()

    def __init__(self, data_dir: str, parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.StyledPanel)
        self._data_dir, self._t0 = data_dir, 0.0
        title = QLabel("<b>Welcome.</b> This app trains a VAE on CIFAR-10, which was not found in "
                       f"{data_dir}.")
        title.setWordWrap(True)
        self.download_button = QPushButton(f"Download CIFAR-10 ({CIFAR_MB:.0f} MB)")
        self.folder_button = QPushButton("Use a folder I have...")
        self.shapes_button = QPushButton("Start with Shapes (offline)")
        self.cancel_button = QPushButton("Cancel download")
        self.progress = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.download_button.clicked.connect(self._on_download)
        self.folder_button.clicked.connect(self._on_folder)
        self.shapes_button.clicked.connect(self.shapes_chosen)
        self.cancel_button.clicked.connect(self.cancel_requested)
        buttons = QHBoxLayout()
        for b in (self.download_button, self.folder_button, self.shapes_button):
            buttons.addWidget(b)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(buttons)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self.set_downloading(False)

    def set_downloading(self, downloading: bool, message: str = "") -> None:
        """Switch between the three choices and the download's progress; `message` says what happened."""
        for b in (self.download_button, self.folder_button, self.shapes_button):
            b.setEnabled(not downloading)
        self.progress.setVisible(downloading)
        self.cancel_button.setVisible(downloading)
        self.status.setText(message)

    def set_download_progress(self, done_bytes: int, total_bytes: int) -> None:
        total = total_bytes or int(CIFAR_MB * 1e6)
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * done_bytes / total))
        elapsed = max(time.monotonic() - self._t0, 1e-3)
        left = (total - done_bytes) / max(done_bytes / elapsed, 1.0)
        self.status.setText(f"{done_bytes / 1e6:.1f} of {total / 1e6:.1f} MB, about {left:.0f} s left")

    def _on_download(self) -> None:
        self._t0 = time.monotonic()
        self.set_downloading(True, f"Connecting... ({CIFAR_MB:.0f} MB to fetch)")
        self.download_requested.emit()

    def _on_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with cifar-10-batches-py", self._data_dir)
        if folder:
            self.folder_chosen.emit(folder)
