"""Structure: how well a set of features (latent means, or raw pixels as the reference) predicts a property
of the images, measured one way everywhere: the map caption, live frames, Diagnostics, the runs table and
curves, the Lenses tab, the sweep and the CLI all call `knn_score` (class structure: `class_structure`).

The protocol, from representation learning (facebookresearch/dino `eval_knn.py`; Bonheme & Grzes,
arXiv 2109.12679), applied the same way to latents and to pixels:
- the first MAX_POINTS points (of a split: the same images for every model), split into FOLDS folds with a
  fixed seed; each fold is scored against the other folds as the reference set;
- passive dimensions (variance under ACTIVE_VARIANCE: the active-units rule of Burda et al.; pixels in
  [0, 1]) are dropped, the rest standardised, and each point scaled to unit length;
- the K most similar reference points (cosine similarity) vote, each with weight exp(similarity / T);
- categories: the accuracy of the heaviest vote; numbers: the R^2 of the weighted mean.
"""
from __future__ import annotations

import numpy as np

K = 20
TEMPERATURE = 0.07
FOLDS = 5
MAX_POINTS = 5000
ACTIVE_VARIANCE = 0.01
PROTOCOL_ID = "knn-cosine-k20-t0.07-5fold-v1"  # stored with every checkpoint's figures
PROTOCOL = (f"kNN: standardised active dimensions, cosine similarity, k = {K} votes weighted by "
            f"exp(similarity / {TEMPERATURE}), {FOLDS}-fold cross-validation over the first {MAX_POINTS:,} images")


def structure_images(images: np.ndarray) -> np.ndarray:
    """The images a model's class structure is measured on: the first MAX_POINTS of its test split, the same
    for every model (and every map of that split)."""
    return images[:MAX_POINTS]


def flat(features: np.ndarray) -> np.ndarray:
    """[N, D] latents or uint8 [N, C, H, W] images (scaled to [0, 1]) -> float32 [N, D]."""
    x = np.asarray(features).reshape(len(features), -1)
    return x.astype(np.float32) / 255 if x.dtype == np.uint8 else x.astype(np.float32)


def prepare(features: np.ndarray) -> np.ndarray:
    """[N, D] latents or uint8 [N, C, H, W] images -> float32 [N, D'] rows of unit length: the active dimensions
    (all of them if none is), standardised."""
    x = flat(features)
    var = x.var(axis=0)
    active = var > ACTIVE_VARIANCE
    x = x[:, active if active.any() else var > 0]
    x = (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-12)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _votes(reference: np.ndarray, queries: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The K nearest reference rows of each query row by cosine similarity: (indices, weights), [Q, K] each."""
    k = min(K, len(reference))
    index, weight = [], []
    for i in range(0, len(queries), chunk):
        sim = queries[i:i + chunk] @ reference.T  # [q, R]
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        index.append(top)
        weight.append(np.exp(np.take_along_axis(sim, top, axis=1) / TEMPERATURE))
    return np.concatenate(index), np.concatenate(weight)


def knn_score(features: np.ndarray, values: np.ndarray, kind: str = "category", seed: int = 0,
              max_points: int = MAX_POINTS) -> float:
    """How well `features` predict `values` under the protocol: accuracy (kind "category") or R^2 ("number")."""
    n = len(values)
    if n < 2 * FOLDS:
        return float("nan")
    rng = np.random.default_rng(seed)
    chosen = np.arange(min(n, max_points))
    x, y = prepare(np.asarray(features)[chosen]), np.asarray(values)[chosen]
    fold = rng.permutation(len(chosen)) % FOLDS
    predicted = np.zeros(len(chosen), np.float64 if kind == "number" else np.int64)
    codes = np.unique(y, return_inverse=True)[1] if kind == "category" else None
    for f in range(FOLDS):
        ref, query = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        index, weight = _votes(x[ref], x[query])
        if kind == "number":
            predicted[query] = (weight * y[ref][index]).sum(1) / weight.sum(1)
        else:
            tally = np.zeros((len(query), codes.max() + 1))
            np.add.at(tally, (np.repeat(np.arange(len(query)), index.shape[1]), codes[ref][index].ravel()),
                      weight.ravel())
            predicted[query] = tally.argmax(1)
    if kind == "number":
        spread = ((y - y.mean()) ** 2).sum()
        return float(1 - ((y - predicted) ** 2).sum() / spread) if spread > 0 else float("nan")
    return float((predicted == codes).mean())


def varies(values: np.ndarray) -> bool:
    """More than one value: a property worth scoring (class structure and a class probe need two classes)."""
    return len(values) > 1 and bool(np.ptp(np.asarray(values)) > 0)


def class_structure(features: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """The class structure of `features` (latent means, or raw pixels as the reference): the protocol's kNN
    accuracy of their labels; NaN with too few points or a single class."""
    labels = np.asarray(labels)
    return knn_score(features, labels, "category", seed) if varies(labels) else float("nan")
