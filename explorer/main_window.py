"""MainWindow: lays out the three tabs (Train, Latent map, Samples) and wires widgets, controllers
and the session together. It holds no state of its own beyond settings and a closing flag.

Controllers: TaskRunner (background tasks), Loader (libraries, datasets, checkpoints),
TrainingController, MapController, InspectController, RunsController, SamplesController, FileActions
(menus). The window shows before torch loads.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QGroupBox, QLabel, QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget

from core.config import ModelConfig, TrainConfig
from core.data import user_data_dir
from explorer.diagnostics import DiagnosticsPanel
from explorer.file_actions import APP_NAME, FileActions
from explorer.first_run import FirstRunPanel
from explorer.image_drop import ImageDrop
from explorer.image_view import ImageView
from explorer.inspecting import InspectController
from explorer.inspector import Inspector
from explorer.latent_map import LatentMapView
from explorer.lenses_panel import LensesPanel
from explorer.loading import Loader
from explorer.loss_plot import LossPlot
from explorer.map_compare import MapCompare
from explorer.map_controller import MapController
from explorer.messages import Messages
from explorer.run_curves import RunCurves
from explorer.runs import RunsController
from explorer.runs_panel import RunsPanel
from explorer.sampler import SamplesPanel
from explorer.sampling import SamplesController
from explorer.session import Session, TrainingState
from explorer.style import app_icon
from explorer.tasks import GuiThreadGarbage, TaskRunner
from explorer.training import TrainingController
from explorer.training_panel import TrainingPanel
from explorer.views import ViewsController
from explorer.views_panel import ViewsPanel


class MainWindow(QMainWindow):
    ready = Signal()  # heavy libraries loaded, controls enabled
    training_finished = Signal(object)  # core.metrics.Outcome
    map_ready = Signal()

    def __init__(self, settings: QSettings | None = None, fresh: bool = False):
        """`fresh`: start without the last view (`vae-explorer --fresh`)."""
        super().__init__()
        self.fresh = fresh
        self.settings = settings or QSettings("vae-explorer", "vae-explorer")
        self.session = Session()
        self.messages = Messages(self)
        self.runs_root = user_data_dir() / "runs"  # core.runs.default_root(), without importing torch
        self.closing = self.closed = False
        self.garbage = GuiThreadGarbage()  # never on a worker thread: see explorer.tasks
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())

        self.train_panel = TrainingPanel(self.settings.value("data_dir", str(user_data_dir())))
        self.loss_plot, self.diagnostics, self.lenses = LossPlot(), DiagnosticsPanel(), LensesPanel()
        self.preview = ImageView("Reconstructions of 8 test images appear here while training.", min_side=80)
        self.map_view, self.inspector, self.samples = LatentMapView(), Inspector(), SamplesPanel()
        self.runs_panel, self.run_curves, self.map_compare = RunsPanel(), RunCurves(), MapCompare()
        self.views_panel = ViewsPanel()
        self.inspector.tabs.addTab(self.lenses, "Lenses")
        self.first_run = FirstRunPanel(self.train_panel.data_dir())
        self._lay_out()

        self.runner = TaskRunner(lambda: self.session.generation, self.messages.error, self)
        self.loader = Loader(self.session, self.runner, self.messages.error, self)
        self.training = TrainingController(self.session, self.messages.error, self.messages.ask,
                                           self.runs_root, self.runner, self)
        self.maps = MapController(self.session, self.runner, self.map_view, self.train_panel.device,
                                  self.messages.error, self)
        self.inspecting = InspectController(self.session, self.map_view, self.inspector, self.maps.with_lenses,
                                            self.messages.error, self)
        self.image_drop = ImageDrop(self.map_view.plot.viewport(), self.map_view)
        self.image_drop.watch(self)
        self.runs = RunsController(self.session, self.runner, self.settings, self.runs_root, self.runs_panel,
                                   self.run_curves, self.map_compare, self.messages.error, self.messages.ask, self)
        self.sampling = SamplesController(self.session, self.runner, self.samples, self.train_panel.device, self)
        self.views = ViewsController(self.session, self.loader, self.map_view, self.views_panel,
                                     lambda: self.train_panel.dataset_spec, self._choose_dataset, self.maps.encode,
                                     self.messages.error, self)
        self.files = FileActions(self, self.session, self.settings, self.messages, self.loader,
                                 self._current_image, self._about_text, self.maps.with_lenses)
        self._restore_settings()
        self._connect()

    def _lay_out(self) -> None:
        train_right = QSplitter(Qt.Vertical)
        train_right.addWidget(self.loss_plot)
        preview_box = QGroupBox("Test images (top) and their reconstructions (bottom)")
        QVBoxLayout(preview_box).addWidget(self.preview)
        train_right.addWidget(preview_box)
        train_right.setSizes([500, 200])
        train_split = QSplitter()
        train_split.addWidget(self.train_panel)
        train_split.addWidget(train_right)
        train_split.setStretchFactor(1, 1)
        train_page = QWidget()
        train_layout = QVBoxLayout(train_page)
        train_layout.addWidget(self.first_run)
        train_layout.addWidget(train_split, 1)
        map_page = QSplitter()
        map_page.addWidget(self.map_view)
        map_page.addWidget(self.inspector)
        map_page.setSizes([800, 360])
        self.tabs = QTabWidget()
        self.tabs.addTab(train_page, "Train")
        self.tabs.addTab(map_page, "Latent map")
        self.tabs.addTab(self.samples, "Samples")
        self.tabs.addTab(self.diagnostics, "Diagnostics")
        runs_page, runs_top = QSplitter(Qt.Vertical), QSplitter()
        runs_top.addWidget(self.runs_panel)
        runs_top.addWidget(self.views_panel)
        runs_top.setSizes([900, 300])
        runs_page.addWidget(runs_top)
        self.runs_views = QTabWidget()
        self.runs_views.addTab(self.run_curves, "Curves")
        self.runs_views.addTab(self.map_compare, "Maps side by side")
        runs_page.addWidget(self.runs_views)
        runs_page.setSizes([260, 540])
        self.tabs.addTab(runs_page, "Runs")
        self.setCentralWidget(self.tabs)
        # what File > Export image writes, by the tab shown
        self._image_of = {train_page: self.preview.image, map_page: self.inspector.current_image,
                          self.samples: self.samples.image}
        self.device_label, self.dataset_label = QLabel("device: ..."), QLabel("no dataset")
        self.model_label = QLabel("no model")
        for label in (self.device_label, self.dataset_label, self.model_label):
            self.statusBar().addPermanentWidget(label)
        self.statusBar().showMessage("loading torch and scikit-learn...")

    def _connect(self) -> None:
        panel, session, training, loader = self.train_panel, self.session, self.training, self.loader
        panel.start_requested.connect(
            lambda continue_, model, train: training.start(continue_, model, train, panel.dataset_spec))
        panel.pause_toggled.connect(training.set_paused)
        panel.stop_requested.connect(training.stop)
        panel.dataset_requested.connect(loader.load_dataset)
        panel.download_requested.connect(lambda folder: loader.load_dataset("cifar10", folder, download=True))
        loader.ready.connect(self._on_ready)
        loader.dataset_status.connect(panel.set_dataset_status)
        loader.dataset_failed.connect(training.cancel_pending)
        loader.checkpoint_opened.connect(self._on_checkpoint_opened)
        training.dataset_needed.connect(panel.request_dataset)
        training.progress.connect(self._on_progress)
        training.status.connect(panel.set_status)
        training.epoch_message.connect(lambda text: self.messages.status(text, 10000))
        training.preview.connect(self._on_preview)
        training.finished.connect(self.maps.on_training_finished)
        training.finished.connect(self.training_finished)
        training.saved.connect(lambda _: self.runs.refresh())
        self.runs.open_requested.connect(self.loader.open_checkpoint)
        self.runs.compared.connect(lambda: self.runs_views.setCurrentWidget(self.map_compare))
        loader.checkpoint_opened.connect(self.maps.on_checkpoint_opened)
        self.maps.map_ready.connect(self.views.on_map_ready)
        self.maps.map_ready.connect(self.map_ready)
        self.maps.lenses_ready.connect(self.lenses.set_report)
        self.maps.lenses_cleared.connect(self.lenses.clear)
        self.lenses.shown_changed.connect(self.maps.set_lenses_shown)
        self.lenses.colour_requested.connect(lambda name: self.maps.choose("colour_by", name))
        self.lenses.dimension_requested.connect(self.maps.walk_dimension)
        self.image_drop.given.connect(self.inspecting.show_given_image)
        self.image_drop.open_requested.connect(self.loader.open_file)
        loader.embeddings_opened.connect(lambda path: self.messages.status(f"opened embeddings {path}"))
        self.samples.save_requested.connect(lambda: self.files.export_image_dialog(self.samples.image()))
        self.inspector.save_image_requested.connect(self.files.export_image_dialog)
        self.diagnostics.evaluate_requested.connect(training.evaluate_now)
        self.preview.save_requested.connect(self.files.export_image_dialog)
        self.inspector.export_selection_requested.connect(
            lambda: self.files.export_selection_dialog(self.session.selection))
        session.dataset_changed.connect(self._on_dataset_changed)
        session.dataset_changed.connect(self._show_decodable)
        session.dataset_changed.connect(self._describe_model)
        session.model_changed.connect(self._show_decodable)
        session.model_changed.connect(self._on_model_changed)
        session.training_changed.connect(self._on_training_changed)
        session.history_reset.connect(self._on_history_reset)
        session.steps_added.connect(self.loss_plot.add_steps)
        session.epoch_added.connect(self.loss_plot.add_epoch)
        session.epoch_added.connect(self.diagnostics.add_epoch)
        self.first_run.download_requested.connect(lambda: self._choose_dataset("cifar10", download=True))
        self.first_run.folder_chosen.connect(lambda folder: self._choose_dataset("cifar10", folder))
        self.first_run.shapes_chosen.connect(lambda: self._choose_dataset("shapes"))
        self.first_run.cancel_requested.connect(self._on_download_cancelled)
        loader.dataset_progress.connect(self._on_dataset_progress)
        loader.dataset_failed.connect(lambda: self.first_run.set_downloading(False, "That did not work; try again."))
        self.runner.idle.connect(self._finish_closing)
        training.finished.connect(self._finish_closing)

    # ------------------------------------------------------------ settings

    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        self.restoreGeometry(geometry) if geometry is not None else self.resize(1280, 820)
        try:
            saved = json.loads(self.settings.value("hyperparameters", "{}"))
            self.train_panel.set_configs(ModelConfig(**saved["model"]), TrainConfig.from_dict(saved["train"]))
        except (KeyError, TypeError, ValueError):
            pass  # first run, or settings from another version: keep the defaults
        self.session.restore_choices(self.settings.value("choices", "{}"))
        spec = self.settings.value("dataset")
        if spec is None:  # first start: CIFAR-10 if it is there, else ask (the first-run panel)
            from core.data import find_cifar_folder

            cifar = find_cifar_folder(Path(self.train_panel.data_dir())) / "batches.meta"
            spec = "cifar10" if cifar.is_file() else None
        self.first_run.setVisible(spec is None)
        self.train_panel.set_dataset_spec(spec or "shapes")

    def _save_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("data_dir", self.train_panel.data_dir())
        self.settings.setValue("dataset", self.train_panel.dataset_spec)
        self.settings.setValue("choices", self.session.kept_choices())
        try:
            model, train = self.train_panel.configs()
            self.settings.setValue("hyperparameters", json.dumps({"model": model.to_dict(), "train": train.to_dict()}))
        except ValueError:
            pass
        if self.session.checkpoint_path:
            self.settings.setValue("last_checkpoint", self.session.checkpoint_path)
        self.settings.sync()

    # ------------------------------------------------------------ handlers

    def start_loading(self) -> None:
        """Load the heavy libraries in the background, then the dataset (and the last checkpoint)."""
        self.loader.start()

    def _on_ready(self, device_label: str) -> None:
        self.device_label.setText(device_label)
        self.train_panel.set_ready(True)
        self.messages.status("ready", 3000)
        if not self.first_run.isVisible():  # else the user's first-run choice loads the data
            self.train_panel.request_dataset()
        last = self.settings.value("last_checkpoint", "")
        if not self.fresh and self.views.open_last():
            pass  # the screen as it was left: its model or embeddings, its map and choices
        elif last and Path(last).is_file():
            self.loader.open_checkpoint(last)
        self.runs.refresh()  # core.runs needs torch: listed once it has loaded
        self.ready.emit()

    def _choose_dataset(self, spec: str, data_dir: str = "", download: bool = False) -> None:
        """A first-run choice (or a saved view's dataset): remember it and load that dataset."""
        if data_dir:
            self.train_panel.set_data_dir(data_dir)
        self.train_panel.set_dataset_spec(spec)
        self.loader.load_dataset(spec, self.train_panel.data_dir(), download)

    def _on_dataset_progress(self, done: int, total: int) -> None:
        if self.first_run.isVisible() and total > 1000:  # bytes of the download, not batch files
            self.first_run.set_download_progress(done, total)

    def _on_download_cancelled(self) -> None:
        self.runner.cancel("dataset")
        self.first_run.set_downloading(False, "Download cancelled; nothing was kept.")

    def start_training(self, continue_: bool = False, steps: int | None = None) -> None:
        """What Start does, for scripts (the self-test, benchmarks): the form's settings, `steps` steps."""
        try:
            model_config, config = self.train_panel.configs()
        except ValueError as e:
            self.messages.error("Invalid hyperparameter", str(e))
            return
        self.training.start(continue_, model_config, config, self.train_panel.dataset_spec, steps)

    def _on_progress(self, progress) -> None:
        self.train_panel.set_progress(progress.done, progress.total, progress.text)
        self._describe_model()

    def _on_training_changed(self) -> None:
        self._describe_model()
        self.train_panel.set_running(self.session.training)
        self.train_panel.set_paused(self.session.training_state is TrainingState.PAUSED)

    def _on_preview(self, originals: np.ndarray, recons: np.ndarray) -> None:
        from core.latent import image_grid

        self.preview.set_image(image_grid(np.concatenate([originals, recons]), nrow=len(originals)))

    def _on_dataset_changed(self) -> None:
        ds = self.session.dataset
        if ds is not None:
            self.first_run.hide()
            self.settings.setValue("dataset", self.train_panel.dataset_spec)
        self.dataset_label.setText(f"dataset: {ds.name}" if ds else "no dataset")

    def _on_checkpoint_opened(self, ckpt, path: str) -> None:
        self.settings.setValue("last_checkpoint", path)
        if ckpt.trainable:
            self.train_panel.set_configs(ckpt.model_config, ckpt.train_config or TrainConfig())
        wanted = ckpt.dataset if ckpt.dataset in ("shapes", "cifar10") else None
        ds = self.session.dataset
        if wanted and (ds is None or ds.name != wanted):
            self.train_panel.set_dataset_spec(wanted)
            self.train_panel.request_dataset()  # the map controller encodes once it is loaded
        self.messages.status(f"opened {path} " + (f"(step {ckpt.step:,})" if ckpt.trainable else "(a model file)"))

    def _on_history_reset(self) -> None:
        self.loss_plot.load_history(self.session.history)
        self.diagnostics.set_epochs(list(self.session.history.epochs), self.session.old_measure)

    def _on_model_changed(self) -> None:
        self._describe_model()
        ckpt = self.session.checkpoint
        self.train_panel.set_has_model(ckpt is not None, "" if ckpt is None or ckpt.trainable else (
            f"{ckpt.name} was opened from a model file: the app explores it (map, clicks, samples, lenses) but does "
            f"not train other people's models. Start new trains a ConvVAE instead."))

    def _show_decodable(self) -> None:
        """Embeddings without a model: what needs a decoder (traversals, samples) is off, with the reason."""
        from explorer.inspecting import NO_DECODER

        decodable = self.session.embeddings is None or self.session.decodable
        self.inspector.set_decodable(decodable, NO_DECODER)
        samples = self.tabs.indexOf(self.samples)
        self.tabs.setTabEnabled(samples, decodable)
        self.tabs.setTabToolTip(samples, "" if decodable else NO_DECODER)

    def _describe_model(self) -> None:
        """Where the model is, for the status bar and the diagnostics: the one in training from its first step,
        else the snapshot held."""
        ckpt, training = self.session.checkpoint, self.training.model_config
        c = training or (ckpt.model_config if ckpt is not None else None)
        step = self.training.step if training is not None else ckpt.step if ckpt is not None else None
        self.diagnostics.set_model_step(step, idle=training is None)
        if c is None:
            e = self.session.embeddings
            self.model_label.setText(f"embeddings: {e.name}, {len(e.vectors):,} x {e.vectors.shape[1]}, no model"
                                     if e is not None else "no model")
            return
        if ckpt is not None and not ckpt.trainable and training is None:
            self.model_label.setText(f"model file: {ckpt.name}, {c.describe()}")
            return
        self.model_label.setText(f"model: latent {c.latent_dim}, channels {c.channels}, step {step:,}"
                                 + (" (training)" if training is not None else ""))

    def _current_image(self) -> np.ndarray | None:
        image = self._image_of.get(self.tabs.currentWidget())
        return image() if image is not None else None

    def _about_text(self) -> str:
        return (f"Data and downloads: {self.train_panel.data_dir()}<br>Runs: {self.runs_root}<br>"
                f"Settings: {self.settings.fileName()}")

    # ------------------------------------------------------------ closing

    def closeEvent(self, event) -> None:
        """Stop training (it autosaves) and cancel tasks; close once every thread has ended.

        Nothing is left running: work that cannot be interrupted (an import, a file read) is
        waited for, with a message, and the window closes when it returns.
        """
        if not self.closing:
            self.closing = True
            self._save_settings()
            self.views.save_last()
            self.training.shutdown()
            self.runner.shutdown()
        if self.training.busy or self.runner.busy:
            event.ignore()
            self.messages.status("Closing: waiting for background work to stop...", 0)
            return
        self.closed = True
        self.garbage.stop()
        event.accept()

    def _finish_closing(self, *_) -> None:
        if self.closing and not self.closed and not (self.training.busy or self.runner.busy):
            self.close()
