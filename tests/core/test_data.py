"""Dataset loaders: CIFAR-10 layout, image folders, synthetic shapes, and their error messages."""
import pickle
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from core import data
from core.data import DatasetError, load_cifar10, load_image_folder, make_shapes
from tests.conftest import SHARED_CIFAR, serve_cifar, write_cifar_batches


def test_cifar_layout_loads(tmp_path):
    write_cifar_batches(tmp_path, n_per_batch=20)
    ds = load_cifar10(tmp_path)
    assert ds.train.images.shape == (100, 3, 32, 32) and ds.test.images.shape == (20, 3, 32, 32)
    assert ds.train.images.dtype == np.uint8 and ds.train.labels.dtype == np.int64
    assert ds.classes[0] == "airplane" and len(ds.classes) == 10
    # the folder itself may be given, too
    assert len(load_cifar10(tmp_path / "cifar-10-batches-py").train) == 100


def test_cifar_pixels_are_planar_rgb(tmp_path):
    folder = write_cifar_batches(tmp_path, n_per_batch=2)
    with open(folder / "test_batch", "rb") as f:
        raw = pickle.load(f)["data"][0]
    img = load_cifar10(tmp_path).test.images[0]
    assert np.array_equal(img[0].ravel(), raw[:1024]) and np.array_equal(img[2].ravel(), raw[2048:])


def test_missing_cifar_folder_names_path_and_fix(tmp_path):
    with pytest.raises(DatasetError, match=str(tmp_path)) as e:
        load_cifar10(tmp_path)
    assert "shapes" in str(e.value) and "download" in str(e.value).lower()


@pytest.mark.parametrize("damage", ["wrong_keys", "wrong_shape", "bad_labels", "garbage", "missing"])
def test_corrupt_cifar_batch_is_named(tmp_path, damage):
    folder = write_cifar_batches(tmp_path, n_per_batch=4)
    target = folder / "data_batch_3"
    if damage == "wrong_keys":
        target.write_bytes(pickle.dumps({"pixels": np.zeros((4, 3072), np.uint8)}))
    elif damage == "wrong_shape":
        target.write_bytes(pickle.dumps({"data": np.zeros((4, 100), np.uint8), "labels": [0] * 4}))
    elif damage == "bad_labels":
        target.write_bytes(pickle.dumps({"data": np.zeros((4, 3072), np.uint8), "labels": [0, 1, 2, 11]}))
    elif damage == "garbage":
        target.write_bytes(b"\x00not a pickle at all")
    else:
        target.unlink()
    with pytest.raises(DatasetError, match="data_batch_3"):
        load_cifar10(tmp_path)


def test_cifar_batch_cannot_run_code(tmp_path):
    folder = write_cifar_batches(tmp_path, n_per_batch=4)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (folder / "test_batch").write_bytes(pickle.dumps({"data": Payload(), "labels": []}))
    with pytest.raises(DatasetError, match="test_batch"):
        load_cifar10(tmp_path)
    assert not marker.exists()


def test_offline_download_is_a_clear_error(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DatasetError) as e:
        load_cifar10(tmp_path / "data", download=True)
    msg = str(e.value)
    assert str(tmp_path / "data") in msg and "network" in msg and "shapes" in msg
    assert list((tmp_path / "data").iterdir()) == []  # nothing a later start could mistake for data


def test_download_checks_md5_and_unpacks(tmp_path, monkeypatch):
    urls = serve_cifar(monkeypatch, tmp_path)
    seen = []
    ds = load_cifar10(tmp_path / "data", download=True, progress=lambda done, total: seen.append((done, total)))
    assert urls == [data.CIFAR_URL] and len(ds.test) == 3 and len(ds.train) == 15
    assert seen[-1] == (6, 6) and seen[0][1] > 0  # bytes first, then the six batch files
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["cifar-10-batches-py"]


def test_corrupt_or_cancelled_download_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    serve_cifar(monkeypatch, tmp_path, corrupt=True)
    with pytest.raises(DatasetError, match="MD5"):
        load_cifar10(tmp_path / "data", download=True)
    assert list((tmp_path / "data").iterdir()) == []
    serve_cifar(monkeypatch, tmp_path)
    with pytest.raises(InterruptedError):
        load_cifar10(tmp_path / "data", download=True, progress=lambda done, total: False)
    assert list((tmp_path / "data").iterdir()) == []
    assert len(load_cifar10(tmp_path / "data", download=True).test) == 3  # and a later try works


