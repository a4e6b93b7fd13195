"""The maps core without Qt: a map made by encode_and_project, its lens values (MapLenses, computed when
asked), and what a MapQuery answers about it."""
import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from core.config import ModelConfig, TrainConfig
from core.latent import LatentMap, decode, encode
from core.maps import MapData, MapLenses, MapQuery, encode_and_project, pixel_structure, projection_steps
from core.train import Trainer


@pytest.fixture(scope="module")
def model(shapes):
    """One small model trained once for this module (80 steps on shapes)."""
    trainer = Trainer(shapes, TrainConfig(steps=80, batch_size=32, live_map=False),
                      ModelConfig(latent_dim=8, channels=8))
    trainer.run()
    return trainer.model.cpu().eval()


@pytest.fixture(scope="module")
def explorer(model, shapes):
    m = encode_and_project(model, "test", shapes.test, "pca")
    return MapQuery(model, shapes.test.images, m, shapes.classes)


def test_encode_and_project_maps_every_image_and_scores_its_neighbourhoods(model, shapes):
    seen = []
    m = encode_and_project(model, "test", shapes.test, "pca", progress=lambda d, t: seen.append((d, t)))
    mu = encode(model, shapes.test.images)
    assert m.coords.shape == (len(shapes.test), 2) and np.allclose(m.projection.mu, mu, atol=1e-5)
    assert np.allclose(m.coords, LatentMap.fit(mu).coords, atol=1e-4) and m.projection.exact
    assert m.explained is not None and 0 < m.explained.sum() <= 1
    assert 0.1 < m.knn <= 1 and 0.1 < pixel_structure(shapes.test) <= 1  # ten classes: chance is 0.1
    assert seen[-1] == (len(shapes.test), projection_steps("pca", len(shapes.test)))


def test_map_lenses_compute_only_what_is_asked_and_never_change_what_they_returned(explorer, model, shapes):
    from core.lenses import image_properties, model_properties

    lenses = MapLenses(shapes.test.labels, shapes.test.images, explorer.latents())
    assert list(lenses.known()) == ["class"] and lenses.missing(["brightness", "kl"]) == ["brightness", "kl"]
    first = lenses.compute(["brightness"])  # no model needed for the pixels' statistics
    assert set(first) == {"brightness", "saturation", "hue", "contrast"}  # one pass gives the four
    np.testing.assert_allclose(first["brightness"], image_properties(shapes.test.images)["brightness"])
    assert lenses.missing(["brightness"]) == ["brightness"]  # computed, not added: add is the caller's
    lenses.add(first)
    known = lenses.known()
    assert lenses.compute(["brightness", "hue"]) == {}  # nothing again
    lenses.add(lenses.compute(["kl", "cluster"], model))
    assert "kl" in lenses.known() and "kl" not in known and "mixture" not in lenses.known()
    np.testing.assert_allclose(lenses.get("kl"), model_properties(model, shapes.test.images)[1]["kl"], rtol=1e-5)
    assert len(np.unique(lenses.get("cluster"))) == 10
    frame = MapLenses(shapes.test.labels, shapes.test.images, None)  # a stored frame: no latent means
    assert not frame.possible("kl") and not frame.possible("cluster") and frame.possible("hue")
    assert frame.missing() == ["brightness", "saturation", "hue", "contrast"]


def test_a_nonlinear_map_reuses_the_latents_reports_progress_and_cancels(explorer, shapes):
    pca = explorer.map
    seen = []
    tsne = encode_and_project(None, "test", shapes.test, "tsne", lambda d, t: seen.append(d), encoded=pca)
    assert tsne.projection.mu is pca.projection.mu and not tsne.projection.exact and tsne.explained is None
    assert seen == sorted(seen) and seen[-1] == projection_steps("tsne", len(shapes.test))
    assert seen[0] > len(shapes.test)
    with pytest.raises(InterruptedError):
        encode_and_project(None, "test", shapes.test, "tsne", lambda d, t: d < len(shapes.test) + 100, encoded=pca)


