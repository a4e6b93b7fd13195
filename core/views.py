"""Views: a screen of the map kept as a small JSON file a person can read and send. It names what it shows
(a checkpoint, model file or embeddings, by path and sha256) and holds the map's projection and split, the
visible rectangle, every choice (colour lens and scale, hidden classes, attribute ends, ...), the selection,
the groups and the clicked point.

Views are kept beside what they show: in a run folder's `views/`, else in `<file>.views/` beside the file.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from core.checkpoint import atomic_file

FORMAT, VERSION, SUFFIX = "vae-explorer-view", 1, ".view.json"
KINDS = ("model", "embeddings")  # a checkpoint or model file; embeddings without a model


class ViewError(Exception):
    """A view cannot be read or written; the message names the file and the fix."""


@dataclass
class View:
    name: str
    source: str  # the checkpoint, model file or embeddings it shows (an absolute path)
    kind: str  # KINDS
    sha256: str  # of the source file when the view was saved
    dataset: str  # the dataset the map was made of (a model's view; "" for embeddings)
    projection: str  # the map's own: pca, tsne, umap, or given (an embeddings file's coordinates)
    split: str
    rect: tuple[float, float, float, float]  # the visible rectangle: x0, x1, y0, y1 in map units
    choices: dict = field(default_factory=dict)  # explorer.choices.Choices, every field
    selection: list[int] = field(default_factory=list)  # points of the map
    groups: dict[str, list] = field(default_factory=dict)  # "A" -> [split, [image indices]]
    picked: int | None = None
    saved: str = ""  # when, ISO time

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": VERSION, **asdict(self)}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "View":
        """ValueError saying what is wrong with a view's JSON."""
        d = json.loads(text)
        if not isinstance(d, dict) or d.get("format") != FORMAT or d.get("version") != VERSION:
            raise ValueError(f"it is not a view (format {FORMAT!r} version {VERSION})")
        view = cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})
        rect = [float(v) for v in view.rect]
        if len(rect) != 4 or view.kind not in KINDS or not isinstance(view.choices, dict):
            raise ValueError("its rect, kind or choices are malformed")
        view.rect, view.selection = tuple(rect), [int(i) for i in view.selection]
        view.picked = int(view.picked) if view.picked is not None else None
        view.groups = {str(k): [str(s), [int(i) for i in idx]] for k, (s, idx) in view.groups.items()}
        return view

    def source_problem(self) -> str:
        """"" when the file it shows is there unchanged, else what happened to it."""
        path = Path(self.source)
        if not path.is_file():
            return f"the {self.kind} it shows, {path}, is missing"
        if file_checksum(path) != self.sha256:
            return f"the {self.kind} it shows, {path}, has changed since the view was saved (another checksum)"
        return ""


def file_checksum(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def views_folder(source: str | os.PathLike) -> Path:
    """Where views of `source` are kept: its run folder's `views/`, else `<file>.views/` beside it."""
    source = Path(source)
    if source.name == "checkpoint.pt" and (source.parent / "run.json").exists():
        return source.parent / "views"
    return source.with_name(source.name + ".views")


def save_view(view: View, path: str | os.PathLike | None = None) -> Path:
    """Write `view` (atomically) to `path`, or as `<name>.view.json` in views_folder(source). -> the path."""
    if not view.saved:
        view.saved = datetime.now().isoformat(timespec="seconds")
    if path is None:
        safe = re.sub(r"[^\w .-]+", "_", view.name).strip() or "view"
        path = views_folder(view.source) / (safe + SUFFIX)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path, "w") as f:
            f.write(view.to_json())
    except OSError as e:
        raise ViewError(f"cannot write the view {path}: {e.strerror or e}; choose a writable location") from e
    return path


def read_view(path: str | os.PathLike) -> View:
    path = Path(path)
    try:
        return View.from_json(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ViewError(f"cannot read the view {path}: {e.strerror or e}") from e
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise ViewError(f"{path} is not a view that can be opened ({e}); open a {SUFFIX} file the app saved") from e


def list_views(source: str | os.PathLike | None) -> list[Path]:
    """The views kept beside `source`, newest first."""
    folder = views_folder(source) if source else None
    if folder is None or not folder.is_dir():
        return []
    return sorted(folder.glob("*" + SUFFIX), key=lambda p: p.stat().st_mtime, reverse=True)
