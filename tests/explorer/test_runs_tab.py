"""The Runs tab as a user meets it: two runs trained in the app are listed, their curves overlaid,
their maps compared side by side; rename, filter, sort and delete from the table. Real gestures only."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLineEdit

from core.metrics import Outcome
from tests.explorer.gestures import choose, click_tab, drag


def train_in_app(window, qtbot, loss: str, steps: int = 20) -> None:
    choose(qtbot, window.train_panel.fields["loss"], loss)
    with qtbot.waitSignal(window.training_finished, timeout=120_000) as finished:
        window.start_training(steps=steps)
    assert finished.args == [Outcome.FINISHED]
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=120_000)


def click_cell(qtbot, panel, row: int, column: int, double: bool = False, x_offset: int | None = None) -> None:
    index = panel.proxy.index(row, column)
    rect = panel.table.visualRect(index)
    pos = QPoint(rect.left() + x_offset, rect.center().y()) if x_offset is not None else rect.center()
    (qtbot.mouseDClick if double else qtbot.mouseClick)(panel.table.viewport(), Qt.LeftButton, pos=pos)


def tick(qtbot, panel, row: int) -> None:
    """Click a run's tick box (at the left of its name)."""
    click_cell(qtbot, panel, row, 0, x_offset=10)


def runs_tab(window, qtbot):
    click_tab(qtbot, window.tabs, window.tabs.count() - 1)
    return window.runs_panel


@pytest.fixture
def two_runs(window, qtbot):
    """The window after two short runs trained from the form: elbo, then calibrated."""
    train_in_app(window, qtbot, "elbo")
    train_in_app(window, qtbot, "calibrated")
    panel = runs_tab(window, qtbot)
    qtbot.waitUntil(lambda: panel.proxy.rowCount() == 2, timeout=10_000)
    return window, panel


