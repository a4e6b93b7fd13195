"""The first start: CIFAR-10 if it is there, else one click each for download, a folder, or Shapes."""
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFileDialog

from core.data import user_data_dir
from tests.conftest import close_window, serve_cifar, write_cifar_batches


@pytest.fixture
def first_start(qtbot, tmp_path):
    """A window started with empty settings, as on a new machine."""
    from explorer.main_window import MainWindow

    windows = []

    def start():
        win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
        win.messages.interactive = False
        win.show()
        with qtbot.waitSignal(win.ready, timeout=120_000):
            win.start_loading()
        windows.append(win)
        return win

    yield start
    for win in windows:
        close_window(win, qtbot)


def test_cifar_already_in_the_data_folder_is_selected(first_start, qtbot):
    write_cifar_batches(user_data_dir(), n_per_batch=10)
    win = first_start()
    assert not win.first_run.isVisible()
    qtbot.waitUntil(lambda: win.session.dataset is not None, timeout=30_000)
    assert win.session.dataset.name == "cifar10" and win.train_panel.dataset_spec == "cifar10"


def test_download_in_one_click_then_train(first_start, qtbot, tmp_path, monkeypatch):
    serve_cifar(monkeypatch, tmp_path)
    win = first_start()
    assert win.first_run.isVisible() and win.session.dataset is None  # nothing loads until the user chooses
    with qtbot.waitSignal(win.session.dataset_changed, timeout=30_000):
        qtbot.mouseClick(win.first_run.download_button, Qt.LeftButton)
    assert win.session.dataset.name == "cifar10" and len(win.session.dataset.test) == 3
    assert not win.first_run.isVisible() and win.settings.value("dataset") == "cifar10"  # remembered
    assert (user_data_dir() / "cifar-10-batches-py" / "batches.meta").is_file()
    assert win.train_panel.start_button.isEnabled()  # the next click trains


def test_cancelled_download_leaves_the_folder_as_it_was(first_start, qtbot, tmp_path, monkeypatch):
    serve_cifar(monkeypatch, tmp_path, delay_s=0.5)
    before = sorted(p.name for p in user_data_dir().iterdir()) if user_data_dir().exists() else []
    win = first_start()
    qtbot.mouseClick(win.first_run.download_button, Qt.LeftButton)
    assert win.first_run.cancel_button.isVisible()
    qtbot.mouseClick(win.first_run.cancel_button, Qt.LeftButton)
    assert "cancelled" in win.first_run.status.text() and win.first_run.download_button.isEnabled()
    qtbot.waitUntil(lambda: not win.runner.busy, timeout=10_000)
    after = sorted(p.name for p in user_data_dir().iterdir()) if user_data_dir().exists() else []
    assert after == before and win.session.dataset is None


def test_choose_an_existing_folder(first_start, qtbot, tmp_path, monkeypatch):
    folder = write_cifar_batches(tmp_path / "mine", n_per_batch=4).parent
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    win = first_start()
    with qtbot.waitSignal(win.session.dataset_changed, timeout=30_000):
        qtbot.mouseClick(win.first_run.folder_button, Qt.LeftButton)
    assert win.session.dataset.name == "cifar10" and len(win.session.dataset.test) == 4
    assert win.train_panel.data_dir() == str(folder)


def test_start_with_shapes_and_the_choice_is_remembered(first_start, qtbot):
    win = first_start()
    with qtbot.waitSignal(win.session.dataset_changed, timeout=30_000):
        qtbot.mouseClick(win.first_run.shapes_button, Qt.LeftButton)
    assert win.session.dataset.name == "shapes" and not win.first_run.isVisible()
    close_window(win, qtbot)
    again = first_start()
    assert not again.first_run.isVisible()
    qtbot.waitUntil(lambda: again.session.dataset is not None, timeout=30_000)
    assert again.session.dataset.name == "shapes"