def test_a_point_shows_its_image_reconstruction_and_true_latent_neighbours(explorer, model, shapes):
    mu = explorer.latents()
    view = explorer.point(7)
    assert view.image_index == 7 and view.label == shapes.test.labels[7]
    assert np.array_equal(view.original, shapes.test.images[7])
    assert np.array_equal(view.reconstruction, decode(model, mu[7:8])[0])
    _, expected = NearestNeighbors(n_neighbors=9).fit(mu).kneighbors(mu[7:8])
    assert list(view.neighbours.indices) == [i for i in expected[0] if i != 7][:8]


def test_decoding_a_spot_uses_the_maps_inverse(explorer, model):
    spot = explorer.decode_at([0.5, -0.25])
    z = explorer.map.projection.to_latent([0.5, -0.25])
    assert spot.exact and np.array_equal(spot.image, decode(model, z)[0])
    assert not np.array_equal(spot.image, explorer.decode_at([-3.0, 2.0]).image)


def test_traversals_walk_through_the_point_itself(explorer):
    walk = explorer.traversals(3)
    assert walk.names[:2] == ["PC1", "PC2"] and len(walk.names) == 10
    assert walk.images.shape == (10 * 7, 3, 32, 32)
    assert np.array_equal(walk.images[3], explorer.point(3).reconstruction)  # PC1 row, middle step: 0 sigma


def test_an_attribute_walk_ends_one_vector_further(explorer, model):
    labels, mu = explorer.map.labels, explorer.latents()
    source, target = np.flatnonzero(labels == 1), np.flatnonzero(labels == 4)
    images = explorer.attribute_walk(5, source, target, 1.0)
    end = decode(model, (mu[5] + mu[target].mean(0) - mu[source].mean(0))[None])[0]
    assert images.shape[0] == 8 and np.array_equal(images[0], explorer.point(5).reconstruction)
    assert np.array_equal(images[-1], end)


def test_a_selection_is_summarised_by_class_largest_first(explorer, shapes):
    points = np.flatnonzero(np.isin(explorer.map.labels, [2, 6]))[:30]
    summary = explorer.selection(points)
    counts = np.bincount(shapes.test.labels[points], minlength=10)
    assert summary.count == 30 and np.array_equal(summary.class_counts, counts)
    top = int(np.argmax(counts))
    assert summary.per_class.startswith(f"{shapes.classes[top]} {counts[top]}")
    assert summary.mean_image.shape == (3, 32, 32)


def test_an_image_from_the_split_is_placed_on_its_own_point(explorer, shapes):
    placed = explorer.place(shapes.test.images[11])
    assert np.allclose(placed.xy, explorer.map.coords[11], atol=1e-4)
    assert placed.neighbours.indices[0] == 11 and placed.neighbours.distances[0] < 1e-4


def test_a_stored_frame_without_latents_encodes_them_once(explorer, model, shapes):
    indices = np.arange(0, len(shapes.test), 5)
    lmap = LatentMap.fit(explorer.latents()[indices])
    frame = MapData("test", shapes.test.labels[indices], lmap.coords, None,
                    LatentMap(None, lmap.coords, lmap.explained, lmap.components, lmap.mean), indices, frame=0)
    answers = MapQuery(model, shapes.test.images, frame, shapes.classes)
    assert np.allclose(answers.latents(), explorer.latents()[indices], atol=1e-5)
    assert answers.latents() is answers.latents()
    assert answers.point(2).image_index == indices[2]


def test_traversals_walk_a_chosen_dimension_first_and_ignore_one_the_model_lacks(trained_checkpoint, shapes):
    from core.maps import MapQuery, encode_and_project

    model = trained_checkpoint[0].build_model()
    query = MapQuery(model, shapes.test.images, encode_and_project(model, "test", shapes.test), shapes.classes)
    assert query.traversals(0, first=5).names[0].startswith("z5 ")
    assert query.traversals(0, first=99).names[0] == "PC1"  # an 8-dimensional model has no z99
