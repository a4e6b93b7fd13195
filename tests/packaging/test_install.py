"""`make setup` is quiet: building our package prints no setuptools warnings (about 15 s)."""
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.xdist_group("build")  # with the frozen app's build, never beside it (the same build/ and egg-info)
def test_building_the_package_prints_no_setuptools_warnings(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-w", str(tmp_path),
                        "--config-settings", "editable_mode=compat", str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    ours = [line for line in (r.stdout + r.stderr).splitlines()
            if "Warning" in line or "deprecat" in line.lower() or "!!" in line]
    assert ours == [], "\n".join(ours)
    assert list(tmp_path.glob("vae_explorer-*.whl"))
