"""Latent-space tools: encode, 2D PCA map with inverse and nearest point, decode, sample, interpolate.

Images in and out are uint8 [N, C, H, W] numpy arrays; latents are float32 [N, D]. scikit-learn and scipy
are imported where they are used: `vae-explorer train` needs them only at its first live-map frame.
"""
from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from core.model import ConvVAE, to_float


@contextlib.contextmanager
def evaluating(model: ConvVAE):
    """Eval mode and no autograd inside; the model's previous mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield model
    finally:
        model.train(was_training)


def _device(model: ConvVAE) -> torch.device:
    weight = next(itertools.chain(model.parameters(), model.buffers()), None)
    return weight.device if weight is not None else torch.device("cpu")


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float [B, C, H, W] in [0,1] -> uint8 numpy [B, C, H, W]."""
    return x.float().clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy()


def encode(
    model: ConvVAE, images: np.ndarray, batch_size: int = 500,
    progress: Callable[[int, int], bool | None] | None = None,
) -> np.ndarray:
    """Latent means of uint8 [N, C, H, W] images -> float32 [N, D].

    `progress(done, total)` is called after each batch; returning False cancels (InterruptedError).
    """
    device, out = _device(model), []
    with evaluating(model):
        for i in range(0, len(images), batch_size):
            x = to_float(torch.from_numpy(images[i:i + batch_size]).to(device))
            out.append(model.encode(x)[0].float().cpu().numpy())
            if progress is not None and progress(min(i + batch_size, len(images)), len(images)) is False:
                raise InterruptedError("encoding cancelled")
    return np.concatenate(out) if out else np.zeros((0, model.config.latent_dim), np.float32)


