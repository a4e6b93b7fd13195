"""Device capabilities: the CUDA and MPS rules the trainer follows, checked on the CPU by running it as if
it were that device (a channels_last model with its moments loaded from a contiguous checkpoint; no float64)."""
import dataclasses

import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

from core import devices
from core.config import TrainConfig
from core.metrics import Outcome
from core.train import Trainer


class RefuseFloat64(TorchFunctionMode):
    """Fails any torch call that makes a float64 tensor, as MPS does ("Cannot convert a MPS Tensor to
    float64 dtype"). Host-side statistics belong in numpy."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if any(isinstance(t, torch.Tensor) and t.dtype is torch.float64 for t in tree_leaves(out)):
            raise AssertionError(f"{getattr(func, '__name__', func)} made a float64 tensor, which MPS refuses")
        return out


def test_the_refusal_itself_catches_float64():
    with RefuseFloat64(), pytest.raises(AssertionError, match="float64"):
        torch.zeros(2, dtype=torch.float64)


def test_the_trainer_and_its_evaluation_run_as_if_on_mps(shapes, small_model_config):
    config = TrainConfig(epochs=1, batch_size=250, device="cpu")  # an epoch end: evaluation and a live-map frame
    trainer = Trainer(shapes, config, small_model_config, caps=devices.MPS)
    frames = []
    with RefuseFloat64():
        assert trainer.run(on_frame=frames.append) is Outcome.FINISHED
    assert trainer.history.epochs[-1].test_psnr > 5 and frames
    assert isinstance(trainer.optimizer.param_groups[0]["foreach"], bool) and not trainer.optimizer.defaults["fused"]


def test_adam_moments_take_their_parameter_layout_when_resumed(shapes, small_model_config):
    """A CPU (contiguous) checkpoint resumed where the model is channels_last, as on CUDA: fused Adam needs
    every moment in its parameter's layout; load_state_dict alone keeps the saved, contiguous one."""
    config = TrainConfig(steps=6, batch_size=32, device="cpu", live_map=False)
    first = Trainer(shapes, config, small_model_config)
    first.run()
    like_cuda = dataclasses.replace(devices.CPU, channels_last=True)
    resumed = Trainer(shapes, config, checkpoint=first.checkpoint(), caps=like_cuda)
    conv = [p for p in resumed.model.parameters() if p.dim() == 4]
    assert conv and all(p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous() for p in conv)
    for p in resumed.model.parameters():
        for name in ("exp_avg", "exp_avg_sq"):
            moment = resumed.optimizer.state[p][name]
            assert moment.stride() == p.stride(), (name, p.shape)
    assert resumed.run() is Outcome.FINISHED and resumed.step == 12


def test_capabilities_by_device(monkeypatch):
    cpu, mps = devices.capabilities(torch.device("cpu")), devices.capabilities(torch.device("mps"))
    assert cpu.float64 and cpu.shared and not cpu.fused_adam and cpu.autocast is None
    assert not mps.float64 and not mps.shared and mps.autocast is None
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    h100 = devices.capabilities(torch.device("cuda"))
    assert h100.fused_adam and h100.channels_last and h100.cudnn_benchmark
    assert h100.autocast is torch.bfloat16 and not h100.grad_scaler
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    assert devices.capabilities(torch.device("cuda")).grad_scaler  # T4: fp16 with a GradScaler
