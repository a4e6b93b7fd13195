"""ImageDrop: bring your own image to the map. Drop an image file on a widget, or paste (Ctrl+V) an
image or a copied image file. It only collects what was given and names it; the MapController
prepares, encodes and places it, and a file that is not an image gets a message there.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QEvent, QIODevice, QMimeData, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget


class ImageDrop(QObject):
    given = Signal(str, object)  # (a name for messages, a file path or an image's PNG bytes)

    def __init__(self, drop_target: QWidget, paste_scope: QWidget):
        """Drops land on `drop_target`; Ctrl+V pastes while the focus is inside `paste_scope`."""
        super().__init__(drop_target)
        drop_target.setAcceptDrops(True)
        drop_target.installEventFilter(self)
        self.shortcut = QShortcut(QKeySequence.Paste, paste_scope, self.paste, context=Qt.WidgetWithChildrenShortcut)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.DragEnter, QEvent.DragMove):
            event.acceptProposedAction()  # anything may be dropped; what is not an image gets a message
            return True
        if event.type() == QEvent.Drop:
            event.acceptProposedAction()
            self.take(event.mimeData(), "dropped")
            return True
        return False

    def paste(self) -> None:
        self.take(QGuiApplication.clipboard().mimeData(), "pasted")

    def take(self, mime: QMimeData, how: str) -> None:
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        if files:
            self.given.emit(Path(files[0]).name, files[0])
        elif mime.hasImage():
            buffer = QBuffer()
            buffer.open(QIODevice.WriteOnly)
            QImage(mime.imageData()).save(buffer, "PNG")
            self.given.emit(f"the {how} image", bytes(buffer.data()))
        else:  # text, or something else: the message says what would work
            self.given.emit(f"the {how} {'text' if mime.hasText() else 'data'}", mime.text().encode()[:1024])
