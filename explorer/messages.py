"""Messages: the app's error and question policy. Every failure reaches the user here.

Interactive: a non-modal dialog with details, plus the status bar. Not interactive (tests, the
self-test): the error is recorded in `last_error`, questions in `asked`, and they answer `answer` (yes).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox


class Messages:
    def __init__(self, window: QMainWindow):
        self.window = window
        self.interactive = True
        self.last_error: tuple[str, str] | None = None
        self.asked: list[str] = []  # questions asked while not interactive
        self.answer = True  # and what they answer

    def error(self, title: str, message: str, details: str = "") -> None:
        """Show a problem the user can act on; the app stays usable."""
        self.last_error = (title, message)
        self.status(f"{title}: {message}", 10000)
        if not self.interactive:
            return
        box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, self.window)
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()

    def ask(self, title: str, question: str) -> bool:
        if not self.interactive:
            self.asked.append(question)
            return self.answer
        return QMessageBox.question(self.window, title, question) == QMessageBox.Yes

    def status(self, text: str, timeout_ms: int = 5000) -> None:
        """A line in the status bar, elided to the room left of its permanent labels (the whole text is the
        status bar's tooltip)."""
        bar = self.window.statusBar()
        taken = sum(w.width() + 6 for w in bar.findChildren(QLabel) if w.isVisible() and w.parent() is bar)
        room = max(bar.width() - taken - 24, 40)
        shown = bar.fontMetrics().elidedText(text, Qt.ElideRight, room)
        bar.setToolTip(text if shown != text else "")
        bar.showMessage(shown, timeout_ms)
