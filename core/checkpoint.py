"""Checkpoints: atomic save, and a safe load that never runs code from the file.

A checkpoint is a dict of plain values and tensors loaded with `torch.load(weights_only=True)`.
A bare reference `state_dict` loads too. Every problem with a file raises CheckpointError.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.config import ModelConfig, TrainConfig
from core.metrics import History
from core.model import ConvVAE, config_from_state_dict

FORMAT = "vae-explorer-checkpoint"
VERSION = 1
FIX = "Open a checkpoint saved by VAE Latent Explorer or a ConvVAE state_dict."


class CheckpointError(Exception):
    """A checkpoint cannot be saved or loaded; the message names the file and the fix."""


@dataclass
class Checkpoint:
    model_config: ModelConfig
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict | None = None
    step: int = 0
    epoch: int = 0
    history: History = field(default_factory=History)
    train_config: TrainConfig | None = None
    dataset: str | None = None
    classes: list[str] | None = None
    map_frames: dict | None = None  # core.live_map.LiveMap.to_dict(): the run's live-map frames
    structure: str = ""  # how its kNN figures were measured: core.structure.PROTOCOL_ID ("": an older measure)
    contrast_state: dict | None = None  # the contrastive option's head and its Adam state (core.contrastive)
    trainable = True  # a core.model_file.ModelFile is explored only

    @property
    def old_measure(self) -> bool:
        """Its stored kNN figures (history, live frames) were measured before core.structure's protocol."""
        from core.structure import PROTOCOL_ID

        return self.structure != PROTOCOL_ID

    def check_images(self, images, name: str, data_name: str) -> None:
        check_images(self.model_config, images, name, data_name)

    def build_model(self) -> ConvVAE:
        """A new CPU model holding these weights (strict: every key and shape must match)."""
        model = ConvVAE.from_config(self.model_config)
        model.load_state_dict(self.model_state)
        return model

    def to_dict(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION,
            "model_config": self.model_config.to_dict(), "model": self.model_state,
            "optimizer": self.optimizer_state, "step": self.step, "epoch": self.epoch,
            "history": {k: _tensors(v) for k, v in self.history.to_dict().items()},
            "train_config": self.train_config.to_dict() if self.train_config else None,
            "dataset": self.dataset, "classes": self.classes,
            "map_frames": _tensors(self.map_frames), "structure": self.structure, "contrast": self.contrast_state,
        }


def check_images(config, images, name: str, data_name: str) -> None:
    """ValueError naming both sizes unless uint8 [N, C, H, W] `images` are the size a model of `config` (a
    ModelConfig, or a model file's ModelShape) takes."""
    if (config.img_size, config.in_ch) != (images.shape[2], images.shape[1]):
        raise ValueError(f"{name} takes {config.img_size} px, {config.in_ch}-channel images; {data_name} has "
                         f"{images.shape[2]} px, {images.shape[1]}-channel ones")


def _tensors(frames: dict | None) -> dict | None:
    """numpy arrays -> tensors, which torch.load(weights_only=True) reads back."""
    if frames is None:
        return None
    return {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in frames.items()}


def _frames(payload: dict) -> dict | None:
    """The stored live-map frames, checked; None when the checkpoint has none (older files)."""
    from core.live_map import LiveMap

    frames = payload.get("map_frames")
    if frames is None:
        return None
    try:
        return LiveMap.from_dict(frames).to_dict()
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"its live-map frames are malformed ({e})") from e


def _history(stored) -> History:
    """The stored history, checked: columns of tensors, or version-1 lists of dicts."""
    try:
        return History.from_dict(stored)
    except (TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"its training history is malformed ({e})") from e


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "wb"):
    """Write `path` all or nothing: into a temp file in the same folder, renamed over `path` when the block
    ends; on any error the temp file goes and a previous file stays as it was."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(ckpt: Checkpoint, path: str | os.PathLike) -> Path:
    """Write `path` atomically (atomic_file), fsynced, and the rename made durable."""
    path = Path(path).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as f:
            torch.save(ckpt.to_dict(), f)
            f.flush()
            os.fsync(f.fileno())
        if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
            dfd = os.open(path.parent, os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    except OSError as e:
        raise CheckpointError(
            f"Could not save checkpoint to {path}: {e.strerror or e}. "
            f"Choose a folder you can write to with free space; any previous file there is unchanged."
        ) from e
    return path


def _as_int(d: dict, key: str) -> int:
    value = d.get(key, 0)
    if not isinstance(value, int):
        raise CheckpointError(f"field {key!r} should be a whole number")
    return value


def _from_payload(payload) -> Checkpoint:
    if not isinstance(payload, dict):
        raise CheckpointError(f"it holds a {type(payload).__name__}, not a checkpoint or state_dict")
    if payload.get("format") == FORMAT:
        if payload.get("version") != VERSION:
            raise CheckpointError(f"format version {payload.get('version')!r} is not supported (expected {VERSION})")
        tc = payload.get("train_config")
        return Checkpoint(
            model_config=ModelConfig(**payload["model_config"]),
            model_state=payload["model"],
            optimizer_state=payload.get("optimizer"),
            step=_as_int(payload, "step"), epoch=_as_int(payload, "epoch"),
            history=_history(payload.get("history")),
            train_config=TrainConfig.from_dict(tc) if tc else None,
            dataset=payload.get("dataset"), classes=payload.get("classes"),
            map_frames=_frames(payload),
            structure=payload.get("structure") if isinstance(payload.get("structure"), str) else "",
            contrast_state=payload.get("contrast") if isinstance(payload.get("contrast"), dict) else None,
        )
    if "encoder.0.weight" in payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
        return Checkpoint(model_config=config_from_state_dict(payload), model_state=payload)
    raise CheckpointError("it is neither a VAE Latent Explorer checkpoint nor a ConvVAE state_dict")


def _read(path: Path, mmap: bool = False):
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} does not exist. {FIX}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if "weights_only" in str(e) or "Unsupported global" in str(e):
            msg = "it contains Python objects that could run code, so it was refused"
        raise CheckpointError(f"Cannot load checkpoint {path}: {msg}. {FIX}") from e


def peek_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """A checkpoint's settings and history without reading its weights (memory-mapped, not validated
    against the model: for listing runs and overlaying curves, never for training or exploring)."""
    path = Path(path).expanduser()
    payload = _read(path, mmap=True)
    try:
        return _from_payload(payload)
    except (CheckpointError, TypeError, ValueError, KeyError) as e:
        raise CheckpointError(f"Cannot read checkpoint {path}: {e}") from e


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load and fully validate a checkpoint. Only tensors and plain values are unpickled."""
    path = Path(path).expanduser()
    payload = _read(path)
    try:
        ckpt = _from_payload(payload)
        model = ckpt.build_model()  # proves keys and shapes; nothing is returned half-loaded
        if ckpt.optimizer_state is not None:
            torch.optim.Adam(model.parameters()).load_state_dict(ckpt.optimizer_state)
        if ckpt.contrast_state is not None:  # the contrastive head beside it, and its Adam state
            from core.contrastive import ContrastiveTerm

            ContrastiveTerm(ckpt.model_config.latent_dim, 1.0, 0.5, 1e-3, torch.device("cpu"), {}, ckpt.contrast_state)
    except CheckpointError as e:
        raise CheckpointError(f"Cannot load checkpoint {path}: {e}. {FIX}") from e
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"Cannot load checkpoint {path}: it does not fit the ConvVAE ({first}). {FIX}") from e
    return ckpt
