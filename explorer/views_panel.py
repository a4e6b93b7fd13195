"""ViewsPanel: the saved views of what the map shows, in the Runs tab: a list (double-click opens one), a name
and Save view, and Open file... for a view someone sent. It asks with signals and keeps nothing.
"""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class ViewsPanel(QGroupBox):
    save_requested = Signal(str)  # a name for the view of the screen as it is
    open_requested = Signal(str)  # a view file's path

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Saved views", parent)
        self.setToolTip("A view keeps the map's projection and split, the visible rectangle, the colour lens and "
                        "scale, hidden classes, the selection, groups and the clicked point, beside the model or "
                        "embeddings it shows (a small JSON file you can send)")
        self.list = QListWidget()
        self.list.itemDoubleClicked.connect(lambda item: self.open_requested.emit(item.data(Qt.UserRole)))
        self.name_edit = QLineEdit(placeholderText="name of a new view")
        self.name_edit.returnPressed.connect(self._save)
        self.save_button = QPushButton("Save view")
        self.save_button.clicked.connect(self._save)
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(self._open_selected)
        self.file_button = QPushButton("Open file...")
        self.file_button.clicked.connect(self._open_file)
        row = QHBoxLayout()
        for w in (self.name_edit, self.save_button):
            row.addWidget(w)
        buttons = QHBoxLayout()
        for w in (self.open_button, self.file_button):
            buttons.addWidget(w)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        layout.addLayout(buttons)
        self.set_views([], False)

    def set_views(self, paths: list[Path], can_save: bool) -> None:
        """The views kept beside what is shown (newest first); `can_save`: the map shows a saved model or
        embeddings."""
        self.list.clear()
        for path in paths:
            try:
                saved = json.loads(path.read_text(encoding="utf-8")).get("saved", "")
            except (OSError, ValueError, AttributeError):
                saved = "unreadable"
            item = QListWidgetItem(f"{path.name.removesuffix('.view.json')}   {saved.replace('T', ' ')}")
            item.setData(Qt.UserRole, str(path))
            item.setToolTip(str(path))
            self.list.addItem(item)
        self.save_button.setEnabled(can_save)
        self.save_button.setToolTip("" if can_save else "Open a model file, checkpoint or embeddings (or save the "
                                                        "model you trained) to keep views of its map")
        self.open_button.setEnabled(bool(paths))

    def _save(self) -> None:
        if self.save_button.isEnabled():
            self.save_requested.emit(self.name_edit.text().strip() or "view")
            self.name_edit.clear()

    def _open_selected(self) -> None:
        item = self.list.currentItem() or self.list.item(0)
        if item is not None:
            self.open_requested.emit(item.data(Qt.UserRole))

    def _open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open view", "", "Views (*.view.json);;All files (*)")
        if path:
            self.open_requested.emit(path)
