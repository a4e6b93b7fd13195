"""bench/gpu.py in its dry mode (CPU, tiny model): every part of the GPU script runs, so it cannot rot."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_bench_runs_dry_on_the_cpu():
    result = subprocess.run([sys.executable, "bench/gpu.py", "--dry"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, env={"QT_QPA_PLATFORM": "offscreen", **__import__("os").environ})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    out = result.stdout
    assert "core trainer:" in out and "vs plain loop" in out and "ratio" in out
    assert "plain loop AMP None compile False" in out and "TFLOP/s" in out
    assert "GUI vs headless: GUI" in out and "stall p99" in out
