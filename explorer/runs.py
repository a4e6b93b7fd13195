"""RunsController: the Runs tab. Lists the runs folders (core.runs) into the RunsPanel, refreshed when a
folder changes; opens, renames, deletes (after asking) and reveals runs; overlays the ticked runs' curves
(RunCurves) in colours the user can change; and maps the same test images with two runs' models side by
side (MapCompare), in the background.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QFileSystemWatcher, QObject, QSettings, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import QColorDialog, QFileDialog, QWidget

from core.colours import palette
from explorer.map_compare import MapCompare
from explorer.run_curves import Curves, RunCurves
from explorer.runs_panel import RunsPanel
from explorer.session import Session
from explorer.tasks import TaskRunner

COMPARE_IMAGES = 5000  # test images both models map


class RunsController(QObject):
    open_requested = Signal(str)  # a run's checkpoint to open in the app
    compared = Signal()  # two maps are shown side by side

    def __init__(self, session: Session, runner: TaskRunner, settings: QSettings, runs_root: Path,
                 panel: RunsPanel, curves: RunCurves, compare: MapCompare,
                 report: Callable[[str, str, str], None], ask: Callable[[str, str], bool], window: QWidget):
        super().__init__(window)
        self.session, self.runner, self.settings, self.runs_root = session, runner, settings, runs_root
        self.panel, self.curves, self.compare, self._report, self._ask, self.window = (
            panel, curves, compare, report, ask, window)
        self.runs: dict[str, object] = {}  # path -> core.runs.RunSummary
        self.colours: dict[str, str] = json.loads(settings.value("run_colours", "{}") or "{}")
        self._histories: dict[str, tuple] = {}  # path -> (checkpoint mtime, History, images per step)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(lambda _: self._soon.start())
        self._soon = QTimer(self, singleShot=True, interval=500)  # a save touches a folder several times
        self._soon.timeout.connect(self.refresh)
        panel.open_requested.connect(self._open)
        panel.rename_requested.connect(self._rename)
        panel.delete_requested.connect(self._delete)
        panel.reveal_requested.connect(lambda path: QDesktopServices.openUrl(QUrl.fromLocalFile(
            path if Path(path).is_dir() else str(Path(path).parent))))
        panel.colour_requested.connect(self._choose_colour)
        panel.ticked_changed.connect(lambda paths: session.choose(ticked_runs=tuple(paths)))
        session.choices_changed.connect(self._on_choices_changed)
        panel.compare_requested.connect(self.compare_runs)
        panel.add_folder_requested.connect(self._add_folder_dialog)

    @property
    def ticked(self) -> list[str]:
        """The runs ticked (the session's choice) that are listed."""
        return [p for p in self.session.choices.ticked_runs if p in self.runs]

    @property
    def folders(self) -> list[Path]:
        extra = json.loads(self.settings.value("run_folders", "[]") or "[]")
        return [self.runs_root] + [Path(f) for f in extra if Path(f) != self.runs_root]

    def add_folder(self, folder: str) -> None:
        """List the runs (run folders or loose .pt files) of another folder too; remembered in the settings."""
        extra = json.loads(self.settings.value("run_folders", "[]") or "[]")
        if folder not in extra and Path(folder) != self.runs_root:
            self.settings.setValue("run_folders", json.dumps(extra + [folder]))
        self.refresh()

    def refresh(self) -> None:
        """List every runs folder again (summaries only: fast) and redraw the ticked runs' curves."""
        from core.runs import list_runs

        folders = [f for f in self.folders if f != self.runs_root or f.is_dir()]  # made by the first run
        runs = list_runs(folders)
        self.runs = {str(r.path): r for r in runs}
        for path in self.runs:
            self.colours.setdefault(path, self._next_colour())
        watched = set(self.watcher.directories())
        wanted = {str(f) for f in self.folders if f.is_dir()}
        if not self.runs_root.is_dir() and self.runs_root.parent.is_dir():
            wanted.add(str(self.runs_root.parent))  # until a first run makes the runs folder
        if wanted - watched:
            self.watcher.addPaths(sorted(wanted - watched))
        self.panel.set_runs(runs, self.colours, set(self.ticked), [str(f) for f in self.folders])
        self._overlay()

    def _next_colour(self) -> str:
        used, choices = set(self.colours.values()), palette()["classes"]
        return next((c for c in choices if c not in used), choices[len(self.colours) % len(choices)])

    def _open(self, path: str) -> None:
        run = self.runs.get(path)
        if run is not None and not run.error:
            self.open_requested.emit(str(run.checkpoint))

    def _rename(self, path: str, name: str) -> None:
        from core.runs import rename_run

        try:
            rename_run(self.runs[path], name)
        except (OSError, ValueError) as e:
            self._report("Cannot rename the run", str(e), "")
        self.refresh()

    def _delete(self, path: str) -> None:
        from core.runs import delete_run

        run = self.runs.get(path)
        if run is None:
            return
        training = self.session.checkpoint_path
        if training and Path(training) == run.checkpoint and self.session.training:
            self._report("Cannot delete the run", "This run is training now; stop it first.", "")
            return
        what = "its folder and everything in it" if run.is_folder else "this checkpoint file"
        if not self._ask("Delete run", f"Delete the run “{run.name}”? This removes {what}:\n{run.path}"):
            return
        try:
            delete_run(run)
        except (OSError, ValueError) as e:
            self._report("Cannot delete the run", str(e), "")
        self.refresh()

    def _choose_colour(self, path: str) -> None:
        colour = QColorDialog.getColor(QColor(self.colours.get(path, "#444444")), self.window, "Run colour")
        if colour.isValid():
            self.set_colour(path, colour.name())

    def set_colour(self, path: str, colour: str) -> None:
        self.colours[path] = colour
        self.settings.setValue("run_colours", json.dumps(self.colours))
        self.refresh()

    def _add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Add a folder of runs or checkpoints")
        if folder:
            self.add_folder(folder)

    def _on_choices_changed(self, changed: frozenset) -> None:
        if "ticked_runs" in changed:
            self.panel.set_ticked(self.ticked)
            self._overlay()

    def _curves(self, run) -> tuple:
        """(History, the units its curves need: Curves fields) of a run from one peek at its checkpoint, read again
        only when it changed."""
        from core.model_file import peek_model

        path = run.checkpoint
        mtime = path.stat().st_mtime if path.exists() else 0.0
        cached = self._histories.get(str(run.path))
        if cached is None or cached[0] != mtime:
            ckpt = peek_model(path)
            config, model = ckpt.train_config, ckpt.model_config
            units = {"batch": config.batch_size if config else 1, "loss": config.loss if config else "elbo",
                     "pixels": model.in_ch * model.img_size ** 2, "views": 2 if config and config.contrast else 1,
                     "old_knn": ckpt.old_measure}
            cached = (mtime, ckpt.history, units)
            self._histories[str(run.path)] = cached
        return cached[1], cached[2]

    def _overlay(self) -> None:
        from core.checkpoint import CheckpointError

        shown = []
        for path in self.ticked:
            run = self.runs[path]
            try:
                history, units = self._curves(run)
            except (CheckpointError, OSError) as e:
                self._report("Cannot read the run's curves", str(e), "")
                continue
            shown.append(Curves(path, run.name, self.colours[path], history, **units))
        self.curves.set_runs(shown)

    def compare_runs(self, path_a: str, path_b: str) -> None:
        """Map the first COMPARE_IMAGES test images with both runs' models, B aligned to A (in the background)."""
        from core.compare import compare_models
        from core.model_file import open_model

        a, b, ds = self.runs[path_a], self.runs[path_b], self.session.dataset
        if ds is None:
            self._report("Cannot compare maps", "Load a dataset first (the Train tab): both models map its test "
                                                "images.", "")
            return
        if {a.dataset, b.dataset} - {""} and ds.name not in (a.dataset, b.dataset):  # a model file names none
            self._report("Cannot compare maps", f"These runs trained on {a.dataset} and {b.dataset}, but the loaded "
                                                f"dataset is {ds.name}; load theirs in the Train tab.", "")
            return
        n = min(COMPARE_IMAGES, len(ds.test))
        images, labels = ds.test.images[:n], ds.test.labels[:n]

        def work(progress):
            ckpt_a, ckpt_b = open_model(a.checkpoint), open_model(b.checkpoint)
            for ckpt, run in ((ckpt_a, a), (ckpt_b, b)):
                ckpt.check_images(images, run.name, ds.name)
            return compare_models(ckpt_a.build_model(), ckpt_b.build_model(), images, labels, progress=progress)

        def done(pair) -> None:
            self.compare.set_pair(pair, ds.classes, (a.name, b.name))
            self.compared.emit()

        self.compare.show_message(f"Mapping {n:,} test images with both models...")
        self.runner.run(work, done, "Cannot compare the maps", kind="compare", tagged=False)