def decode(model: ConvVAE, z: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Latents float [N, D] -> uint8 images [N, C, H, W]."""
    device, out = _device(model), []
    with evaluating(model):
        for i in range(0, len(z), batch_size):
            zb = torch.as_tensor(np.asarray(z[i:i + batch_size], np.float32), device=device)
            out.append(to_uint8(model.decode(zb)))
    return np.concatenate(out)


def reconstruct(model: ConvVAE, images: np.ndarray) -> np.ndarray:
    """uint8 images -> their reconstructions from the posterior means (uint8, same shape)."""
    return decode(model, encode(model, images))


def sample_prior(model: ConvVAE, n: int = 64, temperature: float = 1.0, seed: int = 0) -> np.ndarray:
    """Decode n draws from N(0, T^2 I) -> uint8 [n, C, H, W]. Same seed, same images."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, model.config.latent_dim, generator=gen) * temperature
    return decode(model, z.numpy())


@dataclass
class LatentMixture:
    """A Gaussian mixture fitted to latent means: samples from it land where the encoder puts
    images, not in the holes a N(0, I) draw can fall into (ex-post density estimation, Ghosh et
    al. 2020). Fitted with scikit-learn; sampled here so a temperature can scale each component."""

    weights: np.ndarray  # [K]
    means: np.ndarray  # [K, D]
    chol: np.ndarray  # [K, D, D] Cholesky factors of the covariances

    @classmethod
    def fit(cls, mu: np.ndarray, n_components: int = 10, seed: int = 0) -> "LatentMixture":
        from sklearn.mixture import GaussianMixture

        if len(mu) < 2 * n_components:
            raise ValueError(f"a {n_components}-component mixture needs at least {2 * n_components} latents, "
                             f"got {len(mu)}; encode more training images")
        gmm = GaussianMixture(n_components, covariance_type="full", reg_covar=1e-4, random_state=seed).fit(mu)
        return cls(gmm.weights_, gmm.means_, np.linalg.cholesky(gmm.covariances_))

    def sample(self, n: int, temperature: float = 1.0, seed: int = 0) -> np.ndarray:
        """n latents [n, D]: a component by weight, then its mean + T * L @ eps. Same seed, same draw."""
        rng = np.random.default_rng(seed)
        k = rng.choice(len(self.weights), size=n, p=self.weights / self.weights.sum())
        eps = rng.standard_normal((n, self.means.shape[1]))
        return (self.means[k] + temperature * np.einsum("nij,nj->ni", self.chol[k], eps)).astype(np.float32)


MIXTURE_IMAGES = 20_000  # training images encoded for the mixture (a fixed-seed subset beyond that)


def fit_training_mixture(model: ConvVAE, images: np.ndarray, progress=None, seed: int = 0) -> LatentMixture:
    """Encode (up to MIXTURE_IMAGES of) the training images and fit a LatentMixture to their means."""
    if len(images) > MIXTURE_IMAGES:
        images = images[np.sort(np.random.default_rng(seed).choice(len(images), MIXTURE_IMAGES, replace=False))]
    return LatentMixture.fit(encode(model, images, progress=progress), seed=seed)


def sample_mixture(model: ConvVAE, mixture: LatentMixture | None, n: int = 64, temperature: float = 1.0,
                   seed: int = 0) -> np.ndarray:
    """Decode n draws from a fitted LatentMixture -> uint8 [n, C, H, W]."""
    if mixture is None:
        raise ValueError("there is no fitted mixture yet: it is fitted to the training latent means, "
                         "so encode the training split first (or sample from the prior)")
    return decode(model, mixture.sample(n, temperature, seed))


def interpolate(z0: np.ndarray, z1: np.ndarray, steps: int = 10, mode: str = "linear") -> np.ndarray:
    """[steps, D] latents from z0 to z1, both ends included; mode "linear" or "spherical" (slerp)."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    if mode == "linear":
        return ((1 - t) * z0 + t * z1).astype(np.float32)
    if mode != "spherical":
        raise ValueError(f"mode must be 'linear' or 'spherical', got {mode!r}")
    cos = np.dot(z0, z1) / max(np.linalg.norm(z0) * np.linalg.norm(z1), 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:  # (nearly) parallel: slerp degenerates to lerp
        return ((1 - t) * z0 + t * z1).astype(np.float32)
    return ((np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)).astype(np.float32)


@dataclass
class LatentMap:
    """A 2D linear map of latent means: coords = (mu - mean) @ components.T, with an exact inverse."""

    mu: np.ndarray | None  # [N, D] float32 (None for a stored frame, which keeps only coordinates)
    coords: np.ndarray  # [N, 2] float32
    explained: np.ndarray  # [2] fraction of the latents' variance along each axis
    components: np.ndarray  # [2, D] orthonormal rows
    mean: np.ndarray  # [D]
    name = "pca"  # as core.projection.EmbeddedMap names its projection
    title = "PCA"
    exact = True  # to_latent is the exact inverse (within the plane)
    settings = "PCA"

    @classmethod
    def fit(cls, mu: np.ndarray, align_to: np.ndarray | None = None, seed: int = 0) -> "LatentMap":
        """PCA to 2D. `align_to`: the previous coordinates [N, 2] of the same points; the new axes are
        then turned (orthogonal Procrustes, reflections included) to match them as closely as
        possible, so frames of a changing model neither flip nor spin."""
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=seed).fit(mu)
        components = pca.components_.astype(np.float64)
        if align_to is not None:
            coords = (mu - pca.mean_) @ components.T
            u, _, vt = np.linalg.svd(coords.T @ np.asarray(align_to, np.float64))
            components = (u @ vt).T @ components  # coords @ R, with R = u @ vt
        coords = ((mu - pca.mean_) @ components.T).astype(np.float32)
        total = float(np.var(mu, axis=0).sum()) or 1.0
        explained = (coords.astype(np.float64).var(axis=0) / total).astype(np.float32)
        return cls(mu, coords, explained, components.astype(np.float32), pca.mean_.astype(np.float32))

    def transform(self, mu: np.ndarray) -> np.ndarray:
        """Latents [N, D] -> map points [N, 2]."""
        return ((np.atleast_2d(mu) - self.mean) @ self.components.T).astype(np.float32)

    def to_latent(self, xy: np.ndarray) -> np.ndarray:
        """Map points [N, 2] (or one [2]) back to latents [N, D]: the exact inverse within the plane."""
        return (np.atleast_2d(np.asarray(xy, np.float64)) @ self.components + self.mean).astype(np.float32)

    def nearest(self, xy: np.ndarray) -> tuple[int, float]:
        """Index of the point nearest to a map point, and its distance in map units."""
        from scipy.spatial import cKDTree

        dist, idx = cKDTree(self.coords).query(np.asarray(xy, np.float64).reshape(2))
        return int(idx), float(dist)


class PixelPicker:
    """Nearest point to a screen position by distance in pixels, at any zoom and axis scales.

    Built once per map (and per set of visible points): points are sorted by x, so a query only
    looks at the band of points within the radius along x. Exact; about 1 ms at 1,000,000 points
    unless the band itself holds most of them.
    """

    def __init__(self, coords: np.ndarray, visible: np.ndarray | None = None) -> None:
        coords = np.asarray(coords, np.float64).reshape(-1, 2)
        index = np.arange(len(coords)) if visible is None else np.flatnonzero(visible)
        order = np.argsort(coords[index, 0], kind="stable")
        self.index = index[order]  # [M] point indices sorted by x
        self.x, self.y = coords[self.index, 0], coords[self.index, 1]

    def __len__(self) -> int:
        return len(self.index)

    def _band(self, x0: float, x1: float, y0: float, y1: float) -> tuple[slice, np.ndarray]:
        """The x-sorted slice spanning [x0, x1], and which of its points lie within [y0, y1]."""
        lo, hi = np.searchsorted(self.x, x0, side="left"), np.searchsorted(self.x, x1, side="right")
        y = self.y[lo:hi]
        return slice(lo, hi), (y >= y0) & (y <= y1)

    def count_within(self, x0: float, x1: float, y0: float, y1: float) -> int:
        """How many of the points lie in the rectangle [x0, x1] x [y0, y1]."""
        return int(np.count_nonzero(self._band(x0, x1, y0, y1)[1]))

    def within(self, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
        """Indices of the points in the rectangle [x0, x1] x [y0, y1], sorted."""
        band, inside = self._band(x0, x1, y0, y1)
        return np.sort(self.index[band][inside])

    def nearest(self, x: float, y: float, px_w: float, px_h: float, radius_px: float) -> int | None:
        """Index of the point nearest to (x, y) in pixels, if within `radius_px` pixels, else None.

        `px_w`, `px_h`: data units per screen pixel along x and y (they differ when axes scale apart).
        """
        lo = np.searchsorted(self.x, x - radius_px * px_w, side="left")
        hi = np.searchsorted(self.x, x + radius_px * px_w, side="right")
        if hi <= lo:
            return None
        dx = (self.x[lo:hi] - x) / px_w
        dy = (self.y[lo:hi] - y) / px_h
        d2 = dx * dx + dy * dy
        j = int(np.argmin(d2))
        return int(self.index[lo + j]) if d2[j] <= radius_px * radius_px else None


def image_grid(images: np.ndarray, nrow: int = 8, padding: int = 2, pad_value: int = 255) -> np.ndarray:
    """uint8 [N, C, H, W] -> one uint8 [3, H', W'] grid image (torchvision's make_grid)."""
    from torchvision.utils import make_grid

    grid = make_grid(torch.from_numpy(np.ascontiguousarray(images)), nrow=nrow, padding=padding, pad_value=pad_value)
    return grid.numpy()


def save_png(image: np.ndarray, path) -> None:
    """Write a uint8 [C, H, W] image as PNG, pixel for pixel (torchvision's save_image)."""
    from torchvision.utils import save_image

    save_image(torch.from_numpy(np.ascontiguousarray(image)).float() / 255, str(path), format="png")


LATENT_SUFFIXES = (".npz", ".csv")


def save_latents(path, mu: np.ndarray, labels: np.ndarray, classes: list[str], coords: np.ndarray,
                 explained: np.ndarray | None, projection: str = "pca",
                 properties: dict[str, np.ndarray] | None = None) -> None:
    """Write latents as .npz (all arrays) or .csv (label, class, x, y, properties.., mu_0..). OSError -> ValueError.

    The map coordinates are named by the projection: pca / pc1, pc2, tsne / tsne1, tsne2 or umap / umap1, umap2.
    `properties` (core.lenses: brightness, KL, cluster, ...) become arrays or columns of their own names."""
    from pathlib import Path

    path = Path(path)
    props = {k: np.asarray(v) for k, v in (properties or {}).items() if k not in ("class", "labels", "mu")}
    if path.suffix.lower() not in LATENT_SUFFIXES:
        raise ValueError(f"latents are saved as .npz or .csv, not {path.suffix or 'no suffix'!r}: {path}")
    try:
        axes = ["pc1", "pc2"] if projection == "pca" else [f"{projection}1", f"{projection}2"]
        if path.suffix.lower() == ".npz":
            extra = {"explained_variance": explained} if explained is not None else {}
            np.savez_compressed(path, mu=mu, labels=labels, classes=np.array(classes), **{projection: coords}, **extra,
                                **{k: v for k, v in props.items()})
            return
        table = np.column_stack([coords] + [v.astype(np.float64) for v in props.values()] + [mu])
        with open(path, "w", encoding="utf-8") as f:
            if explained is not None:
                f.write(f"# explained_variance pc1={explained[0]:.6f} pc2={explained[1]:.6f}\n")
            f.write(",".join(["label", "class", *axes, *props] + [f"mu_{i}" for i in range(mu.shape[1])]) + "\n")
            for label, row in zip(labels, table):
                f.write(f"{label},{classes[label]}," + ",".join(f"{v:.6g}" for v in row) + "\n")
    except OSError as e:
        raise ValueError(f"cannot write {path}: {e.strerror or e}; choose a writable location") from e
