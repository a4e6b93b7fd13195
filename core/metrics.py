"""Typed values the trainer hands to its callers (step and epoch metrics, how a run ended), and
the run's History: the same records kept compactly as numpy columns.

Records cross thread boundaries (trainer thread -> GUI) as frozen dataclasses of plain floats.
Checkpoints store a History as columns of tensors; `History.from_dict` reads older list-of-dict files.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import Enum

import numpy as np


class Outcome(Enum):
    """How a training run ended."""

    FINISHED = "finished"  # reached its target step
    STOPPED = "stopped"  # the user (or closing the app) stopped it
    FAILED = "failed"  # an error stopped it (NaN loss, out of memory, ...)


class _Record:
    """to_dict / from_dict for the frozen metric dataclasses below."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        """Build from a stored dict; unknown keys are ignored, missing ones take their defaults."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class StepMetrics(_Record):
    """Training loss terms averaged over the steps since the previous report."""

    step: int
    loss: float
    recon: float
    kld: float
    beta: float = 1.0
    epoch: float = 0.0  # fractional: step / steps_per_epoch
    img_per_s: float = 0.0
    eta_s: float = 0.0
    total_steps: int = 0  # the step this run ends at
    wall_s: float = 0.0  # seconds of training behind this point, over every session of the run


@dataclass(frozen=True)
class EpochMetrics(_Record):
    """Test-set figures at an epoch end (or at the end of a run)."""

    step: int
    epoch: int
    test_mse: float  # of the decoded posterior means, per pixel
    test_psnr: float  # dB
    kl_per_dim: float  # nats
    test_recon: float = 0.0  # test loss terms in the training weighting, with a sampled z
    test_kld: float = 0.0
    test_loss: float = 0.0
    kl_dims: tuple = ()  # mean KL of each latent dimension, nats (core.loss.posterior_stats)
    active_units: int = 0  # dims with Var_x E[z|x] > 0.01
    informative_dims: int = 0  # dims with KL > 0.1 nat
    prior_mismatch: float = 0.0  # KL(Gaussian fit of the aggregate posterior || N(0, I)), nats
    knn: float = float("nan")  # class structure of the evaluated images' latent means (core.structure)


class MetricTable:
    """An append-only table of one record type as numpy columns (tuple fields become 2D columns).

    One thread appends; `view()` is an O(1) snapshot for another thread: it shares the buffers, and
    the rows below its length never change (a full buffer is replaced, not resized in place).
    """

    def __init__(self, record: type) -> None:
        self.record = record
        self._kinds = {f.name: f.type for f in fields(record)}  # "int", "float" or "tuple"
        self._cols: dict[str, np.ndarray] = {}
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def _column(self, name: str, value) -> np.ndarray:
        """The buffer for `name` with room for one more row (and for `value`'s width)."""
        width = len(value) if self._kinds[name] == "tuple" else None
        col = self._cols.get(name)
        if col is not None and self._n < len(col) and (width is None or width <= col.shape[1]):
            return col
        rows = max(16, 2 * self._n)
        shape = (rows,) if width is None else (rows, max(width, col.shape[1] if col is not None else 0))
        new = np.zeros(shape, np.int64) if self._kinds[name] == "int" else np.full(shape, np.nan)
        if col is not None:  # a new buffer, so views of the old one stay as they were
            new[(slice(0, self._n),) + tuple(slice(0, s) for s in col.shape[1:])] = col[:self._n]
        self._cols[name] = new
        return new

    def append(self, record) -> None:
        for name in self._kinds:
            value = getattr(record, name)
            col = self._column(name, value)
            if col.ndim == 2:
                col[self._n, :len(value)] = value
            else:
                col[self._n] = value
        self._n += 1

    def extend(self, records) -> None:
        for r in records:
            self.append(r)

    def column(self, name: str) -> np.ndarray:
        """The values of one field, oldest first (a read-only view: [N], or [N, width] for tuples)."""
        col = self._cols.get(name)
        if col is None:
            return np.zeros((0,), np.int64 if self._kinds[name] == "int" else np.float64)
        out = col[:self._n]
        out.flags.writeable = False
        return out

    def __getitem__(self, i: int):
        if not -self._n <= i < self._n:
            raise IndexError(f"row {i} of {self._n}")
        i %= self._n
        values = {}
        for name, kind in self._kinds.items():
            if name not in self._cols:
                continue
            v = self._cols[name][i]
            values[name] = (tuple(float(x) for x in v[~np.isnan(v)]) if kind == "tuple"
                            else int(v) if kind == "int" else float(v))
        return self.record(**values)

    def __iter__(self):
        return (self[i] for i in range(self._n))

    def view(self) -> "MetricTable":
        snapshot = MetricTable(self.record)
        snapshot._cols, snapshot._n = dict(self._cols), self._n
        return snapshot

    def to_dict(self) -> dict[str, np.ndarray]:
        return {name: col[:self._n].copy() for name, col in self._cols.items()}

    @classmethod
    def from_dict(cls, record: type, stored) -> "MetricTable":
        """From `to_dict` columns (numpy arrays or tensors), or from a list of record dicts (version 1)."""
        table = cls(record)
        if isinstance(stored, (list, tuple)):
            table.extend(record.from_dict(d) for d in stored)
            return table
        known = {k: np.asarray(v) for k, v in stored.items() if k in table._kinds}
        lengths = {len(v) for v in known.values()}
        if len(lengths) > 1:
            raise ValueError(f"history columns differ in length: {sorted(lengths)}")
        table._n = lengths.pop() if lengths else 0
        for name, v in known.items():
            kind = table._kinds[name]
            table._cols[name] = v.astype(np.int64 if kind == "int" else np.float64).copy()
        defaults = {f.name: f.default for f in fields(record)}
        for name, kind in table._kinds.items():  # a field newer than the file: its default in every row
            if name not in known and table._n and kind in ("int", "float"):
                table._cols[name] = np.full(table._n, defaults[name], np.int64 if kind == "int" else np.float64)
        return table


@dataclass
class History:
    """Everything a run logged: StepMetrics at log points and EpochMetrics at epoch ends."""

    steps: MetricTable = field(default_factory=lambda: MetricTable(StepMetrics))
    epochs: MetricTable = field(default_factory=lambda: MetricTable(EpochMetrics))

    def view(self) -> "History":
        """An O(1) snapshot that later appends do not change (safe to hand to another thread)."""
        return History(self.steps.view(), self.epochs.view())

    def to_dict(self) -> dict:
        return {"steps": self.steps.to_dict(), "epochs": self.epochs.to_dict()}

    @classmethod
    def from_dict(cls, d: dict | None) -> "History":
        d = d or {}
        return cls(MetricTable.from_dict(StepMetrics, d.get("steps") or []),
                   MetricTable.from_dict(EpochMetrics, d.get("epochs") or []))


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average with weight `weight` (0: none, 0.999: heavy),
    debiased so the first points are not pulled towards 0."""
    values = np.asarray(values, np.float64)
    if weight <= 0 or len(values) == 0:
        return values
    from scipy.signal import lfilter

    ema = lfilter([1 - weight], [1, -weight], values)
    return ema / (1 - weight ** np.arange(1, len(values) + 1))
