"""Typed values the trainer hands to its callers: step and epoch metrics, and how a run ended.

They cross thread boundaries (trainer thread -> GUI) as frozen dataclasses of plain floats;
checkpoints store them as dicts (`to_dict`), and `from_dict` reads older checkpoints too.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from enum import Enum


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
class StepTerms(_Record):
    """The loss terms of one optimizer step (training weighting)."""

    loss: float
    recon: float
    kld: float
    beta: float


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
