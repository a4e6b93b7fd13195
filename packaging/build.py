"""Build dist/vae-explorer/ with PyInstaller and print its size, file count and a per-part breakdown.

Usage: python packaging/build.py [--onefile]
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist" / "vae-explorer"
PARTS = {  # first matching prefix wins (paths relative to the bundle's _internal/)
    "CUDA libraries (nvidia/, cuda*)": ("nvidia/", "cuda", "libcu", "libnv"),
    "torch": ("torch/", "functorch/", "libtorch", "libc10"),
    "torchvision": ("torchvision",),
    "Qt (PySide6, shiboken6)": ("PySide6/", "shiboken6/", "libQt", "libpyside", "libshiboken"),
    "scipy + scikit-learn + numpy": ("scipy", "sklearn", "numpy", "libopenblas", "libgfortran", "libscipy"),
    "UMAP (umap-learn, pynndescent, numba, llvmlite)": ("umap", "pynndescent", "numba", "llvmlite"),
}


def breakdown(bundle: Path) -> tuple[int, int, dict[str, int]]:
    internal = bundle / "_internal" if (bundle / "_internal").is_dir() else bundle
    sizes = {name: 0 for name in PARTS} | {"the rest": 0}
    total = files = 0
    for path in bundle.rglob("*"):
        if path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            total, files = total + size, files + 1
            rel = path.relative_to(internal).as_posix() if path.is_relative_to(internal) else path.name
            part = next((n for n, prefixes in PARTS.items() if rel.startswith(prefixes)), "the rest")
            sizes[part] += size
    return total, files, sizes


def main() -> int:
    env = dict(os.environ, VAE_EXPLORER_ONEFILE="1" if "--onefile" in sys.argv else "0")
    t0 = time.monotonic()
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath",
           str(ROOT / "dist"), "--workpath", str(ROOT / "build"), str(ROOT / "packaging" / "vae-explorer.spec")]
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    if code:
        return code
    total, files, sizes = breakdown(DIST)
    print(f"built {DIST} in {time.monotonic() - t0:.0f} s: {total / 1e9:.2f} GB in {files:,} files")
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<32} {size / 1e6:9.0f} MB")
    print(f"run its self-test: {DIST / 'vae-explorer'} --self-test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
