"""The contrastive option: augmented views, NT-Xent, its weight beside each loss weighting, the head in the
checkpoint, and what it does to the latents (two views of an image end up close)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from core.checkpoint import load_checkpoint, save_checkpoint
from core.config import PRESETS, ModelConfig, TrainConfig
from core.contrastive import augment, nt_xent, recon_scale
from core.model import to_float
from core.train import Trainer


def _images(shapes, n=64):
    return to_float(torch.from_numpy(shapes.test.images[:n]))


def test_views_differ_by_strength_and_stay_images(shapes):
    x = _images(shapes)
    gen = torch.Generator().manual_seed(0)
    plain = augment(x, 0.0, gen)  # strength 0: a flip at most
    flipped = torch.isclose(plain, x.flip(-1), atol=1e-5).flatten(1).all(1)
    same = torch.isclose(plain, x, atol=1e-5).flatten(1).all(1)
    assert bool((flipped | same).all()) and 0 < int(flipped.sum()) < len(x)
    strong = augment(x, 1.0, gen)
    assert strong.shape == x.shape and 0 <= strong.min() and strong.max() <= 1
    assert (strong - x).abs().mean() > 0.05  # crops and colours moved the pixels
    grey = _images(shapes)[:, :1]
    assert augment(grey, 1.0, gen).shape == grey.shape  # one channel: no saturation to jitter


def test_nt_xent_rewards_matching_views_and_starts_at_log_2b_minus_1():
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(32, 16, generator=gen)
    matched = nt_xent(h, h + 0.01 * torch.randn(32, 16, generator=gen))
    assert matched < 1.0 < nt_xent(h, h.roll(1, dims=0))  # each view beside its own image, or beside another's
    unrelated = nt_xent(torch.ones(32, 16), torch.ones(32, 16))  # every pair alike: nothing to find
    assert unrelated.item() == pytest.approx(math.log(2 * 32 - 1), rel=1e-4)


def test_the_weight_is_in_units_of_each_weighting_s_reconstruction_term():
    x = torch.full((4, 3, 8, 8), 0.5)
    recon = x + 0.2  # MSE 0.04
    assert recon_scale("elbo", recon, x) == 1.0
    assert recon_scale("sum", recon, x) == 4.0
    assert recon_scale("mean", recon, x) == pytest.approx(1 / 192)
    # 1 / (2 sigma^2), sigma^2 the MSE but for the soft clip's 2.5 % here
    assert float(recon_scale("calibrated", recon, x)) == pytest.approx(1 / (2 * 0.04), rel=0.03)


def test_contrastive_training_brings_two_views_of_an_image_together(shapes, small_model_config):
    """What the term is for: after training with it, an image's second view is found from its first among
    200 test images far more often than after the same training without it."""
    def agreement(model) -> float:
        gen = torch.Generator().manual_seed(1)
        x = _images(shapes, 200)
        with torch.no_grad():
            m1, m2 = (model.eval()(augment(x, 0.5, gen))[1] for _ in range(2))
        m1, m2 = ((m - m.mean(0)) / m.std(0) for m in (m1, m2))
        sim = F.normalize(m1, dim=1) @ F.normalize(m2, dim=1).T
        return (sim.argmax(1) == torch.arange(len(x))).float().mean().item()

    found = {}
    for weight in (0.0, 20.0):
        config = TrainConfig(steps=60, batch_size=32, log_every=20, loss="elbo", beta=0.5, contrast=weight,
                             live_map=False, device="cpu")
        trainer = Trainer(shapes, config, small_model_config)
        trainer.run()
        found[weight] = agreement(trainer.model)
    assert found[20.0] > found[0.0] + 0.08, found  # measured: 0.27-0.42 against 0.12-0.14 over three seeds


def test_the_head_travels_in_the_checkpoint_and_a_run_resumes_at_the_same_weights(shapes, tmp_path):
    model_config = ModelConfig(latent_dim=8, channels=8)

    def config(steps):
        return TrainConfig(steps=steps, batch_size=32, log_every=4, loss="calibrated", contrast=5, augment=0.8,
                           live_map=False, device="cpu")

    straight = Trainer(shapes, config(8), model_config)
    straight.run()
    first = Trainer(shapes, config(4), model_config)
    first.run()
    saved = load_checkpoint(save_checkpoint(first.checkpoint(), tmp_path / "half.pt"))
    assert set(saved.contrast_state) == {"head", "optimizer"}
    from core.runs import summarise

    assert summarise(saved, tmp_path / "half.pt").loss == "calibrated + NT-Xent 5"  # as the Runs table lists it
    resumed = Trainer(shapes, config(4), checkpoint=saved)
    resumed.run()
    assert resumed.step == 8
    for name, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    for name, value in straight.contrast.head.state_dict().items():
        assert torch.equal(value, resumed.contrast.head.state_dict()[name]), name


def test_a_checkpoint_whose_head_does_not_fit_is_refused_with_a_message(shapes, tmp_path):
    trainer = Trainer(shapes, TrainConfig(steps=2, batch_size=16, contrast=1, live_map=False),
                      ModelConfig(latent_dim=8, channels=8))
    trainer.run()
    ckpt = trainer.checkpoint()
    ckpt.contrast_state["head"]["0.weight"] = torch.zeros(3, 3)
    path = save_checkpoint(ckpt, tmp_path / "bad.pt")
    with pytest.raises(Exception, match="does not fit"):
        load_checkpoint(path)


def test_train_preset_applies_its_settings_and_a_flag_overrides_it():
    from core.cli import _train_settings, build_parser

    preset = PRESETS[-1]
    args = build_parser().parse_args(["train", "--preset", preset.name])
    assert _train_settings(args) == preset.settings()
    args = build_parser().parse_args(["train", "--preset", preset.name, "--beta", "3"])
    assert _train_settings(args) == preset.settings() | {"beta": 3.0}
    defaults = TrainConfig()
    assert _train_settings(build_parser().parse_args(["train"]))["loss"] == defaults.loss
