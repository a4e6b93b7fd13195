"""ImageDrop: bring your own image to the map. Drop an image file on a widget, or paste (Ctrl+V) an
image or a copied image file. It only collects what was given and names it; the MapController
prepares, encodes and places it, and a file that is not an image gets a message there.
A dropped model file, checkpoint or embeddings file (OPENABLE) is asked to be opened instead, wherever it
lands.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QEvent, QIODevice, QMimeData, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

OPENABLE = (".vaemodel", ".pt", ".pth", ".npz", ".csv", ".tsv")  # files a drop opens (models, embeddings)


class ImageDrop(QObject):
    given = Signal(str, object)  # (a name for messages, a file path or an image's PNG bytes)
    open_requested = Signal(str)  # a dropped file with an OPENABLE suffix

    def __init__(self, drop_target: QWidget, paste_scope: QWidget):
        """Drops land on `drop_target` (and on widgets `watch`ed); Ctrl+V pastes while the focus is inside
        `paste_scope`."""
        super().__init__(drop_target)
        self.watch(drop_target)
        self.shortcut = QShortcut(QKeySequence.Paste, paste_scope, self.paste, context=Qt.WidgetWithChildrenShortcut)

    def watch(self, widget: QWidget) -> None:
        """Take drops on `widget` too (the window: a model file dropped anywhere on it opens)."""
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

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
        if files and Path(files[0]).suffix.lower() in OPENABLE:
            self.open_requested.emit(files[0])
        elif files:
            self.given.emit(Path(files[0]).name, files[0])
        elif mime.hasImage():
            buffer = QBuffer()
            buffer.open(QIODevice.WriteOnly)
            QImage(mime.imageData()).save(buffer, "PNG")
            self.given.emit(f"the {how} image", bytes(buffer.data()))
        else:  # text, or something else: the message says what would work
            self.given.emit(f"the {how} {'text' if mime.hasText() else 'data'}", mime.text().encode()[:1024])
