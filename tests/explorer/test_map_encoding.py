"""Encoding maps in the background: the chosen split, the device it runs on, and results that arrive too
late (for an older dataset or model) never shown."""
import numpy as np
from PySide6.QtCore import Qt

from tests.explorer.gestures import click


def test_encode_button_maps_the_chosen_split(explored_window, qtbot):
    view = explored_window.map_view
    explored_window.tabs.setCurrentIndex(1)
    view.toolbar.split_box.setFocus()
    qtbot.keyClick(view.toolbar.split_box, Qt.Key_Down)  # test -> train, as a user picks it with the keyboard
    assert explored_window.session.choices.split == "train"
    with qtbot.waitSignal(explored_window.map_ready, timeout=120_000):
        qtbot.mouseClick(view.toolbar.encode_button, Qt.LeftButton)
    assert explored_window.session.map.split == "train"
    assert view.point_count() == len(explored_window.session.dataset.train)


def test_a_map_encoded_for_an_old_dataset_is_never_shown(trained_window, qtbot, tmp_path, monkeypatch):
    """A dataset finishes loading while an old encode is still running: the old map is dropped."""
    import threading

    import core.maps
    from tests.conftest import write_cifar_batches

    release, real_encode = threading.Event(), core.maps.encode
    calls = []

    def held_encode(model, images, **kw):
        calls.append(len(images))
        if len(calls) == 1:
            release.wait(30)  # the old encode is still running when the new dataset lands
        return real_encode(model, images, **kw)

    monkeypatch.setattr(core.maps, "encode", held_encode)
    session = trained_window.session
    session.choose(split="train")  # the test split is already mapped (and cached)
    trained_window.maps.encode()
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=10_000)
    folder = tmp_path / "data"
    write_cifar_batches(folder, n_per_batch=30)
    with qtbot.waitSignal(session.dataset_changed, timeout=30_000):
        trained_window.loader.load_dataset("cifar10", str(folder))
    release.set()
    qtbot.waitUntil(lambda: session.map is not None and not trained_window.runner.busy, timeout=60_000)
    chosen = session.dataset.split("train")  # the split still chosen, of the new dataset only
    assert len(session.map.labels) == len(chosen) == 150 and trained_window.map_view.point_count() == 150
    target = int(np.argmax(trained_window.map_view.coords[:, 0]))
    click(qtbot, trained_window.map_view, trained_window.map_view.screen_pos(target))
    assert np.array_equal(trained_window.inspector.original.image(), chosen.images[target])


def test_task_runner_drops_a_result_computed_for_an_older_generation(qtbot):
    import threading

    from explorer.session import Session
    from explorer.tasks import TaskRunner

    session, errors, results = Session(), [], []
    runner = TaskRunner(lambda: session.generation, lambda *a: errors.append(a))
    gate = threading.Event()
    runner.run(lambda progress: gate.wait(10) and "stale", results.append, "x")
    session.generation += 1  # the document changed while the task ran
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    runner.run(lambda progress: "fresh", results.append, "x")
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert results == ["fresh"] and errors == []


def test_encoding_uses_the_form_device_but_not_the_gpu_training_uses(window, monkeypatch):
    import torch

    import core.devices
    from explorer.session import TrainingState

    monkeypatch.setattr(core.devices, "select_device",
                        lambda name="auto": torch.device("cuda" if name in ("auto", "cuda") else name))
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))  # what a CUDA card answers
    window.train_panel.fields["device"].setCurrentText("cuda")
    assert window.maps.encode_device().type == "cuda"  # idle: the device the user chose
    window.session.set_training_state(TrainingState.RUNNING, "cuda")
    assert window.maps.encode_device().type == "cpu"  # no second full model on the training GPU
    window.session.set_training_state(TrainingState.RUNNING, "cpu")
    assert window.maps.encode_device().type == "cuda"
    window.session.set_training_state(TrainingState.IDLE)
    window.train_panel.fields["device"].setCurrentText("cpu")
    assert window.maps.encode_device().type == "cpu"


def test_task_runner_notices_tasks_that_end_at_once(qtbot):
    """A task can finish before its start call returns; the runner must still see it end."""
    from explorer.session import Session
    from explorer.tasks import TaskRunner

    session, results = Session(), []
    runner = TaskRunner(lambda: session.generation, lambda *a: None)
    for i in range(200):
        runner.run(lambda progress, i=i: i, results.append, "x")
    qtbot.waitUntil(lambda: not runner.busy, timeout=30_000)
    assert sorted(results) == list(range(200))

