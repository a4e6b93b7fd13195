"""Loader: everything that brings data into the session in the background: the heavy libraries at
start-up, datasets (with the CIFAR-10 download), checkpoints and model files, and embeddings. Failures
leave the session as it was.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal

from core.config import ModelConfig
from explorer.session import Session
from explorer.tasks import Progress, TaskRunner


def import_heavy(progress: Progress) -> str:
    """Runs on a worker thread at start-up: torch, torchvision, scikit-learn, scipy -> device label."""
    import core.checkpoint  # noqa: F401
    import core.maps  # noqa: F401  (and with it core.latent, core.projection, scikit-learn and scipy)
    from core.devices import device_label, select_device

    return device_label(select_device("auto"))


class Loader(QObject):
    ready = Signal(str)  # the heavy libraries have loaded; the device label
    dataset_status = Signal(str)  # "Loading...", "CIFAR-10: 50,000 training ...", or the problem
    dataset_failed = Signal()
    dataset_progress = Signal(int, int)
    checkpoint_opened = Signal(object, str)  # Checkpoint (or core.model_file.ModelFile), path
    embeddings_opened = Signal(str)  # path

    def __init__(self, session: Session, runner: TaskRunner, report: Callable[[str, str, str], None],
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.runner, self._report = session, runner, report

    def start(self) -> None:
        """Load the heavy libraries in the background; `ready` follows."""
        self.runner.run(lambda progress: import_heavy(progress), self._on_imported,
                        "Could not load the numerical libraries", kind="imports", tagged=False)

    def _on_imported(self, device_label: str) -> None:
        import torch

        # The GUI thread's torch work is small (a click, 64 samples). Given its own OpenMP team it would
        # leave more OpenMP threads than cores, and libgomp then stops spinning at barriers: training on
        # its thread ran 3x slower at GPU-like step rates (bench/gui.py --simulate-gpu). So one thread
        # here. torch applies its global thread count to a thread at the thread's first use: take that
        # first (get), then set this thread's own; the trainer sets its thread's count itself.
        torch.get_num_threads()
        torch.set_num_threads(1)
        self.ready.emit(device_label)

    def load_dataset(self, spec: str, data_dir: str = "", download: bool = False) -> None:
        from core.data import load_dataset

        config = self.session.checkpoint.model_config if self.session.checkpoint else ModelConfig()
        folder = Path(data_dir) if data_dir else None
        self.dataset_status.emit("Downloading CIFAR-10..." if download else "Loading...")

        def failed(message: str, details: str) -> None:
            self.dataset_status.emit(message)
            self._report("Dataset unavailable", message + "\n\nThe built-in Shapes dataset works offline.", details)
            self.dataset_failed.emit()

        def work(progress: Progress):
            return load_dataset(spec, folder, config.img_size, config.in_ch, download, progress)

        self.runner.run(work, self._on_dataset_loaded, "Dataset unavailable", kind="dataset",
                        on_progress=self.dataset_progress.emit, on_failed=failed, tagged=False)

    def _on_dataset_loaded(self, dataset) -> None:
        self.dataset_status.emit(
            f"{dataset.name}: {len(dataset.train):,} training and {len(dataset.test):,} test images, "
            f"{len(dataset.classes)} classes.")
        self.session.set_dataset(dataset)

    def open_checkpoint(self, path: str) -> None:
        """Open a checkpoint or a model file (core.model_file) in the background; on failure the current model
        stays as it was."""
        from core.model_file import open_model

        if self.session.training:
            self._report("Training is running", "Stop training before opening a checkpoint.", "")
            return

        def opened(ckpt) -> None:
            self.session.set_checkpoint(ckpt, path, with_history=True)
            self.session.set_map(None)
            self.checkpoint_opened.emit(ckpt, str(path))

        self.runner.run(lambda progress: open_model(path), opened, "Cannot open model",
                        kind="checkpoint", tagged=False)

    def open_embeddings(self, path: str) -> None:
        """Read embeddings (core.embeddings) and make their map in the background: the given coordinates, else
        PCA. On failure what was shown stays."""
        from core.embeddings import embeddings_map, read_embeddings

        if self.session.training:
            self._report("Training is running", "Stop training before opening embeddings.", "")
            return

        def work(progress: Progress):
            embeddings = read_embeddings(path)
            return embeddings, embeddings_map(embeddings, "pca", progress)

        def opened(result) -> None:
            self.session.set_embeddings(*result)
            self.embeddings_opened.emit(str(path))

        self.runner.run(work, opened, "Cannot open embeddings", kind="embeddings", tagged=False)

    def open_file(self, path: str) -> None:
        """A file dropped or chosen: embeddings by their suffix (core.embeddings.SUFFIXES), else a checkpoint or
        model file."""
        from core.embeddings import SUFFIXES

        (self.open_embeddings if Path(path).suffix.lower() in SUFFIXES else self.open_checkpoint)(path)
