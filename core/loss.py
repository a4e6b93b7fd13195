"""The VAE loss, `recon + beta * kld`, in three weightings, plus a KL warm-up schedule.

Weightings (B = batch, P = pixels per image, D = latent dims):
  "mean" (reference default): MSE averaged over B*P values, KL summed over D and averaged over B.
         The KL weighs ~P (3072x) more than in an ELBO; models collapse to blurry means.
  "sum"  (reference):         squared error and KL both summed over the whole batch.
  "elbo" (our default):       squared error summed over each image's P pixels and KL over D,
                              both averaged over B. Same balance as "sum", batch-size independent.
"""
from __future__ import annotations

import torch

from core.config import LOSS_MODES


def kl_per_sample(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample: [B, D] -> [B]."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


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
    else:
        rec_term, kld_term = sq.mean(), kld.mean()
    return {"loss": rec_term + beta * kld_term, "recon": rec_term, "kld": kld_term}


def warmup_beta(beta: float, step: int, warmup_steps: int) -> float:
    """Beta at `step` (0-based): ramps linearly from 0 to `beta` over `warmup_steps` steps."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, step / warmup_steps)
