"""The runs library: every training run in its own folder, listed from small summaries.

A run folder (`<root>/<date>_<time>_<dataset>_<loss>[-N]`) holds:
  checkpoint.pt        the checkpoint with its history and live-map frames (core.checkpoint)
  run.json             the summary the Runs table reads (settings and latest results), rewritten at each save
  name.txt             the name a user gave it (only a rename writes it)
  events.out.tfevents.*  the same scalars for `tensorboard --logdir <root>` (tensorboardX)

Folders are made with an exclusive mkdir, so two processes never share one, and each file has one
writer. Listing reads summaries only; a folder or file that is not a readable run is listed with its
error. A loose checkpoint (`*.pt`) or model file (`*.vaemodel`, core.model_file) in a listed folder is listed
too (its summary read from the file), so another tool's model compares side by side with ours.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

from core.checkpoint import Checkpoint, CheckpointError, atomic_file, peek_checkpoint, save_checkpoint
from core.data import user_data_dir
from core.metrics import History
from core.model_file import peek_model

CHECKPOINT, SUMMARY, NAME = "checkpoint.pt", "run.json", "name.txt"
LOOSE = (".pt", ".vaemodel")  # files listed as runs of their own: checkpoints and model files
FORMAT = "vae-explorer-run"
SCALARS = {"steps": ("loss", "recon", "kld", "beta", "img_per_s"),
           "epochs": ("test_psnr", "test_loss", "kl_per_dim", "knn", "active_units")}


def default_root() -> Path:
    return user_data_dir() / "runs"


@dataclass
class RunSummary:
    """One row of the Runs table. `error` is set (and the rest mostly empty) when it could not be read."""

    path: Path  # the run folder, or a loose checkpoint or model file (`is_folder` says which)
    name: str = ""
    dataset: str = ""
    loss: str = ""  # its weighting, and " + NT-Xent 20" with the contrastive option at weight 20
    beta: float = math.nan
    latent_dim: int = 0
    steps: int = 0
    epochs: int = 0
    wall_s: float = math.nan
    created: str = ""  # ISO date and time the run began
    test_psnr: float = math.nan
    knn: float = math.nan
    kl_per_dim: float = math.nan
    active_units: int = 0
    knn_measure: str = ""  # the protocol its kNN was measured with (core.structure.PROTOCOL_ID; "": an older one)
    error: str = ""

    @property
    def old_knn(self) -> bool:
        """Its kNN is an older measure (k = 5, Euclidean), not comparable with core.structure's."""
        from core.structure import PROTOCOL_ID

        return not math.isnan(self.knn) and self.knn_measure != PROTOCOL_ID

    @property
    def is_folder(self) -> bool:
        """A run folder (checkpoint, summary, name, events), or else a loose checkpoint or model file."""
        return self.path.suffix not in LOOSE or self.path.is_dir()

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT if self.is_folder else self.path

    def to_json(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("path", "name", "error")}
        return {"format": FORMAT, "version": 1} | {k: (None if isinstance(v, float) and math.isnan(v) else v)
                                                   for k, v in d.items()}

    @classmethod
    def from_json(cls, path: Path, d: dict, name: str) -> "RunSummary":
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError("its run.json is not a VAE Latent Explorer run summary")
        kinds = {f.name: f.type for f in fields(cls)}
        values = {}
        for key in ("dataset", "loss", "beta", "latent_dim", "steps", "epochs", "wall_s", "created", "test_psnr",
                    "knn", "kl_per_dim", "active_units", "knn_measure"):
            v = d.get(key)
            if v is None:
                continue
            kind = kinds[key]
            if kind == "str" and not isinstance(v, str) or kind != "str" and not isinstance(v, (int, float)):
                raise ValueError(f"its run.json has a bad {key!r}: {v!r}")
            values[key] = int(v) if kind == "int" else float(v) if kind == "float" else v
        return cls(path, name=name, **values)


