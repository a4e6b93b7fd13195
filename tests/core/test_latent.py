"""Latent tools: PCA map round trip, nearest point, decode, sampling, interpolation, kNN."""
import numpy as np
import pytest

from core import latent
from core.latent import LatentMap


@pytest.fixture(scope="module")
def lmap():
    rng = np.random.default_rng(0)
    mu = (rng.normal(size=(300, 6)) * [5, 3, 0.1, 0.1, 0.1, 0.1]).astype(np.float32)
    return LatentMap.fit(mu)


def test_pca_round_trip(lmap):
    back = lmap.to_latent(lmap.coords)
    assert np.abs(back - lmap.mu).max() < 0.5  # the two big axes are kept, the small ones lost
    assert lmap.explained[0] > lmap.explained[1] > 0.2 and lmap.explained.sum() < 1
    np.testing.assert_allclose(lmap.transform(lmap.to_latent([1.5, -2.0])), [[1.5, -2.0]], atol=1e-4)


def test_nearest_point(lmap):
    for i in (0, 17, 299):
        idx, dist = lmap.nearest(lmap.coords[i] + 1e-4)
        assert idx == i and dist < 1e-3


def test_interpolation_ends_and_slerp_norm():
    z0, z1 = np.array([3.0, 0.0]), np.array([0.0, 3.0])
    lin = latent.interpolate(z0, z1, 10, "linear")
    sph = latent.interpolate(z0, z1, 10, "spherical")
    assert lin.shape == sph.shape == (10, 2)
    np.testing.assert_allclose(sph[[0, -1]], [z0, z1], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(sph, axis=1), 3.0, atol=1e-5)  # stays on the sphere
    assert np.linalg.norm(lin[5]) < 2.5  # the straight line cuts inside
    with pytest.raises(ValueError):
        latent.interpolate(z0, z1, 3, "cubic")


def test_decode_sample_and_reconstruct(trained_checkpoint, shapes):
    model = trained_checkpoint[0].build_model()
    a = latent.sample_prior(model, 16, temperature=1.0, seed=1)
    assert a.shape == (16, 3, 32, 32) and a.dtype == np.uint8
    assert np.array_equal(a, latent.sample_prior(model, 16, 1.0, seed=1))
    assert not np.array_equal(a, latent.sample_prior(model, 16, 1.0, seed=2))
    assert model.training  # tools restore the mode they found
    rec = latent.reconstruct(model, shapes.test.images[:50])
    err = np.abs(rec.astype(int) - shapes.test.images[:50]).mean()
    noise = np.abs(shapes.test.images[50:100].astype(int) - shapes.test.images[:50]).mean()
    assert err < 0.6 * noise  # reconstructions resemble their own inputs


def test_encode_progress_and_cancel(trained_checkpoint, shapes):
    model = trained_checkpoint[0].build_model()
    calls = []
    mu = latent.encode(model, shapes.test.images, batch_size=200, progress=lambda d, t: calls.append((d, t)))
    assert mu.shape == (500, 8) and calls == [(200, 500), (400, 500), (500, 500)]
    with pytest.raises(InterruptedError):
        latent.encode(model, shapes.test.images, batch_size=200, progress=lambda d, t: False)


def test_pixel_picker_matches_brute_force_in_pixels_with_unequal_axis_scales():
    rng = np.random.default_rng(1)
    coords = rng.normal(size=(20_000, 2)) * [100.0, 0.01]  # wildly different data scales
    visible = rng.random(len(coords)) < 0.8
    picker = latent.PixelPicker(coords, visible)
    px_w, px_h = 0.5, 0.00002  # data units per pixel on each axis
    hits = 0
    for q in rng.normal(size=(300, 2)) * [100.0, 0.01]:
        d_px = np.hypot((coords[:, 0] - q[0]) / px_w, (coords[:, 1] - q[1]) / px_h)
        d_px[~visible] = np.inf
        expected = int(np.argmin(d_px)) if d_px.min() <= 6 else None
        assert picker.nearest(q[0], q[1], px_w, px_h, 6) == expected
        hits += expected is not None
    assert 20 < hits < 300  # both hits and misses were checked
    assert latent.PixelPicker(np.zeros((0, 2))).nearest(0, 0, 1, 1, 6) is None


