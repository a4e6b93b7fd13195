"""Views that last: a saved view is a small readable JSON file beside its model; opened in a fresh window it
draws the same points at the same pixels with the same choices, selection, groups and clicked point; a view
whose model is missing or changed says so; the app reopens where it was left unless started fresh."""
import json
import shutil

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QFileDialog

from tests.conftest import close_window, start_window
from tests.explorer.gestures import choose, click, click_legend_checkbox, click_tab, drag


def open_model(window, qtbot, path) -> None:
    window.loader.open_checkpoint(str(path))
    qtbot.waitUntil(lambda: window.session.map is not None and window.session.checkpoint_path == str(path)
                    and not window.runner.busy, timeout=60_000)


def open_view_file(window, qtbot, monkeypatch, path) -> None:
    """Runs tab, Saved views, Open file..., the file chosen."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    click_tab(qtbot, window.tabs, window.tabs.count() - 1)
    qtbot.mouseClick(window.views_panel.file_button, Qt.LeftButton)


def test_a_saved_view_reopens_pixel_identical_in_a_fresh_window(window, qtbot, tmp_path, shapes_checkpoint,
                                                                   monkeypatch):
    model = tmp_path / "model.pt"
    shutil.copyfile(shapes_checkpoint[1], model)
    open_model(window, qtbot, model)
    view = window.map_view
    click_tab(qtbot, window.tabs, 1)
    choose(qtbot, view.toolbar.colour_box, "brightness")
    qtbot.waitUntil(lambda: view.colouring.name == "brightness", timeout=30_000)
    choose(qtbot, view.toolbar.cmap_box, "cividis")
    click_legend_checkbox(qtbot, view, 2)
    vb = view.plot.plotItem.vb
    x0, x1, y0, y1 = view.visible_rect()
    vb.setRange(xRange=(x0 + 0.1 * (x1 - x0), x0 + 0.6 * (x1 - x0)), yRange=(y0 + 0.2 * (y1 - y0), y1), padding=0)
    choose(qtbot, view.toolbar.drag_box, "rectangle")
    size = view.plot.viewport().size()
    w, h = size.width(), size.height()
    drag(qtbot, view, [QPointF(0.3 * w, 0.3 * h), QPointF(0.6 * w, 0.5 * h), QPointF(0.6 * w, 0.7 * h)])
    assert window.session.selection is not None and len(window.session.selection) > 3
    qtbot.mouseClick(window.inspector.group_button, Qt.LeftButton)
    choose(qtbot, view.toolbar.drag_box, "pan")
    picked = int(window.session.selection[0])
    click(qtbot, view, view.screen_pos(picked))
    assert window.session.picked is not None

    click_tab(qtbot, window.tabs, window.tabs.count() - 1)
    panel = window.views_panel
    qtbot.keyClicks(panel.name_edit, "bright corner")
    qtbot.mouseClick(panel.save_button, Qt.LeftButton)
    saved = tmp_path / "model.pt.views" / "bright corner.view.json"
    assert saved.is_file() and panel.list.count() == 1 and "bright corner" in panel.list.item(0).text()
    text = json.loads(saved.read_text())  # small and readable: names its model by path and checksum
    assert text["source"] == str(model.resolve()) and len(text["sha256"]) == 64 and text["choices"]["colour_map"] == \
        "cividis" and text["choices"]["hidden_classes"] == [2] and len(saved.read_text()) < 20_000
    click_tab(qtbot, window.tabs, 1)
    view.plot.plotItem.autoBtn.hide()  # pyqtgraph's "A" button shows only while the mouse is over the plot
    before, state = view.plot.grab().toImage(), (window.session.choices, window.session.selection.tolist(),
                                                 window.session.picked, {k: (s, i.tolist()) for k, (s, i) in
                                                                         window.session.groups.items()})

    fresh = start_window(qtbot, tmp_path / "fresh", fresh=True)
    try:
        open_view_file(fresh, qtbot, monkeypatch, saved)
        qtbot.waitUntil(lambda: fresh.views.pending is None and fresh.session.map is not None
                        and not fresh.runner.busy, timeout=60_000)
        qtbot.waitUntil(lambda: fresh.map_view.colouring.name == "brightness", timeout=30_000)
        click_tab(qtbot, fresh.tabs, 1)
        s = fresh.session
        assert (s.choices, s.selection.tolist(), s.picked, {k: (sp, i.tolist()) for k, (sp, i) in s.groups.items()}) \
            == state
        qtbot.waitUntil(lambda: fresh.map_view.plot.size() == window.map_view.plot.size(), timeout=5_000)  # laid out
        fresh.map_view.plot.plotItem.autoBtn.hide()
        after = fresh.map_view.plot.grab().toImage()
        assert after.size() == before.size() and after == before  # the same points at the same pixels
    finally:
        close_window(fresh, qtbot)


def test_a_view_whose_model_is_missing_or_changed_says_so(window, qtbot, tmp_path, shapes_checkpoint, monkeypatch):
    model = tmp_path / "model.pt"
    shutil.copyfile(shapes_checkpoint[1], model)
    open_model(window, qtbot, model)
    path = window.views.save("first")
    assert path is not None and path.parent.name == "model.pt.views"
    with open(model, "ab") as f:
        f.write(b"\0")  # changed since
    window.messages.last_error = None
    open_view_file(window, qtbot, monkeypatch, path)
    title, message = window.messages.last_error
    assert title == "The view's file has changed" and "model.pt" in message
    moved = path.parent.parent / "elsewhere.view.json"
    shutil.copyfile(path, moved)
    model.unlink()
    before = window.session.map
    open_view_file(window, qtbot, monkeypatch, moved)
    title, message = window.messages.last_error
    assert title == "Cannot open the view" and "is missing" in message and window.session.map is before


def test_the_app_reopens_on_the_last_view_unless_started_fresh(qtbot, tmp_path, shapes_checkpoint):
    model = tmp_path / "model.pt"
    shutil.copyfile(shapes_checkpoint[1], model)
    first = start_window(qtbot, tmp_path / "a")
    open_model(first, qtbot, model)
    first.session.select(np.arange(5, 12))
    close_window(first, qtbot)  # keeps the screen as the last view
    again = start_window(qtbot, tmp_path / "b")
    try:
        qtbot.waitUntil(lambda: again.views.pending is None and again.session.selection is not None, timeout=60_000)
        assert again.session.checkpoint_path == str(model.resolve()) and again.session.selection.tolist() == \
            list(range(5, 12))
    finally:
        close_window(again, qtbot)
    fresh = start_window(qtbot, tmp_path / "c", fresh=True)
    try:
        assert fresh.session.map is None and fresh.session.checkpoint is None
    finally:
        close_window(fresh, qtbot)


def test_a_view_of_embeddings_keeps_their_given_map_and_the_clicked_point(window, qtbot, tmp_path, monkeypatch):
    from tests.explorer.test_open_embeddings import write_embeddings
    from tests.explorer.test_open_model import drop_on_window

    _, _, coords, _ = write_embeddings(tmp_path / "theirs.npz")
    drop_on_window(window, tmp_path / "theirs.npz")
    qtbot.waitUntil(lambda: window.session.embeddings is not None and window.session.map is not None, timeout=60_000)
    click_tab(qtbot, window.tabs, 1)
    target = int(np.argmin(coords[:, 1]))
    click(qtbot, window.map_view, window.map_view.screen_pos(target))
    click_tab(qtbot, window.tabs, window.tabs.count() - 1)
    qtbot.keyClicks(window.views_panel.name_edit, "theirs")
    qtbot.mouseClick(window.views_panel.save_button, Qt.LeftButton)
    saved = tmp_path / "theirs.npz.views" / "theirs.view.json"
    assert json.loads(saved.read_text())["kind"] == "embeddings"
    fresh = start_window(qtbot, tmp_path / "fresh", fresh=True)
    try:
        open_view_file(fresh, qtbot, monkeypatch, saved)
        qtbot.waitUntil(lambda: fresh.views.pending is None and fresh.session.embeddings is not None, timeout=60_000)
        assert fresh.session.picked == target and np.array_equal(fresh.map_view.coords, coords)
        assert fresh.session.map.projection.name == "given"
    finally:
        close_window(fresh, qtbot)
