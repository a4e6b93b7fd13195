"""The 2D projections of latent means behind one protocol (PROJECTORS: PCA, t-SNE with openTSNE, UMAP
with umap-learn), each fitted to a Projected map with coordinates, a transform for new latents and an inverse.

PCA (core.latent.LatentMap) inverts exactly; t-SNE and UMAP do not, so decoding an empty spot uses
the distance-weighted mean of the latents of the nearest map points, and the interface says so.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np
from scipy.spatial import cKDTree
from sklearn.decomposition import PCA

from core.latent import LatentMap

TSNE_PCA_DIMS = 50  # reduce first, as openTSNE and scikit-learn recommend
TSNE_ITERATIONS = (250, 500)  # early exaggeration, then the main phase (openTSNE's defaults)
UMAP_EPOCHS = 200  # umap-learn's own choice above 10,000 points; fixed so that progress has a total


def _weighted_mean(dist: np.ndarray, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Inverse-distance-weighted mean of `values` [M, F] at each query's neighbours (`dist`, `idx`
    [N, K] from a neighbour search) -> [N, F] float32."""
    w = 1.0 / np.maximum(dist, 1e-9)
    return (np.einsum("nk,nkd->nd", w, values[idx]) / w.sum(axis=1, keepdims=True)).astype(np.float32)


@dataclass
class EmbeddedMap:
    """A non-linear map: coordinates of the latent means, and an estimated inverse."""

    exact = False  # to_latent is an estimate
    mu: np.ndarray  # [N, D]
    coords: np.ndarray  # [N, 2] float32
    settings: str  # how it was made, for the interface
    neighbours: int = 10
    explained: np.ndarray | None = None  # no "variance explained" for a non-linear map
    name: str = "tsne"  # a key of PROJECTORS

    @property
    def title(self) -> str:
        return PROJECTORS[self.name].title

    def to_latent(self, xy: np.ndarray) -> np.ndarray:
        """An estimate: the inverse-distance-weighted mean latent of the nearest map points [N, D]."""
        dist, idx = cKDTree(self.coords).query(np.atleast_2d(np.asarray(xy, np.float64)), k=self.neighbours)
        return _weighted_mean(dist, idx, self.mu)

    def transform(self, mu: np.ndarray) -> np.ndarray:
        """Where new latents [N, D] land [N, 2] (an estimate, as a non-linear map has no formula for new
        points): the inverse-distance-weighted mean position of their nearest latents."""
        from sklearn.neighbors import NearestNeighbors

        k = min(self.neighbours, len(self.mu))
        dist, idx = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(self.mu).kneighbors(np.atleast_2d(mu))
        return _weighted_mean(dist, idx, self.coords)


class GivenMap(EmbeddedMap):
    """Coordinates that came with embeddings, used as they are (nothing is projected)."""

    title = "given coordinates"

    def __init__(self, mu: np.ndarray, coords: np.ndarray, settings: str):
        super().__init__(mu, coords, settings, name="given")


def tsne(mu: np.ndarray, progress: Callable[[int, int], bool | None] | None = None, perplexity: float = 30.0,
         seed: int = 0, n_jobs: int = -1, init: np.ndarray | None = None) -> EmbeddedMap:
    """openTSNE on the latent means (after PCA to 50 dims). `progress(iteration, total)` is called every
    25 iterations; returning False cancels (InterruptedError). The neighbour search is not interruptible.
    `init` [N, 2]: start from this layout (another map of the same images) instead of PCA."""
    from openTSNE import TSNE

    total = sum(TSNE_ITERATIONS)
    x = PCA(min(TSNE_PCA_DIMS, mu.shape[1], len(mu)), random_state=seed).fit_transform(mu) if len(mu) > 2 else mu
    done = [0]

    def callback(iteration: int, error: float, embedding) -> bool:
        done[0] += 25  # called every 25 iterations, in both phases
        return progress is not None and progress(min(done[0], total), total) is False  # True stops openTSNE

    perplexity = min(perplexity, max(2.0, (len(mu) - 1) / 3))
    # openTSNE's scale
    start = "pca" if init is None else (init - init.mean(0)) / max(float(init[:, 0].std()), 1e-12) * 1e-4
    embedding = TSNE(perplexity=perplexity, n_jobs=n_jobs, random_state=seed, callbacks=callback, initialization=start,
                     callbacks_every_iters=25, early_exaggeration_iter=TSNE_ITERATIONS[0],
                     n_iter=TSNE_ITERATIONS[1]).fit(x)
    if progress is not None and progress(total, total) is False:
        raise InterruptedError("t-SNE cancelled")
    settings = f"t-SNE (openTSNE, perplexity {perplexity:g}, PCA to {x.shape[1]} dims first, seed {seed})"
    return EmbeddedMap(mu, np.asarray(embedding, np.float32), settings, name="tsne")


