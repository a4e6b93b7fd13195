"""FileMenuMixin: the File and Help menus of the main window: open, save, export, about.

Kept apart from main_window.py (the wiring) by concept; it uses the window's session, settings,
show_error and open_checkpoint.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from core.data import user_data_dir

APP_NAME = "VAE Latent Explorer"


class FileMenuMixin:
    """Mixed into MainWindow (a QMainWindow); builds the menus and handles their actions."""

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.actions = {}
        for key, text, shortcut, slot in [
            ("open", "&Open checkpoint...", QKeySequence.Open, self._on_open),
            ("save", "&Save checkpoint", QKeySequence.Save, self._on_save),
            ("save_as", "Save checkpoint &as...", QKeySequence.SaveAs, self._on_save_as),
            ("export_latents", "Export &latents...", "Ctrl+E", self._on_export_latents),
            ("export_image", "Export &image...", "Ctrl+Shift+E", self._on_export_image),
            ("quit", "&Quit", QKeySequence.Quit, self.close),
        ]:
            action = QAction(text, self, shortcut=QKeySequence(shortcut))
            action.triggered.connect(slot)
            file_menu.addAction(action)
            self.actions[key] = action
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About", self)
        about.triggered.connect(self._on_about)
        help_menu.addAction(about)
        self._update_actions()

    def save_checkpoint(self, path: str) -> bool:
        from core.checkpoint import CheckpointError, save_checkpoint

        try:
            save_checkpoint(self.session.checkpoint, path)
        except CheckpointError as e:
            self.show_error("Cannot save checkpoint", str(e))
            return False
        self.session.checkpoint_path = path
        self.settings.setValue("last_checkpoint", str(path))
        self.statusBar().showMessage(f"saved {path} (step {self.session.checkpoint.step:,})", 5000)
        return True

    def _on_open(self) -> None:
        start = str(Path(self.settings.value("last_checkpoint", str(user_data_dir()))).parent)
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", start, "Checkpoints (*.pt *.pth);;All files (*)")
        if path:
            self.open_checkpoint(path)

    def _on_save(self) -> None:
        if self.session.checkpoint_path:
            self.save_checkpoint(self.session.checkpoint_path)
        else:
            self._on_save_as()

    def _on_save_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save checkpoint", str(user_data_dir() / "model.pt"), "Checkpoints (*.pt)")
        if path:
            self.save_checkpoint(path)

    def _on_export_latents(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export latents", str(user_data_dir() / "latents.npz"),
                                              "NumPy (*.npz);;CSV (*.csv)")
        if path:
            self.export_latents(path)

    def export_latents(self, path: str) -> bool:
        from core.latent import save_latents

        m = self.session.map
        try:
            save_latents(path, m.latent_map.mu, m.labels, self.session.classes, m.coords, m.explained)
        except ValueError as e:
            self.show_error("Cannot export latents", str(e))
            return False
        self.statusBar().showMessage(f"wrote {len(m.labels):,} latents to {path}", 5000)
        return True

    def current_image(self, source=None) -> np.ndarray | None:
        if source is not None:
            return source.image()
        page = self.tabs.currentIndex()
        return [self.train_panel.preview.image(), self.inspector.current_image(), self.samples.view.image()][page]

    def _on_export_image(self, checked: bool = False, source=None) -> None:
        if self.current_image(source) is None:
            self.show_error("Nothing to export", "Show an image first (click the map, or draw samples).")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export image", str(user_data_dir() / "image.png"), "PNG (*.png)")
        if path:
            self.export_image(path, source)

    def export_image(self, path: str, source=None) -> bool:
        from core.latent import save_png

        try:
            save_png(self.current_image(source), path)
        except (OSError, RuntimeError, ValueError) as e:
            self.show_error("Cannot export image", f"cannot write {path}: {e}; choose a writable .png path")
            return False
        return True

    def _update_actions(self) -> None:
        has_model = self.session.checkpoint is not None
        self.actions["save"].setEnabled(has_model)
        self.actions["save_as"].setEnabled(has_model)
        self.actions["export_latents"].setEnabled(self.session.map is not None)

    def _on_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", (
            f"<b>{APP_NAME}</b><p>Train a convolutional VAE and explore its latent space.</p>"
            f"<p>Data and downloads: {self.train_panel.data_dir.text()}<br>"
            f"Autosaves: {self._autosave_path}<br>Settings: {self.settings.fileName()}</p>"))
