"""Working with chosen points of a latent map: nearest neighbours in the full latent space,
traversals along chosen directions, lasso and rectangle hit tests on the 2D map, and exporting a
selection (indices, labels, latents, images).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.neighbors import NearestNeighbors


@dataclass(frozen=True)
class Neighbours:
    """The k nearest points of one point in latent space (itself excluded), nearest first."""

    indices: np.ndarray  # [k] point indices
    distances: np.ndarray  # [k] Euclidean distances between latent means


def latent_neighbours(mu: np.ndarray, index: int | None, k: int = 8, z: np.ndarray | None = None) -> Neighbours:
    """Exact kNN of point `index` (or of a latent `z` [D] from elsewhere) among the latent means `mu`
    [N, D] (scikit-learn, brute force: one query against 60,000 x 128 takes a few ms)."""
    k = min(k, len(mu) - (index is not None))
    search = NearestNeighbors(n_neighbors=k + 1 if index is not None else k, algorithm="brute").fit(mu)
    distances, indices = search.kneighbors(mu[index:index + 1] if index is not None else np.atleast_2d(z))
    keep = indices[0] != index  # itself (or an exact duplicate listed first)
    return Neighbours(indices[0][keep][:k], distances[0][keep][:k])


@dataclass(frozen=True)
class Directions:
    """Unit directions in latent space to walk along, with a name and a spread (one sigma) each."""

    names: list[str]
    vectors: np.ndarray  # [K, D] unit rows
    sigmas: np.ndarray  # [K] the latent means' standard deviation along each direction


def traversal_directions(mu: np.ndarray, kl_dims=None, dims: int = 8, first: int | None = None) -> Directions:
    """PC1 and PC2 of the latent means `mu` [N, D], then the `dims` latent dimensions with the highest
    KL (`kl_dims` [D] from the diagnostics; the highest variance of `mu` when there is none); latent dimension
    `first`, when given, before them all (the one a user asked to walk)."""
    from sklearn.decomposition import PCA

    pcs = PCA(n_components=2, random_state=0).fit(mu).components_
    score = np.asarray(kl_dims, float) if kl_dims is not None and len(kl_dims) == mu.shape[1] else mu.var(axis=0)
    top = np.argsort(-score)[:dims]
    if first is not None:
        top = np.array([first, *[d for d in top if d != first]][:dims])
    vectors = np.concatenate([pcs, np.eye(mu.shape[1])[top]]).astype(np.float32)
    sigmas = (mu @ vectors.T).std(axis=0)
    what = "KL" if kl_dims is not None and len(kl_dims) == mu.shape[1] else "var"
    names = ["PC1", "PC2"] + [f"z{d} ({what} {score[d]:.2f})" for d in top]
    if first is not None:  # the dimension asked for leads
        order = [2, 0, 1, *range(3, len(names))]
        names, vectors, sigmas = [names[i] for i in order], vectors[order], sigmas[order]
    return Directions(names, vectors, np.maximum(sigmas, 1e-6))


def traversal(z: np.ndarray, directions: Directions, steps: int = 7, span: float = 3.0) -> np.ndarray:
    """Latents [K * steps, D]: from z, -span to +span sigma along each direction (rows of `steps`)."""
    t = np.linspace(-span, span, steps)  # [S]
    offsets = t[None, :, None] * (directions.sigmas[:, None, None] * directions.vectors[:, None, :])  # [K, S, D]
    return (np.asarray(z, np.float32)[None, None, :] + offsets).reshape(-1, len(z)).astype(np.float32)


def attribute_walk(z: np.ndarray, source: np.ndarray, target: np.ndarray, strength: float = 1.0,
                   steps: int = 8) -> np.ndarray:
    """Latents [steps, D]: z moved along the attribute vector `target - source` (two mean latents, for
    example of two classes: latent-space cartography), from 0 to `strength` times it."""
    t = np.linspace(0.0, strength, steps)[:, None]
    return (np.asarray(z, np.float32) + t * (np.asarray(target) - np.asarray(source))).astype(np.float32)


def inside_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """bool [N]: which points [N, 2] lie inside the closed polygon [M, 2] (even-odd rule, vectorised
    over the points; a lasso of a few hundred vertices tests 60,000 points in tens of ms)."""
    x, y = points[:, 0], points[:, 1]
    inside = np.zeros(len(points), bool)
    for (x0, y0), (x1, y1) in zip(polygon, np.roll(polygon, -1, axis=0)):
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at_x = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (x < at_x)
    return inside


def rectangle(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """The polygon [4, 2] of an axis-aligned rectangle given two opposite corners."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)


def save_selection(path, indices: np.ndarray, labels: np.ndarray, classes: list[str], mu: np.ndarray) -> None:
    """Write a selection: .npz (indices, labels, classes, mu) or .csv (index, label, class, mu_0.., named as
    save_latents names them). The indices are image indices of the map's split. ValueError names the path and
    the fix."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".csv":
            with open(path, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(["index", "label", "class", *[f"mu_{d}" for d in range(mu.shape[1])]])
                for i, label, z in zip(indices, labels, mu):
                    writer.writerow([int(i), int(label), classes[label], *(f"{v:.6g}" for v in z)])
        elif path.suffix.lower() == ".npz":
            np.savez(path, indices=indices, labels=labels, classes=np.array(classes), mu=mu)
        else:
            raise ValueError(f"cannot write {path}: choose a .npz or .csv file name")
    except OSError as e:
        raise ValueError(f"cannot write {path}: {e.strerror or e}; choose a folder you can write to") from e
