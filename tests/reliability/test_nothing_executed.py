"""Nothing executed: pickle payloads are refused everywhere; any damaged checkpoint raises only
CheckpointError, and in the app it leaves the current model untouched."""
import io
import os
import pickle
import subprocess
import sys

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from core.config import ModelConfig
from core.model import ConvVAE
from tests.conftest import ROOT


def write_payload(path, marker):
    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"format": "vae-explorer-checkpoint", "version": 1, "model": Payload()}, path)


def test_cli_refuses_a_pickle_payload(tmp_path):
    marker, evil = tmp_path / "marker", tmp_path / "evil.pt"
    write_payload(evil, marker)
    r = subprocess.run([sys.executable, "-m", "core.cli", "sample", str(evil), "--out", str(tmp_path / "g.png")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "could run code" in r.stderr and str(evil) in r.stderr
    assert not marker.exists()


def test_app_refuses_a_pickle_payload_and_keeps_its_model(explored_window, qtbot, tmp_path):
    marker, evil = tmp_path / "marker", tmp_path / "evil.pt"
    write_payload(evil, marker)
    before = explored_window.session.checkpoint
    explored_window.loader.open_checkpoint(str(evil))
    qtbot.waitUntil(lambda: explored_window.messages.last_error is not None, timeout=30_000)
    assert "could run code" in explored_window.messages.last_error[1]
    assert not marker.exists()
    assert explored_window.session.checkpoint is before and explored_window.map_view.point_count() > 0


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory):
    from core.checkpoint import Checkpoint

    model = ConvVAE(latent_dim=4, channels=4)
    opt = torch.optim.Adam(model.parameters())
    model(torch.rand(2, 3, 32, 32))[0].mean().backward()
    opt.step()
    ckpt = Checkpoint(ModelConfig(4, 4), model.state_dict(), opt.state_dict(), step=1)
    path = save_checkpoint(ckpt, tmp_path_factory.mktemp("good") / "good.pt")
    return path.read_bytes()


def load_bytes(data: bytes, tmp_path):
    path = tmp_path / "mutant.pt"
    path.write_bytes(data)
    return load_checkpoint(path)


fuzz = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@fuzz
@given(cut=st.floats(0.0, 0.999))
def test_truncations_raise_only_checkpoint_error(good_bytes, tmp_path, cut):
    with pytest.raises(CheckpointError):
        load_bytes(good_bytes[: int(len(good_bytes) * cut)], tmp_path)


@fuzz
@given(flips=st.lists(st.tuples(st.floats(0, 0.999), st.integers(1, 255)), min_size=1, max_size=8))
def test_flipped_bytes_raise_only_checkpoint_error(good_bytes, tmp_path, flips):
    data = bytearray(good_bytes)
    for where, xor in flips:
        data[int(where * len(data))] ^= xor
    try:
        ckpt = load_bytes(bytes(data), tmp_path)
    except CheckpointError:
        return
    ckpt.build_model()  # a flip inside tensor data can still be a valid (if different) model


@fuzz
@given(change=st.sampled_from(["drop_key", "extra_key", "rename_key", "wrong_shape", "model_not_a_dict",
                                "other_arch", "bad_config", "bad_step", "optimizer_mismatch"]),
       seed=st.integers(0, 10_000))
def test_structural_mutations_raise_only_checkpoint_error(good_bytes, tmp_path, change, seed):
    import random

    rng = random.Random(seed)
    d = torch.load(io.BytesIO(good_bytes), weights_only=True)
    keys = sorted(d["model"])
    key = rng.choice(keys)
    if change == "drop_key":
        del d["model"][key]
    elif change == "extra_key":
        d["model"]["encoder.99.weight"] = torch.zeros(1)
    elif change == "rename_key":
        d["model"][key + "_x"] = d["model"].pop(key)
    elif change == "wrong_shape":
        d["model"][key] = torch.zeros(tuple(s + 1 for s in d["model"][key].shape) or (2,))
    elif change == "model_not_a_dict":
        d["model"] = "not a state dict"
    elif change == "other_arch":
        d["model"] = ConvVAE(latent_dim=8, channels=4).state_dict()
    elif change == "bad_config":
        d["model_config"] = {"latent_dim": -3, "channels": 4, "img_size": 30, "in_ch": 3}
    elif change == "bad_step":
        d["step"] = "twelve"
    else:
        d["optimizer"]["state"] = {0: {"exp_avg": torch.zeros(3)}}
        d["optimizer"]["param_groups"][0]["params"] = [0]
    buf = io.BytesIO()
    torch.save(d, buf)
    with pytest.raises(CheckpointError):
        load_bytes(buf.getvalue(), tmp_path)


def test_plain_pickle_file_is_refused(tmp_path):
    marker = tmp_path / "marker"
    evil = tmp_path / "plain.pkl"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(CheckpointError):
        load_checkpoint(evil)
    assert not marker.exists()


def test_app_shows_damaged_checkpoint_and_keeps_its_model(explored_window, qtbot, tmp_path, good_bytes):
    before = explored_window.session.checkpoint
    bad = tmp_path / "half.pt"
    bad.write_bytes(good_bytes[: len(good_bytes) // 3])
    explored_window.loader.open_checkpoint(str(bad))
    qtbot.waitUntil(lambda: explored_window.messages.last_error is not None, timeout=30_000)
    assert explored_window.messages.last_error[0] == "Cannot open model"
    assert explored_window.session.checkpoint is before
