"""FileActions: the File and Help menus: open, save, export latents and images, about.

Composed into the window (not mixed in): everything it needs comes through `__init__`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from core.data import user_data_dir
from explorer.loading import Loader
from explorer.messages import Messages
from explorer.session import Session

APP_NAME = "VAE Latent Explorer"
SELECTION_PNG_LIMIT = 1024  # images in an exported selection's PNG grid


class FileActions(QObject):
    """`current_image()` returns the picture "Export image" writes (the visible tab's), or None;
    `about_text()` returns the folders the About box lists; `with_lenses(names, then)` calls `then` once the
    map shown has those lens values (MapController.with_lenses: in the background)."""

    def __init__(self, window: QMainWindow, session: Session, settings: QSettings, messages: Messages,
                 loader: Loader, current_image: Callable[[], np.ndarray | None], about_text: Callable[[], str],
                 with_lenses: Callable):
        super().__init__(window)
        self.window, self.session, self.settings = window, session, settings
        self.messages, self.loader = messages, loader
        self._current_image, self._about_text, self._with_lenses = current_image, about_text, with_lenses
        file_menu = window.menuBar().addMenu("&File")
        self.actions: dict[str, QAction] = {}
        for key, text, shortcut, slot in [
            ("open", "&Open checkpoint or model...", QKeySequence.Open, self._on_open),
            ("open_embeddings", "Open &embeddings...", "Ctrl+Shift+O", self._on_open_embeddings),
            ("save", "&Save checkpoint", QKeySequence.Save, self._on_save),
            ("save_as", "Save checkpoint &as...", QKeySequence.SaveAs, self._on_save_as),
            ("export_latents", "Export &latents...", "Ctrl+E", self._on_export_latents),
            ("export_image", "Export &image...", "Ctrl+Shift+E", lambda: self.export_image_dialog()),
            ("export_metrics", "Export &metrics (CSV)...", None, self._on_export_metrics),
            ("export_projector", "Export for TensorBoard &Projector...", None, self._on_export_projector),
            ("quit", "&Quit", QKeySequence.Quit, window.close),
        ]:
            action = QAction(text, window)
            if shortcut is not None:
                action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(slot)
            file_menu.addAction(action)
            self.actions[key] = action
        about = QAction("&About", window)
        about.triggered.connect(self._on_about)
        window.menuBar().addMenu("&Help").addAction(about)
        session.model_changed.connect(self._update_actions)
        session.map_changed.connect(self._update_actions)
        session.history_reset.connect(self._update_actions)
        session.steps_added.connect(self._update_actions)
        self._update_actions()

    def _update_actions(self, *_) -> None:
        has_model = self.session.checkpoint is not None and self.session.checkpoint.trainable
        self.actions["save"].setEnabled(has_model)
        self.actions["save_as"].setEnabled(has_model)
        self.actions["export_latents"].setEnabled(self.session.map is not None)
        self.actions["export_projector"].setEnabled(self.session.map is not None and self._has_images())
        history = self.session.history
        self.actions["export_metrics"].setEnabled(bool(len(history.steps) or len(history.epochs)))

    def _has_images(self) -> bool:
        return self.session.embeddings is None or self.session.embeddings.images is not None

    def save_checkpoint(self, path: str) -> bool:
        from core.checkpoint import CheckpointError, save_checkpoint

        try:
            save_checkpoint(self.session.checkpoint, path)
        except CheckpointError as e:
            self.messages.error("Cannot save checkpoint", str(e))
            return False
        self.session.checkpoint_path = str(path)
        self.settings.setValue("last_checkpoint", str(path))
        self.messages.status(f"saved {path} (step {self.session.checkpoint.step:,})")
        return True

    def _export(self, title: str, write: Callable[[], None], done: str) -> bool:
        """Run `write`; a ValueError (a path that cannot be written, ...) becomes a message."""
        try:
            write()
        except ValueError as e:
            self.messages.error(title, str(e))
            return False
        self.messages.status(done)
        return True

    def export_latents(self, path: str) -> bool:
        from core.latent import save_latents

        m = self.session.map
        return self._export("Cannot export latents", lambda: save_latents(
            path, self.session.query.latents(), m.labels, self.session.classes, m.coords, m.explained,
            m.projection.name,
            self.session.lenses.known()),
            f"wrote {len(m.labels):,} latents to {path}")

    def export_metrics(self, path: str) -> bool:
        from core.export import write_metrics_csv

        return self._export("Cannot export metrics",
                            lambda: write_metrics_csv(path, self.session.history.steps, self.session.history.epochs),
                            f"wrote {len(self.session.history.steps):,} logged steps to {path}")

    def export_projector(self, folder: str) -> bool:
        from core.export import write_projector

        m = self.session.map
        return self._export("Cannot export for the Projector", lambda: write_projector(
            folder, self.session.query.latents(), m.labels, self.session.classes, self.session.query.images()),
            f"wrote {len(m.labels):,} embeddings for the TensorBoard Projector to {folder}")

    def export_image(self, path: str, image: np.ndarray) -> bool:
        from core.latent import save_png

        try:
            save_png(image, path)
        except (OSError, RuntimeError, ValueError) as e:
            self.messages.error("Cannot export image", f"cannot write {path}: {e}; choose a writable .png path")
            return False
        self.messages.status(f"wrote {path}")
        return True

    def export_selection(self, path: str, points: np.ndarray) -> bool:
        """Write the selected map points: indices (into the map's split), labels and latent means to .npz
        or .csv, and their images to a PNG grid beside it (the first SELECTION_PNG_LIMIT)."""
        from core.latent import image_grid, save_png
        from core.selection import save_selection

        m = self.session.map
        png, images = Path(path).with_suffix(".png"), self.session.query.images()
        images = images[points[:SELECTION_PNG_LIMIT]] if images is not None else None  # embeddings may have none

        def write() -> None:
            indices = np.array([m.image_index(i) for i in points], np.int64)
            save_selection(path, indices, m.labels[points], self.session.classes, self.session.query.latents()[points])
            try:
                if images is not None:
                    save_png(image_grid(images, nrow=int(np.ceil(np.sqrt(len(images))))), png)
            except OSError as e:
                raise ValueError(f"cannot write {png}: {e}") from e

        also = f" and their images to {png}" if images is not None else ""
        return self._export("Cannot export the selection", write, f"wrote {len(points):,} selected points to {path}"
                                                                  f"{also}")

    def export_selection_dialog(self, points: np.ndarray | None) -> None:
        if points is None or not len(points):
            self.messages.error("Nothing selected",
                                "Choose Drag: rectangle or lasso above the map and drag around points.")
            return
        path, _ = QFileDialog.getSaveFileName(self.window, "Export selection", str(user_data_dir() / "selection.npz"),
                                              "NumPy (*.npz);;CSV (*.csv)")
        if path:
            self.export_selection(path, points)

    def export_image_dialog(self, image: np.ndarray | None = None) -> None:
        """Ask where to write `image` (default: the visible tab's picture) as PNG."""
        image = self._current_image() if image is None else image
        if image is None:
            self.messages.error("Nothing to export", "Show an image first (click the map, or draw samples).")
            return
        path, _ = QFileDialog.getSaveFileName(self.window, "Export image", str(user_data_dir() / "image.png"),
                                              "PNG (*.png)")
        if path:
            self.export_image(path, image)

    def _on_open(self) -> None:
        start = str(Path(self.settings.value("last_checkpoint", str(user_data_dir()))).parent)
        path, _ = QFileDialog.getOpenFileName(self.window, "Open checkpoint or model", start,
                                              "Checkpoints and model files (*.pt *.pth *.vaemodel);;All files (*)")
        if path:
            self.loader.open_checkpoint(path)

    def _on_open_embeddings(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open embeddings", str(user_data_dir()),
                                              "Embeddings (*.npz *.csv *.tsv);;All files (*)")
        if path:
            self.loader.open_embeddings(path)

    def _on_save(self) -> None:
        if self.session.checkpoint_path:
            self.save_checkpoint(self.session.checkpoint_path)
        else:
            self._on_save_as()

    def _on_save_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save checkpoint", str(user_data_dir() / "model.pt"),
                                              "Checkpoints (*.pt)")
        if path:
            self.save_checkpoint(path)

    def _on_export_latents(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Export latents", str(user_data_dir() / "latents.npz"),
                                              "NumPy (*.npz);;CSV (*.csv)")
        if path:  # with a column for every lens value of the map, computed first where none asked yet
            from core.lenses import LENSES

            m = self.session.map
            self.messages.status(f"computing the lens values of {len(m.labels):,} points for {path}...", 0)
            self._with_lenses(LENSES, lambda: self.session.map is m and self.export_latents(path))

    def _on_export_metrics(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Export metrics", str(user_data_dir() / "metrics.csv"),
                                              "CSV (*.csv)")
        if path:
            self.export_metrics(path)

    def _on_export_projector(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Folder for the TensorBoard Projector files",
                                                  str(user_data_dir()))
        if folder:
            self.export_projector(folder)

    def _on_about(self) -> None:
        QMessageBox.about(self.window, f"About {APP_NAME}", f"<b>{APP_NAME}</b>"
                          f"<p>Train a convolutional VAE and explore its latent space.</p><p>{self._about_text()}</p>")
