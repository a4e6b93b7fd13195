"""Session: the app's one document: dataset, model snapshot, latent map, what is clicked, selected and
grouped on it, training state, history, and every choice the user made (explorer.choices).

Controllers change it and the window subscribes to its signals; widgets never see it (the window
feeds them). It keeps state and computes nothing itself: questions about the map go to its `query`
(core.maps.MapQuery, Qt-free), and the map's lens values are a core.maps.MapLenses filled when asked.
`generation` changes with the dataset or the model; background results carry the generation they were
computed for, and a stale one is dropped (see explorer/tasks.py).
The model held here is a CPU copy built from a snapshot, never the one a worker is training.
"""
from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.metrics import History
from explorer.choices import Choices

if TYPE_CHECKING:  # core.maps brings torch, which loads after the window shows
    from core.maps import MapData, MapLenses, MapQuery


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
    picked_changed = Signal()  # the clicked point changed (or was cleared)
    selection_changed = Signal()  # the selected points changed (or were cleared)
    groups_changed = Signal()
    choices_changed = Signal(object)  # frozenset of the names of the Choices fields that changed

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.dataset = None  # core.data.Dataset
        self.checkpoint = None  # core.checkpoint.Checkpoint (CPU), or a core.model_file.ModelFile
        self.embeddings = None  # core.embeddings.Embeddings: vectors opened without a model (then no checkpoint)
        self.model = None  # core.model.ConvVAE in eval mode, CPU, for clicks and samples
        self.map: "MapData | None" = None
        self.checkpoint_path: str | None = None  # where "Save checkpoint" writes
        self.training_state = TrainingState.IDLE
        self.training_device = "cpu"  # the device type the running training uses
        self.history = History()  # the current model's StepMetrics and EpochMetrics, as numpy columns
        self.live = None  # core.live_map.LiveMap: the frames of the current model's training run
        self._query: "MapQuery | None" = None  # answers about self.map with self.model (made when asked)
        self._lenses: "MapLenses | None" = None  # lens values of self.map's points (made when asked)
        self._lenses_of = None  # whose they are: (generation, split) of an encoded map, else the frame itself
        self.choices = Choices()
        self.given: tuple[str, np.ndarray] | None = None  # (name, uint8 [C, H, W]): an image the user brought
        self.picked: int | None = None  # the point last clicked, an index into self.map
        self.selection: np.ndarray | None = None  # selected points of self.map, sorted; None: no selection
        self.groups: dict[str, tuple[str, np.ndarray]] = {}  # "A" -> (split, image indices): saved selections

    @property
    def classes(self) -> list[str]:
        if self.dataset is not None:
            return self.dataset.classes
        return list(self.checkpoint.classes or []) if self.checkpoint is not None else []

    @property
    def old_measure(self) -> bool:
        """The model's stored kNN figures were measured before core.structure's protocol (an older checkpoint)."""
        return self.checkpoint is not None and self.checkpoint.old_measure

    @property
    def decodable(self) -> bool:
        """There is a model to decode with (embeddings opened without one have none)."""
        return self.model is not None

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

    def set_dataset(self, dataset, embeddings=None) -> None:
        """Use another dataset (`embeddings`: the core.embeddings.Embeddings it was made of, if it was)."""
        self.dataset, self.embeddings = dataset, embeddings
        self.generation += 1
        self.groups = {}
        if self.choices.hidden_classes:
            self.choose(hidden_classes=frozenset())
        self.dataset_changed.emit()
        self.set_map(None)
        self.groups_changed.emit()

    def set_checkpoint(self, checkpoint, path: str | None = None, with_history: bool = False) -> None:
        """Adopt a snapshot; builds the CPU inference model (raises CheckpointError if it does not fit).

        `with_history`: also replace the loss history with the checkpoint's (opening a file).
        """
        if self.model is not None and self.model.config == checkpoint.model_config:
            self.model.load_state_dict(checkpoint.model_state)  # every epoch: reuse, don't re-initialise
        else:
            self.model = checkpoint.build_model().eval()
        self.checkpoint, self._query = checkpoint, None
        self.embeddings = None  # a model shows its own map now (of the embeddings' images, if they came with any)
        self.generation += 1
        if path is not None:
            self.checkpoint_path = str(path)
        if with_history:
            self.history = History.from_dict(checkpoint.history.to_dict())
            self.history_reset.emit()
            self._set_live(checkpoint.map_frames)
        self.model_changed.emit()

    def set_embeddings(self, embeddings, map_data: "MapData") -> None:
        """Show embeddings opened without a model (core.embeddings): their points are the dataset's one split
        and `map_data` their map; the model held before is let go."""
        self.clear_model()
        self.set_dataset(embeddings.dataset(), embeddings)
        self.set_map(map_data)

    def clear_model(self) -> None:
        self.checkpoint = self.model = None
        self.checkpoint_path = None
        self.generation += 1
        self.history = History()
        self.history_reset.emit()
        self._set_live(None)
        self.model_changed.emit()
        self.set_map(None)

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

    def set_map(self, data: "MapData | None") -> None:
        """Show another map. The clicked point and the selection stay when it has the same points (another
        frame of the live map), and are cleared otherwise."""
        same = data is not None and data.same_points(self.map)
        self.map, self._query = data, None
        lenses_of = (self.generation, data.split) if data is not None and data.frame is None else data
        shared = lenses_of is self._lenses_of or (isinstance(lenses_of, tuple) and lenses_of == self._lenses_of)
        if not shared:  # every projection of a split shares its lens values; each frame has its own
            self._lenses, self._lenses_of = None, lenses_of
        picked, selected = self.picked is not None, self.selection is not None
        if not same:
            self.picked, self.selection = None, None
        self.map_changed.emit()
        if not same and picked:
            self.picked_changed.emit()
        if not same and selected:
            self.selection_changed.emit()

    @property
    def query(self) -> "MapQuery":
        """core.maps.MapQuery of the map shown, with the current model (there must be both)."""
        from core.maps import MapQuery

        if self._query is None:
            images = self.dataset.split(self.map.split).images
            self._query = MapQuery(self.model, images, self.map, self.classes, self.kl_dims)
        return self._query

    @property
    def kl_dims(self) -> "np.ndarray | None":
        """The last evaluation's KL of each latent dimension (nats), if the model has been evaluated."""
        epochs = self.history.epochs
        return epochs.column("kl_dims")[-1] if len(epochs) and epochs.column("kl_dims").ndim == 2 else None

    @property
    def lenses(self) -> "MapLenses":
        """core.maps.MapLenses of the map shown (there must be one and its dataset): filled when something asks,
        shared by every projection of the same split and model."""
        from core.maps import MapLenses

        if self._lenses is None:
            images = self.dataset.split(self.map.split).images
            if images is not None and self.map.indices is not None:
                images = images[self.map.indices]
            columns = self.embeddings.columns if self.embeddings is not None else None
            self._lenses = MapLenses(self.map.labels, images, self.map.projection.mu, columns, self.decodable)
        return self._lenses

    def restore_choices(self, saved: str) -> None:
        """The choices a restart keeps (JSON from `kept_choices`); each unknown or bad value stays at its default."""
        import json

        try:
            self.choose(**vars(Choices.from_dict(json.loads(saved))))
        except (TypeError, ValueError, AttributeError):
            pass  # not JSON, or not an object: every choice at its default

    def kept_choices(self) -> str:
        import json

        return json.dumps(self.choices.to_dict())

    def request(self, name: str, value, report) -> None:
        """A choice a control asked for: made, or `report(title, message, details)`ed with what is wrong."""
        try:
            self.choose(**{name: value})
        except (TypeError, ValueError) as e:
            report("Cannot use that choice", str(e), "")

    def choose(self, **changes) -> None:
        """Change the user's choices (explorer.choices.Choices fields); says which changed, if any did."""
        old, self.choices = self.choices, self.choices.with_changes(**changes)
        changed = frozenset(k for k in changes if getattr(old, k) != getattr(self.choices, k))
        if changed:
            self.choices_changed.emit(changed)

    def pick(self, point: int | None) -> None:
        self.picked = point
        self.picked_changed.emit()

    def select(self, points: np.ndarray | None) -> None:
        """Select map points (None or none: clear the selection)."""
        self.selection = None if points is None or not len(points) else np.unique(np.asarray(points, np.int64))
        self.selection_changed.emit()

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

    def add_group(self, points: np.ndarray) -> str:
        """Save map points as the next named group (A, B, ...); it holds their images, so it outlives the
        map (another projection or frame of the same split shows it too)."""
        n = len(self.groups)
        name = chr(ord("A") + n) if n < 26 else f"G{n + 1}"
        indices = self.map.indices[points] if self.map.indices is not None else np.asarray(points)
        self.groups[name] = (self.map.split, np.asarray(indices, np.int64))
        self.groups_changed.emit()
        return name

    def set_groups(self, groups: dict[str, tuple[str, np.ndarray]]) -> None:
        """Replace the groups (a saved view's): name -> (split, image indices)."""
        self.groups = {k: (split, np.asarray(idx, np.int64)) for k, (split, idx) in groups.items()}
        self.groups_changed.emit()

    def group_names(self) -> list[str]:
        """The groups that the current map can show (those of its split)."""
        return [k for k, (split, _) in self.groups.items() if self.map is not None and split == self.map.split]

    def members(self, name: str) -> np.ndarray:
        """Map points of a class name, a group ("group A") or the current selection ("selection")."""
        if name == "selection":
            return self.selection if self.selection is not None else np.zeros(0, np.int64)
        group = name.removeprefix("group ")
        if group != name and group in self.groups:
            return self.group_points(group)
        return np.flatnonzero(self.map.labels == self.classes.index(name))

    def group_points(self, name: str) -> np.ndarray:
        """The points of the current map that are in group `name`."""
        _, indices = self.groups[name]
        return indices if self.map.indices is None else np.flatnonzero(np.isin(self.map.indices, indices))

    def samples(self, n: int, temperature: float, seed: int) -> np.ndarray:
        from core.latent import sample_prior

        return sample_prior(self.model, n, temperature, seed)
