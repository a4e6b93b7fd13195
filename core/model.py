"""The reference ConvVAE for 32x32 images, with state_dict keys identical to the reference.

Spec: ../shared/reference/convvae.md. Pixels are floats in [0, 1]; the decoder ends in a sigmoid.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from core.config import ModelConfig


class ConvVAE(nn.Module):
    def __init__(self, latent_dim: int = 128, channels: int = 64, img_size: int = 32, in_ch: int = 3):
        super().__init__()
        self.config = ModelConfig(latent_dim, channels, img_size, in_ch)  # validates
        c = channels
        self._feat = (8 * c, img_size // 16, img_size // 16)

        def down(cin: int, cout: int, bn: bool) -> list[nn.Module]:
            conv = nn.Conv2d(cin, cout, 4, 2, 1)
            return [conv, nn.BatchNorm2d(cout), nn.ReLU()] if bn else [conv, nn.ReLU()]

        def up(cin: int, cout: int) -> list[nn.Module]:
            return [nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.ReLU()]

        self.encoder = nn.Sequential(
            *down(in_ch, c, bn=False), *down(c, 2 * c, True), *down(2 * c, 4 * c, True), *down(4 * c, 8 * c, True)
        )
        flat = self.config.flat
        self.fc_mu = nn.Linear(flat, latent_dim)
        self.fc_logvar = nn.Linear(flat, latent_dim)
        self.fc_decode = nn.Linear(latent_dim, flat)
        self.decoder = nn.Sequential(
            *up(8 * c, 4 * c), *up(4 * c, 2 * c), *up(2 * c, c),
            nn.ConvTranspose2d(c, in_ch, 4, 2, 1), nn.Sigmoid(),
        )

    @classmethod
    def from_config(cls, config: ModelConfig) -> "ConvVAE":
        return cls(config.latent_dim, config.channels, config.img_size, config.in_ch)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, C, H, W] in [0,1] -> (mu, logvar), each [B, latent]."""
        h = self.encoder(x).flatten(1)  # (B, flat)
        return self.fc_mu(h), self.fc_logvar(h)

    def reparameterize(
        self, mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None,
        eps: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """z = mu + eps * exp(0.5 * logvar), eps ~ N(0, I): given, or drawn (from `generator` when given)."""
        if eps is None:
            eps = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
        return mu + eps * torch.exp(0.5 * logvar)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """[B, latent] -> [B, C, H, W] in [0,1]."""
        h = self.fc_decode(z).view(-1, *self._feat)  # (B, 8c, img/16, img/16)
        return self.decoder(h)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None, eps: torch.Tensor | None = None):
        """-> (recon, mu, logvar, z), as the reference model returns them. `eps`: the noise [B, latent], if given."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, generator, eps)
        return self.decode(z), mu, logvar, z


def config_from_state_dict(state: dict) -> ModelConfig:
    """Read the hyperparameters back from a reference state_dict's tensor shapes.

    Raises KeyError/ValueError when the shapes do not describe a ConvVAE.
    """
    c, in_ch = state["encoder.0.weight"].shape[:2]
    latent_dim, flat = state["fc_mu.weight"].shape
    side = math.isqrt(flat // (8 * c)) if flat % (8 * c) == 0 else 0
    if side < 1 or side * side * 8 * c != flat:
        raise ValueError(f"fc_mu takes {flat} inputs, which does not fit {c} channels")
    return ModelConfig(latent_dim=int(latent_dim), channels=int(c), img_size=16 * side, in_ch=int(in_ch))


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [B, C, H, W] -> float [B, C, H, W] in [0,1], channels_last on CUDA."""
    x = images.float().div_(255)
    return x.contiguous(memory_format=torch.channels_last) if x.is_cuda else x
