"""ImageView: shows one uint8 [C, H, W] image, scaled up with nearest-neighbour pixels, with a caption.
Its context menu (right-click) saves the picture as a PNG: it emits `save_requested(pixels)`."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QAction, QImage, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget


def to_qimage(image: np.ndarray) -> QImage:
    """uint8 [C, H, W] (C = 1 or 3) -> a QImage that owns a copy of the pixels."""
    hwc = np.ascontiguousarray(np.asarray(image, np.uint8).transpose(1, 2, 0))
    h, w, c = hwc.shape
    fmt = QImage.Format_Grayscale8 if c == 1 else QImage.Format_RGB888
    return QImage(hwc.data, w, h, w * c, fmt).copy()


class ImageView(QWidget):
    """A pixelated image view that keeps the aspect ratio; empty until `set_image`. With `min_scale`, it
    asks for at least that many screen pixels per image pixel (inside a scroll area, it scrolls)."""

    save_requested = Signal(object)  # uint8 [C, H, W]: the picture shown, to be saved as a PNG

    def __init__(self, placeholder: str = "", min_side: int = 96, parent: QWidget | None = None, min_scale: int = 0):
        super().__init__(parent)
        self._image: QImage | None = None
        self._array: np.ndarray | None = None
        self.placeholder, self.caption = placeholder, ""
        self.min_side, self.min_scale = min_side, min_scale
        self.setMinimumSize(min_side, min_side)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.save_action = QAction("Save image as PNG...", self)
        self.save_action.setEnabled(False)
        self.save_action.triggered.connect(lambda: self.save_requested.emit(self._array))
        self.addAction(self.save_action)
        self.setContextMenuPolicy(Qt.ActionsContextMenu)

    def set_image(self, image: np.ndarray | None, caption: str = "") -> None:
        self._array = None if image is None else np.array(image, np.uint8)
        self._image = None if image is None else to_qimage(image)
        self.caption = caption
        self._fit_caption()
        self.save_action.setEnabled(image is not None)
        if self.min_scale and image is not None:
            text_h = self.fontMetrics().height() + 4 if caption else 0
            self.setMinimumSize(max(self.min_side, self.min_scale * self._image.width() + 4),
                                max(self.min_side, self.min_scale * self._image.height() + 4 + text_h))
        self.update()

    def shown_caption(self) -> str:
        """The caption as drawn: elided to the view's width (the whole caption is then the tooltip)."""
        return self.fontMetrics().elidedText(self.caption, Qt.ElideRight, max(self.width() - 4, 1))

    def _fit_caption(self) -> None:
        shown = self.shown_caption()
        self.setToolTip(self.caption if shown != self.caption else "")

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_caption()

    def image(self) -> np.ndarray | None:
        """The uint8 [C, H, W] pixels shown (for export), or None."""
        return self._array

    def sizeHint(self) -> QSize:
        return QSize(256, 256)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().color(QPalette.Base))
        text_h = p.fontMetrics().height() + 4 if self.caption else 0
        area = self.rect().adjusted(2, 2, -2, -2 - text_h)
        if self._image is None:
            p.setPen(self.palette().color(QPalette.PlaceholderText))
            p.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, self.placeholder)
            return
        size = self._image.size().scaled(area.size(), Qt.KeepAspectRatio)
        target = QRect(0, 0, size.width(), size.height())
        target.moveCenter(area.center())
        p.setRenderHint(QPainter.SmoothPixmapTransform, False)  # nearest neighbour: crisp pixels
        p.drawImage(target, self._image)
        if self.caption:
            p.setPen(self.palette().color(QPalette.Text))
            p.drawText(QRect(0, target.bottom() + 2, self.width(), text_h), Qt.AlignHCenter, self.shown_caption())
