"""TrainingPanel: dataset chooser, hyperparameter form, Start/Pause/Stop and progress.

The form is validated by core's own config classes, so the GUI and the CLI accept the same values, and
Start emits the configs it validated (never a request to read them again). The panel only emits
requests; the window feeds it state (`set_running`, `set_progress`, ...).
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core.config import DEVICES, LOSS_MODES, LR_SCHEDULES, PRESETS, ConfigError, ModelConfig, TrainConfig

DATASETS = [("Shapes (synthetic, offline)", "shapes"), ("CIFAR-10", "cifar10"), ("Image folder...", "folder")]
INT_FIELDS = ["latent_dim", "channels", "batch_size", "kl_warmup", "lr_warmup", "epochs", "seed", "threads"]
CHOICES = {"loss": LOSS_MODES, "device": DEVICES, "lr_schedule": LR_SCHEDULES}
LABELS = {
    "latent_dim": "Latent dim", "channels": "Channels", "batch_size": "Batch size", "lr": "Learning rate",
    "beta": "Beta (KL weight)", "loss": "Loss weighting", "kl_warmup": "KL warm-up (steps)", "epochs": "Epochs",
    "device": "Device", "seed": "Seed", "threads": "CPU threads (0 = all)", "lr_schedule": "LR schedule",
    "lr_warmup": "LR warm-up (steps)", "grad_clip": "Gradient clip (0 = off)",
    "contrast": "Contrastive weight (0 = off)", "augment": "Augmentation (0-1)",
}
TIPS = {
    "contrast": "Two augmented views of each image, each reconstructed, plus a contrastive term (NT-Xent) that pulls "
                "the two views' latent means together: the map organises by class. In units of the reconstruction "
                "term, the same for every loss weighting; each step costs about twice as much (README: the sweep).",
    "augment": "How strongly the two views differ: flip, crop and colour jitter (used only with a contrastive weight).",
}


CONTINUE_TIP = "Continue training the current model (e.g. a loaded checkpoint)"


def _same(text: str, value: float) -> bool:
    try:
        return float(text) == value
    except ValueError:
        return False


class TrainingPanel(QWidget):
    # continue the current model (True) or start a new one; the ModelConfig and TrainConfig of the form, valid
    start_requested = Signal(bool, object, object)
    pause_toggled = Signal(bool)  # True: pause
    stop_requested = Signal()
    dataset_requested = Signal(str, str)  # spec ("shapes", "cifar10" or a folder path), CIFAR data folder
    download_requested = Signal(str)  # CIFAR data folder

    def __init__(self, data_dir: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.dataset_spec = "shapes"
        self.has_model = False
        self.running = False
        self.ready = False  # set when the heavy libraries have loaded

        # dataset
        self.dataset_box = QComboBox()
        for label, _ in DATASETS:
            self.dataset_box.addItem(label)
        self.dataset_box.activated.connect(self._on_dataset_chosen)
        self.data_dir_edit = QLineEdit(data_dir)
        self.data_dir_edit.setToolTip("Folder that holds (or will hold) cifar-10-batches-py")
        self.browse_button = QPushButton("Browse...")
        self.browse_button.clicked.connect(self._on_browse)
        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(lambda: self.download_requested.emit(self.data_dir()))
        self.load_button = QPushButton("Load")
        self.load_button.clicked.connect(self.request_dataset)
        self.dataset_status = QLabel("Shapes: 10 classes of synthetic images, no download needed.")
        self.dataset_status.setWordWrap(True)
        data_box = QGroupBox("Dataset")
        data_layout = QVBoxLayout(data_box)
        row = QHBoxLayout()
        row.addWidget(self.dataset_box, 1)
        row.addWidget(self.load_button)
        data_layout.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.data_dir_edit, 1)
        row.addWidget(self.browse_button)
        row.addWidget(self.download_button)
        data_layout.addLayout(row)
        data_layout.addWidget(self.dataset_status)

        # hyperparameters, pre-filled from core's defaults
        m, t = ModelConfig(), TrainConfig()  # all cores: the training thread runs at a lower priority
        self.fields: dict[str, QLineEdit | QComboBox] = {}
        form = QFormLayout()
        self.preset_box = QComboBox()
        self.preset_box.addItem("custom")
        for preset in PRESETS:
            self.preset_box.addItem(preset.name)
            self.preset_box.setItemData(self.preset_box.count() - 1, preset.describe(), Qt.ToolTipRole)
        self.preset_box.setToolTip("Named settings from the loss x beta sweep (README); hover an entry for what it "
                                   "measured. Editing the loss or beta makes the form custom again.")
        self.preset_box.textActivated.connect(self._apply_preset)
        form.addRow("Preset", self.preset_box)
        for name in ["latent_dim", "channels", "batch_size", "lr", "lr_schedule", "lr_warmup", "grad_clip", "beta",
                     "loss", "kl_warmup", "contrast", "augment", "epochs", "device", "seed", "threads"]:
            if name in CHOICES:
                w = QComboBox()
                w.addItems(CHOICES[name])
                w.setCurrentText(getattr(t, name))
                w.currentTextChanged.connect(self.validate)
            else:
                w = QLineEdit(str(getattr(m, name) if hasattr(m, name) else getattr(t, name)))
                w.textChanged.connect(self.validate)
            self.fields[name] = w
            w.setToolTip(TIPS.get(name, ""))
            form.addRow(LABELS[name], w)
        for name in PRESETS[0].settings():
            w = self.fields[name]
            (w.currentTextChanged if isinstance(w, QComboBox) else w.textChanged).connect(self._match_preset)
        self._match_preset()
        self.form_error = QLabel("")
        self.form_error.setStyleSheet("color: #c0392b;")
        self.form_error.setWordWrap(True)
        params_box = QGroupBox("Hyperparameters")
        params_layout = QVBoxLayout(params_box)
        params_layout.addLayout(form)
        params_layout.addWidget(self.form_error)

        # controls and progress
        self.start_button = QPushButton("Start new")
        self.start_button.setToolTip("Train a new model from scratch")
        self.continue_button = QPushButton("Resume training")
        self.continue_button.setToolTip(CONTINUE_TIP)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.stop_button = QPushButton("Stop")
        self.start_button.clicked.connect(lambda: self._request_start(False))
        self.continue_button.clicked.connect(lambda: self._request_start(True))
        self.pause_button.toggled.connect(self._on_pause)
        self.stop_button.clicked.connect(self.stop_requested)
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")
        self.progress_label = QLabel("Idle")
        self.progress_label.setWordWrap(True)  # two lines rather than a cut ETA; its text never widens the panel
        self.progress_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.continue_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)

        form = QWidget()  # the dataset and the hyperparameters scroll in a short window (1024 x 700 is
        form_layout = QVBoxLayout(form)  # supported); the buttons and the progress always show
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addWidget(data_box)
        form_layout.addWidget(params_box)
        form_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(form)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(form.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        self.setMaximumWidth(440)
        self._update_dataset_widgets()
        self.set_running(False)

    # ------------------------------------------------------------ form

    def _apply_preset(self, name: str) -> None:
        preset = next((p for p in PRESETS if p.name == name), None)
        for field, value in preset.settings().items() if preset is not None else ():
            w = self.fields[field]
            w.setCurrentText(value) if isinstance(w, QComboBox) else w.setText(f"{value:g}")

    def _match_preset(self) -> None:
        """Show the preset the form's loss, beta and contrastive fields hold, or "custom"."""
        def holds(preset) -> bool:
            return all(self.fields[f].currentText() == v if isinstance(v, str) else _same(self.fields[f].text(), v)
                       for f, v in preset.settings().items())

        self.preset_box.setCurrentText(next((p.name for p in PRESETS if holds(p)), "custom"))

    def configs(self) -> tuple[ModelConfig, TrainConfig]:
        """Parse and validate the form; raises ValueError naming the field and what it accepts."""
        values: dict = {}
        for name, w in self.fields.items():
            if isinstance(w, QComboBox):
                values[name] = w.currentText()
                continue
            text = w.text().strip()
            try:
                values[name] = int(text) if name in INT_FIELDS else float(text)
            except ValueError:
                kind = "a whole number" if name in INT_FIELDS else "a number"
                raise ValueError(f"{LABELS[name]}: {text!r} is not {kind}") from None
        try:
            model = ModelConfig(latent_dim=values.pop("latent_dim"), channels=values.pop("channels"))
            train = TrainConfig(dataset=self.dataset_spec, **values)
            train.validate()
        except ConfigError as e:
            raise ConfigError(e.field, f"{LABELS.get(e.field, e.field)}: {e}") from None
        return model, train

    def _request_start(self, continue_: bool) -> None:
        if self.validate():
            self.start_requested.emit(continue_, *self.configs())

    def set_configs(self, model: ModelConfig, train: TrainConfig) -> None:
        for name, w in self.fields.items():
            value = getattr(model, name) if hasattr(model, name) else getattr(train, name)
            if isinstance(w, QComboBox):
                w.setCurrentText(str(value))
            else:
                w.setText(str(value))

    def validate(self) -> bool:
        try:
            self.configs()
            self.form_error.setText("")
            ok = True
        except ValueError as e:
            self.form_error.setText(str(e))
            ok = False
        can_start = ok and self.ready and not self.running
        self.start_button.setEnabled(can_start)
        self.continue_button.setEnabled(can_start and self.has_model)
        return ok

    # ------------------------------------------------------------ state from the main window

    def set_ready(self, ready: bool) -> None:
        self.ready = ready
        self.set_running(self.running)

    def set_has_model(self, has_model: bool, why_not: str = "") -> None:
        """`why_not`: why the model held cannot be trained here (a model file), shown on Resume and below it."""
        self.has_model = has_model and not why_not
        self.continue_button.setToolTip(why_not or CONTINUE_TIP)
        self.set_status(why_not)
        self.validate()

    def set_running(self, running: bool) -> None:
        self.running = running
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        if not running:
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(False)
            self.pause_button.setText("Pause")
            self.pause_button.blockSignals(False)
        for w in [self.dataset_box, self.load_button, self.download_button, self.browse_button, self.data_dir_edit,
                  self.preset_box, *self.fields.values()]:
            w.setEnabled(not running and self.ready)
        self.validate()

    def set_progress(self, done: int, total: int, text: str) -> None:
        """Steps done of this run's total, and the line under the bar."""
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress_label.setText(text)

    def set_paused(self, paused: bool) -> None:
        text = self.progress_label.text().removesuffix(" · paused")
        self.progress_label.setText(text + " · paused" if paused else text)

    def set_status(self, text: str) -> None:
        self.progress_label.setText(text)

    def set_dataset_status(self, text: str) -> None:
        self.dataset_status.setText(text)

    def data_dir(self) -> str:
        """The folder that holds (or will hold) cifar-10-batches-py."""
        return self.data_dir_edit.text()

    def set_data_dir(self, folder: str) -> None:
        self.data_dir_edit.setText(folder)

    def device(self) -> str:
        """The device named in the form: auto, cpu, cuda or mps."""
        return self.fields["device"].currentText()

    # ------------------------------------------------------------ dataset

    def set_dataset_spec(self, spec: str) -> None:
        self.dataset_spec = spec
        index = {"shapes": 0, "cifar10": 1}.get(spec, 2)
        self.dataset_box.setCurrentIndex(index)
        if index == 2:
            self.dataset_box.setItemText(2, f"Image folder: {os.path.basename(spec.rstrip('/'))}")
        self._update_dataset_widgets()
        self.validate()

    def request_dataset(self) -> None:
        self.dataset_requested.emit(self.dataset_spec, self.data_dir())

    def _on_dataset_chosen(self, index: int) -> None:
        spec = DATASETS[index][1]
        if spec == "folder":
            folder = QFileDialog.getExistingDirectory(self, "Image folder (one subfolder per class)")
            if not folder:
                self.set_dataset_spec(self.dataset_spec)
                return
            spec = folder
        self.set_dataset_spec(spec)
        self.request_dataset()

    def _on_browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with cifar-10-batches-py", self.data_dir())
        if folder:
            self.data_dir_edit.setText(folder)
            if self.dataset_spec == "cifar10":
                self.request_dataset()

    def _update_dataset_widgets(self) -> None:
        cifar = self.dataset_spec == "cifar10"
        for w in (self.data_dir_edit, self.browse_button, self.download_button):
            w.setVisible(cifar)

    def _on_pause(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_toggled.emit(paused)
