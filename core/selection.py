"""Working with chosen points of a latent map: nearest neighbours in the full latent space, lasso
and rectangle hit tests on the 2D map, and exporting a selection (indices, labels, latents, images).
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


def latent_neighbours(mu: np.ndarray, index: int, k: int = 8) -> Neighbours:
    """Exact kNN of point `index` among the latent means `mu` [N, D] (scikit-learn, brute force: one
    query against 60,000 x 128 takes a few ms)."""
    k = min(k, len(mu) - 1)
    search = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(mu)
    distances, indices = search.kneighbors(mu[index:index + 1])
    keep = indices[0] != index  # itself (or an exact duplicate listed first)
    return Neighbours(indices[0][keep][:k], distances[0][keep][:k])


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
    """Write a selection: .npz (indices, labels, classes, mu) or .csv (index, label, class, z0..). The
    indices are image indices of the map's split. ValueError names the path and the fix."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".csv":
            with open(path, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(["index", "label", "class", *[f"z{d}" for d in range(mu.shape[1])]])
                for i, label, z in zip(indices, labels, mu):
                    writer.writerow([int(i), int(label), classes[label], *(f"{v:.6g}" for v in z)])
        elif path.suffix.lower() == ".npz":
            np.savez(path, indices=indices, labels=labels, classes=np.array(classes), mu=mu)
        else:
            raise ValueError(f"cannot write {path}: choose a .npz or .csv file name")
    except OSError as e:
        raise ValueError(f"cannot write {path}: {e.strerror or e}; choose a folder you can write to") from e
