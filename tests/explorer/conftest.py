"""A real MainWindow, offscreen, with its settings and user data in a temporary folder."""
import pytest
from PySide6.QtCore import QSettings

from core.config import ModelConfig, TrainConfig


@pytest.fixture
def window(qtbot, tmp_path):
    from explorer.main_window import MainWindow

    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    win.interactive = False  # errors are recorded in last_error instead of opening dialogs
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    with qtbot.waitSignal(win.ready, timeout=120_000):
        win.start_loading()
    qtbot.waitUntil(lambda: win.session.dataset is not None, timeout=60_000)
    win.train_panel.set_configs(ModelConfig(latent_dim=8, channels=8), TrainConfig(batch_size=32, epochs=1))
    yield win
    win.close()


@pytest.fixture
def trained_window(window, qtbot):
    """The window after 40 training steps on shapes, with its latent map drawn."""
    with qtbot.waitSignal(window.map_ready, timeout=120_000):
        with qtbot.waitSignal(window.training_finished, timeout=120_000) as finished:
            window.start_training(steps=40)
    assert finished.args == ["finished"]
    return window
