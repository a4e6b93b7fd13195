"""The suite can never hang: a test worker that crashes, or a test that hangs, ends the run quickly, red,
naming the test. A small suite runs under the project's own pytest options (pyproject.toml) and
`make test`'s scheduler; before `--max-worker-restart=0`, the crash left it waiting for ever."""
import subprocess
import sys
import time

from tests.conftest import ROOT

SUITE = '''
import os
import time

import pytest


@pytest.mark.parametrize("i", range(4))
def test_fine(i):
    time.sleep(0.2)


def test_that_{what}():
    {body}


@pytest.mark.xdist_group("together")
@pytest.mark.parametrize("i", range(3))
def test_grouped(i):
    time.sleep(0.2)
'''


def _run_suite(tmp_path, what: str, body: str, *options: str) -> tuple[subprocess.CompletedProcess, float]:
    (tmp_path / "test_small.py").write_text(SUITE.format(what=what, body=body))
    start = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
                        "-p", "no:cacheprovider", "-q", "-n", "2", "--dist", "loadgroup", *options, str(tmp_path)],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    return r, time.monotonic() - start


def test_a_crashed_worker_ends_the_run_red_naming_its_test(tmp_path):
    r, seconds = _run_suite(tmp_path, "crashes", "os.abort()")
    assert r.returncode != 0 and seconds < 120
    assert "crashed while running 'test_small.py::test_that_crashes'" in r.stdout


def test_a_hanging_test_ends_the_run_red_naming_it(tmp_path):
    r, seconds = _run_suite(tmp_path, "hangs", "time.sleep(3600)", "-o", "timeout=5")  # the project's method
    assert r.returncode != 0 and seconds < 120
    assert "crashed while running 'test_small.py::test_that_hangs'" in r.stdout  # pytest-timeout ended its worker
