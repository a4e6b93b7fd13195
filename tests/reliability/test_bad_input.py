"""Every bad input answered: datasets, random files, NaN and out-of-memory during training,
invalid hyperparameters (form and CLI), and worker exceptions."""
import subprocess
import sys
import urllib.error
import urllib.request
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from PySide6.QtCore import Qt

from core.checkpoint import load_checkpoint
from core.data import load_image_folder
from core.metrics import Outcome
from tests.conftest import ROOT, write_cifar_batches


@pytest.mark.parametrize("problem", ["missing", "empty", "wrong_keys", "offline"])
def test_app_names_dataset_problem_and_offers_shapes(window, qtbot, tmp_path, monkeypatch, problem):
    folder = tmp_path / "data"
    download = False
    if problem == "empty":
        (folder / "cifar-10-batches-py").mkdir(parents=True)
    elif problem == "wrong_keys":
        batches = write_cifar_batches(folder, n_per_batch=2)
        (batches / "data_batch_1").write_bytes(__import__("pickle").dumps({"pixels": 1}))
    elif problem == "offline":
        def offline(*a, **k):
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

        monkeypatch.setattr(urllib.request, "urlopen", offline)
        download = True
    shapes = window.session.dataset
    window.loader.load_dataset("cifar10", str(folder), download=download)
    qtbot.waitUntil(lambda: window.messages.last_error is not None, timeout=30_000)
    title, message = window.messages.last_error
    assert title == "Dataset unavailable" and str(folder) in message and "Shapes" in message
    assert window.session.dataset is shapes  # the working dataset stays
    assert window.train_panel.start_button.isEnabled()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.tuples(st.sampled_from([".png", ".jpg", ".jpeg", ".bmp", ".webp"]),
                                st.binary(min_size=0, max_size=300)), min_size=1, max_size=6))
def test_random_files_in_an_image_folder_are_skipped_and_counted(tmp_path_factory, files):
    root = tmp_path_factory.mktemp("imgs")
    (root / "a").mkdir()
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(root / "a" / "good.png")
    for i, (suffix, data) in enumerate(files):
        (root / "a" / f"junk{i}{suffix}").write_bytes(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_image_folder(root)
    skipped = sum(int(str(w.message).split()[1]) for w in caught if "skipped" in str(w.message))
    assert len(ds.train) >= 1 and skipped <= len(files)  # the good image loads; junk is counted, never fatal


def test_nan_loss_in_the_app_stops_with_message_and_keeps_last_good_checkpoint(window, qtbot, monkeypatch):
    import core.train

    real_loss = core.train.vae_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        terms = real_loss(*args, **kwargs)
        if calls["n"] > 30:  # batch 1000 on 10,000 images: 10 steps an epoch, so after the 3rd epoch end
            terms["loss"] = terms["loss"] * float("nan")
        return terms

    monkeypatch.setattr(core.train, "vae_loss", poisoned)
    window.train_panel.fields["batch_size"].setText("1000")  # 10 steps per epoch
    window.train_panel.fields["epochs"].setText("10")
    with qtbot.waitSignal(window.training_finished, timeout=120_000) as finished:
        window.start_training()
    assert finished.args == [Outcome.FAILED]
    assert "learning rate" in window.messages.last_error[1] and "step 30" in window.messages.last_error[1]
    saved = load_checkpoint(window.session.checkpoint_path)  # the run's own folder
    assert saved.step == 30
    assert all(torch.isfinite(v).all() for v in saved.model_state.values() if v.is_floating_point())
    assert window.train_panel.continue_button.isEnabled()  # the app stays usable


@pytest.mark.parametrize("field,text", [
    ("latent_dim", "0"), ("latent_dim", "-4"), ("latent_dim", "x"), ("channels", "0"), ("channels", "1.5"),
    ("batch_size", "0"), ("batch_size", "999999"), ("lr", "0"), ("lr", "2"), ("lr", "nan?"),
    ("beta", "-1"), ("beta", "1e9"), ("kl_warmup", "-1"), ("epochs", "0"), ("seed", "s"), ("threads", "-2"),
])
def test_every_invalid_form_value_is_refused_with_a_reason(training_form, qtbot, field, text):
    from explorer.training_panel import LABELS

    training_form.fields[field].setText(text)
    assert not training_form.start_button.isEnabled()
    assert training_form.form_error.text().startswith(LABELS[field])
    with qtbot.assertNotEmitted(training_form.start_requested):
        qtbot.mouseClick(training_form.start_button, Qt.LeftButton)


def test_the_window_starts_nothing_from_an_invalid_form_even_when_asked_directly(window):
    window.train_panel.fields["lr"].setText("2")
    window.start_training()
    assert window.training.worker is None and window.messages.last_error[0] == "Invalid hyperparameter"


@pytest.mark.parametrize("args", [
    ["--latent-dim", "0"], ["--channels", "-1"], ["--batch-size", "x"], ["--lr", "0"], ["--beta", "-2"],
    ["--kl-warmup", "-5"], ["--epochs", "0"], ["--steps", "-1"], ["--device", "tpu"], ["--threads", "-1"],
    ["--loss", "median"], ["--save-every", "-2"],
])
def test_every_invalid_cli_value_exits_2_with_one_line(tmp_path, args):
    r = subprocess.run([sys.executable, "-m", "core.cli", "train", "--steps", "1", *args],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1


def test_exception_in_encoding_worker_becomes_a_message(explored_window, qtbot, monkeypatch):
    import core.maps

    def broken(*a, **k):
        raise RuntimeError("simulated failure inside the encoder")

    monkeypatch.setattr(core.maps, "encode", broken)
    explored_window.session.choose(split="train")  # the test split is already mapped (and cached)
    explored_window.maps.encode()
    qtbot.waitUntil(lambda: explored_window.messages.last_error is not None, timeout=30_000)
    assert explored_window.messages.last_error == ("Encoding failed", "simulated failure inside the encoder")
    assert explored_window.map_view.point_count() > 0  # the previous map stays