def summarise(ckpt: Checkpoint, path: Path, created: str = "") -> RunSummary:
    """The summary of a checkpoint (or a model file: its name and latent size): its settings and the newest
    figures of its history."""
    if not ckpt.trainable:
        return RunSummary(path, name=ckpt.name, loss="model file", latent_dim=ckpt.model_config.latent_dim)
    tc, epochs, steps = ckpt.train_config, ckpt.history.epochs, ckpt.history.steps

    def last(table, column, default=math.nan):
        return float(table.column(column)[-1]) if len(table) else default

    return RunSummary(
        path, name=path.stem if path.suffix == ".pt" else path.name, dataset=ckpt.dataset or "",
        loss=(tc.loss + (f" + NT-Xent {tc.contrast:g}" if tc.contrast else "")) if tc else "",
        beta=tc.beta if tc else math.nan, latent_dim=ckpt.model_config.latent_dim,
        steps=ckpt.step, epochs=ckpt.epoch, wall_s=last(steps, "wall_s"), created=created,
        test_psnr=last(epochs, "test_psnr"), knn=last(epochs, "knn"), kl_per_dim=last(epochs, "kl_per_dim"),
        active_units=int(last(epochs, "active_units", 0)), knn_measure=ckpt.structure,
    )


def _write_atomic(path: Path, text: str) -> None:
    with atomic_file(path, "w") as f:
        f.write(text)


class RunFolder:
    """The folder one training run saves into: checkpoint, summary and TensorBoard events.

    The first save opens a TensorBoard event writer, which runs a thread; `close` (or leaving a `with`
    block) ends it. Whoever runs the training closes its folder when the run ends."""

    def __init__(self, folder: Path, created: str | None = None, since_step: int = 0) -> None:
        """`since_step`: the step this session starts at (a continued run's earlier events are on disk)."""
        self.folder = Path(folder)
        self.created = created or datetime.now().isoformat(timespec="seconds")
        self._events = None  # tensorboardX writer, opened at the first save
        self._written = {"steps": since_step, "epochs": since_step}  # the last step in the events, per table

    @classmethod
    def create(cls, root: Path | None, dataset: str, loss: str, now: datetime | None = None) -> "RunFolder":
        """A new, empty run folder under `root` (default: the user data runs folder), never an existing one."""
        root = Path(root).expanduser() if root is not None else default_root()
        now = now or datetime.now()
        stem = f"{now:%Y-%m-%d_%H%M%S}_{Path(dataset).name or dataset}_{loss}"
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CheckpointError(f"Cannot make the runs folder {root}: {e.strerror or e}. "
                                  f"Choose a folder you can write to.") from e
        for n in range(1, 10_000):
            folder = root / (stem if n == 1 else f"{stem}-{n}")
            try:
                folder.mkdir()  # exclusive: another process that got here first keeps its folder
            except FileExistsError:
                continue
            return cls(folder, now.isoformat(timespec="seconds"))
        raise CheckpointError(f"{root} already holds 10,000 runs named {stem}; choose another runs folder")

    @classmethod
    def of_checkpoint(cls, path: Path, step: int) -> "RunFolder | None":
        """The run folder a checkpoint (at `step`) was saved in, to continue that run there; else None."""
        path = Path(path)
        if path.name != CHECKPOINT or not (path.parent / SUMMARY).is_file():
            return None
        try:
            created = json.loads((path.parent / SUMMARY).read_text(encoding="utf-8")).get("created")
        except (OSError, ValueError, AttributeError):
            created = None
        return cls(path.parent, created if isinstance(created, str) else None, step)

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, *_) -> None:
        self.close()

    @property
    def checkpoint(self) -> Path:
        return self.folder / CHECKPOINT

    def since_step(self, step: int) -> None:
        """This session starts at `step` (a resumed checkpoint's): its events begin after it."""
        self._written = {k: step for k in self._written}

    def save(self, ckpt: Checkpoint) -> Path:
        """Checkpoint first (atomic), then its summary, then the scalars logged since the last save."""
        path = save_checkpoint(ckpt, self.checkpoint)
        try:
            _write_atomic(self.folder / SUMMARY, json.dumps(summarise(ckpt, self.folder, self.created).to_json(),
                                                            indent=1))
            self._write_events(ckpt.history)
        except OSError as e:
            raise CheckpointError(f"Saved {path}, but not its summary in {self.folder}: {e.strerror or e}. "
                                  f"Free some space; the checkpoint itself is complete.") from e
        return path

    def _write_events(self, history: History) -> None:
        if self._events is None:
            from tensorboardX import SummaryWriter

            # named by time and host (to the second): a unique suffix keeps a continued session's file apart
            self._events = SummaryWriter(str(self.folder), flush_secs=3600,
                                         filename_suffix=f".{self._written['steps']}.{uuid.uuid4().hex[:8]}")
        for table_name, columns in SCALARS.items():
            table = getattr(history, table_name)
            steps = table.column("step")
            new = steps > self._written[table_name]
            for column in columns:
                values = table.column(column)
                for step, value in zip(steps[new], values[new]):
                    if math.isfinite(value):
                        self._events.add_scalar(f"{table_name}/{column}", float(value), int(step))
            if new.any():
                self._written[table_name] = int(steps[-1])
        self._events.flush()

    def close(self) -> None:
        """End the event writer (its thread and queue); a later save opens a new one."""
        if self._events is not None:
            self._events.close()
            self._events = None


