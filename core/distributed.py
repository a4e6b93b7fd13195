"""Data-parallel training across processes launched by torchrun (one process per GPU, or several on CPUs).

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; `Ranks.from_environment` reads them, `start` joins the
process group (NCCL on CUDA, gloo on the CPU) and picks this process's device. The trainer shards
each global batch by rank and wraps the model in DistributedDataParallel; rank 0 logs and saves.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import torch

DEFAULT_TIMEOUT_S = 300  # a collective waits this long for a lost process before it fails


class PeerLost(RuntimeError):
    """Another process of the job died or stopped answering; the message says what to do."""


@dataclass(frozen=True)
class Ranks:
    """Where this process sits in the job: rank (global), world (processes in all), local (on this node)."""

    rank: int = 0
    world: int = 1
    local: int = 0

    @property
    def main(self) -> bool:
        """Rank 0 logs, evaluates, draws live-map frames and writes checkpoints."""
        return self.rank == 0

    @classmethod
    def from_environment(cls) -> "Ranks":
        """The ranks torchrun set, or a single process (rank 0 of 1) when it did not launch us."""
        try:
            world = int(os.environ.get("WORLD_SIZE", "1"))
            rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
        except ValueError as e:
            raise ValueError(f"RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers ({e}); "
                             f"launch with torchrun") from e
        if not 0 <= rank < world:
            raise ValueError(f"RANK {rank} is outside WORLD_SIZE {world}; launch with torchrun")
        return cls(rank, world, local)


def start(ranks: Ranks, device: torch.device, timeout_s: float = DEFAULT_TIMEOUT_S) -> torch.device:
    """Join the job's process group; -> this process's device (cuda:LOCAL_RANK on CUDA)."""
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", ranks.local)
        torch.cuda.set_device(device)
    elif device.type == "mps":
        raise ValueError("multi-process training runs on CUDA (NCCL) or the CPU (gloo), not on Apple MPS; "
                         "pass --device cpu or run a single process")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=ranks.rank,
                                world_size=ranks.world, timeout=timedelta(seconds=timeout_s))
    return device


def stop() -> None:
    """Leave the process group (a no-op when none was joined)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_sum(t: torch.Tensor, ranks: Ranks) -> torch.Tensor:
    """Sum `t` over all processes in place (nothing to do for one process). Raises PeerLost."""
    if ranks.world > 1:
        import torch.distributed as dist

        with lost_peers(ranks):
            dist.all_reduce(t)
    return t


@contextmanager
def lost_peers(ranks: Ranks):
    """Turns a failed collective (a peer killed, a network gone, a timeout) into PeerLost."""
    try:
        yield
    except RuntimeError as e:
        if ranks.world > 1 and not isinstance(e, PeerLost) and _is_collective_error(e):
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise PeerLost(
                f"Rank {ranks.rank} of {ranks.world}: another training process stopped or stopped answering "
                f"({first}). This process stops too; resume from the last checkpoint rank 0 wrote with --resume."
            ) from e
        raise


def _is_collective_error(error: RuntimeError) -> bool:
    import torch.distributed as dist

    backend_error = getattr(dist, "DistBackendError", None)
    if backend_error is not None and isinstance(error, backend_error):
        return True
    text = str(error).lower()
    return any(s in text for s in ("connection closed", "connection reset", "timed out", "timeout", "gloo",
                                   "nccl", "broken pipe", "peer"))
