"""What organises a map: how well the latent means (or raw pixels) predict a property of the images.

`linear_probe_accuracy` is the class probe of representation-learning papers (logistic regression
fitted on one split, scored on another); `knn_accuracy` (core.latent) is the neighbourhood view of
the same question.
"""
from __future__ import annotations

import numpy as np


def _flat(x: np.ndarray) -> np.ndarray:
    """latents [N, D] or uint8 images [N, C, H, W] -> float32 [N, D]"""
    x = np.asarray(x).reshape(len(x), -1)
    return x.astype(np.float32) / 255 if x.dtype == np.uint8 else x.astype(np.float32)


def linear_probe_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                          max_iter: int = 300) -> float:
    """Accuracy on the test rows of a logistic regression fitted on the (standardised) train rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import warnings

    from sklearn.exceptions import ConvergenceWarning

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, C=0.1))
    with warnings.catch_warnings():  # a probe stopped at max_iter still ranks features; it is a measure, not a model
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(_flat(train_x), train_y)
    return float(probe.score(_flat(test_x), test_y))
