"""Architecture contract: `core` never loads Qt or pyqtgraph (napari-style layering)."""
import pkgutil
import subprocess
import sys

import core
from tests.conftest import ROOT


def test_core_imports_no_qt():
    modules = sorted(f"core.{m.name}" for m in pkgutil.iter_modules(core.__path__))
    assert {"core.model", "core.train", "core.latent", "core.cli"} <= set(modules)
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "qt = ('PySide6', 'PyQt5', 'PyQt6', 'shiboken6', 'pyqtgraph', 'explorer')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in qt)\n"
        "print(','.join(bad))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"core loaded GUI modules: {r.stdout}"
