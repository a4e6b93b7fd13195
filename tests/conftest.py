"""Shared fixtures: small seeded data and models that keep the suite fast on two CPU cores."""
from __future__ import annotations

import copy
import faulthandler
import io
import os
import pickle
import shutil
import signal
import sys
import tarfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# .ci/run's last resort against a hang ends the run with SIGTERM: each test process prints where it was first
faulthandler.register(signal.SIGTERM, all_threads=True, chain=True)
# `make test` runs the suite in one process per core (pytest-xdist): then torch takes one thread each
torch.set_num_threads(1 if "PYTEST_XDIST_WORKER" in os.environ else max(1, min(2, os.cpu_count() or 1)))

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_CIFAR = SHARED / "datasets" / "cifar10"


@pytest.fixture(autouse=True)
def _user_data(tmp_path_factory, monkeypatch):
    """Keep every test's autosaves and settings out of the real user folders."""
    monkeypatch.setenv("VAE_EXPLORER_DATA", str(tmp_path_factory.mktemp("userdata")))


def event_writers() -> list[threading.Thread]:
    """The TensorBoard event writers' threads alive in this process (none before tensorboardX is imported)."""
    module = sys.modules.get("tensorboardX.event_file_writer")
    return [t for t in threading.enumerate() if module and isinstance(t, module._EventLoggerThread)]


@pytest.fixture(autouse=True)
def _no_event_writer_outlives_its_test():
    """Each run's TensorBoard event writer (a thread, a queue and its feeder thread) ends with its run: a test
    that leaves one open fails here, after its windows have closed."""
    yield
    left = event_writers()
    assert not left, f"{len(left)} TensorBoard event writer(s) left open: close each RunFolder when its run ends"


@pytest.fixture(autouse=True)
def _qt_wrappers_stay_consistent():
    """After each test, touch every Python wrapper shiboken still lists (a few ms). A wrapper freed but left
    registered (PySide6 does that when a Qt object is given another `__class__`) used to crash a later test at
    random, in window creation, a collection or a deferred delete; now the worker crashes here, right after
    the test that left it, and pytest-xdist names that test."""
    yield
    if "shiboken6" in sys.modules:
        from shiboken6 import Shiboken

        for wrapper in Shiboken.getAllValidWrappers():
            type(wrapper).__mro__  # noqa: B018  (a freed wrapper's type is garbage: this faults)


@pytest.fixture(scope="session")
def shapes():
    from core.data import make_shapes

    return make_shapes(n_train=2000, n_test=500, seed=0)


@pytest.fixture
def small_model_config():
    from core.config import ModelConfig

    return ModelConfig(latent_dim=8, channels=8)


def write_cifar_batches(folder: Path, n_per_batch: int = 20, seed: int = 0) -> Path:
    """A tiny but well-formed cifar-10-batches-py folder; returns its path."""
    rng = np.random.default_rng(seed)
    folder = Path(folder) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            "batch_label": name,
            "data": rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
            "labels": [int(v) for v in rng.integers(0, 10, n_per_batch)],
            "filenames": [f"{i}.png" for i in range(n_per_batch)],
        }
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=4)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": names, "num_cases_per_batch": n_per_batch, "num_vis": 3072}, f)
    return folder


class FakeResponse(io.BytesIO):
    """What urllib.request.urlopen returns, serving `payload` (optionally slowly)."""

    def __init__(self, payload: bytes, delay_s: float = 0.0):
        super().__init__(payload)
        self.headers, self.delay_s = {"Content-Length": str(len(payload))}, delay_s

    def read(self, size=-1):
        time.sleep(self.delay_s)
        return super().read(size)


def serve_cifar(monkeypatch, tmp_path: Path, delay_s: float = 0.0, corrupt: bool = False) -> list:
    """Make the CIFAR-10 download fetch a tiny real archive (with its MD5) instead of the network.

    Returns the list of URLs requested."""
    import hashlib

    import core.data

    src = write_cifar_batches(tmp_path / "archive-src", n_per_batch=3)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(src, arcname="cifar-10-batches-py")
    payload = buf.getvalue()
    monkeypatch.setattr(core.data, "CIFAR_MD5", hashlib.md5(b"other" if corrupt else payload).hexdigest())
    urls = []

    def urlopen(request, timeout=None):
        urls.append(request.full_url)
        return FakeResponse(payload, delay_s)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return urls


