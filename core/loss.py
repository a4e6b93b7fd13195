"""The VAE loss, `recon + beta * kld`, in three weightings, plus a KL warm-up schedule.

Weightings (B = batch, P = pixels per image, D = latent dims):
  "mean" (reference default): MSE averaged over B*P values, KL summed over D and averaged over B.
         The KL weighs ~P (3072x) more than in an ELBO; models collapse to blurry means.
  "sum"  (reference):         squared error and KL both summed over the whole batch.
  "elbo":                     squared error summed over each image's P pixels and KL over D,
                              both averaged over B. Same balance as "sum", batch-size independent.
  "calibrated" (sigma-VAE):   a Gaussian decoder whose one shared sigma^2 is the batch MSE (Rybkin
                              et al. 2021), log sigma soft-clipped from below at -6. Per image in
                              nats: P/2 log(2 pi MSE) + P/2 + KL. See ../shared/reference/vae-quality.md.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from core.config import LOSS_MODES

LOG_SIGMA_MIN = -6.0  # the sigma-VAE's soft lower clip of log sigma


def kl_per_sample(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample: [B, D] -> [B]."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def calibrated_log_sigma(mse: torch.Tensor) -> torch.Tensor:
    """The optimal shared log sigma (sigma^2 = MSE), soft-clipped from below at LOG_SIGMA_MIN."""
    return LOG_SIGMA_MIN + F.softplus(0.5 * torch.log(mse) - LOG_SIGMA_MIN)


def calibrated_nll(sq_mean: torch.Tensor, mse: torch.Tensor, pixels: int) -> torch.Tensor:
    """Gaussian NLL (nats per image) with the calibrated shared sigma, for a mean squared error per
    image `sq_mean` (summed over `pixels`) and a per-pixel `mse`."""
    log_sigma = calibrated_log_sigma(mse)
    return sq_mean / (2 * torch.exp(2 * log_sigma)) + pixels * (log_sigma + 0.5 * math.log(2 * math.pi))


def vae_loss(
    recon: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    *,
    beta: float = 1.0,
    reduction: str = "elbo",
) -> dict[str, torch.Tensor]:
    """Return {"loss", "recon", "kld"} (scalars) for images in [0,1] and posterior parameters."""
    if reduction not in LOSS_MODES:
        raise ValueError(f"reduction must be one of {', '.join(LOSS_MODES)}, got {reduction!r}")
    recon, mu, logvar = recon.float(), mu.float(), logvar.float()
    sq = (recon - x.float()).pow(2).flatten(1).sum(dim=1)  # (B,) squared error per image
    kld = kl_per_sample(mu, logvar)  # (B,)
    if reduction == "mean":
        rec_term, kld_term = sq.mean() / x[0].numel(), kld.mean()
    elif reduction == "sum":
        rec_term, kld_term = sq.sum(), kld.sum()
    elif reduction == "calibrated":
        pixels = x[0].numel()
        rec_term, kld_term = calibrated_nll(sq.mean(), sq.mean() / pixels, pixels), kld.mean()
    else:
        rec_term, kld_term = sq.mean(), kld.mean()
    return {"loss": rec_term + beta * kld_term, "recon": rec_term, "kld": kld_term}


def per_pixel_mse(recon: np.ndarray, loss: str, batch: int, pixels: int) -> np.ndarray:
    """The reconstruction term logged in `loss`'s units -> mean squared error per pixel, which every weighting
    shares (runs of different weightings overlay on one axis)."""
    recon = np.asarray(recon, np.float64)
    if loss == "mean":
        return recon
    if loss == "sum":
        return recon / (batch * pixels)
    if loss == "calibrated":  # its NLL grows with the MSE: bisect on log MSE, 60 halvings of [-30, 5]
        target = torch.as_tensor(recon / pixels)
        lo, hi = torch.full_like(target, -30.0), torch.full_like(target, 5.0)
        for _ in range(60):
            mid = (lo + hi) / 2
            above = calibrated_nll(pixels * mid.exp(), mid.exp(), pixels) / pixels > target
            lo, hi = torch.where(above, lo, mid), torch.where(above, mid, hi)
        return ((lo + hi) / 2).exp().numpy()
    return recon / pixels


def kl_nats(kld: np.ndarray, loss: str, batch: int) -> np.ndarray:
    """The KL term logged in `loss`'s units -> nats per image (`sum` adds it over the batch; the rest average)."""
    kld = np.asarray(kld, np.float64)
    return kld / batch if loss == "sum" else kld


def warmup_beta(beta: float, step: int, warmup_steps: int) -> float:
    """Beta at `step` (0-based): ramps linearly from 0 to `beta` over `warmup_steps` steps."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, step / warmup_steps)


ACTIVE_VARIANCE = 0.01  # Burda et al. 2015: a unit is active if Var_x E[z|x] exceeds this
INFORMATIVE_NATS = 0.1  # NVAE: a unit carries information above this KL


def posterior_stats(mu: torch.Tensor, logvar: torch.Tensor) -> dict:
    """Diagnostics of the posteriors of N images, mu and logvar [N, D]:

    kl_dims: mean KL per latent dimension (nats, [D]); active_units: dims with Var(mu) > 0.01;
    informative_dims: dims with KL > 0.1 nat; prior_mismatch: KL(N(m, C) || N(0, I)) for the
    Gaussian fit of the aggregate posterior, C = Cov(mu) + mean(diag exp(logvar)).
    """
    # on the host in numpy: MPS has no float64, and no float64 tensor is made on the training device
    mu = mu.detach().float().cpu().numpy().astype(np.float64)
    logvar = logvar.detach().float().cpu().numpy().astype(np.float64)
    kl_dims = (-0.5 * (1 + logvar - mu ** 2 - np.exp(logvar))).mean(axis=0)  # (D,)
    m = mu.mean(axis=0)
    cov = np.cov(mu.T).reshape(len(m), len(m)) + np.diag(np.exp(logvar).mean(axis=0))  # (D, D)
    mismatch = 0.5 * (np.trace(cov) + m @ m - len(m) - np.linalg.slogdet(cov)[1])
    return {
        "kl_dims": tuple(kl_dims.tolist()),
        "active_units": int((mu.var(axis=0, ddof=1) > ACTIVE_VARIANCE).sum()),
        "informative_dims": int((kl_dims > INFORMATIVE_NATS).sum()),
        "prior_mismatch": float(mismatch),
    }
