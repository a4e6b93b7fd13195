"""Application entry: placeholder window until the app lands."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(sys.argv[:1])
    label = QLabel("VAE Latent Explorer")
    label.show()
    return app.exec()
