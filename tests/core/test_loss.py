"""The loss against its closed form, in each weighting."""
import math

import pytest
import torch

from core.loss import kl_per_sample, vae_loss, warmup_beta


def test_kl_is_zero_for_standard_normal_posterior():
    assert torch.allclose(kl_per_sample(torch.zeros(5, 7), torch.zeros(5, 7)), torch.zeros(5))


def test_kl_closed_form_one_dimension():
    # KL(N(1, e^1) || N(0,1)) = 0.5 * (e + 1 - 1 - 1) = 0.5 * (e - 1)
    kl = kl_per_sample(torch.tensor([[1.0]]), torch.tensor([[1.0]]))
    assert kl.item() == pytest.approx(0.5 * (math.e - 1), rel=1e-6)


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    x, recon = torch.rand(4, 3, 8, 8, generator=g), torch.rand(4, 3, 8, 8, generator=g)
    mu, logvar = torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g) * 0.3
    sq = ((recon - x) ** 2).sum(dim=(1, 2, 3))
    kl = torch.stack([-0.5 * sum(1 + logvar[i, j] - mu[i, j] ** 2 - logvar[i, j].exp() for j in range(5))
                      for i in range(4)])
    return recon, x, mu, logvar, sq, kl


@pytest.mark.parametrize("mode,recon_of,kld_of", [
    ("mean", lambda sq: sq.sum() / (4 * 192), lambda kl: kl.mean()),
    ("sum", lambda sq: sq.sum(), lambda kl: kl.sum()),
    ("elbo", lambda sq: sq.mean(), lambda kl: kl.mean()),
])
def test_weightings_match_their_definitions(batch, mode, recon_of, kld_of):
    recon, x, mu, logvar, sq, kl = batch
    out = vae_loss(recon, x, mu, logvar, beta=0.5, reduction=mode)
    assert out["recon"].item() == pytest.approx(recon_of(sq).item(), rel=1e-5)
    assert out["kld"].item() == pytest.approx(kld_of(kl).item(), rel=1e-5)
    assert out["loss"].item() == pytest.approx((recon_of(sq) + 0.5 * kld_of(kl)).item(), rel=1e-5)


def test_mean_mode_matches_torch_mse(batch):
    recon, x, mu, logvar, *_ = batch
    out = vae_loss(recon, x, mu, logvar, reduction="mean")
    assert out["recon"].item() == pytest.approx(torch.nn.functional.mse_loss(recon, x).item(), rel=1e-6)


def test_unknown_weighting_is_rejected(batch):
    with pytest.raises(ValueError, match="reduction"):
        vae_loss(*batch[:4], reduction="avg")


def test_warmup_ramps_linearly():
    assert [warmup_beta(2.0, s, 4) for s in (0, 1, 2, 4, 10)] == [0.0, 0.5, 1.0, 2.0, 2.0]
    assert warmup_beta(2.0, 0, 0) == 2.0


def test_calibrated_loss_equals_its_closed_form(batch):
    recon, x, mu, logvar, sq, kl = batch
    pixels = x[0].numel()
    mse = sq.sum() / (len(x) * pixels)
    terms = vae_loss(recon, x, mu, logvar, reduction="calibrated")
    constant = pixels / 2 * (1 + math.log(2 * math.pi))
    # D/2 log MSE + KL + constant: sigma^2 = MSE is far above the clip here (the soft clip still
    # moves log sigma by softplus's tail, log(1 + e^-(log sigma + 6)), about 0.006 nats at this MSE)
    assert terms["recon"].item() == pytest.approx(pixels / 2 * math.log(mse) + constant, rel=1e-4)
    assert terms["kld"].item() == pytest.approx(kl.mean().item(), rel=1e-5)
    assert terms["loss"].item() == pytest.approx(terms["recon"].item() + kl.mean().item(), rel=1e-6)


def test_calibrated_soft_clip_holds_at_tiny_mse(batch):
    _, x, mu, logvar, _, _ = batch
    terms = vae_loss(x + 1e-9, x, mu, logvar, reduction="calibrated")  # MSE ~ 1e-18: log sigma ~ -20.7
    pixels = x[0].numel()
    assert torch.isfinite(terms["loss"])
    # log sigma is held near -6, so the recon term is about P * (-6 + log sqrt(2 pi)), not P * -20
    assert terms["recon"].item() == pytest.approx(pixels * (-6 + 0.5 * math.log(2 * math.pi)), rel=1e-3)
    recon = x.clone().requires_grad_(True)
    vae_loss(recon + 1e-9, x, mu, logvar, reduction="calibrated")["loss"].backward()
    assert torch.isfinite(recon.grad).all()


def test_posterior_stats_closed_form():
    from core.loss import posterior_stats

    g = torch.Generator().manual_seed(0)
    n = 20_000
    # dim 0: informative and active (mu spread 1, small posterior variance); dim 1: collapsed to the prior
    mu = torch.stack([torch.randn(n, generator=g), torch.zeros(n)], dim=1)
    logvar = torch.stack([torch.full((n,), math.log(0.01)), torch.zeros(n)], dim=1)
    stats = posterior_stats(mu, logvar)
    expected_kl0 = -0.5 * (1 + math.log(0.01) - 1.0 - 0.01)  # E[mu^2] = 1
    assert stats["kl_dims"][0] == pytest.approx(expected_kl0, rel=0.02) and stats["kl_dims"][1] == pytest.approx(0)
    assert stats["active_units"] == 1 and stats["informative_dims"] == 1
    # aggregate posterior: N(0, diag(1 + 0.01, 1)) -> KL = 0.5 (1.01 - 1 - log 1.01)
    assert stats["prior_mismatch"] == pytest.approx(0.5 * (0.01 - math.log(1.01)), abs=2e-3)


@pytest.mark.parametrize("mode", ["elbo", "calibrated", "sum", "mean"])
def test_logged_terms_convert_to_units_every_weighting_shares(mode):
    """What the Runs tab overlays: per-pixel MSE and KL nats per image, the same whatever the weighting."""
    from core.loss import kl_nats, per_pixel_mse

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(16, 3, 8, 8, generator=gen)
    recon = (x + 0.1 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
    mu, logvar = torch.randn(16, 4, generator=gen), 0.1 * torch.randn(16, 4, generator=gen)
    terms = vae_loss(recon, x, mu, logvar, reduction=mode)
    mse = float((recon - x).pow(2).mean())
    assert float(per_pixel_mse(terms["recon"].item(), mode, 16, 192)) == pytest.approx(mse, rel=1e-4)
    assert float(kl_nats(terms["kld"].item(), mode, 16)) == pytest.approx(float(kl_per_sample(mu, logvar).mean()),
                                                                          rel=1e-5)