class _EpochReport:
    """A file for umap-learn's tqdm bar (format "n/total"): reports each epoch, and stops UMAP when told to.

    It stops UMAP by raising from `write`, which tqdm calls from `refresh` while it holds its process-wide lock,
    released only when the call returns (tqdm/std.py: acquire, display, release, no `finally`). So the raise
    first releases that one level; before, a cancelled UMAP left the lock held by a finished thread and the
    next UMAP (or any tqdm bar) in the process waited for ever. It raises once and only before the last epoch
    (`close` writes under its own lock). It reports only on UMAP's own thread and only until `detach`: tqdm's
    monitor thread also refreshes bars, a cancelled bar is never closed, and the monitor then called the
    app's progress callback (a Qt signal of a finished task) from its own thread, at any time later."""

    def __init__(self, progress: Callable[[int, int], bool | None]):
        self.progress, self.thread, self.stopped = progress, threading.get_ident(), False

    def detach(self) -> None:
        """The fit is over: nothing written later reaches the callback."""
        self.progress = None

    def write(self, text: str) -> None:
        if self.progress is None or threading.get_ident() != self.thread:
            return
        match = re.search(r"(\d+)/(\d+)", text)
        if not match:
            return
        done, total = int(match[1]), int(match[2])
        if self.progress(done, total) is False and not self.stopped and done < total:
            from tqdm.auto import tqdm  # the class umap-learn's bar is, and so its lock

            self.stopped = True
            tqdm.get_lock().release()
            raise InterruptedError("UMAP cancelled")

    def flush(self) -> None:
        pass


def umap(mu: np.ndarray, progress: Callable[[int, int], bool | None] | None = None, n_neighbors: int = 15,
         min_dist: float = 0.1, seed: int = 0, init: np.ndarray | None = None) -> EmbeddedMap:
    """umap-learn on the latent means. `progress(epoch, UMAP_EPOCHS)` follows the layout; returning False
    cancels it (InterruptedError). Importing umap-learn and its first call compile numba kernels (a minute
    or more, once: numba caches them); the neighbour search is not interruptible. `init` [N, 2]: start
    from this layout (another map of the same images) instead of the spectral one."""
    from umap import UMAP

    report = _EpochReport(progress or (lambda done, total: None))
    n_neighbors = min(n_neighbors, max(2, len(mu) - 1))
    reducer = UMAP(n_neighbors=n_neighbors, min_dist=min_dist, n_epochs=UMAP_EPOCHS, random_state=seed,
                   init="spectral" if init is None else np.asarray(init, np.float64),
                   n_jobs=1, tqdm_kwds={"disable": False, "file": report, "bar_format": "{n}/{total}",
                                        "mininterval": 0.25})
    try:
        embedding = reducer.fit_transform(mu)
        if report.progress(UMAP_EPOCHS, UMAP_EPOCHS) is False:
            raise InterruptedError("UMAP cancelled")
    finally:
        report.detach()
    settings = f"UMAP (umap-learn, {n_neighbors} neighbours, min_dist {min_dist:g}, seed {seed})"
    return EmbeddedMap(mu, np.asarray(embedding, np.float32), settings, name="umap")


class Projected(Protocol):
    """What every projection's map offers: core.latent.LatentMap (PCA) and EmbeddedMap (t-SNE, UMAP)."""

    name: str  # a key of PROJECTORS
    title: str
    exact: bool  # whether to_latent is the exact inverse (PCA) or an estimate
    settings: str  # how it was made, for the interface
    mu: np.ndarray | None  # [N, D] the latent means it was fitted to (None for a stored live-map frame)
    coords: np.ndarray  # [N, 2] float32
    explained: np.ndarray | None  # [2] variance fractions along the axes; None where axes have no meaning

    def transform(self, mu: np.ndarray) -> np.ndarray: ...  # latents [N, D] -> map points [N, 2]

    def to_latent(self, xy: np.ndarray) -> np.ndarray: ...  # map points [N, 2] -> latents [N, D]


@dataclass(frozen=True)
class Projection:
    """One member of the family: the next projection is one more of these."""

    name: str
    title: str
    fit: Callable[..., Projected]  # (mu [N, D], progress=None) -> Projected
    steps: int  # progress units `fit` reports (0: too quick to report)


def pca(mu: np.ndarray, progress: Callable[[int, int], bool | None] | None = None) -> LatentMap:
    """PCA to 2D (quick: no progress to report)."""
    return LatentMap.fit(mu)


PROJECTORS = {p.name: p for p in (
    Projection("pca", "PCA", pca, 0),
    Projection("tsne", "t-SNE", tsne, sum(TSNE_ITERATIONS)),
    Projection("umap", "UMAP", umap, UMAP_EPOCHS),
)}
