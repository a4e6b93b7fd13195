"""Which device to train on, how many CPU threads, and what each device can do (Capabilities): the one
place the trainer, evaluation, encoding and the app read float64, fused Adam, layout and autocast from.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Capabilities:
    """What a device allows, checked against PyTorch's own rules for it."""

    float64: bool  # MPS has no float64 ("Cannot convert a MPS Tensor to float64 dtype")
    fused_adam: bool  # torch's fused Adam kernel (params, grads and moments must share one layout)
    channels_last: bool  # convolutions are faster in NHWC (cuDNN tensor cores)
    autocast: torch.dtype | None  # mixed precision in the forward pass; fp16 comes with a GradScaler
    shared: bool  # a second thread may run inference on it while training does
    cudnn_benchmark: bool = False  # every training batch has one shape: let cuDNN pick its fastest kernels

    @property
    def grad_scaler(self) -> bool:
        return self.autocast is torch.float16


CPU = Capabilities(float64=True, fused_adam=False, channels_last=False, autocast=None, shared=True)
# MPS: no float64; one thread at a time (its command queue is not safe to share between threads)
MPS = Capabilities(float64=False, fused_adam=False, channels_last=False, autocast=None, shared=False)
BY_TYPE = {"cpu": CPU, "mps": MPS}  # CUDA's depends on the card (see capabilities)


def capabilities(device: torch.device) -> Capabilities:
    """The Capabilities of `device`; on CUDA the autocast dtype follows its compute capability."""
    if device.type == "cuda":
        return Capabilities(float64=True, fused_adam=True, channels_last=True, autocast=amp_dtype(device),
                            shared=True, cudnn_benchmark=True)
    return BY_TYPE[device.type]


def select_device(name: str = "auto") -> torch.device:
    """auto picks cuda > mps > cpu. Asking for a missing accelerator is a ValueError."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise ValueError(f"device {name!r} is not available on this machine; use auto or cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be auto, cpu, cuda or mps, got {name!r}")
    return torch.device(name)


def cpu_threads(requested: int = 0) -> int:
    """Threads for torch on the CPU: `requested`, or 0 for every core this process may use."""
    if requested:
        return requested
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return len(usable) if usable else os.cpu_count() or 1


def device_label(device: torch.device) -> str:
    """Human description, e.g. "CUDA: NVIDIA A100" or "CPU, 1 of 2 threads"."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU, {torch.get_num_threads()} of {os.cpu_count()} threads"


def amp_dtype(device: torch.device) -> torch.dtype | None:
    """Autocast dtype by capability: bf16 on CUDA from compute capability 8.0 (Ampere), fp16 with a
    GradScaler below it (bf16 is only emulated there), none on the CPU and MPS."""
    if device.type != "cuda":
        return None
    major, _ = torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None):
    """torch.autocast for `dtype`, or a null context (not a disabled autocast, which older torch refuses on MPS)."""
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def release_memory(device: torch.device) -> None:
    """Give the caching allocator's unused blocks back once a run's tensors are gone (CUDA, MPS)."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()
