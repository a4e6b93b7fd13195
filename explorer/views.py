"""ViewsController: saved views (core.views). Save: the screen as it is, beside the model or embeddings it
shows. Open: that model or embeddings first (when another is shown), every choice, and once its map is drawn,
the visible rectangle, the selection, the groups and the clicked point. The app keeps its last view when it
closes and opens it again at the next start (unless started with --fresh).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject

from core.data import user_data_dir
from explorer.choices import Choices
from explorer.latent_map import LatentMapView
from explorer.loading import Loader
from explorer.session import Session
from explorer.views_panel import ViewsPanel

LAST_VIEW = "last.view.json"  # in the user data folder: what the app reopens with


def _shown_choices(choices: dict) -> dict:
    """The choices a view keeps: what the map shows (not the runs ticked on this machine's Runs tab)."""
    return {k: v for k, v in choices.items() if k != "ticked_runs"}


class ViewsController(QObject):
    """`dataset_spec()` names the dataset the form has loaded ("shapes", "cifar10" or a folder);
    `load_dataset(spec)` loads another; `encode()` maps the split and projection chosen (MapController.encode)."""

    def __init__(self, session: Session, loader: Loader, view: LatentMapView, panel: ViewsPanel,
                 dataset_spec: Callable[[], str], load_dataset: Callable[[str], None], encode: Callable[[], None],
                 report: Callable[..., None], parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.loader, self.view, self.panel = session, loader, view, panel
        self._dataset_spec, self._load_dataset, self._encode, self._report = dataset_spec, load_dataset, encode, report
        self.pending = None  # a core.views.View being opened: applied once its map is drawn
        self._asked = None  # the pending view whose projection was asked for
        panel.save_requested.connect(self.save)
        panel.open_requested.connect(self.open)
        session.model_changed.connect(self.refresh)
        session.dataset_changed.connect(self.refresh)

    def source(self) -> tuple[str, str] | None:
        """(path, kind) of what the map shows: embeddings, or a model saved in a file (None: nothing saved yet)."""
        if self.session.embeddings is not None:
            return str(self.session.embeddings.path), "embeddings"
        if self.session.checkpoint is not None and self.session.checkpoint_path:
            return self.session.checkpoint_path, "model"
        return None

    def capture(self, name: str):
        """The screen as it is now: a core.views.View."""
        from core.views import View, file_checksum

        (path, kind), m, s = self.source(), self.session.map, self.session
        groups = {k: [split, [int(i) for i in idx]] for k, (split, idx) in s.groups.items()}
        return View(name, str(Path(path).resolve()), kind, file_checksum(path),
                    "" if kind == "embeddings" else self._dataset_spec(), m.projection.name, m.split,
                    self.view.visible_rect(), _shown_choices(s.choices.to_dict(everything=True)),
                    [int(i) for i in s.selection] if s.selection is not None else [], groups, s.picked)

    def save(self, name: str, path: str | None = None) -> Path | None:
        """Save the screen as view `name` beside what it shows (or at `path`); None if there is nothing to save."""
        from core.views import ViewError, save_view

        if self.session.map is None or self.source() is None or self.session.map.frame is not None:
            self._report("Nothing to save", "A view keeps a map of a saved model or of embeddings: open one (or save "
                                            "the model you trained) and show its map first.", "")
            return None
        try:
            saved = save_view(self.capture(name.strip() or "view"), path)
        except ViewError as e:
            self._report("Cannot save the view", str(e), "")
            return None
        except OSError as e:  # the file it shows went away since it was opened
            self._report("Cannot save the view", f"cannot read {e.filename}: {e.strerror or e}; a view names its "
                                                  f"model or embeddings by their checksum", "")
            return None
        self.refresh()
        return saved

    def save_last(self) -> None:
        """Kept at closing, for the next start (quietly: nothing to keep is no problem)."""
        from core.views import ViewError, save_view

        if self.session.map is not None and self.source() is not None and self.session.map.frame is None:
            try:
                save_view(self.capture("last"), user_data_dir() / LAST_VIEW)
            except (ViewError, OSError):
                pass

    def open_last(self) -> bool:
        """Open the view kept at the last closing, if there is one whose source is still there."""
        from core.views import ViewError, read_view

        path = user_data_dir() / LAST_VIEW
        try:
            if not path.is_file() or not Path(read_view(path).source).is_file():
                return False
        except ViewError:
            return False
        self.open(str(path), warn_changed=False)  # training may have saved its model again while closing
        return True

    def open(self, path: str, warn_changed: bool = True) -> None:
        """Open a saved view: its source (unless shown), its choices, then the rest once its map is drawn."""
        from core.views import ViewError, read_view

        try:
            view = read_view(path)
        except ViewError as e:
            self._report("Cannot open the view", str(e), "")
            return
        problem = view.source_problem()
        if problem and not Path(view.source).is_file():
            self._report("Cannot open the view", f"{Path(path).name}: {problem}. Put it back, or open another view.",
                         "")
            return
        if problem and warn_changed:  # changed: shown anyway, with a warning that points may have moved
            self._report("The view's file has changed", f"{Path(path).name}: {problem}. It is shown as it is now; "
                                                        f"points may sit elsewhere than when it was saved.", "")
        self.pending = view
        self.session.choose(**_shown_choices(vars(Choices.from_dict(view.choices, everything=True))))
        shown = self.source()
        if shown is not None and Path(shown[0]).resolve() == Path(view.source) and shown[1] == view.kind:
            self.on_map_ready()
        elif view.kind == "embeddings":
            self.loader.open_embeddings(view.source)
        else:
            if view.dataset and view.dataset != self._dataset_spec():
                self._load_dataset(view.dataset)  # the map controller encodes once both are there
            self.loader.open_checkpoint(view.source)

    def on_map_ready(self) -> None:
        """A map was drawn: the pending view's rectangle, selection, groups and clicked point, if it is its map."""
        v, m = self.pending, self.session.map
        if v is None or m is None or m.frame is not None or self.source() is None:
            return
        if Path(self.source()[0]).resolve() != Path(v.source):
            return
        if (m.split, m.projection.name) != (v.split, v.projection):
            if self._asked is not v and (not self.session.embeddings or v.projection != "given"):
                self._asked = v  # once: the view's projection of this split (cached when it was made before)
                self._encode()
            return
        self.pending = None
        self.session.choose(**_shown_choices(vars(Choices.from_dict(v.choices, everything=True))))  # reset by a dataset
        self.session.set_groups({k: (split, idx) for k, (split, idx) in v.groups.items()})
        self.session.select([i for i in v.selection if i < len(m.labels)] or None)
        self.session.pick(v.picked if v.picked is not None and v.picked < len(m.labels) else None)
        self.view.set_visible_rect(*v.rect)

    def refresh(self) -> None:
        """List the views kept beside what is shown."""
        from core.views import list_views

        source = self.source()
        self.panel.set_views(list_views(source[0]) if source else [], source is not None)
