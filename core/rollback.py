"""Rollback: a last-good copy of a model's training state (weights, BatchNorm statistics, Adam's
moments) on its device, kept at log points so that steps which went bad (a NaN or infinite loss or
gradient) can be undone without copying anything at every step; and moving that state between
devices (Adam's moments from a checkpoint, CPU copies for one).
"""
from __future__ import annotations

import torch


class Rollback:
    """Of `model` (the modules trained: the model, and a loss term's head beside it) and its optimizers."""

    def __init__(self, model: torch.nn.Module, *optimizers: torch.optim.Optimizer):
        self.model, self.optimizers = model, optimizers
        self.step: int | None = None  # the step the copy was taken at
        self._kept: list[torch.Tensor] = []

    def _state(self) -> list[torch.Tensor]:
        """The tensors a bad step spoils: weights, BatchNorm statistics and Adam's moments."""
        tensors = [*self.model.parameters(), *self.model.buffers()]
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                for p in group["params"]:
                    tensors += [v for v in optimizer.state.get(p, {}).values() if isinstance(v, torch.Tensor)]
        return tensors

    def spoiled(self) -> torch.Tensor:
        """1.0 on the device (no sync) when a weight or BatchNorm statistic is NaN or infinite. A NaN or
        infinite gradient always ends there: Adam turns it into a NaN update, and so does a gradient clip."""
        weights = [t.detach() for t in self.model.state_dict().values() if t.is_floating_point()]
        total = torch.stack([w.sum() for w in weights]).sum()  # NaN and infinities survive a sum; 0.8 ms here
        return (~torch.isfinite(total)).float()

    def keep(self, step: int) -> None:
        """Copy the state on the device (reusing the copies) as the one to go back to."""
        live = [t.detach() for t in self._state()]
        if len(self._kept) != len(live):
            self._kept = [t.clone() for t in live]
        else:
            for kept, t in zip(self._kept, live):
                kept.copy_(t)
        self.step = step

    def restore(self) -> int:
        """Put the kept state back -> the step it was kept at."""
        live = self._state()
        if len(live) != len(self._kept):  # Adam had no moments yet at the kept step
            for optimizer in self.optimizers:
                optimizer.state.clear()
            live = self._state()
        with torch.no_grad():
            for t, k in zip(live, self._kept):
                t.copy_(k)
        return self.step


def load_adam_state(optimizer: torch.optim.Optimizer, state: dict, lr: float) -> None:
    """Adam's state from a checkpoint saved on any device: the moments move here in their parameter's
    layout (fused Adam needs params, grads and moments alike; `load_state_dict` keeps the saved, contiguous
    one), and this device's implementation (fused on CUDA) is kept rather than the saving device's."""
    defaults = optimizer.defaults
    own = {k: defaults[k] for k in ("fused", "foreach", "capturable") if k in defaults}
    optimizer.load_state_dict(state)
    on_device = bool(own.get("fused") or own.get("capturable"))
    for group in optimizer.param_groups:
        group.update(own, lr=lr)
        for p in group["params"]:
            st = optimizer.state.get(p, {})
            for key, value in st.items():
                if isinstance(value, torch.Tensor) and value.shape == p.shape:  # exp_avg, exp_avg_sq
                    st[key] = torch.empty_like(p).copy_(value)  # p's strides (channels_last on CUDA)
            if isinstance(st.get("step"), torch.Tensor):  # fused Adam keeps it on the device, others on the CPU
                st["step"] = st["step"].to(p.device if on_device else "cpu", torch.float32)


def cpu_copy(obj):
    """Tensors (in dicts and lists, as state_dicts hold them) copied to the CPU: safe to save or hand over."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [cpu_copy(v) for v in obj]
    return obj
