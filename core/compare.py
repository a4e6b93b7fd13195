"""Two maps of the same images side by side: the second model's map aligned to the first's, and how much
the two models' neighbourhoods agree (Qt-free: the app's Runs tab and the CLI's `compare` both call it).

Alignment: each map is fitted on its own latents (PCA, t-SNE or UMAP; a non-linear second map starts from
the first's layout), then the second is moved onto the first by orthogonal Procrustes (translation,
rotation or reflection, and the first's spread), so a cluster that both models keep sits in the same place.
Neighbour agreement: for each image, the share of its 10 nearest neighbours in latent space (latent
means, Euclidean) that the two models have in common, 1 = same neighbourhood, ~k/N = unrelated.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.colours import colouring, viridis
from core.data import Progress
from core.latent import encode
from core.model import ConvVAE
from core.projection import PROJECTORS

AGREEMENT_K = 10


def procrustes(reference: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """`moving` [N, 2] turned (or mirrored) onto `reference` [N, 2] by orthogonal Procrustes, centred on it and
    scaled to its spread (the least-squares scale would shrink a map that agrees little towards a dot)."""
    from scipy.linalg import orthogonal_procrustes

    ref_mean, mov_mean = reference.mean(0), moving.mean(0)
    a, b = reference - ref_mean, moving - mov_mean
    rotation, _ = orthogonal_procrustes(b, a)
    scale = np.sqrt(float((a * a).sum()) / max(float((b * b).sum()), 1e-24))
    return (b @ rotation * scale + ref_mean).astype(np.float32)


def neighbours(mu: np.ndarray, k: int = AGREEMENT_K) -> np.ndarray:
    """[N, k] indices of each point's k nearest other points (Euclidean)."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(mu) - 1)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(mu).kneighbors(mu)
    return idx[:, 1:]  # each point is its own nearest


def neighbour_agreement(mu_a: np.ndarray, mu_b: np.ndarray, k: int = AGREEMENT_K) -> np.ndarray:
    """[N] share (0..1) of each image's k nearest neighbours under model A that are also among them under B."""
    a, b = neighbours(mu_a, k), neighbours(mu_b, k)
    n, k = a.shape
    rows = np.repeat(np.arange(n, dtype=np.int64), k) * n  # (image, neighbour) pairs as one integer each
    return np.isin(rows + a.ravel(), rows + b.ravel()).reshape(n, k).mean(1)


@dataclass
class MapPair:
    """Two maps of the same images: `coords_b` aligned to `coords_a`, and the neighbour agreement."""

    labels: np.ndarray  # [N]
    coords_a: np.ndarray  # [N, 2] float32
    coords_b: np.ndarray  # [N, 2] float32, aligned to coords_a
    agreement: np.ndarray  # [N] share of the 10 nearest neighbours the models share
    projection: str
    indices: np.ndarray | None = None  # the images' indices in their split (None: all, in order)

    @property
    def mean_agreement(self) -> float:
        return float(self.agreement.mean())

    def morph(self, t: float) -> np.ndarray:
        """The points a fraction `t` (0: map A, 1: map B) of the way from one map to the other."""
        return ((1 - t) * self.coords_a + t * self.coords_b).astype(np.float32)


def _fit(projection: str, mu: np.ndarray, progress, init: np.ndarray | None = None) -> np.ndarray:
    fit = PROJECTORS[projection].fit
    return np.asarray((fit(mu, progress, init=init) if init is not None and projection != "pca"
                       else fit(mu, progress)).coords, np.float32)


def compare_latents(mu_a: np.ndarray, mu_b: np.ndarray, labels: np.ndarray, projection: str = "pca",
                    progress: Progress | None = None, indices: np.ndarray | None = None) -> MapPair:
    """Project both latents of the same images, align B to A, and score neighbour agreement."""
    if len(mu_a) != len(mu_b):
        raise ValueError(f"the two maps hold {len(mu_a)} and {len(mu_b)} images; compare the same images")
    coords_a = _fit(projection, mu_a, progress)
    coords_b = procrustes(coords_a, _fit(projection, mu_b, progress, init=coords_a))
    return MapPair(labels, coords_a, coords_b, neighbour_agreement(mu_a, mu_b), projection, indices)


def compare_models(model_a: ConvVAE, model_b: ConvVAE, images: np.ndarray, labels: np.ndarray,
                   projection: str = "pca", progress: Progress | None = None,
                   indices: np.ndarray | None = None) -> MapPair:
    """Encode the same images with both models, then `compare_latents`."""
    report = progress or (lambda done, total: None)
    n = len(images)
    mu_a = encode(model_a, images, progress=lambda d, t: report(d, 2 * n))
    mu_b = encode(model_b, images, progress=lambda d, t: report(n + d, 2 * n))
    return compare_latents(mu_a, mu_b, labels, projection, indices=indices)



def _scatter(coords: np.ndarray, colours: np.ndarray, box: tuple[float, float, float, float], side: int) -> np.ndarray:
    """Points drawn as 3 x 3 squares on a white [side, side, 3] canvas, the same box for both maps."""
    x0, y0, x1, y1 = box
    canvas = np.full((side, side, 3), 255, np.uint8)
    px = np.clip(((coords[:, 0] - x0) / (x1 - x0) * (side - 5)).astype(int) + 2, 1, side - 2)
    py = np.clip(((y1 - coords[:, 1]) / (y1 - y0) * (side - 5)).astype(int) + 2, 1, side - 2)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            canvas[py + dy, px + dx] = colours
    return canvas


def render_pair(pair: MapPair, classes: list[str], titles: tuple[str, str], side: int = 420) -> np.ndarray:
    """A picture to save as PNG, uint8 [3, H, W]: map A and map B (aligned to A) coloured by class, and below
    them the same maps coloured by neighbour agreement (dark: neighbourhood lost, yellow: kept)."""
    from PIL import Image, ImageDraw

    both = np.concatenate([pair.coords_a, pair.coords_b])
    lo, hi = np.percentile(both, 0.5, axis=0), np.percentile(both, 99.5, axis=0)
    pad = (hi - lo) * 0.05 + 1e-6
    box = (lo[0] - pad[0], lo[1] - pad[1], hi[0] + pad[0], hi[1] + pad[1])
    by_class = colouring("class", pair.labels, classes).point_rgb
    by_agreement = viridis(pair.agreement)  # the map's viridis (core.colours)
    gap, head = 16, 22
    rows = [[_scatter(c, colours, box, side) for c in (pair.coords_a, pair.coords_b)]
            for colours in (by_class, by_agreement)]
    width, height = 2 * side + gap, 2 * (side + head) + 2 * head
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for r, row in enumerate(rows):
        top = r * (side + head) + head
        for c, canvas in enumerate(row):
            image.paste(Image.fromarray(canvas), (c * (side + gap), top))
            label = f"{titles[c]}: by class" if r == 0 else f"{titles[c]}: neighbour agreement"
            draw.text((c * (side + gap) + 4, top - head + 5), label, fill="black")
    legend = "   ".join(f"{i}={name}" for i, name in enumerate(classes[:10]))
    draw.text((4, height - 2 * head + 4), f"mean neighbour agreement ({AGREEMENT_K} nearest): "
              f"{100 * pair.mean_agreement:.1f}%   (dark 0% ... yellow 100%)", fill="black")
    draw.text((4, height - head + 4), legend, fill="black")
    return np.asarray(image).transpose(2, 0, 1).copy()