@pytest.fixture(scope="session")
def _trained_once(shapes, tmp_path_factory):
    """60 steps on shapes with the small model, trained once per session: (Checkpoint, path)."""
    from core.checkpoint import save_checkpoint
    from core.config import ModelConfig, TrainConfig
    from core.train import Trainer

    trainer = Trainer(shapes, TrainConfig(steps=60, batch_size=32, log_every=20), ModelConfig(latent_dim=8, channels=8))
    trainer.run()
    ckpt = trainer.checkpoint()
    return ckpt, save_checkpoint(ckpt, tmp_path_factory.mktemp("trained-once") / "model.pt")


@pytest.fixture
def trained_checkpoint(_trained_once, tmp_path):
    """A checkpoint after 60 steps on shapes, saved to disk: (Checkpoint, path), each test its own copy of
    both (tests change them)."""
    ckpt, path = _trained_once
    shutil.copyfile(path, tmp_path / "model.pt")
    return copy.deepcopy(ckpt), tmp_path / "model.pt"


# ---------------------------------------------------------------- the real window (pytest-qt, offscreen)

@pytest.fixture
def training_form(qtbot, tmp_path):
    """The training form alone, as the window's Train tab holds it once the libraries have loaded: for checks of
    the form itself, which need no window."""
    from explorer.training_panel import TrainingPanel

    panel = TrainingPanel(str(tmp_path))
    qtbot.addWidget(panel)
    panel.show()
    panel.set_ready(True)
    return panel


def start_window(qtbot, folder, fresh: bool = False):
    """A real MainWindow, offscreen, settings in `folder`, after start-up, with a tiny model in the form."""
    from PySide6.QtCore import QSettings

    from core.config import ModelConfig, TrainConfig
    from explorer.main_window import MainWindow

    settings = QSettings(str(folder / "settings.ini"), QSettings.IniFormat)
    settings.setValue("dataset", "shapes")  # a returning user; tests/explorer/test_first_run.py covers the first start
    win = MainWindow(settings, fresh=fresh)
    win.messages.interactive = False  # errors are recorded in last_error instead of opening dialogs
    win.resize(1200, 800)
    win.show()
    with qtbot.waitSignal(win.ready, timeout=120_000):
        win.start_loading()
    qtbot.waitUntil(lambda: win.session.dataset is not None and not win.runner.busy, timeout=60_000)
    win.train_panel.set_configs(ModelConfig(latent_dim=8, channels=8), TrainConfig(batch_size=32, epochs=1))
    return win


@pytest.fixture
def window(qtbot, tmp_path):
    """A real MainWindow as `start_window` makes it, closed after the test."""
    win = start_window(qtbot, tmp_path)
    yield win
    close_window(win, qtbot)


def close_window(win, qtbot, timeout_ms: int = 60_000) -> None:
    """Close as a user does; the window closes once its background work has stopped."""
    if win.closed:
        return
    win.close()
    qtbot.waitUntil(lambda: win.closed, timeout=timeout_ms)
    win.deleteLater()
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)  # gone now, not during the next test


@pytest.fixture
def trained_window(window, qtbot):
    """The window after 40 training steps on shapes, with its latent map drawn."""
    from core.metrics import Outcome

    with qtbot.waitSignal(window.training_finished, timeout=120_000) as finished:
        window.start_training(steps=40)
    assert finished.args == [Outcome.FINISHED]
    full_map = lambda: window.session.map is not None and window.session.map.frame is None  # noqa: E731
    qtbot.waitUntil(lambda: full_map() and not window.runner.running("encode"), timeout=120_000)
    return window


