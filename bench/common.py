"""Helpers shared by the benchmark scripts: data choice and a stopwatch. Benchmarks print, never assert."""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_CIFAR = ROOT.parent / "shared" / "datasets" / "cifar10"


def bench_dataset():
    """Real CIFAR-10 from ../shared when present, else the synthetic shapes set."""
    from core.data import load_cifar10, make_shapes

    if (SHARED_CIFAR / "cifar-10-batches-py").is_dir():
        return load_cifar10(SHARED_CIFAR)
    print("(../shared CIFAR-10 not found: using shapes)")
    return make_shapes()


class Stopwatch:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
