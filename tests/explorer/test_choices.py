"""Every choice has one owner, the session: widgets ask and draw, controllers never read a widget back, and
what a restart keeps comes back."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from explorer.choices import Choices
from tests.explorer.gestures import choose

ROOT = Path(__file__).resolve().parents[2]
# each controller module, and the widgets it is handed: the attribute that holds each and its class
CONTROLLERS = {
    "explorer/map_controller.py": {"view": "explorer.latent_map.LatentMapView"},
    "explorer/inspecting.py": {"view": "explorer.latent_map.LatentMapView",
                               "inspector": "explorer.inspector.Inspector"},
    "explorer/runs.py": {"panel": "explorer.runs_panel.RunsPanel", "curves": "explorer.run_curves.RunCurves",
                         "compare": "explorer.map_compare.MapCompare"},
    "explorer/sampling.py": {"panel": "explorer.sampler.SamplesPanel"},
}


def _widget_uses(file: Path, attrs) -> list[tuple[int, str, str]]:
    """(line, attribute, name) of every `self.<attribute>.<name>` in a module, for the attributes `attrs`."""
    uses = []
    for node in ast.walk(ast.parse(file.read_text())):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "self"
                and node.value.attr in attrs):
            uses.append((node.lineno, node.value.attr, node.attr))
    return uses


def _tells(cls, name: str) -> bool:
    """Whether `cls.name` is a signal, or a method of the widget's own that returns nothing."""
    from PySide6.QtCore import Signal

    member = inspect.getattr_static(cls, name, None)
    return isinstance(member, Signal) or (inspect.isfunction(member)
                                          and inspect.signature(member).return_annotation in ("None", None))


def _class(dotted: str):
    import importlib

    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("path", sorted(CONTROLLERS))
def test_controllers_only_tell_widgets_things_never_read_them_or_reach_inside(path):
    """A controller may connect to a widget's signals and call its own methods that return nothing (it tells
    the widget what to draw); never a child widget, an attribute, or a method that hands back a value."""
    widgets = CONTROLLERS[path]
    bad = [f"{path}:{line} self.{attr}.{name}" for line, attr, name in _widget_uses(ROOT / path, widgets)
           if not _tells(_class(widgets[attr]), name)]
    assert bad == []


def test_the_check_sees_a_controller_reading_a_widget(tmp_path):
    """The check above fails on the kind of line it exists for: a child widget, a method that answers."""
    module = tmp_path / "bad.py"
    module.write_text("class C:\n    def f(self):\n        self.view.set_choices(None)\n"
                      "        return self.view.toolbar.colour_box, self.view.pick(1)\n")
    cls = _class("explorer.latent_map.LatentMapView")
    verdicts = {name: _tells(cls, name) for _, _, name in _widget_uses(module, {"view"})}
    assert verdicts == {"set_choices": True, "toolbar": False, "pick": False}


def test_saved_choices_are_checked_one_by_one():
    saved = {"split": "train", "projection": "nope", "point_size": "7", "opacity": 55, "colour_by": "hue",
             "hidden_classes": [1, 2], "ticked_runs": ["/a", "/b"], "cluster_k": 99, "unknown": 1}
    choices = Choices.from_dict(saved)
    assert (choices.split, choices.projection, choices.point_size, choices.opacity) == ("train", "pca", 5, 55)
    assert choices.colour_by == "hue" and choices.ticked_runs == ("/a", "/b") and choices.cluster_k == 0
    assert choices.hidden_classes == frozenset()  # belongs to one dataset: never kept
    assert Choices.from_dict(choices.to_dict()) == choices
    with pytest.raises(ValueError, match="drag_mode"):
        choices.with_changes(drag_mode="circle")
    from explorer.session import Session

    session = Session()
    for saved in ("not json", "[1, 2]", "7", '{"split": "all"}'):
        session.restore_choices(saved)  # settings from another version, or a file edited by hand
    assert session.choices == Choices(split="all")
    reported = []
    session.request("drag_mode", "circle", lambda *message: reported.append(message))  # a bad value asked for
    assert session.choices == Choices(split="all") and "drag_mode must be one of" in reported[0][1]


def test_every_kept_choice_comes_back_after_a_restart(window, qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from explorer.main_window import MainWindow
    from tests.conftest import close_window

    toolbar = window.map_view.toolbar
    window.tabs.setCurrentIndex(1)
    choose(qtbot, toolbar.split_box, "train")
    choose(qtbot, toolbar.projection_box, "t-SNE")
    choose(qtbot, toolbar.colour_box, "dominant hue")
    choose(qtbot, toolbar.drag_box, "lasso")
    for box in (toolbar.labels_box, toolbar.grey_box, toolbar.centroid_box, toolbar.images_box):
        qtbot.mouseClick(box, Qt.LeftButton)
    for key, widget, times in ((Qt.Key_Up, toolbar.clusters_spin, 6), (Qt.Key_Up, toolbar.size_box, 3),
                               (Qt.Key_Down, toolbar.opacity, 2)):
        widget.setFocus()
        for _ in range(times):
            qtbot.keyClick(widget, key)
    expected = Choices(split="train", projection="tsne", colour_by="hue", cluster_labels=True, cluster_k=6,
                       point_size=8, opacity=78, grey_hidden=True, centroids=True, images=False, drag_mode="lasso")
    assert window.session.choices == expected  # every gesture reached the session
    close_window(window, qtbot)

    again = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))  # the fixture's file
    again.messages.interactive = False
    assert again.session.choices == expected
    bar = again.map_view.toolbar  # and the controls show them
    assert (bar.split_box.currentText(), bar.projection_box.currentText(), bar.colour_box.currentData()) == (
        "train", "t-SNE", "hue")
    assert bar.labels_box.isChecked() and bar.clusters_spin.value() == 6 and bar.size_box.value() == 8
    assert bar.opacity.value() == 78 and bar.grey_box.isChecked() and not bar.images_box.isChecked()
    assert again.map_view.choices == expected  # what the map draws with
    close_window(again, qtbot)