def test_two_runs_from_the_app_are_kept_listed_overlaid_and_compared(two_runs, qtbot):
    window, panel = two_runs
    runs = sorted(p.name for p in window.runs_root.iterdir())
    assert len(runs) == 2 and runs[0].endswith("_shapes_elbo") and runs[1].endswith("_shapes_calibrated")
    losses = {panel.proxy.index(r, 2).data() for r in range(2)}
    assert losses == {"elbo", "calibrated"}  # neither run overwrote the other
    assert all(panel.proxy.index(r, 5).data() == "20" for r in range(2))  # steps
    assert all(panel.proxy.index(r, 9).data() for r in range(2))  # test PSNR

    tick(qtbot, panel, 0)
    tick(qtbot, panel, 1)
    curves = window.run_curves
    from explorer.run_curves import CHARTS

    assert len(curves.runs) == 2
    loss_a, loss_b = (curves.curve(r.key, "loss") for r in curves.runs)
    assert len(loss_a.getData()[0]) > 0 and len(loss_b.getData()[0]) > 0
    assert loss_a.opts["pen"].color().name() != loss_b.opts["pen"].color().name()  # each run its own colour
    # elbo's and calibrated's losses are in different units: one training-loss chart holds one loss type, and
    # says so; reconstruction and KL are drawn in units both share (per-pixel MSE, nats per image)
    first, second = curves.runs
    assert loss_a.isVisible() and not loss_b.isVisible()
    title = curves.plots["loss"].plotItem.titleLabel.text
    assert f"{first.loss} runs only" in title and "1 other in other units" in title
    for run in curves.runs:
        mse = curves.curve(run.key, "mse")
        assert mse.isVisible() and 0 < mse.getData()[1].min() and mse.getData()[1].max() < 0.5
        assert curves.curve(run.key, "kl").isVisible()
    raw = loss_a.getData()[1].copy()
    curves.smoothing.setValue(0)  # the slider at its left end, as a drag would leave it
    qtbot.mouseClick(curves.smoothing, Qt.LeftButton, pos=QPoint(2, curves.smoothing.height() // 2))
    assert not np.allclose(loss_a.getData()[1], raw)  # smoothing off: the raw losses, not the smoothed ones

    # the cursor: a click in a chart puts it there in every chart, with each run's values in the table
    plot = curves.plots["loss"]
    vb = plot.plotItem.vb
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] >= 20, timeout=5_000)  # drawn: the view fits both runs
    target = vb.mapViewToScene(vb.mapToView(vb.rect().center()))
    qtbot.mouseClick(plot.viewport(), Qt.LeftButton, pos=plot.mapFromScene(target))
    x = curves.cursors["loss"].value()
    assert curves.cursors["test_psnr"].value() == pytest.approx(x)
    assert curves.values.rowCount() == 2
    mse_column = [chart for chart, _, _ in CHARTS].index("mse") + 1
    for r, run in enumerate(curves.runs):  # a run's value once the cursor is at or after its first logged step
        logged = run.history.steps.column("step")[0]  # a fast run may first log at step 11, not 1
        assert bool(curves.values.item(r, mse_column).text()) == (logged <= x)
    assert not curves.values.item(1, 1).text()  # the second run's loss, in other units, is not listed
    assert curves.cursor_label.text() == f"Cursor at step {x:,.0f}"  # rounded to the axis's unit

    knn_column = [chart for chart, _, _ in CHARTS].index("knn") + 1
    for r, run in enumerate(curves.runs):  # kNN is a percentage in the chart and the table
        stored = 100 * run.history.epochs.column("knn")
        assert np.allclose(curves.curve(run.key, "knn").getData()[1], stored[np.isfinite(stored)])
        shown = curves.values.item(r, knn_column).text()
        assert not shown or 1 < float(shown) <= 100

    choose(qtbot, curves.axis, "epoch")  # the charts refit to the new unit: 20 steps are a third of an epoch
    (lo, hi), last = curves.plots["loss"].plotItem.vb.viewRange()[0], max(r.history.steps.column("epoch")[-1]
                                                                         for r in curves.runs)
    assert -0.1 < lo < 0.1 and last < hi < 2 * last  # not the step axis's width around it (it was -550..550)

    qtbot.mouseClick(panel.buttons["Compare maps"], Qt.LeftButton)
    qtbot.waitUntil(lambda: window.map_compare.pair is not None, timeout=60_000)
    compare = window.map_compare
    assert window.runs_views.currentWidget() is compare
    pair = compare.pair
    assert len(pair.coords_a) == len(pair.coords_b) == min(5000, len(window.session.dataset.test))
    assert f"{100 * pair.mean_agreement:.1f}%" in compare.info.text()

    # select a cluster of A by dragging a rectangle: the same images are selected in B
    a = compare.a
    (x0, x1), (y0, y1) = pair.coords_a.min(0), pair.coords_a.max(0)
    shows_all = lambda: (lambda r: r[0][0] <= x0 and r[0][1] >= x1 and r[1][0] <= y0 and r[1][1] >= y1)(  # noqa: E731
        a.plot.plotItem.vb.viewRange())
    qtbot.waitUntil(shows_all, timeout=5_000)
    lo, hi = np.percentile(pair.coords_a, [20, 70], axis=0)
    vb = a.plot.plotItem.vb
    corners = [a.plot.mapFromScene(vb.mapViewToScene(pg.Point(float(x), float(y)))) for x, y in (lo, hi)]
    drag(qtbot, a, [corners[0], (corners[0] + corners[1]) / 2, corners[1]])
    (x0, y0), (x1, y1) = ((p.x(), p.y()) for p in (vb.mapSceneToView(a.plot.mapToScene(c)) for c in corners))
    inside = np.flatnonzero((pair.coords_a[:, 0] >= min(x0, x1)) & (pair.coords_a[:, 0] <= max(x0, x1))
                            & (pair.coords_a[:, 1] >= min(y0, y1)) & (pair.coords_a[:, 1] <= max(y0, y1)))
    assert len(inside) > 100
    assert compare.selection is not None and set(compare.selection) == set(inside)
    brushes_b = compare.b.points.data["brush"]
    grey = [i for i in range(len(brushes_b)) if brushes_b[i].color().alpha() < 255]
    assert set(grey) == set(range(len(brushes_b))) - set(inside)  # B greys exactly the images not selected
    assert "Selected" in compare.info.text()

    # a click on an image in B rings that image in A too
    i = int(inside[0])
    qtbot.mouseClick(compare.b.plot.viewport(), Qt.LeftButton, pos=compare.b.view_to_widget(i))
    assert compare.picked is not None
    j = compare.picked
    ring_a, ring_b = (np.column_stack(pane.ring.getData()) for pane in (compare.a, compare.b))
    assert np.allclose(ring_a, pair.coords_a[j][None]) and np.allclose(ring_b, pair.coords_b[j][None])
    assert np.linalg.norm(pair.coords_b[j] - pair.coords_b[i]) < np.ptp(pair.coords_b, 0).max() / 50  # the clicked one
    qtbot.mouseClick(compare.play, Qt.LeftButton)  # the morph runs to B's places
    qtbot.waitUntil(lambda: compare.morph.value() == 100, timeout=5_000)
    assert np.allclose(compare.a.points.getData()[0], pair.coords_b[:, 0], atol=1e-5)


