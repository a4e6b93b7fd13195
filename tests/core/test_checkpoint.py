"""Checkpoints: round trip, reference state_dicts, atomic saves, and refusal of unsafe files."""
import os
import pickle

import pytest
import torch

from core import checkpoint as ckmod
from core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from core.model import ConvVAE


def test_round_trip_keeps_everything(trained_checkpoint):
    ckpt, path = trained_checkpoint
    loaded = load_checkpoint(path)
    assert loaded.step == 60 and loaded.model_config == ckpt.model_config
    assert loaded.dataset == "shapes" and loaded.classes == ckpt.classes
    assert loaded.train_config == ckpt.train_config
    assert list(loaded.history.steps) == list(ckpt.history.steps) and len(ckpt.history.steps) > 0
    assert list(loaded.history.epochs) == list(ckpt.history.epochs) and len(loaded.history.epochs) > 0
    for k, v in ckpt.model_state.items():
        assert torch.equal(v, loaded.model_state[k])


def test_bare_reference_state_dict_loads(tmp_path):
    model = ConvVAE(latent_dim=32, channels=16)
    torch.save(model.state_dict(), tmp_path / "ref.pth")
    loaded = load_checkpoint(tmp_path / "ref.pth")
    assert (loaded.model_config.latent_dim, loaded.model_config.channels) == (32, 16)
    assert loaded.optimizer_state is None and loaded.step == 0
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(loaded.build_model().eval().encode(x)[0], model.eval().encode(x)[0])


def test_pickle_payload_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "marker"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"format": ckmod.FORMAT, "model": Payload()}, f)
    torch.save({"format": ckmod.FORMAT, "model": Payload()}, tmp_path / "evil_zip.pt")
    for p in (path, tmp_path / "evil_zip.pt"):
        with pytest.raises(CheckpointError, match="could run code|Cannot load"):
            load_checkpoint(p)
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "empty", "text", "wrong_shape", "foreign_dict", "other_arch"])
def test_damaged_files_raise_one_error_type(trained_checkpoint, tmp_path, damage):
    ckpt, good = trained_checkpoint
    path = tmp_path / "bad.pt"
    raw = good.read_bytes()
    if damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "text":
        path.write_text("hello")
    elif damage == "wrong_shape":
        d = ckpt.to_dict()
        d["model"] = dict(d["model"], **{"fc_mu.weight": torch.zeros(3, 3)})
        torch.save(d, path)
    elif damage == "foreign_dict":
        torch.save({"weights": torch.zeros(3)}, path)
    else:
        torch.save({"conv.weight": torch.zeros(3, 3), "encoder.0.weight": torch.zeros(8, 3, 4, 4)}, path)
    with pytest.raises(CheckpointError, match=str(path)):
        load_checkpoint(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")


def test_crash_mid_save_leaves_previous_file_intact(trained_checkpoint, monkeypatch):
    ckpt, path = trained_checkpoint
    before = path.read_bytes()

    def crash(obj, f, *a, **k):
        f.write(b"partial garbage")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckmod.torch, "save", crash)
    ckpt.step = 999
    with pytest.raises(CheckpointError, match="No space left"):
        save_checkpoint(ckpt, path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_read_only_folder_is_a_clear_error(trained_checkpoint, tmp_path, monkeypatch):
    """Simulated with EACCES, since CI runs as root, which ignores folder permissions."""
    ckpt, path = trained_checkpoint
    before = path.read_bytes()

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ckmod.tempfile, "mkstemp", denied)
    with pytest.raises(CheckpointError, match="Permission denied.*write to"):
        save_checkpoint(ckpt, path)
    assert path.read_bytes() == before


def test_unwritable_path_is_a_clear_error(trained_checkpoint, tmp_path):
    ckpt, _ = trained_checkpoint
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(CheckpointError, match="write to"):
        save_checkpoint(ckpt, blocker / "x.pt")


def test_checkpoints_record_the_loss_and_older_ones_still_open(trained_checkpoint, tmp_path, shapes):
    """An older file: no loss mode, no schedule or live-map settings, no map frames, no diagnostics."""
    from core.config import TrainConfig
    from core.train import Trainer

    ckpt, path = trained_checkpoint
    assert load_checkpoint(path).train_config.loss == "calibrated" and ckpt.map_frames is not None
    payload = torch.load(path, weights_only=True)
    for key in ("loss", "lr_schedule", "lr_warmup", "grad_clip", "live_map", "live_map_images", "live_map_interval_s"):
        del payload["train_config"][key]
    del payload["map_frames"]
    # version-1 files: the history as lists of dicts, without the newer fields, and a noise generator state
    payload["history"] = {"steps": [m.to_dict() for m in ckpt.history.steps],
                          "epochs": [m.to_dict() for m in ckpt.history.epochs]}
    for m in payload["history"]["epochs"]:
        for key in ("kl_dims", "active_units", "informative_dims", "prior_mismatch"):
            del m[key]
    payload["rng_state"] = torch.Generator().get_state()
    torch.save(payload, tmp_path / "old.pt")
    old = load_checkpoint(tmp_path / "old.pt")
    assert old.map_frames is None and old.train_config.loss == TrainConfig().loss and old.step == ckpt.step
    resumed = Trainer(shapes, TrainConfig(steps=5, batch_size=32), checkpoint=old)
    resumed.run()
    assert resumed.step == ckpt.step + 5 and resumed.live_map.frames  # a new timeline starts


def test_malformed_live_map_frames_are_refused(trained_checkpoint, tmp_path):
    _, path = trained_checkpoint
    payload = torch.load(path, weights_only=True)
    payload["map_frames"]["coords"] = payload["map_frames"]["coords"][:, :5]  # fewer points than indices
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="live-map frames"):
        load_checkpoint(tmp_path / "bad.pt")
