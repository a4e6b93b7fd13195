"""The command line end to end on shapes, including bad input (exit 2, one line on stderr)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *map(str, args)], cwd=cwd or ROOT,
        capture_output=True, text=True, timeout=300,
    )


def cli_here(capsys, *args):
    """The same command line in this process (no interpreter and torch to start: seconds saved a call), for the
    commands whose process itself is not what a test looks at."""
    from types import SimpleNamespace

    from core.cli import main

    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    out = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


@pytest.fixture(scope="module")
def cli_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "model.pt"
    r = run_cli("train", "--dataset", "shapes", "--steps", "40", "--batch-size", "32", "--latent-dim", "8",
                "--channels", "8", "--log-every", "20", "--out", out)
    assert r.returncode == 0, r.stderr
    return out, r.stdout


def test_train_prints_progress_and_psnr(cli_checkpoint):
    out, stdout = cli_checkpoint
    assert out.is_file()
    assert "step     20/40" in stdout and "img/s" in stdout and "ETA" in stdout
    assert "final test PSNR" in stdout


def test_resume_continues_at_same_step(cli_checkpoint, tmp_path):
    out, _ = cli_checkpoint
    r = run_cli("train", "--resume", out, "--steps", "20", "--log-every", "10", "--out", tmp_path / "more.pt")
    assert r.returncode == 0, r.stderr
    assert "steps 40 -> 60" in r.stdout and "step     50/60" in r.stdout


def test_sample_writes_grid(cli_checkpoint, tmp_path):
    out, _ = cli_checkpoint
    r = run_cli("sample", out, "--out", tmp_path / "grid.png", "--n", "16")
    assert r.returncode == 0, r.stderr
    img = np.asarray(Image.open(tmp_path / "grid.png"))
    assert img.shape == (2 + 2 * 34, 2 + 8 * 34, 3) and img.std() > 5


@pytest.mark.parametrize("suffix", ["npz", "csv"])
def test_encode_writes_latents(cli_checkpoint, tmp_path, suffix):
    out, _ = cli_checkpoint
    dest = tmp_path / f"lat.{suffix}"
    r = run_cli("encode", out, "--out", dest, "--dataset", "shapes")
    assert r.returncode == 0, r.stderr
    if suffix == "npz":
        z = np.load(dest)
        assert z["mu"].shape == (2000, 8) and z["pca"].shape == (2000, 2) and len(z["classes"]) == 10
        assert z["labels"].shape == (2000,) and 0 < z["explained_variance"].sum() <= 1
    else:
        lines = dest.read_text().splitlines()
        properties = "brightness,saturation,hue,contrast,recon_error,kl,loss,cluster,mixture"
        assert lines[1].startswith(f"label,class,pc1,pc2,{properties},mu_0") and len(lines) == 2002


# --split all (train then test, 12,000 rows) is covered with PCA by test_train_keeps_live_map_frames...
@pytest.mark.parametrize(("split", "projection", "rows"), [("test", "tsne", 2_000), ("test", "umap", 2_000)])
def test_encode_writes_a_nonlinear_map_with_one_row_per_image(cli_checkpoint, tmp_path, split, projection, rows):
    out, _ = cli_checkpoint
    dest = tmp_path / "map.npz"
    r = run_cli("encode", out, "--out", dest, "--split", split, "--projection", projection)
    assert r.returncode == 0, r.stderr
    z = np.load(dest)
    assert z[projection].shape == (rows, 2) and z["mu"].shape == (rows, 8) and z["labels"].shape == (rows,)
    assert np.isfinite(z[projection]).all() and z[projection].std(axis=0).min() > 0  # spread out, not collapsed
    assert "pca" not in z and "explained_variance" not in z


def test_reference_state_dict_works_in_sample(tmp_path):
    import torch

    from core.model import ConvVAE

    torch.save(ConvVAE(latent_dim=16, channels=8).state_dict(), tmp_path / "ref.pth")
    r = run_cli("sample", tmp_path / "ref.pth", "--out", tmp_path / "g.png", "--n", "4")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("args,needle", [
    (["train", "--dataset", "/no/such/folder", "--steps", "1"], "/no/such/folder"),
    (["train", "--dataset", "cifar10", "--data-dir", "/no/where", "--steps", "1"], "/no/where"),
    (["train", "--lr", "-3", "--steps", "1"], "lr must be"),
    (["train", "--batch-size", "0"], "at least 1"),
    (["train", "--loss", "median"], "invalid choice"),
    (["sample", "/no/ckpt.pt", "--out", "x.png"], "/no/ckpt.pt"),
    (["sample", "BAD", "--out", "x.png", "--temperature", "-1"], "temperature"),
    (["encode", "BAD", "--out", "x.txt"], ".npz or .csv"),
    (["bogus"], "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(args, needle, tmp_path, cli_checkpoint):
    args = [str(cli_checkpoint[0]) if a == "BAD" else a for a in args]
    r = run_cli(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_the_app_entry_point_hands_subcommands_to_the_cli(cli_checkpoint, tmp_path):
    """`vae-explorer sample ...` (here `python -m explorer`, the same entry) runs the CLI, not the app."""
    out, _ = cli_checkpoint
    r = subprocess.run([sys.executable, "-m", "explorer", "sample", str(out), "--out", str(tmp_path / "g.png"),
                        "--n", "8"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "g.png").is_file() and "wrote 8 samples" in r.stdout
    r = subprocess.run([sys.executable, "-m", "explorer", "--help"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "train" in r.stdout and "--self-test" in r.stdout


def test_train_writes_metrics_csv_and_encode_writes_projector_files(cli_checkpoint, tmp_path):
    out, _ = cli_checkpoint
    r = run_cli("train", "--resume", out, "--steps", "10", "--log-every", "5", "--out", tmp_path / "more.pt",
                "--metrics-csv", tmp_path / "m.csv")
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "m.csv").read_text().splitlines()
    assert lines[0].startswith("step,loss,recon,kld") and len(lines) == 1 + 40 // 20 + 10 // 5 + 0
    r = run_cli("encode", out, "--out", tmp_path / "lat.npz", "--projector", tmp_path / "proj")
    assert r.returncode == 0, r.stderr
    assert len((tmp_path / "proj" / "metadata.tsv").read_text().splitlines()) == 2000 + 1


def test_sample_from_the_fitted_mixture(cli_checkpoint, tmp_path):
    out, _ = cli_checkpoint
    r = run_cli("sample", out, "--from", "mixture", "--out", tmp_path / "mix.png", "--n", "16")
    assert r.returncode == 0, r.stderr  # the checkpoint names its dataset (shapes)
    prior = run_cli("sample", out, "--out", tmp_path / "prior.png", "--n", "16")
    assert prior.returncode == 0
    a, b = np.asarray(Image.open(tmp_path / "mix.png")), np.asarray(Image.open(tmp_path / "prior.png"))
    assert a.shape == b.shape and not np.array_equal(a, b)
    again = run_cli("sample", out, "--from", "mixture", "--out", tmp_path / "mix2.png", "--n", "16")
    assert again.returncode == 0 and np.array_equal(a, np.asarray(Image.open(tmp_path / "mix2.png")))


def test_train_keeps_live_map_frames_and_encode_exports_them(tmp_path, capsys):
    out = tmp_path / "live.pt"
    r = run_cli("train", "--dataset", "shapes", "--steps", "30", "--batch-size", "1000", "--latent-dim", "8",
                "--channels", "8", "--live-map-images", "300", "--out", out)
    assert r.returncode == 0, r.stderr
    r = cli_here(capsys, "encode", out, "--out", tmp_path / "all.npz", "--split", "all", "--timeline",
                 tmp_path / "t.npz")
    assert r.returncode == 0, r.stderr
    t = np.load(tmp_path / "t.npz")
    assert t["steps"].tolist() == [10, 20, 30]  # one frame at each epoch end (10 steps an epoch)
    assert t["coords"].shape == (3, 300, 2) and t["coords"].dtype == np.float16 and t["components"].shape == (3, 2, 8)
    assert np.load(tmp_path / "all.npz")["mu"].shape == (12_000, 8)  # --split all: train then test
    r = cli_here(capsys, "encode", out, "--timeline", tmp_path / "only.npz")  # the timeline alone: no --out needed
    assert r.returncode == 0 and "wrote 3 live-map frames" in r.stdout and "encoded" not in r.stdout, r.stderr
    assert np.array_equal(np.load(tmp_path / "only.npz")["coords"], t["coords"])
    r = cli_here(capsys, "encode", out)
    assert r.returncode == 2 and "--out" in r.stderr and "--timeline" in r.stderr
    bare = tmp_path / "bare.pt"
    assert run_cli("train", "--dataset", "shapes", "--steps", "5", "--batch-size", "64", "--latent-dim", "4",
                   "--channels", "4", "--no-live-map", "--out", bare).returncode == 0
    r = cli_here(capsys, "encode", bare, "--out", tmp_path / "b.npz", "--timeline", tmp_path / "none.npz")
    assert r.returncode == 2 and "no live-map frames" in r.stderr


def test_runs_are_kept_listed_and_compared_from_the_command_line(tmp_path, capsys):
    import csv
    import os

    tiny = ["--dataset", "shapes", "--steps", "20", "--batch-size", "32", "--latent-dim", "8", "--channels", "8",
            "--log-every", "20"]
    for loss in ("calibrated", "elbo"):
        r = run_cli("train", *tiny, "--loss", loss, "--runs-dir", tmp_path / "runs")
        assert r.returncode == 0, r.stderr
    r = run_cli("train", *tiny)  # neither --out nor --runs-dir: the user data runs folder
    assert r.returncode == 0, r.stderr
    (default,) = (Path(os.environ["VAE_EXPLORER_DATA"]) / "runs").iterdir()
    assert (default / "checkpoint.pt").is_file() and str(default) in r.stdout

    folders = sorted((tmp_path / "runs").iterdir())
    assert [f.name.rsplit("_", 1)[-1] for f in folders] == ["calibrated", "elbo"]  # two folders, none overwritten
    r = cli_here(capsys, "runs", tmp_path / "runs")
    assert r.returncode == 0, r.stderr
    assert "2 runs in" in r.stdout and "calibrated" in r.stdout and "elbo" in r.stdout
    r = cli_here(capsys, "runs", tmp_path / "runs", "--csv", tmp_path / "runs.csv")
    rows = list(csv.DictReader((tmp_path / "runs.csv").open()))
    assert r.returncode == 0 and {row["loss"] for row in rows} == {"calibrated", "elbo"}
    assert all(int(row["steps"]) == 20 and float(row["test_psnr"]) > 5 for row in rows)

    r = cli_here(capsys, "compare", folders[0] / "checkpoint.pt", folders[1] / "checkpoint.pt", "--out",
                 tmp_path / "cmp.png", "--images", "300")
    assert r.returncode == 0, r.stderr
    agreement = float(r.stdout.split("mean neighbour agreement (10 nearest in latent space) ")[1].split("%")[0])
    assert 0 < agreement <= 100
    image = np.asarray(Image.open(tmp_path / "cmp.png"))
    assert image.shape[1] > 800 and len(np.unique(image.reshape(-1, 3), axis=0)) > 10  # two maps drawn in colour


@pytest.mark.parametrize("args,named", [
    (["runs", "/no/such/folder"], "/no/such/folder"),
    (["compare", "/no/a.pt", "/no/b.pt", "--out", "x.png"], "/no/a.pt"),
    (["train", "--steps", "1", "--out", "a.pt", "--runs-dir", "d"], "not allowed with"),
])
def test_runs_and_compare_bad_input_names_the_problem(args, named, capsys):
    r = cli_here(capsys, *args)
    assert r.returncode == 2 and named in r.stderr and r.stderr.startswith("error:")