@pytest.fixture(scope="session")
def shapes_checkpoint(tmp_path_factory):
    """What `trained_window` trains, made once per session: 40 steps on the app's shapes set with the tiny
    model, logged every 20 steps; (Checkpoint, path)."""
    from core.checkpoint import save_checkpoint
    from core.config import ModelConfig, TrainConfig
    from core.data import load_dataset
    from core.train import Trainer

    trainer = Trainer(load_dataset("shapes"), TrainConfig(steps=40, batch_size=32, log_every=20, device="cpu"),
                      ModelConfig(latent_dim=8, channels=8))
    trainer.run()
    ckpt = trainer.checkpoint()
    return ckpt, save_checkpoint(ckpt, tmp_path_factory.mktemp("shapes-checkpoint") / "model.pt")


@pytest.fixture(scope="module")
def map_window(qapp, shapes_checkpoint, tmp_path_factory):
    """One real window per test module, opened on `shapes_checkpoint` (File > Open) with its test-split map
    drawn. Tests get it through `explored_window`, which puts back what a test changed."""
    from PySide6.QtCore import QSettings

    from explorer.main_window import MainWindow
    from explorer.selftest import wait_until

    folder = tmp_path_factory.mktemp("map-window")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VAE_EXPLORER_DATA", str(folder / "userdata"))
        settings = QSettings(str(folder / "settings.ini"), QSettings.IniFormat)
        settings.setValue("dataset", "shapes")
        win = MainWindow(settings)
        win.messages.interactive = False
        win.resize(1200, 800)
        win.show()
        win.start_loading()
        wait_until(qapp, lambda: win.session.dataset is not None and not win.runner.busy, 120, "start-up")
        win.loader.open_checkpoint(str(shapes_checkpoint[1]))
        wait_until(qapp, lambda: win.session.map is not None and not win.runner.busy, 120, "the map", win)
        win.first_map, win.first_temperature = win.session.map, win.samples.temperature.value()
        yield win
        win.close()
        wait_until(qapp, lambda: win.closed, 60, "closing")
        win.deleteLater()
        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)


@pytest.fixture
def explored_window(map_window, qtbot):
    """The module's window on its first map, as a user finds it after opening the checkpoint: nothing clicked,
    selected, brought or hidden, the Latent map tab in front (tests that change the model or the dataset take
    `trained_window` instead)."""
    from explorer.choices import Choices

    win, view = map_window, map_window.map_view
    _close_popups()
    win.session.given, win.session.groups = None, {}
    win.samples.temperature.setValue(win.first_temperature)
    win.session.set_map(win.first_map)
    win.session.select(None)
    win.session.pick(None)
    win.session.choose(**vars(Choices()))  # every choice at its default
    view.mark_given(None)
    view.plot.plotItem.vb.autoRange(padding=0.02)
    win.inspector.clear()
    win.inspector.tabs.setCurrentIndex(0)
    win.tabs.setCurrentIndex(1)
    win.messages.last_error = None
    qtbot.waitUntil(lambda: not win.runner.busy, timeout=60_000)
    return win


def _close_popups() -> None:
    from PySide6.QtWidgets import QApplication

    while QApplication.activePopupWidget() is not None:
        QApplication.activePopupWidget().close()


def _shares_module_fixture(item) -> bool:
    defs = getattr(item, "_fixtureinfo", None)
    return defs is not None and any(d and d[-1].scope == "module" for d in defs.name2fixturedefs.values())


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """A module's tests that share a module-scoped fixture (its window, `map_window`, or a model trained once)
    run on one worker, one after another: spread over workers, each worker made the fixture again whenever it
    came back to the module (70 s of setup for two file-menu tests). The frozen app's build (minutes) goes
    first: under pytest-xdist one worker builds while the others run the rest."""
    for item in items:
        if _shares_module_fixture(item) and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(f"fixtures of {item.module.__name__}"))

    def order(item) -> int:
        group = item.get_closest_marker("xdist_group")
        return 2 if group is None else 0 if group.args == ("build",) else 1

    items.sort(key=order)  # the build, then the shared fixtures' groups (long), then single tests fill the gaps