@pytest.mark.skipif(not (SHARED_CIFAR / "cifar-10-batches-py").is_dir(), reason="needs ../shared/datasets/cifar10")
def test_real_cifar10_copy():
    ds = load_cifar10(SHARED_CIFAR)
    assert ds.train.images.shape == (50000, 3, 32, 32) and ds.test.images.shape == (10000, 3, 32, 32)
    assert np.bincount(ds.train.labels).tolist() == [5000] * 10
    assert np.bincount(ds.test.labels).tolist() == [1000] * 10
    assert ds.classes == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    assert 50 < ds.test.images.mean() < 200  # real photos, not zeros


def _write_folder(root, per_class=6, size=(40, 24)):
    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / cls / f"{i}.{'png' if i % 2 else 'jpg'}")


def test_image_folder_loads_crops_and_splits(tmp_path):
    _write_folder(tmp_path)
    ds = load_image_folder(tmp_path, img_size=32, test_fraction=0.25)
    assert ds.classes == ["cats", "dogs"]
    assert ds.train.images.shape == (9, 3, 32, 32) and ds.test.images.shape == (3, 3, 32, 32)
    again = load_image_folder(tmp_path, img_size=32, test_fraction=0.25)
    assert np.array_equal(ds.test.images, again.test.images)  # fixed-seed split
    gray = load_image_folder(tmp_path, img_size=16, in_ch=1)
    assert gray.train.images.shape[1:] == (1, 16, 16)


def test_image_folder_skips_and_counts_corrupt_files(tmp_path):
    _write_folder(tmp_path, per_class=3)
    (tmp_path / "cats" / "broken.png").write_bytes(b"\x89PNG garbage")
    (tmp_path / "dogs" / "empty.jpg").write_bytes(b"")
    (tmp_path / "dogs" / "notes.txt").write_text("ignored: not an image suffix")
    with pytest.warns(UserWarning, match="skipped 2 unreadable"):
        ds = load_image_folder(tmp_path)
    assert len(ds.train) + len(ds.test) == 6


@pytest.mark.filterwarnings("ignore:skipped")
@pytest.mark.parametrize("layout", ["missing", "empty", "no_images", "only_corrupt"])
def test_unusable_image_folder_names_path(tmp_path, layout):
    root = tmp_path / "imgs"
    if layout != "missing":
        root.mkdir()
    if layout in ("no_images", "only_corrupt"):
        (root / "a").mkdir()
    if layout == "only_corrupt":
        (root / "a" / "x.png").write_bytes(b"nope")
    with pytest.raises(DatasetError, match=str(root)):
        load_image_folder(root)


def test_shapes_are_deterministic_and_balanced():
    a, b = make_shapes(n_train=500, n_test=100, seed=3), make_shapes(n_train=500, n_test=100, seed=3)
    assert np.array_equal(a.train.images, b.train.images) and np.array_equal(a.test.labels, b.test.labels)
    assert not np.array_equal(a.train.images, make_shapes(n_train=500, n_test=100, seed=4).train.images)
    assert np.bincount(a.train.labels).tolist() == [50] * 10
    assert len(a.classes) == 10 and a.train.images.dtype == np.uint8


def test_shape_classes_differ_visibly():
    ds = make_shapes(n_train=2000, n_test=0, seed=0)
    # mean foreground mask per class: brightness-normalised images differ between every pair of classes
    x = ds.train.images.astype(np.float32).mean(axis=1)
    x = (x - x.mean(axis=(1, 2), keepdims=True)) / (x.std(axis=(1, 2), keepdims=True) + 1e-6)
    x = np.abs(x)
    means = np.stack([x[ds.train.labels == k].mean(axis=0) for k in range(10)])
    dists = np.linalg.norm(means[:, None] - means[None], axis=(2, 3))
    assert dists[~np.eye(10, dtype=bool)].min() > 0.5
