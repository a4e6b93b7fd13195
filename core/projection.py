"""Non-linear 2D maps of latent means: t-SNE (openTSNE), with an honest inverse estimate.

PCA (core.latent.LatentMap) inverts exactly; t-SNE does not, so decoding an empty spot uses the
distance-weighted mean of the latents of the nearest map points, and the interface says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.spatial import cKDTree
from sklearn.decomposition import PCA

TSNE_PCA_DIMS = 50  # reduce first, as openTSNE and scikit-learn recommend
TSNE_ITERATIONS = (250, 500)  # early exaggeration, then the main phase (openTSNE's defaults)


@dataclass
class EmbeddedMap:
    """A non-linear map: coordinates of the latent means, and an estimated inverse."""

    mu: np.ndarray  # [N, D]
    coords: np.ndarray  # [N, 2] float32
    settings: str  # how it was made, for the interface
    neighbours: int = 10
    explained: np.ndarray | None = None  # no "variance explained" for a non-linear map

    def to_latent(self, xy: np.ndarray) -> np.ndarray:
        """An estimate: the inverse-distance-weighted mean latent of the nearest map points [N, D]."""
        dist, idx = cKDTree(self.coords).query(np.atleast_2d(np.asarray(xy, np.float64)), k=self.neighbours)
        w = 1.0 / np.maximum(dist, 1e-9)
        return (np.einsum("nk,nkd->nd", w, self.mu[idx]) / w.sum(axis=1, keepdims=True)).astype(np.float32)

    def nearest(self, xy: np.ndarray) -> tuple[int, float]:
        dist, idx = cKDTree(self.coords).query(np.asarray(xy, np.float64).reshape(2))
        return int(idx), float(dist)


def tsne(mu: np.ndarray, progress: Callable[[int, int], bool | None] | None = None, perplexity: float = 30.0,
         seed: int = 0, n_jobs: int = -1) -> EmbeddedMap:
    """openTSNE on the latent means (after PCA to 50 dims). `progress(iteration, total)` is called every
    25 iterations; returning False cancels (InterruptedError). The neighbour search is not interruptible."""
    from openTSNE import TSNE

    total = sum(TSNE_ITERATIONS)
    x = PCA(min(TSNE_PCA_DIMS, mu.shape[1], len(mu)), random_state=seed).fit_transform(mu) if len(mu) > 2 else mu
    done = [0]

    def callback(iteration: int, error: float, embedding) -> bool:
        done[0] += 25  # called every 25 iterations, in both phases
        return progress is not None and progress(min(done[0], total), total) is False  # True stops openTSNE

    perplexity = min(perplexity, max(2.0, (len(mu) - 1) / 3))
    embedding = TSNE(perplexity=perplexity, n_jobs=n_jobs, random_state=seed, callbacks=callback,
                     callbacks_every_iters=25, early_exaggeration_iter=TSNE_ITERATIONS[0],
                     n_iter=TSNE_ITERATIONS[1]).fit(x)
    if progress is not None and progress(total, total) is False:
        raise InterruptedError("t-SNE cancelled")
    settings = f"t-SNE (openTSNE, perplexity {perplexity:g}, PCA to {x.shape[1]} dims first, seed {seed})"
    return EmbeddedMap(mu, np.asarray(embedding, np.float32), settings)
