"""Embeddings without a model: our own exports, a CSV and the TensorBoard Projector's TSV pair read back to the
same vectors, labels and columns; given coordinates are the map as they are; bad files say what is wrong."""
import numpy as np
import pytest

from core.cli import main
from core.embeddings import EmbeddingsError, embeddings_map, read_embeddings
from core.export import write_projector
from core.latent import save_latents, save_png


@pytest.fixture
def points():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    vectors = (rng.normal(size=(3, 16))[labels] * 3 + rng.normal(size=(300, 16))).astype(np.float32)
    images = rng.integers(0, 256, (300, 3, 8, 8), dtype=np.uint8)
    coords = rng.normal(size=(300, 2)).astype(np.float32)
    return vectors, labels, ["ant", "bee", "cat"], images, coords


def test_our_own_exports_read_back_with_their_map_and_lenses(points, tmp_path):
    vectors, labels, classes, _, coords = points
    brightness = np.linspace(0, 1, 300).astype(np.float32)
    for suffix in (".npz", ".csv"):
        path = tmp_path / f"latents{suffix}"
        save_latents(path, vectors, labels, classes, coords, np.array([0.5, 0.2]), "pca", {"brightness": brightness})
        e = read_embeddings(path)
        np.testing.assert_allclose(e.vectors, vectors, rtol=1e-5)  # the CSV keeps 6 significant digits
        assert np.array_equal(e.labels, labels) and e.classes == classes
        np.testing.assert_allclose(e.coords, coords, rtol=1e-5)
        np.testing.assert_allclose(e.columns["brightness"], brightness, rtol=1e-5)  # our lens again, by its name
        m = embeddings_map(e)
        assert np.array_equal(m.coords, e.coords) and m.projection.title == "given coordinates"  # not re-projected
        assert 0.9 < m.knn <= 1  # three well-separated classes


def test_the_projector_pair_reads_back_and_a_map_is_projected_when_no_coordinates_came(points, tmp_path):
    vectors, labels, classes, images, _ = points
    write_projector(tmp_path / "proj", vectors, labels, classes, images)
    e = read_embeddings(tmp_path / "proj" / "tensors.tsv")
    np.testing.assert_allclose(e.vectors, vectors, rtol=1e-5)
    assert [e.classes[k] for k in e.labels] == [classes[k] for k in labels]
    assert e.coords is None and e.images is None
    m = embeddings_map(e)
    assert m.projection.title == "PCA" and m.coords.shape == (300, 2) and m.coords.std() > 0


def test_any_vectors_with_columns_images_and_string_labels(points, tmp_path):
    vectors, labels, classes, images, _ = points
    names = np.array(classes)[labels]
    np.savez(tmp_path / "theirs.npz", embeddings=vectors, label=names, score=np.arange(300.0),
             images=images.transpose(0, 2, 3, 1))  # channels last, as many tools keep them
    e = read_embeddings(tmp_path / "theirs.npz")
    assert e.classes == sorted(classes) and np.array_equal(e.images, images)
    assert list(e.columns) == ["col:score"] and e.columns["col:score"][7] == 7
    folder = tmp_path / "three.images"  # beside three.npz: its images, found by their name
    folder.mkdir()
    for i in range(3):
        save_png(images[i], folder / f"{i:03d}.png")
    np.savez(tmp_path / "three.npz", vectors=vectors[:3])
    e = read_embeddings(tmp_path / "three.npz")
    assert e.images.shape == (3, 3, 64, 64) and e.classes == ["all points"]
    np.save(tmp_path / "other.npy", images[:3])
    assert np.array_equal(read_embeddings(tmp_path / "three.npz", images=tmp_path / "other.npy").images, images[:3])


def test_the_map_command_projects_embeddings_and_writes_what_encode_writes(points, tmp_path, capsys):
    vectors, labels, classes, _, coords = points
    np.savez(tmp_path / "e.npz", vectors=vectors, labels=labels, classes=np.array(classes), coords=coords)
    assert main(["map", str(tmp_path / "e.npz"), "--out", str(tmp_path / "m.npz")]) == 0
    assert np.array_equal(np.load(tmp_path / "m.npz")["given"], coords)
    assert main(["map", str(tmp_path / "e.npz"), "--projection", "pca", "--out", str(tmp_path / "m.csv")]) == 0
    out = capsys.readouterr().out
    assert "300 embeddings of 16 dimensions (PCA)" in out and "class structure" in out
    again = read_embeddings(tmp_path / "m.csv")
    assert not np.allclose(again.coords, coords) and again.coords.shape == (300, 2)


@pytest.mark.parametrize("write, problem", [
    (lambda p: p.write_text("just some notes\n"), "vector columns"),
    (lambda p: np.savez(p, vectors=np.full((5, 4), np.nan)), "NaN"),
    (lambda p: np.savez(p, a=np.zeros((5, 4)), b=np.zeros((5, 4))), "not exactly one"),
    (lambda p: np.savez(p, vectors=np.zeros((5, 4)), labels=np.arange(5), classes=np.array(["x"])), "1 classes"),
])
def test_bad_embeddings_say_what_is_wrong_and_how_to_fix_it(tmp_path, write, problem):
    path = tmp_path / ("bad.csv" if "notes" in str(write.__code__.co_consts) else "bad.npz")
    write(path)
    with pytest.raises(EmbeddingsError, match=problem) as e:
        read_embeddings(path)
    assert str(path) in str(e.value) and "Give an .npz" in str(e.value)
    assert main(["map", str(path), "--out", str(tmp_path / "m.npz")]) == 2
