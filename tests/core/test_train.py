"""The training loop: it learns, it obeys pause/stop, it refuses NaN, it resumes exactly."""
import math
import threading

import pytest
import torch

from core.config import TrainConfig
from core.devices import select_device
from core.metrics import Outcome
from core.train import TrainControl, Trainer, TrainingError


def test_loss_goes_down_on_shapes(shapes, small_model_config):
    trainer = Trainer(shapes, TrainConfig(steps=120, batch_size=32, log_every=10), small_model_config)
    seen = []
    assert trainer.run(on_step=seen.append) is Outcome.FINISHED
    assert seen[-1].loss < 0.6 * seen[0].loss
    epoch_ends = set(range(trainer.steps_per_epoch, 121, trainer.steps_per_epoch))  # log points too
    assert [m.step for m in seen] == sorted(set(range(10, 121, 10)) | epoch_ends)
    assert seen[-1].img_per_s > 0 and seen[-1].eta_s == 0
    epochs = trainer.history.epochs
    assert len(epochs) and epochs[-1].test_psnr > 12 and epochs[-1].kl_per_dim > 0
    # the test loss is in the training weighting's units, so it plots beside the training curve
    assert 0.5 < epochs[-1].test_loss / seen[-1].loss < 1.5


def test_epochs_mode_reports_each_epoch(shapes, small_model_config):
    trainer = Trainer(shapes, TrainConfig(epochs=2, batch_size=500), small_model_config)
    ends = []
    trainer.run(on_epoch=ends.append)
    assert [m.step for m in ends] == [4, 8] and [m.epoch for m in ends] == [1, 2]


def test_stop_and_pause_flags(shapes, small_model_config):
    control = TrainControl()
    trainer = Trainer(shapes, TrainConfig(steps=1000, batch_size=16, log_every=1), small_model_config)

    def on_step(m):
        if m.step == 5:
            control.stop()

    assert trainer.run(on_step=on_step, control=control) is Outcome.STOPPED
    assert trainer.step == 5

    control = TrainControl()
    control.pause()
    result = []
    thread = threading.Thread(target=lambda: result.append(trainer.run(control=control)))
    thread.start()
    thread.join(0.3)
    assert thread.is_alive() and trainer.step == 5  # paused: no progress
    control.stop()
    thread.join(5)
    assert result == [Outcome.STOPPED] and trainer.step == 5


def test_nan_loss_stops_with_message_and_keeps_weights(shapes, small_model_config, monkeypatch):
    import core.train

    trainer = Trainer(shapes, TrainConfig(steps=50, batch_size=16), small_model_config)
    real_loss = core.train.vae_loss

    def poisoned(*args, **kwargs):
        terms = real_loss(*args, **kwargs)
        if trainer.step == 3:
            terms["loss"] = terms["loss"] * float("nan")
        return terms

    monkeypatch.setattr(core.train, "vae_loss", poisoned)
    for _ in range(3):
        trainer.train_step()
    good = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with pytest.raises(TrainingError, match="learning rate"):
        trainer.run()
    assert trainer.step == 3
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, good[k]), k


def test_exact_resume(shapes, small_model_config):
    config = TrainConfig(steps=30, batch_size=64, log_every=10, device="cpu")  # CUDA is not bitwise deterministic
    straight = Trainer(shapes, TrainConfig(steps=60, batch_size=64, log_every=10, device="cpu"), small_model_config)
    straight.run()
    first = Trainer(shapes, config, small_model_config)
    first.run()
    resumed = Trainer(shapes, config, checkpoint=first.checkpoint())
    assert resumed.step == 30
    resumed.run()
    assert resumed.step == 60
    for k, v in straight.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    s, r = straight.optimizer.state_dict()["state"], resumed.optimizer.state_dict()["state"]
    assert all(torch.equal(s[i]["exp_avg_sq"], r[i]["exp_avg_sq"]) for i in s)


def test_device_selection():
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available"):
            select_device("cuda")


def test_invalid_config_is_refused(shapes):
    with pytest.raises(ValueError, match="lr"):
        Trainer(shapes, TrainConfig(lr=-1))


