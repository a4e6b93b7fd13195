"""Build the PyInstaller bundle with `packaging/build.py` (what `make package` runs) and prove it
works by running the frozen app's --self-test. About 5 minutes here; see README "Standalone app"."""
import faulthandler
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = [
    pytest.mark.skipif(os.environ.get("VAE_EXPLORER_PACKAGING_TESTS") != "1",
                       reason="set VAE_EXPLORER_PACKAGING_TESTS=1 to build and run the frozen app"),
    pytest.mark.xdist_group("build"),  # one worker builds at a time: both write the project's build/ and egg-info
    pytest.mark.timeout(1200),  # the build and the self-test (about 5 minutes; pyproject's limit is per test)
]


def test_frozen_app_builds_and_passes_its_self_test(tmp_path):
    faulthandler.cancel_dump_traceback_later()  # minutes by design: no stack dump at pyproject's faulthandler_timeout
    build = subprocess.run([sys.executable, str(ROOT / "packaging" / "build.py")], cwd=ROOT,
                           capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stderr[-3000:]
    assert "GB in" in build.stdout and "torch" in build.stdout  # size, file count and breakdown
    exe = ROOT / "dist" / "vae-explorer" / ("vae-explorer.exe" if os.name == "nt" else "vae-explorer")
    bundle_before = sorted(p.relative_to(exe.parent) for p in exe.parent.rglob("*"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    run = subprocess.run([str(exe), "--self-test"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=600, env=env)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "self-test passed" in run.stdout
    # it wrote only to its data folder: nothing in the working directory, nothing in the bundle
    assert list(tmp_path.iterdir()) == []
    assert sorted(p.relative_to(exe.parent) for p in exe.parent.rglob("*")) == bundle_before

    # UMAP runs frozen too, and numba's compiled kernels are cached in the user's cache folder (numba
    # keys them to the executable when frozen): a second run compiles less and rewrites no cache file
    cache = tmp_path / "cache"
    env = dict(env, XDG_CACHE_HOME=str(cache))  # where numba's user-wide cache lives on Linux
    train = [str(exe), "train", "--dataset", "shapes", "--steps", "5", "--batch-size", "64", "--latent-dim", "4",
             "--channels", "4", "--no-live-map", "--out", str(tmp_path / "m.pt")]
    assert subprocess.run(train, capture_output=True, text=True, timeout=300, env=env).returncode == 0

    def umap_run(out: str) -> None:
        r = subprocess.run([str(exe), "encode", str(tmp_path / "m.pt"), "--projection", "umap", "--out",
                            str(tmp_path / out)], capture_output=True, text=True, timeout=600, env=env)
        assert r.returncode == 0 and "UMAP (umap-learn" in r.stdout, r.stderr[-3000:]

    umap_run("first.npz")
    cached = {p: p.stat().st_mtime_ns for p in cache.rglob("*.nb*")}
    assert len(cached) > 20 or not sys.platform.startswith("linux")
    umap_run("second.npz")
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*.nb*")} == cached  # loaded, not compiled again
    import numpy as np

    assert np.array_equal(np.load(tmp_path / "first.npz")["umap"], np.load(tmp_path / "second.npz")["umap"])
    assert sorted(p.relative_to(exe.parent) for p in exe.parent.rglob("*")) == bundle_before
