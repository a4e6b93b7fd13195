"""The live map: a fixed subset of images encoded with the model in training, at epoch ends and at a
set interval, each frame projected by PCA aligned to the previous one (no flips, no spins).

Frames are compact (float16 coordinates plus the 2D basis) and travel in checkpoints, so an opened
checkpoint replays the run. No Qt: the app's training worker and the CLI both drive it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from core.latent import LatentMap, encode
from core.structure import class_structure


@dataclass
class MapFrame:
    step: int
    coords: np.ndarray  # [N, 2] float16
    components: np.ndarray  # [2, D] float32
    mean: np.ndarray  # [D] float32
    explained: np.ndarray  # [2] float32
    knn: float = float("nan")  # class structure of this frame's latent means (core.structure's kNN)

    def latent_map(self, mu: np.ndarray | None = None) -> LatentMap:
        return LatentMap(mu, self.coords.astype(np.float32), self.explained, self.components, self.mean)


@dataclass
class LiveMap:
    """Frames of one fixed subset (`indices` into `split`) of a dataset."""

    split: str
    indices: np.ndarray  # [N] int64
    frames: list[MapFrame] = field(default_factory=list)
    last_mu: np.ndarray | None = None  # the newest frame's latent means (not stored in checkpoints)

    @classmethod
    def choose(cls, n_images: int, size: int, split: str = "test", seed: int = 0) -> "LiveMap":
        """A fixed-seed subset of `size` images (all of them if size is 0 or more than there are)."""
        if size <= 0 or size >= n_images:
            return cls(split, np.arange(n_images, dtype=np.int64))
        rng = np.random.default_rng(seed)
        return cls(split, np.sort(rng.choice(n_images, size, replace=False)).astype(np.int64))

    def capture(self, model, images: np.ndarray, step: int, labels: np.ndarray | None = None) -> MapFrame:
        """Encode this subset of the split's `images` with `model` and add an aligned frame (with the kNN accuracy
        of its latent means when the split's `labels` are given: a few ms for 1,000 images)."""
        mu = encode(model, images[self.indices])
        previous = self.frames[-1].coords.astype(np.float32) if self.frames else None
        lmap = LatentMap.fit(mu, align_to=previous)
        subset = labels[self.indices] if labels is not None else None
        knn = class_structure(mu, subset) if subset is not None else float("nan")
        frame = MapFrame(step, lmap.coords.astype(np.float16), lmap.components, lmap.mean, lmap.explained, knn)
        self.frames.append(frame)
        self.last_mu = mu
        return frame

    def to_dict(self) -> dict:
        return {
            "split": self.split, "indices": self.indices,
            "steps": np.array([f.step for f in self.frames], np.int64),
            "coords": np.stack([f.coords for f in self.frames]).astype(np.float16),
            "components": np.stack([f.components for f in self.frames]).astype(np.float32),
            "means": np.stack([f.mean for f in self.frames]).astype(np.float32),
            "explained": np.stack([f.explained for f in self.frames]).astype(np.float32),
            "knn": np.array([f.knn for f in self.frames], np.float32),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "LiveMap":
        """Rebuild from `to_dict` output (numpy arrays or tensors); ValueError if shapes disagree."""
        arrays = {k: np.asarray(d[k].numpy() if hasattr(d[k], "numpy") else d[k])
                  for k in ("indices", "steps", "coords", "components", "means", "explained")}
        f, n = len(arrays["steps"]), len(arrays["indices"])
        dims = arrays["components"].shape[-1] if arrays["components"].ndim == 3 else -1
        expected = {"coords": (f, n, 2), "components": (f, 2, dims), "means": (f, dims), "explained": (f, 2)}
        for k, shape in expected.items():
            if arrays[k].shape != shape:
                raise ValueError(f"map frames: {k} has shape {arrays[k].shape}, expected {shape}")
        if d.get("split") not in ("test", "train", "all"):
            raise ValueError(f"map frames: unknown split {d.get('split')!r}")
        stored = d.get("knn")
        knn = np.asarray(stored.numpy() if hasattr(stored, "numpy") else stored) if "knn" in d else np.full(f, np.nan)
        frames = [MapFrame(int(arrays["steps"][i]), arrays["coords"][i], arrays["components"][i],
                           arrays["means"][i], arrays["explained"][i], float(knn[i]) if i < len(knn) else float("nan"))
                  for i in range(f)]
        return cls(d["split"], arrays["indices"].astype(np.int64), frames)


class LiveMapClock:
    """When to capture: at epoch ends at least `min_gap_s` apart (on a GPU epochs take a second),
    and every `interval_s` seconds of training in between (0: epoch ends only)."""

    def __init__(self, interval_s: float, min_gap_s: float = 0.0) -> None:
        self.interval_s, self.min_gap_s, self._last = interval_s, min_gap_s, time.monotonic()

    def due(self, epoch_end: bool) -> bool:
        elapsed = time.monotonic() - self._last
        return (epoch_end and elapsed >= self.min_gap_s) or (self.interval_s > 0 and elapsed >= self.interval_s)

    def reset(self) -> None:
        self._last = time.monotonic()