def test_cosine_schedule_with_warmup_and_gradient_clipping(shapes, small_model_config, monkeypatch):
    config = TrainConfig(steps=100, batch_size=16, lr=1e-3, lr_schedule="cosine", lr_warmup=10, grad_clip=0.5,
                         live_map=False)
    trainer = Trainer(shapes, config, small_model_config)
    lrs = {}
    clipped = []
    real_clip = torch.nn.utils.clip_grad_norm_
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda p, n: clipped.append(n) or real_clip(p, n))
    for _ in range(100):
        lrs[trainer.step] = trainer.learning_rate()
        trainer.train_step()
    assert lrs[0] == pytest.approx(1e-4 * 0.5 * (1 + 1))  # warm-up: 1/10 of the rate, cosine at its top
    assert lrs[9] == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * 0.09)))
    assert lrs[50] == pytest.approx(0.5e-3) and lrs[99] < 1e-5  # half way: half; the end: almost 0
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(lrs[99])
    assert clipped == [0.5] * 100
    assert Trainer(shapes, TrainConfig(steps=5), small_model_config).learning_rate() == 1e-3  # constant by default


@pytest.mark.parametrize("bad_step", [7, 10])  # 10: the last step before the log point, whose loss nobody sees
def test_a_non_finite_gradient_is_caught_at_the_log_point_and_undone(shapes, small_model_config, bad_step):
    trainer = Trainer(shapes, TrainConfig(steps=50, batch_size=16, log_every=5, live_map=False), small_model_config)
    poisoned = [True]
    weight = next(trainer.model.parameters())  # a finite loss whose gradients overflowed
    weight.register_hook(lambda g: g * math.inf if poisoned[0] and trainer.step == bad_step - 1 else g)
    good = {}
    seen = []

    def on_step(m):
        seen.append(m.step)
        good.update({k: v.clone() for k, v in trainer.model.state_dict().items()})

    undone = r"between steps 6 and 10; the model went back to step 5 \(5 steps undone\)"
    with pytest.raises(TrainingError, match=undone):
        trainer.run(on_step=on_step)
    assert seen == [5] and trainer.step == 5
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, good[k]), k
    poisoned[0] = False
    assert trainer.run() is Outcome.FINISHED and trainer.step == 50  # resumes from the good state


def test_amp_is_chosen_by_compute_capability(monkeypatch):
    from core.devices import amp_dtype, autocast

    assert amp_dtype(torch.device("cpu")) is None and amp_dtype(torch.device("mps")) is None
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    assert amp_dtype(torch.device("cuda")) is torch.bfloat16  # H100
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    assert amp_dtype(torch.device("cuda")) is torch.float16  # T4: bf16 would be emulated; fp16 + GradScaler
    with autocast(torch.device("cpu"), None):  # a null context, not a disabled autocast
        assert not torch.is_autocast_enabled("cpu")


def test_a_checkpoint_from_another_device_resumes_here(shapes, small_model_config, tmp_path):
    """What a CUDA run saves: fused Adam groups with float32 step tensors (and, in older files, a
    16-byte CUDA generator state). Built by hand here, since no GPU is present; it resumes on the CPU."""
    from core.checkpoint import load_checkpoint, save_checkpoint

    config = TrainConfig(steps=20, batch_size=32, device="cpu", live_map=False)
    first = Trainer(shapes, config, small_model_config)
    first.run()
    ckpt = first.checkpoint()
    for group in ckpt.optimizer_state["param_groups"]:
        group.update(fused=True, foreach=None)
    for state in ckpt.optimizer_state["state"].values():
        state["step"] = state["step"].to(torch.float32)
    moments = {i: s["exp_avg"].clone() for i, s in ckpt.optimizer_state["state"].items()}
    save_checkpoint(ckpt, tmp_path / "cuda.pt")
    payload = torch.load(tmp_path / "cuda.pt", weights_only=True)
    payload["rng_state"] = torch.zeros(16, dtype=torch.uint8)  # a CUDA Philox state, which a CPU generator refuses
    torch.save(payload, tmp_path / "cuda.pt")
    resumed = Trainer(shapes, config, checkpoint=load_checkpoint(tmp_path / "cuda.pt"))
    assert resumed.step == 20 and not resumed.optimizer.param_groups[0]["fused"]
    state = resumed.optimizer.state_dict()["state"]
    assert all(torch.equal(state[i]["exp_avg"], moments[i]) for i in moments)
    assert all(float(state[i]["step"]) == 20 for i in state)
    assert resumed.run() is Outcome.FINISHED and resumed.step == 40