def test_mixture_samples_are_deterministic_by_seed_and_differ_from_the_prior(trained_checkpoint, shapes):
    model = trained_checkpoint[0].build_model()
    mu = latent.encode(model, shapes.train.images[:1000])
    mixture = latent.LatentMixture.fit(mu, n_components=5)
    a = latent.sample_mixture(model, mixture, 16, 1.0, seed=3)
    assert np.array_equal(a, latent.sample_mixture(model, mixture, 16, 1.0, seed=3))
    assert not np.array_equal(a, latent.sample_mixture(model, mixture, 16, 1.0, seed=4))
    assert not np.array_equal(a, latent.sample_prior(model, 16, 1.0, seed=3))
    z = mixture.sample(4000, 1.0, seed=0)  # the draws follow the latents' own spread, not N(0, I)
    np.testing.assert_allclose(z.std(axis=0), mu.std(axis=0), rtol=0.15)
    assert np.abs(mixture.sample(4000, 0.1, seed=0) - z).mean() > 0  # the temperature matters
    with pytest.raises(ValueError, match="no fitted mixture"):
        latent.sample_mixture(model, None)


def test_aligned_frames_do_not_flip_or_spin():
    """Synthetic latents whose PCA basis flips (and turns) between frames still give aligned coordinates."""
    rng = np.random.default_rng(0)
    base = (rng.normal(size=(500, 8)) * [4, 2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]).astype(np.float32)
    first = LatentMap.fit(base)
    c, s_ = np.cos(0.3), np.sin(0.3)
    turn = np.eye(8)
    turn[:2, :2] = [[c, -s_], [s_, c]]
    flipped = (base @ turn.T * [-1, -1, 1, 1, 1, 1, 1, 1]).astype(np.float32)  # the model moved: signs flip
    naive = LatentMap.fit(flipped)
    aligned = LatentMap.fit(flipped, align_to=first.coords)
    jump = lambda m: np.abs(m.coords - first.coords).mean()  # noqa: E731
    assert jump(naive) > 1.0  # fitted alone, the frame jumps
    assert jump(aligned) < 0.1 * jump(naive)
    np.testing.assert_allclose(aligned.transform(flipped), aligned.coords, atol=1e-4)
    np.testing.assert_allclose(aligned.explained.sum(), first.explained.sum(), rtol=1e-3)


