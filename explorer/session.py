"""Session: the app's one document: dataset, model snapshot, latent map, training state, history.

Controllers change it and the window subscribes to its signals; widgets never see it (the window
feeds them). `generation` changes with the dataset or the model; background results carry the
generation they were computed for, and a stale one is dropped (see explorer/tasks.py).
The model held here is a CPU copy built from a snapshot, never the one a worker is training.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.metrics import History


@dataclass
class MapData:
    """A latent map of one split (or of a subset of it: `indices`), ready to draw."""

    split: str
    labels: np.ndarray  # [N] int64
    coords: np.ndarray  # [N, 2] float32
    explained: np.ndarray  # [2]
    knn: float | None  # kNN accuracy of the latent means (None for a live-map frame)
    latent_map: object  # core.latent.LatentMap (its mu may be None for a stored frame)
    indices: np.ndarray | None = None  # [N] image indices into the split; None: all of it, in order
    frame: int | None = None  # which live-map frame this is, if it is one
    pixel_knn: float | None = None  # kNN accuracy of the raw pixels of the same images

    def image_index(self, point: int) -> int:
        return int(point if self.indices is None else self.indices[point])

    def same_points(self, other: "MapData | None") -> bool:
        return (other is not None and other.split == self.split and self.indices is not None
                and other.indices is not None and np.array_equal(self.indices, other.indices))


class TrainingState(Enum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"


class Session(QObject):
    dataset_changed = Signal()
    model_changed = Signal()
    map_changed = Signal()
    training_changed = Signal()  # training_state changed
    history_reset = Signal()  # history replaced (new model, opened checkpoint)
    steps_added = Signal(list)  # [core.metrics.StepMetrics]
    epoch_added = Signal(object)  # core.metrics.EpochMetrics
    frame_added = Signal(int)  # index of a new live-map frame
    frames_reset = Signal()  # live-map frames replaced (opened checkpoint, new model)

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.dataset = None  # core.data.Dataset
        self.checkpoint = None  # core.checkpoint.Checkpoint (CPU)
        self.model = None  # core.model.ConvVAE in eval mode, CPU, for clicks and samples
        self.map: MapData | None = None
        self.checkpoint_path: str | None = None  # where "Save checkpoint" writes
        self.training_state = TrainingState.IDLE
        self.training_device = "cpu"  # the device type the running training uses
        self.history = History()  # the current model's StepMetrics and EpochMetrics, as numpy columns
        self.live = None  # core.live_map.LiveMap: the frames of the current model's training run
        self._directions = None  # (map, core.selection.Directions): traversal directions of that map
        self.given: tuple[str, np.ndarray] | None = None  # (name, uint8 [C, H, W]): an image the user brought
        self.groups: dict[str, tuple[str, np.ndarray]] = {}  # "A" -> (split, image indices): saved selections

    @property
    def classes(self) -> list[str]:
        if self.dataset is not None:
            return self.dataset.classes
        return list(self.checkpoint.classes or []) if self.checkpoint is not None else []

    @property
    def training(self) -> bool:
        return self.training_state is not TrainingState.IDLE

    def background_device(self, choice: str):
        """Where background inference (encoding, fitting) runs: the device chosen in the form, but the CPU
        on a device that allows one thread at a time (MPS: an encode started now would still run when
        training starts there), and while training already uses that accelerator (no second model on it)."""
        from core.devices import capabilities, select_device

        try:
            device = select_device(choice)
        except ValueError:
            device = select_device("cpu")
        if device.type != "cpu" and (not capabilities(device).shared
                                     or (self.training and device.type == self.training_device)):
            return select_device("cpu")
        return device

    def set_dataset(self, dataset) -> None:
        self.dataset = dataset
        self.generation += 1
        self.map, self.groups = None, {}
        self.dataset_changed.emit()
        self.map_changed.emit()

    def set_checkpoint(self, checkpoint, path: str | None = None, with_history: bool = False) -> None:
        """Adopt a snapshot; builds the CPU inference model (raises CheckpointError if it does not fit).

        `with_history`: also replace the loss history with the checkpoint's (opening a file).
        """
        if self.model is not None and self.model.config == checkpoint.model_config:
            self.model.load_state_dict(checkpoint.model_state)  # every epoch: reuse, don't re-initialise
        else:
            self.model = checkpoint.build_model().eval()
        self.checkpoint = checkpoint
        self.generation += 1
        if path is not None:
            self.checkpoint_path = str(path)
        if with_history:
            self.history = History.from_dict(checkpoint.history.to_dict())
            self.history_reset.emit()
            self._set_live(checkpoint.map_frames)
        self.model_changed.emit()

    def clear_model(self) -> None:
        self.checkpoint = self.model = self.map = None
        self.checkpoint_path = None
        self.generation += 1
        self.history = History()
        self.history_reset.emit()
        self._set_live(None)
        self.model_changed.emit()
        self.map_changed.emit()

    def _set_live(self, frames: dict | None) -> None:
        from core.live_map import LiveMap

        self.live = LiveMap.from_dict(frames) if frames is not None else None
        self.frames_reset.emit()

    def add_frame(self, split: str, indices: np.ndarray, frame, mu: np.ndarray) -> None:
        """A live-map frame from the training run (with the latent means of its points)."""
        from core.live_map import LiveMap

        if self.live is None or self.live.split != split or not np.array_equal(self.live.indices, indices):
            self.live = LiveMap(split, indices)
        self.live.frames.append(frame)
        self.live.last_mu = mu
        self.frame_added.emit(len(self.live.frames) - 1)

    def set_map(self, data: MapData | None) -> None:
        self.map = data
        self.map_changed.emit()

    def set_training_state(self, state: TrainingState, device: str | None = None) -> None:
        self.training_state = state
        if device is not None:
            self.training_device = device
        self.training_changed.emit()

    def add_steps(self, metrics: list) -> None:
        self.history.steps.extend(metrics)
        self.steps_added.emit(metrics)

    def add_epoch(self, metrics) -> None:
        self.history.epochs.append(metrics)
        self.epoch_added.emit(metrics)

    # ------------------------------------------------------------ inference (GUI thread, fast)

    def decode(self, z: np.ndarray) -> np.ndarray:
        from core.latent import decode

        return decode(self.model, z)

    def decode_map_point(self, xy) -> np.ndarray:
        """Decode the PCA-inverse latent at a map position -> uint8 [C, H, W]."""
        return self.decode(self.map.latent_map.to_latent(xy))[0]

    def point_latent(self, index: int) -> np.ndarray:
        """The latent mean [D] of a map point (encoded now if the map, a stored frame, lacks it)."""
        from core.latent import encode

        if self.map.latent_map.mu is not None:
            return self.map.latent_map.mu[index]
        return encode(self.model, self.point_original(index)[None])[0]

    def map_images(self) -> np.ndarray:
        """The images of the current map's points, uint8 [N, C, H, W]."""
        images = self.dataset.split(self.map.split).images
        return images if self.map.indices is None else images[self.map.indices]

    def map_latents(self) -> np.ndarray:
        """The latent means [N, D] of the current map's points (encoded now for a stored frame)."""
        from core.latent import encode

        mu = self.map.latent_map.mu
        return mu if mu is not None else encode(self.model, self.map_images())

    def point_original(self, index: int) -> np.ndarray:
        return self.dataset.split(self.map.split).images[self.map.image_index(index)]

    def point_images(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(original, reconstruction from its latent mean) of a map point, uint8 [C, H, W]."""
        return self.point_original(index), self.decode(self.point_latent(index)[None])[0]

    def neighbours(self, index: int | None, k: int = 8, z: np.ndarray | None = None):
        """-> core.selection.Neighbours: the k map points nearest in latent space to point `index`, or to
        the latent `z` [D] when index is None."""
        from core.selection import latent_neighbours

        return latent_neighbours(self.map_latents(), index, k, z)

    def given_latent(self) -> np.ndarray:
        """The latent mean [D] of the image the user brought, encoded with the current model."""
        from core.latent import encode

        return encode(self.model, self.given[1][None])[0]

    def traversals(self, index: int, steps: int = 7) -> tuple[list[str], np.ndarray]:
        """(direction names, images uint8 [K * steps, C, H, W]): a map point walked -3 to +3 sigma along
        PC1, PC2 and the 8 latent dimensions with the highest KL."""
        from core.selection import traversal, traversal_directions

        if self._directions is None or self._directions[0] is not self.map:  # once per map
            epochs = self.history.epochs
            kl = epochs.column("kl_dims")[-1] if len(epochs) and epochs.column("kl_dims").ndim == 2 else None
            kl = None if kl is None or np.isnan(kl).all() else kl
            self._directions = (self.map, traversal_directions(self.map_latents(), kl))
        directions = self._directions[1]
        return directions.names, self.decode(traversal(self.point_latent(index), directions, steps))

    def attribute_walk(self, index: int, source: np.ndarray, target: np.ndarray, strength: float) -> np.ndarray:
        """8 images uint8: map point `index` moved from 0 to `strength` times the vector from the mean
        latent of the points `source` to that of the points `target`."""
        from core.selection import attribute_walk

        mu = self.map_latents()
        return self.decode(attribute_walk(self.point_latent(index), mu[source].mean(axis=0), mu[target].mean(axis=0),
                                          strength))

    def add_group(self, points: np.ndarray) -> str:
        """Save map points as the next named group (A, B, ...); it holds their images, so it outlives the
        map (another projection or frame of the same split shows it too)."""
        n = len(self.groups)
        name = chr(ord("A") + n) if n < 26 else f"G{n + 1}"
        indices = self.map.indices[points] if self.map.indices is not None else np.asarray(points)
        self.groups[name] = (self.map.split, np.asarray(indices, np.int64))
        return name

    def group_names(self) -> list[str]:
        """The groups that the current map can show (those of its split)."""
        return [k for k, (split, _) in self.groups.items() if self.map is not None and split == self.map.split]

    def group_points(self, name: str) -> np.ndarray:
        """The points of the current map that are in group `name`."""
        _, indices = self.groups[name]
        return indices if self.map.indices is None else np.flatnonzero(np.isin(self.map.indices, indices))

    def selection_summary(self, indices: np.ndarray) -> tuple[str, np.ndarray | None]:
        """(counts per class, largest first, as text; the decoded mean latent [C, H, W]) of map points."""
        counts = np.bincount(self.map.labels[indices], minlength=len(self.classes))
        text = ", ".join(f"{self.classes[k]} {counts[k]:,}" for k in np.argsort(-counts) if counts[k])
        return text, self.decode(self.map_latents()[indices].mean(axis=0, keepdims=True))[0]

    def interpolation(self, a: int, b: int, steps: int = 10, mode: str = "linear") -> np.ndarray:
        from core.latent import interpolate

        return self.decode(interpolate(self.point_latent(a), self.point_latent(b), steps, mode))

    def samples(self, n: int, temperature: float, seed: int) -> np.ndarray:
        from core.latent import sample_prior

        return sample_prior(self.model, n, temperature, seed)
