"""bench/gpu.py, the GPU check, in its dry mode (CPU, tiny model): every check runs, so it cannot rot."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_runs_dry_on_the_cpu():
    result = subprocess.run([sys.executable, "bench/gpu.py", "--dry"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    for check in ("resume cpu checkpoint on cpu", "autocast bf16 vs off", "autocast fp16 vs off",
                  "no recompiles with --compile"):
        assert any(line.startswith(check) and " PASS " in line for line in lines), (check, result.stdout)
    assert any(line.startswith("no host sync inside a step") and "CUDA only" in line for line in lines)
    assert any(line.startswith("trainer vs plain loop") and "ratio" in line for line in lines)
    assert any(line.startswith("achieved TFLOP/s") for line in lines)
    assert "FAIL" not in result.stdout
    assert "GUI vs CLI: GUI" in result.stdout and "stall p99" in result.stdout