@pytest.mark.parametrize("name", ["tsne", "umap"])
def test_projection_separates_clusters_and_estimates_empty_spots_from_neighbours(name):
    from core.projection import PROJECTORS

    project, total = PROJECTORS[name].fit, PROJECTORS[name].steps
    rng = np.random.default_rng(0)
    mu = np.concatenate([rng.normal(size=(100, 12)) + 6 * k for k in range(3)]).astype(np.float32)
    seen = []
    m = project(mu, progress=lambda done, total: seen.append((done, total)))
    assert m.coords.shape == (300, 2) and seen[-1] == (total, total) and len(seen) > 2 and m.name == name
    centres = np.array([m.coords[100 * k:100 * (k + 1)].mean(axis=0) for k in range(3)])
    spread = np.mean([m.coords[100 * k:100 * (k + 1)].std() for k in range(3)])
    assert min(np.linalg.norm(centres[i] - centres[j]) for i in range(3) for j in range(i)) > 2 * spread
    spot = m.coords[:100].mean(axis=0) + 0.1  # an empty spot inside cluster 0
    estimate = m.to_latent(spot)[0]
    _, nearest = __import__("scipy.spatial", fromlist=["cKDTree"]).cKDTree(m.coords).query(spot, k=10)
    assert np.linalg.norm(estimate - mu[nearest].mean(axis=0)) < 0.5 * np.linalg.norm(mu[nearest].std(axis=0))
    assert np.linalg.norm(estimate - mu[:100].mean(axis=0)) < np.linalg.norm(estimate - mu[100:].mean(axis=0))
    with pytest.raises(InterruptedError):
        project(mu, progress=lambda done, total: done < total // 3)


def test_traversals_walk_three_sigma_each_way_along_pcs_and_high_kl_dims():
    from core.selection import traversal, traversal_directions

    rng = np.random.default_rng(0)
    mu = rng.normal(size=(500, 12)).astype(np.float32) * np.arange(1, 13, dtype=np.float32)
    kl = np.zeros(12)
    kl[[3, 7]] = [2.0, 5.0]
    d = traversal_directions(mu, kl, dims=2)
    assert d.names[:2] == ["PC1", "PC2"] and d.names[2].startswith("z7") and d.names[3].startswith("z3")
    assert np.allclose(np.linalg.norm(d.vectors, axis=1), 1, atol=1e-5)
    assert abs(abs(d.vectors[0, 11]) - 1) < 0.05  # PC1 is the widest dimension, z11
    walk = traversal(mu[0], d, steps=7).reshape(4, 7, 12)
    assert np.allclose(walk[:, 3], mu[0])  # the middle of every row is the point itself
    assert np.allclose(walk[2, -1] - walk[2, 3], 3 * mu[:, 7].std() * np.eye(12)[7], atol=1e-4)  # +3 sigma along z7


def test_inside_polygon_and_selection_export(tmp_path):
    import csv

    from core.selection import inside_polygon, rectangle, save_selection

    pts = np.array([[0.2, 0.2], [1.5, 0.5], [0.1, 0.7], [-0.1, 0.5], [0.6, 0.6]])
    triangle = np.array([[0, 0], [1, 0], [0, 1]], float)
    assert inside_polygon(pts, triangle).tolist() == [True, False, True, False, False]
    assert inside_polygon(pts, rectangle(1, 1, 0, 0)).tolist() == [True, False, True, False, True]
    mu = np.arange(10, dtype=np.float32).reshape(5, 2)
    save_selection(tmp_path / "s.csv", np.array([4, 9]), np.array([1, 0]), ["a", "b"], mu[:2])
    rows = list(csv.reader(open(tmp_path / "s.csv")))
    assert rows[0] == ["index", "label", "class", "mu_0", "mu_1"] and rows[1][:3] == ["4", "1", "b"]
    with pytest.raises(ValueError, match=".npz or .csv"):
        save_selection(tmp_path / "s.txt", np.array([4]), np.array([1]), ["a", "b"], mu[:1])


def test_a_cancelled_umap_leaves_tqdm_free_for_the_next_one():
    """UMAP is stopped from inside its tqdm bar. tqdm's process-wide lock must not stay held: a cancelled UMAP map
    made the next UMAP in the process (or any tqdm bar) wait for ever, in the app and in this suite."""
    import threading

    from tqdm.auto import tqdm

    from core.projection import PROJECTORS

    mu = np.random.default_rng(1).normal(size=(200, 6)).astype(np.float32)
    with pytest.raises(InterruptedError):
        PROJECTORS["umap"].fit(mu, progress=lambda done, total: False)  # stopped at its first report
    taken = []

    def take() -> None:  # another thread, as the next map's task is
        for lock in tqdm.get_lock().locks:
            taken.append(lock.acquire(timeout=5))
            if taken[-1]:
                lock.release()

    thread = threading.Thread(target=take)
    thread.start()
    thread.join()
    assert taken and all(taken)


def test_umaps_progress_file_reports_only_on_its_own_thread_and_never_after_the_fit():
    """tqdm's monitor thread refreshes bars, and a cancelled bar is never closed: before, it called the app's
    progress callback (a finished task's Qt signal) from its own thread, long after the map was done."""
    import threading

    from core.projection import _EpochReport

    seen = []
    report = _EpochReport(lambda done, total: seen.append((done, threading.get_ident())))
    report.write("3/200")
    other = threading.Thread(target=report.write, args=("4/200",))  # as tqdm's monitor thread refreshes
    other.start()
    other.join()
    report.detach()  # umap() does this when the fit ends, however it ends
    report.write("5/200")
    assert seen == [(3, threading.get_ident())]