def test_rename_filter_sort_and_delete_from_the_table(two_runs, qtbot):
    window, panel = two_runs
    click_cell(qtbot, panel, 0, 3)  # select the first run's row
    qtbot.mouseClick(panel.buttons["Rename"], Qt.LeftButton)  # its name becomes editable
    (editor,) = panel.table.viewport().findChildren(QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, "beta one, elbo")
    qtbot.keyClick(editor, Qt.Key_Return)
    qtbot.waitUntil(lambda: any(panel.proxy.index(r, 0).data() == "beta one, elbo" for r in range(2)), timeout=5_000)
    renamed = next(r for r in window.runs.runs.values() if r.name == "beta one, elbo")
    assert (renamed.path / "name.txt").read_text().strip() == "beta one, elbo" and renamed.path.is_dir()

    qtbot.keyClicks(panel.filter, "calibrated")
    assert panel.proxy.rowCount() == 1 and panel.proxy.index(0, 2).data() == "calibrated"
    panel.filter.clear()

    header = panel.table.horizontalHeader()
    psnr_x = header.sectionViewportPosition(9) + header.sectionSize(9) // 2
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=QPoint(psnr_x, header.height() // 2))
    first, second = (float(panel.proxy.index(r, 9).data()) for r in range(2))
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=QPoint(psnr_x, header.height() // 2))
    assert (float(panel.proxy.index(0, 9).data()), float(panel.proxy.index(1, 9).data())) == (second, first)

    row = panel.row_of(str(renamed.path))
    click_cell(qtbot, panel, row, 3)
    window.messages.answer = False
    qtbot.mouseClick(panel.buttons["Delete"], Qt.LeftButton)
    assert "beta one, elbo" in window.messages.asked[-1] and renamed.path.is_dir()  # asked; "no" removes nothing
    window.messages.answer = True
    click_cell(qtbot, panel, panel.row_of(str(renamed.path)), 3)
    qtbot.mouseClick(panel.buttons["Delete"], Qt.LeftButton)
    assert not renamed.path.exists() and len(list(window.runs_root.iterdir())) == 1
    assert panel.proxy.rowCount() == 1



def test_one_checkpoint_shows_one_class_structure_figure_in_the_runs_table_and_the_map(explored_window, qtbot,
                                                                                        shapes_checkpoint, tmp_path):
    """The runs table (the trainer's stored figure, which bench/sweep.py reports too) and the map caption (the
    latents encoded again) measure class structure with one function on the same images: one figure. An older
    checkpoint's figure is marked, not mixed in."""
    import dataclasses

    from core.checkpoint import save_checkpoint
    from core.structure import PROTOCOL_ID
    from explorer.runs_panel import KNN

    ckpt, path = shapes_checkpoint
    window, panel = explored_window, explored_window.runs_panel
    stored = ckpt.history.epochs.column("knn")[-1]
    assert ckpt.structure == PROTOCOL_ID and np.isfinite(stored)
    assert f"{100 * stored:.1f}%" in window.map_view.info.text()  # the caption of the opened checkpoint's map
    save_checkpoint(dataclasses.replace(ckpt, structure=""), tmp_path / "older.pt")  # saved by an older version
    save_checkpoint(ckpt, tmp_path / "current.pt")
    window.runs.add_folder(str(tmp_path))  # what Add folder... does once its dialog returns
    runs_tab(window, qtbot)
    cell = {name: panel.proxy.index(panel.row_of(str(tmp_path / name)), KNN) for name in ("current.pt", "older.pt")}
    assert cell["current.pt"].data() == f"{100 * stored:.1f}" and cell["current.pt"].data(Qt.ToolTipRole) is None
    assert cell["older.pt"].data() == f"{100 * stored:.1f}*" and "older way" in cell["older.pt"].data(Qt.ToolTipRole)
    click_cell(qtbot, panel, panel.row_of(str(tmp_path / "older.pt")), 1)  # select it, then Open
    with qtbot.waitSignal(window.map_ready, timeout=60_000):  # opened: its Diagnostics say how it was measured
        qtbot.mouseClick(panel.buttons["Open"], Qt.LeftButton)
    assert "older way" in window.diagnostics.knn_plot.plotItem.titleLabel.text
