"""The contrastive option: two augmented views of every image, each reconstructed as usual, plus NT-Xent on a
small projection head over the latent means. The head lives here, beside the ConvVAE, never in it.

The weight is in units of the reconstruction term: weight w adds w x NT-Xent to the loss of an `elbo` run (a
per-image squared error), and the same share of the gradient in every other weighting (`recon_scale`). The
reference's first measurement (../shared/reference/vae-quality.md): `elbo`, beta 0.5, weight 20 after one
CPU epoch, kNN 41.2 % against pixels' 35.3 % at 18.06 dB. SimCLR (Chen et al. 2020) for the views and loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from core.loss import calibrated_log_sigma
from core.rollback import cpu_copy, load_adam_state

TEMPERATURE = 0.2  # NT-Xent's tau (SimCLR's CIFAR-10 runs: 0.1-0.5)
HIDDEN, OUT = 256, 64  # the projection head: latent -> 256 -> ReLU -> 64


def augment(x: torch.Tensor, strength: float, generator: torch.Generator) -> torch.Tensor:
    """One random view of each image: horizontal flip, a crop of 1 - 0.6 * strength of the side or more,
    resized back, and brightness, contrast and saturation jitter of +-0.4 * strength. [B, C, H, W] float in
    [0, 1] -> the same, on x's device (the affine grid and grid_sample run on CUDA, MPS and the CPU)."""
    b, device = x.shape[0], x.device

    def uniform(low: float, high: float) -> torch.Tensor:  # [B] on the device, from the step's generator
        return low + (high - low) * torch.rand(b, generator=generator, device=device)

    scale = uniform(1 - 0.6 * strength, 1.0)  # the crop's side, as a share of the image's
    flip = torch.where(torch.rand(b, generator=generator, device=device) < 0.5, -1.0, 1.0)
    shift_x, shift_y = (uniform(-1.0, 1.0) * (1 - scale) for _ in range(2))  # the crop stays inside the image
    theta = torch.zeros(b, 2, 3, device=device)
    theta[:, 0, 0], theta[:, 0, 2] = scale * flip, shift_x
    theta[:, 1, 1], theta[:, 1, 2] = scale, shift_y
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # [B, H, W, 2] as (x, y) in [-1, 1]
    # held to the outer pixels' centres: what padding_mode="border" does, which MPS lacked until torch 2.13
    # (pytorch#125098); inside them bilinear sampling never reads the padding, so "zeros" is the same
    h, w = x.shape[-2:]
    limit = torch.tensor([1 - 1 / w, 1 - 1 / h], device=device)
    grid = torch.maximum(torch.minimum(grid, limit), -limit)
    views = F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    jitter = 0.4 * strength
    views = views * uniform(1 - jitter, 1 + jitter)[:, None, None, None]  # brightness
    mean = views.mean(dim=(1, 2, 3), keepdim=True)
    views = (views - mean) * uniform(1 - jitter, 1 + jitter)[:, None, None, None] + mean  # contrast
    if x.shape[1] == 3:
        grey = (views * torch.tensor([0.299, 0.587, 0.114], device=device)[None, :, None, None]).sum(1, keepdim=True)
        views = (views - grey) * uniform(1 - jitter, 1 + jitter)[:, None, None, None] + grey  # saturation
    return views.clamp_(0, 1).to(x.dtype)


def nt_xent(h1: torch.Tensor, h2: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """SimCLR's normalised temperature-scaled cross-entropy: each of the 2B projections [B, K] finds its other
    view among the 2B - 1 others. A scalar in nats, log(2B - 1) for projections that say nothing."""
    z = F.normalize(torch.cat([h1, h2]).float(), dim=1)  # (2B, K)
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    b = h1.shape[0]
    targets = torch.cat([torch.arange(b, 2 * b), torch.arange(b)]).to(z.device)
    return F.cross_entropy(sim, targets)


def recon_scale(loss: str, recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor | float:
    """What one unit of per-image squared error weighs in `loss`'s reconstruction term, so that a contrastive
    weight means the same beside every weighting: 1 for `elbo`, the images for `sum`, 1/P for `mean`, and
    1 / (2 sigma^2) for `calibrated` (its sigma^2 is the batch MSE, held fixed here). recon, x: [N, C, H, W]."""
    if loss == "sum":
        return float(len(x))
    if loss == "mean":
        return 1.0 / x[0].numel()
    if loss == "calibrated":
        mse = (recon.detach().float() - x.float()).pow(2).mean()
        return 0.5 * torch.exp(-2 * calibrated_log_sigma(mse))
    return 1.0


class ContrastiveTerm:
    """The projection head and its own Adam (the same per-parameter update as one optimizer over both; the
    trainer's Rollback keeps both). `state()` and `ContrastiveTerm(..., state=)` carry the head and its moments
    in a checkpoint, beside the model's weights, so a run resumes at the same step."""

    def __init__(self, latent_dim: int, weight: float, strength: float, lr: float, device: torch.device,
                 adam: dict, state: dict | None = None):
        self.weight, self.strength = weight, strength
        self.head = torch.nn.Sequential(torch.nn.Linear(latent_dim, HIDDEN), torch.nn.ReLU(),
                                        torch.nn.Linear(HIDDEN, OUT)).to(device)
        self.optimizer = torch.optim.Adam(self.head.parameters(), lr=lr, **adam)
        if state is not None:
            self.head.load_state_dict(state["head"])
            load_adam_state(self.optimizer, state["optimizer"], lr)
        self.net: torch.nn.Module = self.head  # DistributedDataParallel(head) in a torchrun job

    def views(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """[B, ...] -> [2B, ...]: two augmented views of each image, the first B then the second B."""
        views = torch.cat([augment(x, self.strength, generator), augment(x, self.strength, generator)])
        return views.contiguous(memory_format=torch.channels_last) if views.is_cuda else views  # as to_float

    def loss(self, mu: torch.Tensor, scale: torch.Tensor | float) -> torch.Tensor:
        """weight x scale x NT-Xent of the two views' latent means mu [2B, D]."""
        h1, h2 = self.net(mu.float()).chunk(2)
        return self.weight * scale * nt_xent(h1, h2)

    def state(self) -> dict:
        """The head's weights and Adam's state, as CPU copies (plain tensors and values)."""
        return {"head": cpu_copy(self.head.state_dict()), "optimizer": cpu_copy(self.optimizer.state_dict())}
