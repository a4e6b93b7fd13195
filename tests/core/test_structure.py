"""One structure protocol (core.structure): the figure it gives for two sets of points, checked against a
plain implementation of the protocol written out here, and the only kNN scoring of latents in the app."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from core.structure import FOLDS, MAX_POINTS, TEMPERATURE, K, class_structure, knn_score, prepare

ROOT = Path(__file__).resolve().parents[2]


def _by_hand(x: np.ndarray, y: np.ndarray, kind: str, seed: int = 0) -> float:
    """The protocol, point by point: the first MAX_POINTS points in seeded folds, active dimensions standardised,
    unit rows, the K most similar of the other folds voting with exp(similarity / T)."""
    rng = np.random.default_rng(seed)
    x, y = x[:MAX_POINTS].astype(np.float64), y[:MAX_POINTS]
    fold = rng.permutation(len(y)) % FOLDS
    keep = x.var(0) > 0.01
    x = x[:, keep]
    x = (x - x.mean(0)) / x.std(0)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    hits, predictions = [], np.zeros(len(y))
    for i in range(len(y)):
        others = np.flatnonzero(fold != fold[i])
        sim = x[others] @ x[i]
        top = others[np.argsort(-sim, kind="stable")[:K]]
        weight = np.exp(x[top] @ x[i] / TEMPERATURE)
        if kind == "number":
            predictions[i] = (weight * y[top]).sum() / weight.sum()
        else:
            votes = {c: weight[y[top] == c].sum() for c in np.unique(y[top])}
            hits.append(max(votes, key=votes.get) == y[i])
    if kind == "number":
        return 1 - ((y - predictions) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    return float(np.mean(hits))


def test_two_sets_of_points_get_the_protocols_figure():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(4), 50)
    # classes apart along dimension 0, a passive dimension (variance below 0.01) that would otherwise mix them
    clustered = np.c_[labels + rng.normal(0, 0.3, 200), rng.normal(0, 1, (200, 3)), rng.normal(0, 0.05, 200)]
    mixed = rng.normal(size=(200, 5))
    for points in (clustered, mixed):
        assert class_structure(points, labels) == pytest.approx(_by_hand(points, labels, "category"))
    assert class_structure(clustered, labels) > 0.6 > 0.4 > class_structure(mixed, labels)  # chance is 0.25
    values = clustered[:, 0] * 2 + rng.normal(0, 0.1, 200)
    assert knn_score(clustered, values, "number") == pytest.approx(_by_hand(clustered, values, "number"))


def test_pixels_are_treated_like_latents_and_nothing_is_measured_without_two_classes():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (60, 3, 4, 4), dtype=np.uint8)
    flat = images.reshape(60, -1).astype(np.float32) / 255
    labels = np.arange(60) % 3
    assert class_structure(images, labels) == class_structure(flat, labels)  # uint8 pixels are scaled to [0, 1]
    assert np.allclose(np.linalg.norm(prepare(images), axis=1), 1)
    assert np.isnan(class_structure(flat, np.zeros(60)))
    assert np.isnan(class_structure(flat[:5], labels[:5]))  # fewer points than two per fold


def test_no_other_knn_scoring_of_latents_in_the_app():
    """One function computes structure: scikit-learn's kNN classifiers and regressors appear nowhere else."""
    found = [str(p.relative_to(ROOT)) for folder in ("core", "explorer") for p in (ROOT / folder).rglob("*.py")
             if re.search(r"KNeighbors(Classifier|Regressor)|knn_accuracy", p.read_text())]
    assert found == []
