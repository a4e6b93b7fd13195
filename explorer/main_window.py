"""MainWindow: the three panels (Train, Latent map, Samples), status bar and settings (menus: file_menu.py).

All wiring lives here: widgets never reach into each other, workers never touch widgets.
The window shows before torch and scikit-learn load; controls enable once they have.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QSplitter, QTabWidget

from core.config import ModelConfig, TrainConfig
from core.data import user_data_dir
from explorer.file_menu import APP_NAME, FileMenuMixin
from explorer.inspector import Inspector
from explorer.latent_map import LatentMapView
from explorer.sampler import SamplesPanel
from explorer.session import MapData, Session
from explorer.style import app_icon
from explorer.training_panel import TrainingPanel
from explorer.worker import Task, TrainWorker, start_in_thread

CLOSE_TIMEOUT_MS = 2000


def _import_heavy(progress) -> str:
    """Runs in a worker thread at start-up: torch, torchvision, scikit-learn, scipy."""
    import core.checkpoint  # noqa: F401
    import core.latent  # noqa: F401
    from core.train import device_label, select_device

    return device_label(select_device("auto"))


class MainWindow(FileMenuMixin, QMainWindow):
    ready = Signal()  # heavy libraries loaded, controls enabled
    training_finished = Signal(str)
    map_ready = Signal()

    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings or QSettings("vae-explorer", "vae-explorer")
        self.session = Session()
        self.train_worker: TrainWorker | None = None
        self.train_thread = None
        self.tasks: list[Task] = []  # running one-off background tasks
        self.last_error: tuple[str, str] | None = None
        self.interactive = True  # False in tests and the self-test: errors are recorded, no dialogs
        self._start_step = 0
        self._pending_start: bool | None = None
        self._autosave_path = user_data_dir() / "autosave" / "autosave.pt"

        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        data_dir = self.settings.value("data_dir", str(user_data_dir()))
        self.train_panel = TrainingPanel(data_dir)
        self.map_view = LatentMapView()
        self.inspector = Inspector()
        self.samples = SamplesPanel()
        map_page = QSplitter()
        map_page.addWidget(self.map_view)
        map_page.addWidget(self.inspector)
        map_page.setSizes([800, 360])
        self.tabs = QTabWidget()
        self.tabs.addTab(self.train_panel, "Train")
        self.tabs.addTab(map_page, "Latent map")
        self.tabs.addTab(self.samples, "Samples")
        self.setCentralWidget(self.tabs)
        self.device_label, self.dataset_label, self.model_label = QLabel("device: ..."), QLabel("no dataset"), QLabel("no model")
        for label in (self.device_label, self.dataset_label, self.model_label):
            self.statusBar().addPermanentWidget(label)
        self.statusBar().showMessage("loading torch and scikit-learn...")
        self._build_menus()
        self._restore_settings()
        self._connect()

    # ------------------------------------------------------------ construction

    def _connect(self) -> None:
        tp = self.train_panel
        tp.start_requested.connect(self.start_training)
        tp.pause_toggled.connect(self._on_pause)
        tp.stop_requested.connect(self.stop_training)
        tp.dataset_requested.connect(self.load_dataset)
        tp.download_requested.connect(lambda folder: self.load_dataset("cifar10", folder, download=True))
        self.map_view.encode_requested.connect(self.encode)
        self.map_view.point_clicked.connect(self._on_point_clicked)
        self.map_view.empty_clicked.connect(self._on_empty_clicked)
        self.map_view.interpolate_requested.connect(self._on_interpolate)
        self.samples.sample_requested.connect(self._on_sample_requested)
        self.samples.save_requested.connect(lambda: self._on_export_image(source=self.samples.view))
        self.session.model_changed.connect(self._on_model_changed)
        self.session.map_changed.connect(self._on_map_changed)
        self.session.dataset_changed.connect(self._on_dataset_changed)

    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 820)
        try:
            saved = json.loads(self.settings.value("hyperparameters", "{}"))
            self.train_panel.set_configs(ModelConfig(**saved["model"]), TrainConfig.from_dict(saved["train"]))
        except (KeyError, TypeError, ValueError):
            pass  # first run, or settings from another version: keep the defaults
        self.train_panel.set_dataset_spec(self.settings.value("dataset", "shapes"))

    def _save_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("data_dir", self.train_panel.data_dir.text())
        self.settings.setValue("dataset", self.train_panel.dataset_spec)
        try:
            model, train = self.train_panel.configs()
            self.settings.setValue("hyperparameters", json.dumps({"model": model.to_dict(), "train": train.to_dict()}))
        except ValueError:
            pass
        if self.session.checkpoint_path:
            self.settings.setValue("last_checkpoint", str(self.session.checkpoint_path))
        self.settings.sync()

    def start_loading(self) -> None:
        """Load the heavy libraries in the background, then the dataset (and the last checkpoint)."""
        def loaded(label: str) -> None:
            self.device_label.setText(label)
            self.train_panel.set_ready(True)
            self.statusBar().showMessage("ready", 3000)
            self.train_panel.request_dataset()
            last = self.settings.value("last_checkpoint", "")
            if last and Path(last).is_file():
                self.open_checkpoint(last)
            self.ready.emit()

        self.run_task(_import_heavy, loaded, "Could not load the numerical libraries")

    # ------------------------------------------------------------ background tasks

    def run_task(self, fn, on_result, failure_title: str, on_progress=None, on_failed=None) -> Task:
        """Run `fn(progress)` on a worker thread; its result or its error comes back to the GUI thread."""
        def failed(message: str, details: str) -> None:
            self.show_error(failure_title, message, details)

        task = Task(fn, on_result, on_failed or failed, on_progress, parent=self)
        task.finished.connect(self._on_task_finished)
        self.tasks.append(task)
        return task

    def _on_task_finished(self, task: Task) -> None:
        if task in self.tasks:
            self.tasks.remove(task)
        task.deleteLater()

    def show_error(self, title: str, message: str, details: str = "") -> None:
        """Every worker failure reaches the user here; the app stays usable."""
        self.last_error = (title, message)
        self.statusBar().showMessage(f"{title}: {message}", 10000)
        if not self.interactive:
            return
        box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, self)
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()

    def ask(self, title: str, question: str) -> bool:
        if not self.interactive:
            return True
        return QMessageBox.question(self, title, question) == QMessageBox.Yes

    # ------------------------------------------------------------ dataset

    def load_dataset(self, spec: str, data_dir: str = "", download: bool = False) -> None:
        from core.data import load_dataset

        config = self.session.checkpoint.model_config if self.session.checkpoint else ModelConfig()
        folder = Path(data_dir) if data_dir else None
        self.train_panel.dataset_status.setText("Downloading CIFAR-10..." if download else "Loading...")

        def failed(msg: str, details: str) -> None:
            self.train_panel.dataset_status.setText(f"{msg}")
            self.show_error("Dataset unavailable", msg + "\n\nThe built-in Shapes dataset works offline.", details)
            self._pending_start = None

        self.run_task(lambda progress: load_dataset(spec, folder, config.img_size, config.in_ch, download),
                      self._on_dataset_loaded, "Dataset unavailable", on_failed=failed)

    def _on_dataset_loaded(self, dataset) -> None:
        self.session.set_dataset(dataset)
        self.train_panel.dataset_status.setText(
            f"{dataset.name}: {len(dataset.train):,} training and {len(dataset.test):,} test images, "
            f"{len(dataset.classes)} classes.")
        if self._pending_start is not None:
            continue_, self._pending_start = self._pending_start, None
            self.start_training(continue_)
        elif self.session.model is not None and self.session.map is None:
            self.encode("test")

    def _on_dataset_changed(self) -> None:
        ds = self.session.dataset
        self.dataset_label.setText(f"dataset: {ds.name}" if ds else "no dataset")

    # ------------------------------------------------------------ training

    def start_training(self, continue_: bool = False, steps: int | None = None) -> None:
        if self.train_worker is not None:
            return
        try:
            model_config, config = self.train_panel.configs()
        except ValueError as e:
            self.show_error("Invalid hyperparameter", str(e))
            return
        config.steps = steps
        config.log_every = 1  # every step reaches the plot; the worker batches them ~20 times a second
        ds = self.session.dataset
        wanted = self.train_panel.dataset_spec
        if ds is None or (wanted in ("shapes", "cifar10") and ds.name != wanted):
            self._pending_start = continue_
            self.train_panel.request_dataset()
            return
        checkpoint = self.session.checkpoint if continue_ else None
        if continue_ and checkpoint is None:
            return
        if not continue_ and self.session.checkpoint is not None:
            changed = model_config != self.session.checkpoint.model_config
            question = ("The architecture changed. " if changed else "") + "Discard the current model and start a new one?"
            if not self.ask("Start a new model", question):
                return
        if checkpoint is not None:
            model_config = checkpoint.model_config
        self._start_step = checkpoint.step if checkpoint is not None else 0
        if checkpoint is None:
            self.train_panel.loss_plot.clear()
            self.session.clear_model()
        self._preview_images = ds.test.images[:8]
        worker = TrainWorker(ds, config, model_config, checkpoint, preview_images=self._preview_images,
                             autosave_path=self._autosave_path)
        # bound methods of this window: Qt queues them into the GUI thread
        worker.steps.connect(self._on_steps)
        worker.epoch.connect(self._on_epoch)
        worker.preview.connect(self._on_preview)
        worker.snapshot.connect(self._on_snapshot)
        worker.failed.connect(self._on_training_failed)
        worker.autosaved.connect(self._on_autosaved)
        worker.finished.connect(self._on_training_finished)
        self.train_worker = worker
        self.train_thread = start_in_thread(worker, self)
        self.train_panel.set_running(True)
        self.train_panel.set_status("starting...")
        self._update_actions()

    def _on_pause(self, paused: bool) -> None:
        if self.train_worker is not None:
            control = self.train_worker.control
            (control.pause if paused else control.resume)()
            self.train_panel.set_paused(paused)

    def stop_training(self) -> None:
        if self.train_worker is not None:
            self.train_worker.control.stop()
            self.train_panel.set_status("stopping...")

    def _on_steps(self, metrics: list) -> None:
        self.train_panel.loss_plot.add_steps(metrics)
        if self.train_worker is not None and not self.train_worker.control.paused:
            self.train_panel.set_progress(metrics[-1], self._start_step)

    def _on_epoch(self, m: dict) -> None:
        self.train_panel.loss_plot.add_epoch(m)
        self.statusBar().showMessage(
            f"epoch {m['epoch']}: test MSE {m['test_mse']:.4f}, PSNR {m['test_psnr']:.2f} dB, "
            f"KL/dim {m['kl_per_dim']:.3f}", 10000)

    def _on_preview(self, recons) -> None:
        self.train_panel.set_preview(self._preview_images, recons)

    def _on_training_failed(self, message: str, details: str) -> None:
        self.show_error("Training stopped", message, details)

    def _on_snapshot(self, checkpoint) -> None:
        self.session.set_checkpoint(checkpoint)

    def _on_autosaved(self, path: str, error: str) -> None:
        if error:
            self.show_error("Autosave failed", error)

    def _on_training_finished(self, outcome: str) -> None:
        if self.train_thread is not None:
            self.train_thread.wait()  # the worker has returned; let the thread end
            self.train_thread.deleteLater()
        self.train_worker, self.train_thread = None, None
        self.train_panel.set_running(False)
        self.train_panel.set_status({"finished": "finished", "stopped": "stopped"}.get(outcome, "stopped by an error"))
        self._update_actions()
        if outcome == "finished" and self.session.model is not None:
            self.encode(self.map_view.split_box.currentText())
        self.training_finished.emit(outcome)

    # ------------------------------------------------------------ checkpoints

    def open_checkpoint(self, path: str) -> None:
        """Load a checkpoint in the background; on failure the current model stays as it was."""
        from core.checkpoint import load_checkpoint

        if self.train_worker is not None:
            self.show_error("Training is running", "Stop training before opening a checkpoint.")
            return

        def opened(ckpt) -> None:
            self.session.set_checkpoint(ckpt, path)
            self.session.set_map(None)
            self.train_panel.loss_plot.load_history(ckpt.history)
            self.train_panel.set_configs(ckpt.model_config, ckpt.train_config or TrainConfig())
            self.settings.setValue("last_checkpoint", str(path))
            wanted = ckpt.dataset if ckpt.dataset in ("shapes", "cifar10") else None
            ds = self.session.dataset
            if wanted and (ds is None or ds.name != wanted):
                self.train_panel.set_dataset_spec(wanted)
                self.train_panel.request_dataset()  # encodes once loaded
            elif ds is not None:
                self.encode(self.map_view.split_box.currentText())
            self.statusBar().showMessage(f"opened {path} (step {ckpt.step:,})", 5000)

        self.run_task(lambda progress: load_checkpoint(path), opened, "Cannot open checkpoint")

    # ------------------------------------------------------------ latent map

    def encode(self, split: str = "test") -> None:
        """Encode a split with the current snapshot and fit the 2D PCA, in the background."""
        from core.latent import LatentMap, encode, knn_accuracy
        from core.train import select_device

        if self.session.checkpoint is None or self.session.dataset is None:
            return
        for task in self.tasks:
            if getattr(task, "is_encoder", False):
                task.cancel()
        ckpt, data = self.session.checkpoint, self.session.dataset.split(split)
        device = select_device("auto")

        def work(progress) -> MapData:
            model = ckpt.build_model().to(device)
            mu = encode(model, data.images, progress=progress)
            lmap = LatentMap.fit(mu)
            return MapData(split, data.labels, lmap.coords, lmap.explained, knn_accuracy(mu, data.labels), lmap)

        self.map_view.set_progress(0, len(data))
        task = self.run_task(work, self.session.set_map, "Encoding failed", on_progress=self.map_view.set_progress)
        task.is_encoder = True

    def _on_map_changed(self) -> None:
        m = self.session.map
        if m is None:
            self.map_view.clear()
            self.inspector.clear()
        else:
            self.map_view.set_data(m.coords, m.labels, self.session.classes, m.explained, m.knn, m.split)
            self.map_ready.emit()
        self._update_actions()

    def _on_point_clicked(self, index: int) -> None:
        original, recon = self.session.point_images(index)
        self.inspector.show_point(index, self.session.classes[self.session.map.labels[index]], original, recon)

    def _on_empty_clicked(self, x: float, y: float) -> None:
        self.inspector.show_decoded(x, y, self.session.decode_map_point([x, y]))

    def _on_interpolate(self, a: int, b: int) -> None:
        from core.latent import image_grid

        images = self.session.interpolation(a, b, 10, self.inspector.mode)
        names = [self.session.classes[self.session.map.labels[i]] for i in (a, b)]
        self.inspector.show_strip(f"{names[0]} #{a}", f"{names[1]} #{b}", image_grid(images, nrow=10))

    # ------------------------------------------------------------ samples and model status

    def _on_model_changed(self) -> None:
        ckpt = self.session.checkpoint
        if ckpt is None:
            self.model_label.setText("no model")
            self.samples.clear()
        else:
            c = ckpt.model_config
            self.model_label.setText(f"model: latent {c.latent_dim}, channels {c.channels}, step {ckpt.step:,}")
            self.samples.request()
        self.train_panel.set_has_model(ckpt is not None)
        self._update_actions()

    def _on_sample_requested(self, temperature: float, seed: int) -> None:
        from core.latent import image_grid

        if self.session.model is None:
            return
        grid = image_grid(self.session.samples(64, temperature, seed), nrow=8)
        self.samples.set_grid(grid, f"64 samples from N(0, {temperature:.2f}² I), seed {seed}")

    # ------------------------------------------------------------ lifecycle

    def closeEvent(self, event) -> None:
        """Stop workers, wait for their threads (at most ~2 s), autosave, save settings."""
        self._save_settings()
        if self.train_worker is not None:
            self.train_worker.control.stop()  # the worker autosaves as it stops
        for task in self.tasks:
            task.cancel()
        deadline = time.monotonic() + CLOSE_TIMEOUT_MS / 1000
        threads = [t.thread for t in self.tasks] + ([self.train_thread] if self.train_thread else [])
        for thread in threads:
            thread.wait(max(0, int(1000 * (deadline - time.monotonic()))))
        event.accept()
