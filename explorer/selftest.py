"""`vae-explorer --self-test`: drive the real window offscreen through train, encode, click,
sample, save and reopen; print one summary line; exit 0 only if every step worked."""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QPoint


def wait_until(app, predicate, timeout_s: float, what: str, window=None) -> None:
    """Process events until `predicate()`; fail early if `window` has reported an error."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if window is not None and window.messages.last_error is not None:
            raise RuntimeError("{}: {}".format(*window.messages.last_error))
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def click(view, pos) -> None:
    """A real left click on the map's viewport, through the view's picking path."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    QTest.mouseClick(view.plot.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(round(pos.x()), round(pos.y())))


def run_self_test(steps: int = 30) -> int:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vae-explorer-selftest-") as tmp:
        os.environ["VAE_EXPLORER_DATA"] = tmp  # autosaves and settings stay out of the user's folders
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([sys.argv[0]])
        from core.config import ModelConfig, TrainConfig
        from core.metrics import Outcome
        from explorer.main_window import MainWindow

        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.IniFormat)
        settings.setValue("dataset", "shapes")  # offline, and no first-run questions
        window = MainWindow(settings)
        window.messages.interactive = False
        try:
            window.show()
            window.start_loading()
            wait_until(app, lambda: window.train_panel.ready and window.session.dataset is not None, 120, "start-up",
                       window)
            window.train_panel.set_configs(ModelConfig(latent_dim=16, channels=16),
                                           TrainConfig(batch_size=32, epochs=1))
            outcome = []
            window.training_finished.connect(outcome.append)
            window.start_training(steps=steps)
            wait_until(app, lambda: outcome, 300, "training")
            if outcome != [Outcome.FINISHED] or window.messages.last_error:
                raise RuntimeError(f"training ended {outcome}: {window.messages.last_error}")
            wait_until(app, lambda: window.session.map is not None, 300, "encoding", window)
            view = window.map_view
            n_points = view.point_count()
            window.tabs.setCurrentIndex(1)
            app.processEvents()
            target = int(view.coords[:, 0].argmax())  # an outlier: nothing else under the cursor
            click(view, view.screen_pos(target))
            if window.inspector.original.image() is None:
                raise RuntimeError("clicking a point of the map showed no image")
            corner = view.plot.plotItem.vb.sceneBoundingRect().topLeft()  # inside the plot, far from points
            click(view, view.plot.mapFromScene(corner) + QPoint(4, 4))
            if window.inspector.original.image() is not None or window.inspector.reconstruction.image() is None:
                raise RuntimeError("clicking empty space of the map decoded no image")
            if window.samples.view.image() is None:
                raise RuntimeError("no samples were drawn")
            path = str(Path(tmp) / "selftest.pt")
            if not window.files.save_checkpoint(path):
                raise RuntimeError(f"saving failed: {window.messages.last_error}")
            window.session.clear_model()
            window.loader.open_checkpoint(path)
            wait_until(app, lambda: window.session.checkpoint is not None, 60, "reopening the checkpoint", window)
            if window.session.checkpoint.step != steps:
                raise RuntimeError(f"reopened checkpoint is at step {window.session.checkpoint.step}, not {steps}")
            psnr = window.session.checkpoint.history.epochs[-1].test_psnr
            from core.model_file import export_checkpoint  # torch.export and its safe reading, frozen too

            model_file = export_checkpoint(window.session.checkpoint, Path(tmp) / "selftest.vaemodel")
            window.loader.open_checkpoint(str(model_file))
            wait_until(app, lambda: not getattr(window.session.checkpoint, "trainable", True)
                       and window.session.map is not None and not window.runner.busy, 120, "the model file", window)
            if window.messages.last_error or view.point_count() != len(window.session.dataset.test):
                raise RuntimeError(f"the model file did not map its test split: {window.messages.last_error}")
            print(f"self-test passed: {steps} steps, {n_points:,} points mapped (and again from a model file), "
                  f"test PSNR {psnr:.1f} dB, "
                  f"{window.device_label.text()}, {time.perf_counter() - t0:.1f} s", flush=True)
            return 0
        except Exception as e:  # any failure is a non-zero exit with the reason
            print(f"self-test FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            return 1
        finally:
            window.close()
            wait_until(app, lambda: window.closed, 30, "closing")