def _read_summary(path: Path) -> RunSummary:
    name_file = path / NAME
    name = name_file.read_text(encoding="utf-8").strip() if name_file.is_file() else path.name
    if (path / SUMMARY).is_file():
        return RunSummary.from_json(path, json.loads((path / SUMMARY).read_text(encoding="utf-8")), name or path.name)
    if (path / CHECKPOINT).is_file():  # saved without a summary (an older version, or a summary lost)
        summary = summarise(peek_checkpoint(path / CHECKPOINT), path)
        summary.name = name or path.name
        return summary
    raise ValueError("it holds no checkpoint.pt")


def list_runs(folders) -> list[RunSummary]:
    """Every run in `folders` (each a runs folder), newest first. Unreadable entries carry their error;
    hidden files and temp files are skipped."""
    runs = []
    for root in folders:
        root = Path(root).expanduser()
        try:
            entries = sorted(root.iterdir())
        except OSError as e:
            runs.append(RunSummary(root, name=root.name, error=f"cannot read this folder: {e.strerror or e}"))
            continue
        for path in entries:
            if path.name.startswith("."):
                continue
            try:
                if path.is_dir():
                    runs.append(_read_summary(path))
                elif path.suffix in LOOSE:
                    runs.append(summarise(peek_model(path), path))
            except (OSError, ValueError, CheckpointError, UnicodeDecodeError) as e:
                runs.append(RunSummary(path, name=path.name, error=str(e) or type(e).__name__))
    return sorted(runs, key=lambda r: (r.created or "", r.name), reverse=True)


def rename_run(run: RunSummary, name: str) -> None:
    """Give a run folder a display name (the folder itself keeps its name; a loose file is renamed)."""
    name = " ".join(name.split())
    if not name:
        raise ValueError("a run's name cannot be empty")
    if run.is_folder:
        _write_atomic(run.path / NAME, name + "\n")
        return
    suffix = run.path.suffix
    target = run.path.with_name(name if name.endswith(suffix) else name + suffix)
    if "/" in name or os.sep in name or target.exists():
        raise ValueError(f"cannot rename {run.path.name} to {target.name}: "
                         + ("a file of that name exists" if target.exists() else "a name cannot hold a slash"))
    run.path.rename(target)


def delete_run(run: RunSummary) -> None:
    """Remove that run's folder (only if it is a run folder) or that loose checkpoint file, nothing else."""
    if run.path.is_dir():
        if not ((run.path / SUMMARY).exists() or (run.path / CHECKPOINT).exists()):
            raise ValueError(f"{run.path} is not a run folder (no {SUMMARY} or {CHECKPOINT}); it was left alone")
        shutil.rmtree(run.path)
    elif run.path.suffix in LOOSE:
        run.path.unlink()
    else:
        raise ValueError(f"{run.path} is not a run; it was left alone")


def read_history(run: RunSummary) -> History:
    """The curves of a run (its checkpoint's history, read without its weights; none for a model file)."""
    return peek_model(run.checkpoint).history


def runs_table(runs: list[RunSummary]) -> list[str]:
    """The lines of `vae-explorer runs`: a header, a row a run (its error if unreadable), and a footnote when
    a figure was measured the older way."""
    wide = max([10] + [len(r.loss) for r in runs])  # "calibrated + NT-Xent 20"
    lines = [f"{'name':<40} {'dataset':<8} {'loss':<{wide}} {'beta':>5} {'dim':>4} {'steps':>7} {'PSNR dB':>8} "
             f"{'kNN %':>6} {'KL/dim':>7} {'active':>6}"]
    for r in runs:
        lines.append(f"{r.name[:40]:<40} unreadable: {r.error}" if r.error else
                     f"{r.name[:40]:<40} {r.dataset[:8]:<8} {r.loss:<{wide}} {r.beta:>5g} {r.latent_dim:>4} "
                     f"{r.steps:>7} {r.test_psnr:>8.2f} {100 * r.knn:>5.1f}{'*' if r.old_knn else ' '} "
                     f"{r.kl_per_dim:>7.3f} {r.active_units:>6}")
    if any(r.old_knn for r in runs):
        lines.append("* kNN measured the older way (k = 5, Euclidean on raw latent means): not comparable")
    return lines
