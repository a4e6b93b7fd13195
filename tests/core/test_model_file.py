"""Model files: anyone's VAE as two torch.export programs and a manifest. They encode and decode exactly as
the module they came from, work wherever the CLI takes a checkpoint, and opening one never runs code."""
import json
import os
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

from core.checkpoint import Checkpoint, save_checkpoint
from core.cli import main
from core.config import ModelConfig
from core.data import DatasetError, load_dataset
from core.model import ConvVAE
from core.model_file import ModelFileError, export_model, open_model


class MLPVAE(nn.Module):
    """A VAE that is not ours: fully connected, its own latent size, any image size."""

    def __init__(self, side: int = 32, channels: int = 3, latent: int = 6):
        super().__init__()
        self.shape, d = (channels, side, side), channels * side * side
        self.enc = nn.Sequential(nn.Flatten(), nn.Linear(d, 64), nn.ReLU(), nn.Linear(64, 2 * latent))
        self.dec = nn.Sequential(nn.Linear(latent, 64), nn.ReLU(), nn.Linear(64, d), nn.Sigmoid())

    def encode(self, x):
        return self.enc(x).chunk(2, dim=1)

    def decode(self, z):
        return self.dec(z).view(-1, *self.shape)


class Encoder(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, x):
        return self.vae.encode(x)


class Decoder(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, z):
        return self.vae.decode(z)


def export_mlp(path, side=32, channels=3, latent=6, classes=None) -> MLPVAE:
    torch.manual_seed(0)
    vae = MLPVAE(side, channels, latent).eval()
    export_model(Encoder(vae), Decoder(vae), torch.rand(4, channels, side, side), path, "mlp", classes)
    return vae


def test_a_model_file_encodes_and_decodes_exactly_as_the_module_it_came_from(tmp_path):
    vae = export_mlp(tmp_path / "mlp.vaemodel", classes=["a", "b"])
    opened = open_model(tmp_path / "mlp.vaemodel")
    assert (opened.name, opened.classes, opened.trainable) == ("mlp", ["a", "b"], False)
    assert (opened.model_config.latent_dim, opened.model_config.img_size, opened.model_config.in_ch) == (6, 32, 3)
    model, x = opened.build_model().eval(), torch.rand(5, 3, 32, 32)  # another batch size than the example's
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(model.encode(x), vae.encode(x)))
        z = torch.randn(3, 6)
        assert torch.equal(model.decode(z), vae.decode(z))


def test_export_model_turns_a_checkpoint_into_a_file_that_encodes_identically(tmp_path, shapes, capsys):
    torch.manual_seed(1)
    model = ConvVAE(latent_dim=12, channels=8)  # another latent size than the default's
    model(torch.rand(4, 3, 32, 32))  # batch-norm statistics that are not the initial ones
    ckpt = Checkpoint(ModelConfig(12, 8), model.state_dict(), classes=shapes.classes, dataset="shapes")
    save_checkpoint(ckpt, tmp_path / "c.pt")
    assert main(["export-model", str(tmp_path / "c.pt"), "--out", str(tmp_path / "c.vaemodel")]) == 0
    for source, out in (("c.pt", "a.npz"), ("c.vaemodel", "b.npz")):
        assert main(["encode", str(tmp_path / source), "--dataset", "shapes", "--out", str(tmp_path / out)]) == 0
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert a["mu"].shape[1] == 12 and np.array_equal(a["mu"], b["mu"])
    assert np.array_equal(a["pca"], b["pca"])
    assert main(["sample", str(tmp_path / "c.vaemodel"), "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "c.vaemodel"), str(tmp_path / "c.pt"), "--dataset", "shapes", "--images",
                 "300", "--out", str(tmp_path / "cmp.png")]) == 0
    assert "agreement (10 nearest in latent space) 100.0%" in capsys.readouterr().out  # the same latents
    assert main(["export-model", str(tmp_path / "c.pt"), "--out", str(tmp_path / "c.zip")]) == 2
    assert ".vaemodel" in capsys.readouterr().err


def test_a_dataset_of_another_size_than_the_model_is_named_with_both_sizes(tmp_path, capsys):
    export_mlp(tmp_path / "small.vaemodel", side=16, channels=1)
    shapes16 = load_dataset("shapes", img_size=16, in_ch=1)
    assert shapes16.test.images.shape[1:] == (1, 16, 16)
    with pytest.raises(DatasetError, match="32 px.*16 px"):
        load_dataset("cifar10", tmp_path, 16, 1)
    assert main(["encode", str(tmp_path / "small.vaemodel"), "--dataset", "cifar10", "--data-dir", str(tmp_path),
                 "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert "16 px" in err and "32 px" in err


def rewrite(source, target, change) -> None:
    """Copy a model file with `change(members)` applied to its {name: bytes}."""
    with zipfile.ZipFile(source) as z:
        members = {n: z.read(n) for n in z.namelist()}
    change(members)
    with zipfile.ZipFile(target, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


class Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def weights_that_run_code(marker) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save({"fc.weight": Payload(marker)}, buffer)
    return buffer.getvalue()


def test_a_crafted_model_file_is_refused_and_runs_nothing(tmp_path):
    good = tmp_path / "good.vaemodel"
    export_mlp(good)
    proof = tmp_path / "proof"  # the crafted weights do run code under a plain torch.load
    import io
    torch.load(io.BytesIO(weights_that_run_code(proof)), weights_only=False)
    assert proof.exists()

    marker = tmp_path / "marker"
    cases = {
        "weights": (lambda m: m.update({"encoder/state_dict.pt": weights_that_run_code(marker)}), "could run code"),
        "a pickle named .vaemodel": (None, "could run code"),
        "a size expression": (lambda m: m.update({"decoder/program.json": m["decoder/program.json"].replace(
            b"Symbol('s", b"__import__('os').system('touch " + str(marker).encode() + b"') or Symbol('s", 1)}),
            "size expression"),
        "another operator": (lambda m: m.update({"encoder/program.json": json.dumps(_retarget(
            json.loads(m["encoder/program.json"]), "torch.serialization.load")).encode()}), "not one of PyTorch"),
    }
    for what, (change, message) in cases.items():
        evil = tmp_path / f"{what}.vaemodel"
        if change is None:
            torch.save({"model": Payload(marker)}, evil)
        else:
            rewrite(good, evil, change)
        with pytest.raises(ModelFileError if change else Exception, match=message) as e:
            open_model(evil)
        assert str(evil) in str(e.value), what
        assert not marker.exists(), what


def _retarget(program: dict, target: str) -> dict:
    program["graph_module"]["graph"]["nodes"][0]["target"] = target
    return program


def test_moving_a_model_to_another_device_leaves_the_files_programs_where_they_are(tmp_path):
    """What a GPU encode does (a copy per background task, moved there), simulated on the meta device."""
    export_mlp(tmp_path / "mlp.vaemodel")
    opened = open_model(tmp_path / "mlp.vaemodel")
    moved = opened.build_model().to("meta")
    mu, logvar = moved.encode(torch.zeros(3, 3, 32, 32, device="meta"))
    assert mu.device.type == "meta" and mu.shape == (3, 6) and moved.decode(mu).shape == (3, 3, 32, 32)
    assert all(t.device.type == "cpu" for p in opened.programs for t in p.state_dict.values())
    here = opened.build_model()
    assert here.encode(torch.zeros(1, 3, 32, 32))[0].device.type == "cpu"
