"""The runs library: a folder per run, summaries listed fast and safely, TensorBoard events, rename and delete."""
from __future__ import annotations

import json
import struct
from datetime import datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import TrainConfig
from core.runs import RunFolder, delete_run, list_runs, read_history, rename_run
from core.train import Trainer


@pytest.fixture(scope="module")
def trained(shapes):
    """A short run of the tiny model with two epoch ends: its checkpoint (the same for every test here)."""
    from core.config import ModelConfig

    config = TrainConfig(loss="elbo", beta=2.0, epochs=2, batch_size=500, live_map=False, eval_images=200, log_every=2)
    trainer = Trainer(shapes, config, ModelConfig(latent_dim=8, channels=8))
    trainer.run()
    return trainer.checkpoint()


def read_events(folder) -> dict[str, list[tuple[int, float]]]:
    """Scalars from the folder's event files, read back as TensorBoard does (TFRecord frames of Event protos)."""
    from tensorboardX.proto.event_pb2 import Event

    scalars: dict[str, list] = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = Event.FromString(data[pos + 12:pos + 12 + length])
            pos += 12 + length + 4
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def test_each_run_gets_its_own_folder_and_none_overwrites_another(tmp_path, trained):
    now = datetime(2026, 12, 4, 9, 30, 0)
    with RunFolder.create(tmp_path, "shapes", "elbo", now) as a, RunFolder.create(tmp_path, "shapes", "elbo", now) as b:
        # the same second: a second folder, not the first
        assert a.folder.name == "2026-12-04_093000_shapes_elbo" and b.folder.name == "2026-12-04_093000_shapes_elbo-2"
        a.save(trained)
        b.save(trained)
    assert {p.name for p in a.folder.iterdir()} >= {"checkpoint.pt", "run.json"}
    (run_b, run_a) = list_runs([tmp_path])
    assert run_a.path == a.folder and run_b.path == b.folder and run_a.is_folder and run_b.is_folder


def test_the_summary_holds_the_settings_and_the_latest_results(tmp_path, trained):
    with RunFolder.create(tmp_path, "shapes", "elbo") as run:
        run.save(trained)
    (summary,) = list_runs([tmp_path])
    last = trained.history.epochs[-1]
    assert (summary.dataset, summary.loss, summary.beta, summary.latent_dim) == ("shapes", "elbo", 2.0, 8)
    assert summary.steps == trained.step == 8 and summary.epochs == 2
    assert summary.test_psnr == pytest.approx(last.test_psnr) and 0 < summary.knn <= 1
    assert summary.kl_per_dim == pytest.approx(last.kl_per_dim) and summary.active_units == last.active_units
    assert summary.wall_s > 0 and not summary.error
    history = read_history(summary)
    assert np.array_equal(history.steps.column("loss"), trained.history.steps.column("loss"))


def test_tensorboard_reads_the_runs_scalars(tmp_path, trained):
    run = RunFolder.create(tmp_path, "shapes", "elbo")
    run.save(trained)
    run.save(trained)  # a second save adds nothing already written
    run.close()
    events = read_events(run.folder)
    steps = trained.history.steps
    assert events["steps/loss"] == [(int(s), pytest.approx(v, rel=1e-6))
                                    for s, v in zip(steps.column("step"), steps.column("loss"))]
    assert [s for s, _ in events["epochs/test_psnr"]] == [4, 8]
    assert events["epochs/test_psnr"][-1][1] == pytest.approx(trained.history.epochs[-1].test_psnr, rel=1e-6)


def test_a_continued_run_writes_only_its_new_scalars(tmp_path, trained):
    run = RunFolder.create(tmp_path, "shapes", "elbo")
    run.save(trained)
    run.close()
    again = RunFolder.of_checkpoint(run.checkpoint, trained.step)
    assert again.folder == run.folder and again.created == run.created
    again.save(trained)  # nothing new since step 8
    again.close()
    assert [s for s, _ in read_events(run.folder)["steps/loss"]] == list(trained.history.steps.column("step"))


def test_rename_keeps_the_folder_and_delete_removes_only_that_run(tmp_path, trained):
    with RunFolder.create(tmp_path, "shapes", "elbo") as a, RunFolder.create(tmp_path, "shapes", "calibrated") as b:
        a.save(trained)
        b.save(trained)
    (tmp_path / "notes.txt").write_text("mine")
    run_a = next(r for r in list_runs([tmp_path]) if r.path == a.folder)
    rename_run(run_a, "  beta   two ")
    assert next(r for r in list_runs([tmp_path]) if r.path == a.folder).name == "beta two"
    assert a.folder.is_dir()
    with pytest.raises(ValueError, match="empty"):
        rename_run(run_a, "   ")
    delete_run(run_a)
    assert not a.folder.exists() and b.folder.is_dir() and (tmp_path / "notes.txt").read_text() == "mine"
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="not a run folder"):
        delete_run(next(r for r in list_runs([tmp_path]) if r.path.name == "plain"))
    assert (tmp_path / "plain").is_dir()


def test_a_loose_checkpoint_in_a_listed_folder_is_a_run_too(tmp_path, trained):
    from core.checkpoint import save_checkpoint

    save_checkpoint(trained, tmp_path / "mine.pt")
    (run,) = list_runs([tmp_path])
    assert run.name == "mine" and run.loss == "elbo" and run.steps == 8 and not run.error
    assert not run.is_folder and run.checkpoint == tmp_path / "mine.pt"
    rename_run(run, "better")
    assert (tmp_path / "better.pt").is_file() and not (tmp_path / "mine.pt").exists()


junk = st.one_of(st.binary(max_size=300), st.text(max_size=200).map(str.encode),
                 st.dictionaries(st.text(max_size=8), st.one_of(st.none(), st.integers(), st.text(max_size=8),
                                                                st.floats())).map(
                     lambda d: json.dumps(d | {"format": "vae-explorer-run"}).encode()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.tuples(st.sampled_from(["a.pt", "run.json", "checkpoint.pt", "name.txt", "x.bin"]),
                                st.booleans(), junk), max_size=6))
def test_a_folder_full_of_junk_is_listed_with_errors_and_never_stops_the_listing(tmp_path_factory, trained, files):
    root = tmp_path_factory.mktemp("junk")
    with RunFolder.create(root, "shapes", "elbo") as good:
        good.save(trained)
    for i, (name, in_folder, data) in enumerate(files):
        place = root / f"junk{i}" if in_folder else root
        place.mkdir(exist_ok=True)
        (place / (name if in_folder else f"{i}{name}")).write_bytes(data)
    runs = list_runs([root])
    assert any(r.path == good.folder and not r.error and r.steps == 8 for r in runs)
    for r in runs:
        assert r.error or r.path == good.folder or r.steps >= 0  # every entry is a row: a run or an error
        assert isinstance(r.name, str) and r.name
