"""Two maps side by side: alignment and neighbour agreement, on latents whose answer is known."""
from __future__ import annotations

import numpy as np
import pytest

from core.compare import compare_latents, neighbour_agreement, procrustes


def test_procrustes_undoes_a_rotation_reflection_scale_and_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 2)).astype(np.float32)
    angle = 1.1
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    b = (a @ turn) * [-1, 1] * 3.5 + [10, -4]  # turned, mirrored, scaled, moved
    assert np.abs(procrustes(a, b) - a).max() < 1e-4
    assert np.abs(b - a).max() > 1  # it was far off before


def test_neighbour_agreement_is_one_for_the_same_latents_and_low_for_unrelated_ones():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(2000, 16)).astype(np.float32)
    assert np.all(neighbour_agreement(mu, mu * 3 + 1) == 1)  # a scaled, shifted copy keeps every neighbour
    unrelated = neighbour_agreement(mu, rng.normal(size=(2000, 16)).astype(np.float32))
    assert unrelated.mean() < 0.02  # by chance: about 10 / 2000
    half = mu.copy()
    half[1000:] = rng.normal(size=(1000, 16))  # one half of the images moved elsewhere
    agree = neighbour_agreement(mu, half)
    assert agree[:1000].mean() > 3 * agree[1000:].mean()


def test_compared_pca_maps_of_a_rotated_latent_space_line_up(shapes):
    rng = np.random.default_rng(1)
    mu = rng.normal(size=(800, 8)).astype(np.float32) * np.linspace(3, 0.2, 8)
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    pair = compare_latents(mu, mu @ q, np.zeros(800, np.int64))  # the same space, turned: the same map
    assert np.abs(pair.coords_b - pair.coords_a).max() < 1e-3 * np.abs(pair.coords_a).max()
    assert pair.mean_agreement == pytest.approx(1.0)
    assert np.allclose(pair.morph(0.5), pair.coords_a, atol=1e-3)
    with pytest.raises(ValueError, match="same images"):
        compare_latents(mu, mu[:10], np.zeros(800))
