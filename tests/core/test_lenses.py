"""Lenses: image properties that a person would agree with, and predictability that finds what organises latents."""
from __future__ import annotations

import numpy as np

from core.lenses import HUES, image_properties, predictability, what_latents_predict


def solid(rgb, n=1, size=8) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8)[None, :, None, None], (n, 3, size, size)).copy()


def test_image_properties_of_plain_and_striped_images():
    images = np.concatenate([solid((0, 0, 0)), solid((255, 255, 255)), solid((220, 20, 20)), solid((20, 20, 220)),
                             solid((128, 128, 128))])
    stripes = solid((0, 0, 0))
    stripes[:, :, :, ::2] = 255
    p = image_properties(np.concatenate([images, stripes]))
    assert p["brightness"][0] == 0 and p["brightness"][1] == 1
    assert p["saturation"][2] > 0.8 and p["saturation"][4] == 0
    assert [HUES[h] for h in p["hue"][:5]] == ["grey", "grey", "red", "blue", "grey"]
    assert p["contrast"][5] > 0.3 and p["contrast"][:5].max() == 0  # edges only where there are some


def test_predictability_finds_the_property_latents_encode():
    rng = np.random.default_rng(0)
    brightness = rng.uniform(0, 1, 3000)
    classes = rng.integers(0, 5, 3000)
    mu = np.column_stack([brightness * 4, rng.normal(size=(3000, 7))]).astype(np.float32)  # brightness only
    assert predictability(mu, brightness, "number") > 0.8
    assert predictability(mu, classes, "category") < 0.3  # chance is 0.2
    images = rng.integers(0, 256, (3000, 3, 4, 4), dtype=np.uint8)
    ranked = what_latents_predict(mu, images, {"class": classes, "brightness": brightness})
    assert [p.name for p in ranked] == ["brightness", "class"] and ranked[0].pixels < 0.2
    assert "R² 0.9" in ranked[0].figure or "R² 1.0" in ranked[0].figure


def test_each_active_dimension_is_matched_with_the_property_it_follows():
    from core.lenses import dimension_lens, image_properties

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (1500, 3, 8, 8), dtype=np.uint8)
    properties = image_properties(images) | {"class": rng.integers(0, 4, 1500)}
    mu = rng.normal(size=(1500, 5)).astype(np.float32)
    mu[:, 1] = -30 * properties["brightness"] + 0.01 * rng.normal(size=1500)  # follows brightness, inversely
    mu[:, 3] = (properties["class"] == 2) + 0.1 * rng.normal(size=1500)  # follows class "c" one-vs-rest
    mu[:, 4] *= 0.01  # inactive: the variance of its means is below 0.01
    dims = dimension_lens(mu, properties, ["a", "b", "c", "d"])
    assert 4 not in dims.dims and set(dims.dims) == {0, 1, 2, 3}
    row = dims.dims.index(1)
    assert dims.rho[row, dims.columns.index("brightness")] < -0.99
    assert dims.follows(row) == f"z1 follows brightness (ρ {dims.rho[row, 0]:+.2f})"
    assert dims.follows(dims.dims.index(3)).startswith("z3 follows class: c")
    kl = np.array([0.5, 2.0, 0.05, 1.0, 0.0])  # with KL: active above 0.1 nat, most KL first
    assert dimension_lens(mu, properties, ["a", "b", "c", "d"], kl_dims=kl).dims == [1, 3, 0]


def test_the_class_row_is_the_figure_the_map_caption_shows_also_beyond_2000_points():
    from core.lenses import lens_report
    from core.structure import class_structure

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 3000)
    mu = rng.normal(size=(3000, 4)) + labels[:, None] * 0.8  # some class structure
    images = rng.integers(0, 256, (3000, 3, 4, 4), dtype=np.uint8)
    report = lens_report(mu, images, {"class": labels})  # the app's report: 2,000 points for every other row
    assert next(p for p in report.ranked if p.name == "class").latent == class_structure(mu, labels)
