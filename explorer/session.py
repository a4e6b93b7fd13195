"""The app's document: current dataset, model snapshot and latent map, with change signals.

Widgets subscribe to these signals; only the main window changes the session. The model held
here is a CPU copy built from a snapshot, never the one a worker is training.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal


@dataclass
class MapData:
    """A latent map of one split, ready to draw."""

    split: str
    labels: np.ndarray  # [N] int64
    coords: np.ndarray  # [N, 2] float32
    explained: np.ndarray  # [2]
    knn: float
    latent_map: object  # core.latent.LatentMap


class Session(QObject):
    dataset_changed = Signal()
    model_changed = Signal()
    map_changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.dataset = None  # core.data.Dataset
        self.checkpoint = None  # core.checkpoint.Checkpoint (CPU)
        self.model = None  # core.model.ConvVAE in eval mode, CPU, for clicks and samples
        self.map: MapData | None = None
        self.checkpoint_path = None  # where "Save checkpoint" writes

    @property
    def classes(self) -> list[str]:
        if self.dataset is not None:
            return self.dataset.classes
        return list(self.checkpoint.classes or []) if self.checkpoint is not None else []

    def set_dataset(self, dataset) -> None:
        self.dataset = dataset
        self.map = None
        self.dataset_changed.emit()
        self.map_changed.emit()

    def set_checkpoint(self, checkpoint, path=None) -> None:
        """Adopt a snapshot; builds the CPU inference model (raises CheckpointError if it does not fit)."""
        if self.model is not None and self.model.config == checkpoint.model_config:
            self.model.load_state_dict(checkpoint.model_state)  # every epoch: reuse, don't re-initialise
        else:
            self.model = checkpoint.build_model().eval()
        self.checkpoint = checkpoint
        if path is not None:
            self.checkpoint_path = path
        self.model_changed.emit()

    def clear_model(self) -> None:
        self.checkpoint = self.model = self.map = None
        self.checkpoint_path = None
        self.model_changed.emit()
        self.map_changed.emit()

    def set_map(self, data: MapData | None) -> None:
        self.map = data
        self.map_changed.emit()

    # ------------------------------------------------------------ inference (GUI thread, fast)

    def decode(self, z: np.ndarray) -> np.ndarray:
        from core.latent import decode

        return decode(self.model, z)

    def decode_map_point(self, xy) -> np.ndarray:
        """Decode the PCA-inverse latent at a map position -> uint8 [C, H, W]."""
        return self.decode(self.map.latent_map.to_latent(xy))[0]

    def point_images(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(original, reconstruction from its latent mean) of a map point, uint8 [C, H, W]."""
        original = self.dataset.split(self.map.split).images[index]
        return original, self.decode(self.map.latent_map.mu[index:index + 1])[0]

    def interpolation(self, a: int, b: int, steps: int = 10, mode: str = "linear") -> np.ndarray:
        from core.latent import interpolate

        mu = self.map.latent_map.mu
        return self.decode(interpolate(mu[a], mu[b], steps, mode))

    def samples(self, n: int, temperature: float, seed: int) -> np.ndarray:
        from core.latent import sample_prior

        return sample_prior(self.model, n, temperature, seed)
