"""The latent map: points coloured by class, clicks that decode, hover, legend, samples, exports,
checkpoints and stale results. Every gesture is a real click on the widget a user clicks."""
import csv

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from explorer.latent_map import HIDDEN_GREY
from explorer.style import class_colors


def click(qtbot, view, pos: QPointF, modifier=Qt.NoModifier):
    qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, modifier, QPoint(round(pos.x()), round(pos.y())))


def click_legend_checkbox(qtbot, view, k: int):
    rect = view.legend.visualItemRect(view.legend.item(k))
    qtbot.mouseClick(view.legend.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(rect.left() + 10, rect.center().y()))


def save_dialog_returns(monkeypatch, path):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))


def test_map_holds_every_point_coloured_by_class_in_a_fixed_random_order(trained_window):
    view, m = trained_window.map_view, trained_window.session.map
    assert view.point_count() == len(trained_window.session.dataset.test) == len(m.labels)
    colors = class_colors(10)
    drawn = np.asarray(view.points.data["data"], dtype=int)  # point indices in drawing order
    assert sorted(drawn) == list(range(len(m.labels)))
    assert np.abs(np.diff(m.labels[drawn])).sum() > len(drawn) // 2  # classes interleave, not one after another
    for index, brush in zip(drawn[:50], view.points.data["brush"][:50]):
        assert brush.color().rgb() == colors[m.labels[index]].rgb()
    assert "variance" in view.plot.getPlotItem().getAxis("bottom").labelText
    assert "kNN accuracy" in view.info.text() and "raw pixels" in view.info.text()
    assert view.legend.item(0).text().startswith("circle (")


@pytest.fixture
def map_view(qtbot):
    """A LatentMapView alone, shown at 900 x 700."""
    from explorer.latent_map import LatentMapView

    view = LatentMapView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    return view


def test_two_classes_on_the_same_spot_both_stay_visible(map_view):
    """Draw order does not depend on class: with two classes overlapping exactly, both show."""
    view = map_view
    view.resize(600, 500)
    rng = np.random.default_rng(0)
    coords = np.repeat(rng.normal(size=(400, 2)), 2, axis=0)  # each spot holds one point of each class
    labels = np.tile([0, 1], 400)
    view.set_data(coords, labels, ["a", "b"], np.array([0.5, 0.2]))
    image = view.plot.grab().toImage()
    colors = class_colors(2)

    def pixels_near(color):
        hits = 0
        for x in range(0, image.width(), 2):
            for y in range(0, image.height(), 2):
                c = image.pixelColor(x, y)
                hits += abs(c.red() - color.red()) + abs(c.green() - color.green()) + abs(c.blue() - color.blue()) < 60
        return hits

    a, b = pixels_near(colors[0]), pixels_near(colors[1])
    assert a > 50 and b > 50 and 0.3 < a / b < 3  # drawn class by class, the last one would cover the first


def test_clicking_a_point_shows_it_and_its_reconstruction(trained_window, qtbot):
    view, inspector = trained_window.map_view, trained_window.inspector
    assert inspector.original.image() is None
    target = int(np.argmax(view.coords[:, 0]))  # an outlying point, so no neighbour overlaps it
    with qtbot.waitSignal(view.point_clicked, timeout=2_000) as clicked:
        click(qtbot, view, view.screen_pos(target))
    assert clicked.args == [target]
    assert np.array_equal(inspector.original.image(), trained_window.session.dataset.test.images[target])
    recon = inspector.reconstruction.image()
    assert recon is not None and recon.shape == (3, 32, 32) and recon.std() > 0
    assert trained_window.session.classes[trained_window.session.map.labels[target]] in inspector.title.text()


def test_picking_near_points_in_the_densest_region_with_unequal_axes(trained_window, qtbot):
    """A click a few pixels off a point picks the point nearest in screen pixels, not in data units."""
    view = trained_window.map_view
    trained_window.tabs.setCurrentIndex(1)
    c = view.coords
    centre = np.median(c, axis=0).astype(float)
    sx, sy = float(np.ptp(c[:, 0])), float(np.ptp(c[:, 1]))
    view.plot.plotItem.vb.setRange(xRange=(centre[0] - 0.15 * sx, centre[0] + 0.15 * sx),
                                   yRange=(centre[1] - 0.02 * sy, centre[1] + 0.02 * sy), padding=0)
    px_w, px_h = view.plot.plotItem.vb.viewPixelSize()
    assert px_w / px_h > 3  # the two axes really are scaled apart
    screen = np.array([[view.screen_pos(i).x(), view.screen_pos(i).y()] for i in range(len(c))])
    # spots a few pixels off points where the nearest point in data units is another one than on screen
    rng, spots = np.random.default_rng(0), []
    size = view.plot.viewport().size()
    on_screen = np.flatnonzero((screen[:, 0] > 10) & (screen[:, 0] < size.width() - 10)
                               & (screen[:, 1] > 10) & (screen[:, 1] < size.height() - 10))
    for i in rng.permutation(on_screen):
        spot = np.round(screen[i] + rng.uniform(-4, 4, 2))
        d = np.hypot(*(screen - spot).T)
        view_xy = view.plot.plotItem.vb.mapSceneToView(view.plot.mapToScene(QPoint(*map(int, spot))))
        in_data_units = int(np.argmin(np.hypot(c[:, 0] - view_xy.x(), c[:, 1] - view_xy.y())))
        if d.min() < 5 and in_data_units != int(np.argmin(d)):
            spots.append((spot, int(np.argmin(d))))
        if len(spots) == 5:
            break
    assert len(spots) == 5
    for spot, expected in spots:
        with qtbot.waitSignal(view.point_clicked, timeout=2_000) as clicked:
            click(qtbot, view, QPointF(*spot))
        assert clicked.args == [expected], f"clicked at {spot}: got {clicked.args}, nearest on screen {expected}"


def test_clicking_empty_space_decodes_and_marks_the_spot(trained_window, qtbot):
    view, inspector = trained_window.map_view, trained_window.inspector
    rect = view.plot.plotItem.vb.viewRect()
    view.plot.plotItem.vb.setRange(xRange=(rect.right() + 10, rect.right() + 20), padding=0)  # no points here
    rect = view.plot.plotItem.vb.viewRect()
    spots = [QPointF(rect.left() + 0.1 * rect.width(), rect.center().y()),
             QPointF(rect.right() - 0.1 * rect.width(), rect.center().y())]
    decoded = []
    for spot in spots:
        pos = view.plot.mapFromScene(view.plot.plotItem.vb.mapViewToScene(spot))
        with qtbot.waitSignal(view.empty_clicked, timeout=2_000):
            click(qtbot, view, pos)
        decoded.append(inspector.reconstruction.image())
        assert decoded[-1] is not None and decoded[-1].std() > 0 and inspector.original.image() is None
        assert len(view.marks.marker_item.data) == 1
    assert not np.array_equal(decoded[0], decoded[1])  # a different spot decodes to a different image


def test_shift_click_interpolates(trained_window, qtbot):
    view, inspector = trained_window.map_view, trained_window.inspector
    a, b = int(np.argmax(view.coords[:, 0])), int(np.argmin(view.coords[:, 0]))
    click(qtbot, view, view.screen_pos(a))
    with qtbot.waitSignal(view.interpolate_requested, timeout=2_000):
        click(qtbot, view, view.screen_pos(b), Qt.ShiftModifier)
    strip = inspector.strip.image()
    assert strip is not None and strip.shape[1:] == (2 + 2 * 34, 2 + 5 * 34)  # ten decoded images in two rows
    assert min((inspector.strip.width() - 4) / strip.shape[2], (inspector.strip.height() - 4) / strip.shape[1]) >= 2


def test_hover_names_the_nearest_class(trained_window, qtbot):
    view = trained_window.map_view
    target = int(np.argmax(view.coords[:, 1]))
    viewport, pos = view.plot.viewport(), QPointF(view.screen_pos(target))
    move = QMouseEvent(QEvent.MouseMove, pos, viewport.mapToGlobal(pos), Qt.NoButton, Qt.NoButton, Qt.NoModifier)
    QApplication.sendEvent(viewport, move)  # a real hover event (QTest.mouseMove does not hover offscreen)
    qtbot.waitUntil(lambda: view.hover_label.text() != " ", timeout=2_000)
    assert view.hover_label.text() == f"Nearest point: {view.classes[view.labels[target]]}, index {target}"
    assert len(view.marks.hover_item.data) == 1


def test_the_centroid_box_rings_each_class_shown_at_its_mean_and_spread(map_view, qtbot):
    view = map_view
    rng = np.random.default_rng(1)
    centres, spreads = np.array([[-4.0, 0.0], [5.0, 2.0]]), np.array([[1.0, 0.5], [0.3, 2.0]])
    coords = np.concatenate([rng.normal(c, s, size=(2000, 2)) for c, s in zip(centres, spreads)])
    view.set_data(coords, np.repeat([0, 1], 2000), ["a", "b"], np.array([0.5, 0.2]))
    assert view.marks.centroids == []
    qtbot.mouseClick(view.toolbar.centroid_box, Qt.LeftButton)
    rings = [np.stack(item.getData(), axis=1) for item in view.marks.centroids]
    assert len(rings) == 2
    for ring, centre, spread in zip(rings, centres, spreads):
        assert np.allclose(ring.mean(axis=0), centre, atol=0.1)  # around the class's mean
        assert np.allclose(np.abs(ring - ring.mean(axis=0)).max(axis=0), spread, rtol=0.1)  # 1 sigma wide, per axis
    click_legend_checkbox(qtbot, view, 0)  # a hidden class loses its ring
    assert len(view.marks.centroids) == 1
    assert np.allclose(np.stack(view.marks.centroids[0].getData(), axis=1).mean(axis=0), centres[1], atol=0.1)
    qtbot.mouseClick(view.toolbar.centroid_box, Qt.LeftButton)
    assert view.marks.centroids == []


def test_legend_checkbox_hides_a_class(trained_window, qtbot):
    view = trained_window.map_view
    trained_window.tabs.setCurrentIndex(1)
    total = view.point_count()
    hidden = np.flatnonzero(view.labels == 3)
    click_legend_checkbox(qtbot, view, 3)
    assert view.legend.item(3).checkState() == Qt.Unchecked
    drawn = np.asarray(view.points.data["data"], dtype=int)
    assert view.point_count() == total - len(hidden) and not np.isin(drawn, hidden).any()
    assert not np.isin(view.visible_indices(), hidden).any()  # not pickable either
    picked = []
    view.point_clicked.connect(picked.append)
    click(qtbot, view, view.screen_pos(int(hidden[0])))
    assert int(hidden[0]) not in picked  # a hidden point cannot be clicked
    qtbot.mouseClick(view.toolbar.grey_box, Qt.LeftButton)  # or keep hidden classes as grey points
    drawn = np.asarray(view.points.data["data"], dtype=int)
    assert len(drawn) == total and np.isin(hidden, drawn).all()
    grey = {b.color().rgb() for b, i in zip(view.points.data["brush"], drawn) if i in set(hidden[:20])}
    assert grey == {HIDDEN_GREY.rgb()}
    click_legend_checkbox(qtbot, view, 3)
    assert view.point_count() == total


def test_encode_button_maps_the_chosen_split(trained_window, qtbot):
    view = trained_window.map_view
    trained_window.tabs.setCurrentIndex(1)
    view.toolbar.split_box.setFocus()
    qtbot.keyClick(view.toolbar.split_box, Qt.Key_Down)  # test -> train, as a user picks it with the keyboard
    assert view.toolbar.split() == "train"
    with qtbot.waitSignal(trained_window.map_ready, timeout=120_000):
        qtbot.mouseClick(view.toolbar.encode_button, Qt.LeftButton)
    assert trained_window.session.map.split == "train"
    assert view.point_count() == len(trained_window.session.dataset.train)


def test_resample_changes_the_grid(trained_window, qtbot):
    samples = trained_window.samples
    before = samples.image()
    assert before is not None
    qtbot.mouseClick(samples.resample_button, Qt.LeftButton)
    after = samples.image()
    assert after.shape == before.shape and not np.array_equal(after, before)
    samples.temperature.setValue(20)
    assert not np.array_equal(samples.image(), after)


def test_save_png_button_writes_the_samples(trained_window, qtbot, tmp_path, monkeypatch):
    from PIL import Image

    trained_window.tabs.setCurrentIndex(2)
    save_dialog_returns(monkeypatch, tmp_path / "grid.png")
    qtbot.mouseClick(trained_window.samples.save_button, Qt.LeftButton)
    written = np.asarray(Image.open(tmp_path / "grid.png")).transpose(2, 0, 1)
    assert np.array_equal(written, trained_window.samples.image())


def test_export_latents_menu_writes_the_map_as_csv(trained_window, tmp_path, monkeypatch):
    m = trained_window.session.map
    save_dialog_returns(monkeypatch, tmp_path / "lat.csv")
    trained_window.files.actions["export_latents"].trigger()  # what choosing File > Export latents does
    with open(tmp_path / "lat.csv") as f:
        rows = [r for r in csv.reader(f) if not r[0].startswith("#")]
    header, rows = rows[0], rows[1:]
    assert header[:4] == ["label", "class", "pc1", "pc2"] and len(header) == 4 + m.latent_map.mu.shape[1]
    assert len(rows) == len(m.labels)
    for i in (0, len(rows) // 2, len(rows) - 1):
        assert int(rows[i][0]) == m.labels[i] and rows[i][1] == trained_window.session.classes[m.labels[i]]
        np.testing.assert_allclose([float(v) for v in rows[i][2:4]], m.coords[i], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose([float(v) for v in rows[i][4:]], m.latent_map.mu[i], rtol=1e-5, atol=1e-5)
    assert not trained_window.files.export_latents(str(tmp_path / "no" / "such" / "dir.npz"))
    assert "cannot write" in trained_window.messages.last_error[1]


def test_open_checkpoint_fills_map_and_samples(window, qtbot, trained_checkpoint):
    ckpt, path = trained_checkpoint
    with qtbot.waitSignal(window.map_ready, timeout=120_000):
        window.loader.open_checkpoint(str(path))
    assert window.session.checkpoint.step == ckpt.step
    assert window.map_view.point_count() == len(window.session.dataset.test)
    assert window.samples.image() is not None
    assert window.loss_plot.point_count() == len(ckpt.history.steps)
    assert len(window.diagnostics.bar_heights()) == 8  # the diagnostics of the opened model, too
    assert f"step {ckpt.step}" in window.model_label.text()
    assert window.train_panel.continue_button.isEnabled()


def test_bad_checkpoint_is_refused_and_model_kept(trained_window, qtbot, tmp_path):
    before = trained_window.session.checkpoint
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    trained_window.loader.open_checkpoint(str(bad))
    qtbot.waitUntil(lambda: trained_window.messages.last_error is not None, timeout=10_000)
    title, message = trained_window.messages.last_error
    assert title == "Cannot open checkpoint" and str(bad) in message
    assert trained_window.session.checkpoint is before and trained_window.map_view.point_count() > 0


def test_a_map_encoded_for_an_old_dataset_is_never_shown(trained_window, qtbot, tmp_path, monkeypatch):
    """A dataset finishes loading while an old encode is still running: the old map is dropped."""
    import threading

    import core.latent
    from tests.conftest import write_cifar_batches

    release, real_encode = threading.Event(), core.latent.encode
    calls = []

    def held_encode(model, images, **kw):
        calls.append(len(images))
        if len(calls) == 1:
            release.wait(30)  # the old encode is still running when the new dataset lands
        return real_encode(model, images, **kw)

    monkeypatch.setattr(core.latent, "encode", held_encode)
    session = trained_window.session
    trained_window.maps.encode("train")  # the test split is already mapped (and cached)
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=10_000)
    folder = tmp_path / "data"
    write_cifar_batches(folder, n_per_batch=30)
    with qtbot.waitSignal(session.dataset_changed, timeout=30_000):
        trained_window.loader.load_dataset("cifar10", str(folder))
    release.set()
    qtbot.waitUntil(lambda: session.map is not None and not trained_window.runner.busy, timeout=60_000)
    assert len(session.map.labels) == len(session.dataset.test) == 30  # only the new dataset's map
    assert trained_window.map_view.point_count() == 30
    target = int(np.argmax(trained_window.map_view.coords[:, 0]))
    click(qtbot, trained_window.map_view, trained_window.map_view.screen_pos(target))
    assert np.array_equal(trained_window.inspector.original.image(), session.dataset.test.images[target])


def test_task_runner_drops_a_result_computed_for_an_older_generation(qtbot):
    import threading

    from explorer.session import Session
    from explorer.tasks import TaskRunner

    session, errors, results = Session(), [], []
    runner = TaskRunner(lambda: session.generation, lambda *a: errors.append(a))
    gate = threading.Event()
    runner.run(lambda progress: gate.wait(10) and "stale", results.append, "x")
    session.generation += 1  # the document changed while the task ran
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    runner.run(lambda progress: "fresh", results.append, "x")
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert results == ["fresh"] and errors == []


def test_encoding_uses_the_form_device_but_not_the_gpu_training_uses(window, monkeypatch):
    import torch

    import core.devices
    from explorer.session import TrainingState

    monkeypatch.setattr(core.devices, "select_device", lambda name="auto": torch.device("cuda" if name in ("auto", "cuda") else name))
    window.train_panel.fields["device"].setCurrentText("cuda")
    assert window.maps.encode_device().type == "cuda"  # idle: the device the user chose
    window.session.set_training_state(TrainingState.RUNNING, "cuda")
    assert window.maps.encode_device().type == "cpu"  # no second full model on the training GPU
    window.session.set_training_state(TrainingState.RUNNING, "cpu")
    assert window.maps.encode_device().type == "cuda"
    window.session.set_training_state(TrainingState.IDLE)
    window.train_panel.fields["device"].setCurrentText("cpu")
    assert window.maps.encode_device().type == "cpu"


def test_file_menu_exports_metrics_and_projector_files(trained_window, tmp_path, monkeypatch):
    session = trained_window.session
    save_dialog_returns(monkeypatch, tmp_path / "metrics.csv")
    trained_window.files.actions["export_metrics"].trigger()
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    logged = [m.step for m in session.history.steps]
    assert [int(r["step"]) for r in rows] == logged and logged[-1] == 40 and len(logged) >= 2
    assert float(rows[-1]["loss"]) == pytest.approx(session.history.steps[-1].loss)
    assert float(rows[-1]["test_psnr"]) == pytest.approx(session.history.epochs[-1].test_psnr)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "projector"))
    trained_window.files.actions["export_projector"].trigger()
    tensors = np.loadtxt(tmp_path / "projector" / "tensors.tsv", delimiter="\t")
    meta = (tmp_path / "projector" / "metadata.tsv").read_text().splitlines()
    assert tensors.shape == session.map.latent_map.mu.shape and len(meta) == len(session.map.labels) + 1


def test_task_runner_notices_tasks_that_end_at_once(qtbot):
    """A task can finish before its start call returns; the runner must still see it end."""
    from explorer.session import Session
    from explorer.tasks import TaskRunner

    session, results = Session(), []
    runner = TaskRunner(lambda: session.generation, lambda *a: None)
    for i in range(200):
        runner.run(lambda progress, i=i: i, results.append, "x")
    qtbot.waitUntil(lambda: not runner.busy, timeout=30_000)
    assert sorted(results) == list(range(200))


def _cluster_map(n_in: int, n_total: int = 250_000):
    """n_in points in a unit square around the origin (the last one exactly at (0.25, 0.25)), the rest far away."""
    rng = np.random.default_rng(0)
    coords = np.concatenate([rng.uniform(-1, 1, (n_in, 2)), rng.uniform(99, 101, (n_total - n_in, 2))])
    coords[n_in - 1] = (0.25, 0.25)
    coords[(np.abs(coords - 0.25) < 0.05).all(axis=1)] += 0.2  # room around the target point
    coords[n_in - 1] = (0.25, 0.25)
    return coords.astype(np.float32), rng.integers(0, 10, n_total)


def test_a_very_large_map_draws_a_density_image_above_its_threshold_and_picks_alike(map_view, qtbot):
    from explorer.map_lod import DENSITY_VIEW_POINTS

    view = map_view
    clicked = []
    view.point_clicked.connect(clicked.append)
    classes = [f"class {k}" for k in range(10)]
    for n_in, mode in ((DENSITY_VIEW_POINTS + 1, "density"), (DENSITY_VIEW_POINTS, "points")):
        coords, labels = _cluster_map(n_in)
        view.set_data(coords, labels, classes, np.array([0.1, 0.1]))
        assert view.mode() == "density"  # all 250,000 in view
        view.plot.plotItem.vb.setRange(xRange=(-1.5, 1.5), yRange=(-1.5, 1.5), padding=0)
        assert view.mode() == mode  # exactly the cluster in view: one point over the threshold, or none
        click(qtbot, view, view.screen_pos(n_in - 1))
        assert clicked[-1] == n_in - 1  # the same point is picked however the map is drawn
    drawn = len(view.points.data)
    assert 0 < drawn <= DENSITY_VIEW_POINTS  # points mode draws the points near the view, not 250,000


def test_clicking_a_point_lists_and_rings_its_true_latent_neighbours(trained_window, qtbot):
    from sklearn.neighbors import NearestNeighbors

    view, inspector, session = trained_window.map_view, trained_window.inspector, trained_window.session
    target = int(np.argmax(view.coords[:, 1]))  # the top point: alone on screen
    with qtbot.waitSignal(view.point_clicked, timeout=2_000):
        click(qtbot, view, view.screen_pos(target))
    mu = session.map.latent_map.mu
    _, expected = NearestNeighbors(n_neighbors=9).fit(mu).kneighbors(mu[target:target + 1])
    expected = [i for i in expected[0] if i != target][:8]
    ringed = np.stack(view.marks.neighbour_item.getData(), axis=1)
    assert np.allclose(ringed, view.coords[expected])  # scikit-learn's 8 nearest, in order
    names = [session.classes[session.map.labels[i]] for i in expected]
    assert inspector.neighbour_text.text().split(" · ")[0].startswith(names[0])
    strip = inspector.neighbours.image()
    assert strip is not None and strip.shape[1:] == (2 * 34 + 2, 4 * 34 + 2)  # eight 32 px images, 2 rows of 4


def _drag(qtbot, view, points):
    """A real left-button drag on the map's viewport through `points` (viewport positions). pyqtgraph
    drops mouse moves less than 10 ms apart; these come faster than a hand moves, so none is dropped."""
    import pyqtgraph as pg
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent

    limit = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOption("mouseRateLimit", 0)

    viewport = view.plot.viewport()
    first, *rest = [QPointF(p) for p in points]

    def send(kind, pos, buttons):
        button = Qt.NoButton if kind == QEvent.MouseMove else Qt.LeftButton
        QApplication.sendEvent(viewport, QMouseEvent(kind, pos, viewport.mapToGlobal(pos), button, buttons,
                                                     Qt.NoModifier))

    send(QEvent.MouseButtonPress, first, Qt.LeftButton)
    for p in rest:
        send(QEvent.MouseMove, p, Qt.LeftButton)
    send(QEvent.MouseButtonRelease, rest[-1], Qt.NoButton)
    pg.setConfigOption("mouseRateLimit", limit)


def test_a_lasso_around_a_cluster_selects_exactly_its_points_and_exports_them(qtbot, window, tmp_path, monkeypatch):
    import math

    from core.latent import LatentMap
    from explorer.session import MapData

    session, view, inspector = window.session, window.map_view, window.inspector
    qtbot.waitUntil(lambda: session.dataset is not None, timeout=60_000)
    from core.checkpoint import Checkpoint
    from core.model import ConvVAE

    model = ConvVAE(latent_dim=8, channels=8)
    session.set_checkpoint(Checkpoint(model.config, model.state_dict()))
    rng = np.random.default_rng(0)
    n = 300
    mu = rng.normal(size=(n, 8)).astype(np.float32)
    coords = rng.uniform(-10, 10, (n, 2))
    near = np.hypot(coords[:, 0] - 5, coords[:, 1] - 5) < 3
    coords[near] -= 8  # nothing within 3 of (5, 5) ...
    cluster = np.arange(20)  # ... but a cluster inside a disc of radius 1.5 around it
    r, angle = 1.5 * np.sqrt(rng.uniform(0, 1, 20)), rng.uniform(0, 2 * np.pi, 20)
    coords[cluster] = np.stack([5 + r * np.cos(angle), 5 + r * np.sin(angle)], 1)
    coords = coords.astype(np.float32)
    lmap = LatentMap(mu, coords, np.array([0.5, 0.2]), np.zeros((2, 8), np.float32), mu.mean(0))
    labels = session.dataset.test.labels[:n]
    session.set_map(MapData("test", labels, coords, np.array([0.5, 0.2]), None, lmap, indices=np.arange(n)))
    window.tabs.setCurrentIndex(1)
    QApplication.processEvents()
    view.toolbar.drag_box.setCurrentText("lasso")
    vb = view.plot.plotItem.vb
    ring = [view.plot.mapFromScene(vb.mapViewToScene(QPointF(5 + 2.2 * math.cos(t), 5 + 2.2 * math.sin(t))))
            for t in np.linspace(0, 2 * np.pi, 40)]
    _drag(qtbot, view, ring)
    assert np.array_equal(view.selection, cluster)
    assert inspector.selection_text.text().startswith("<b>20 points selected</b>")
    assert inspector.selection_mean.image() is not None and inspector.selection_grid.image() is not None
    brushes = view.points.data["brush"]  # unselected points stay visible, greyed
    assert len(view.points.data) == n and sum(b.color().alpha() == 90 for b in brushes) == n - 20

    path = tmp_path / "sel.npz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    qtbot.mouseClick(inspector.export_button, Qt.LeftButton)
    saved = np.load(path)
    assert np.array_equal(saved["indices"], cluster) and np.array_equal(saved["labels"], labels[cluster])
    assert np.allclose(saved["mu"], mu[cluster])
    assert (tmp_path / "sel.png").stat().st_size > 0

    view.toolbar.drag_box.setCurrentText("rectangle")  # a rectangle over the left half selects exactly those points
    corners = [view.plot.mapFromScene(vb.mapViewToScene(QPointF(x, y))) for x, y in ((-9, -9), (-5, 0), (0, 9))]
    _drag(qtbot, view, corners)
    x0, y0, x1, y1 = (view.plot.plotItem.vb.mapSceneToView(view.plot.mapToScene(corners[i])) for i in (0, 0, 2, 2))
    x0, y0, x1, y1 = x0.x(), y0.y(), x1.x(), y1.y()  # the corners as the mouse hit them (whole pixels)
    x, y = coords[:, 0], coords[:, 1]
    expected = np.flatnonzero((x >= x0) & (x <= x1) & (y >= min(y0, y1)) & (y <= max(y0, y1)))
    assert len(expected) > 20 and np.array_equal(view.selection, expected)

    qtbot.mouseClick(inspector.group_button, Qt.LeftButton)  # group A: the rectangle; group B: the lasso
    view.toolbar.drag_box.setCurrentText("lasso")
    _drag(qtbot, view, ring)
    qtbot.mouseClick(inspector.group_button, Qt.LeftButton)
    view.toolbar.drag_box.setCurrentText("pan")
    assert inspector.groups_text.text() == f"Groups: A ({len(expected)}), B (20)"
    bar = inspector.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(1).center())  # Traversals: attribute vector A -> B
    picked = int(np.argmax(coords[:, 1]))  # the topmost point, alone under the cursor
    with qtbot.waitSignal(view.point_clicked, timeout=2_000):
        click(qtbot, view, view.screen_pos(picked))
    _choose(qtbot, inspector.attribute_from, "group A")
    _choose(qtbot, inspector.attribute_to, "group B")
    end = session.decode((mu[picked] + mu[cluster].mean(0) - mu[expected].mean(0))[None])[0]
    assert np.array_equal(inspector.attribute.image()[:, 2:34, 2 + 7 * 34:2 + 7 * 34 + 32], end)


def test_traversal_strips_follow_the_picked_point(trained_window, qtbot):
    view, inspector = trained_window.map_view, trained_window.inspector
    bar = inspector.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(1).center())  # the Traversals tab
    assert inspector.showing_traversals()
    grids = []
    for target in (int(np.argmax(view.coords[:, 1])), int(np.argmin(view.coords[:, 1]))):  # top, then bottom
        with qtbot.waitSignal(view.point_clicked, timeout=2_000):
            click(qtbot, view, view.screen_pos(target))
        grids.append(inspector.traversals.image())
        original, recon = trained_window.session.point_images(target)
        middle = grids[-1][:, 2:2 + 32, 2 + 3 * 34:2 + 3 * 34 + 32]  # row 1 (PC1), column 4 of 7: the point itself
        assert np.array_equal(middle, recon)
    assert grids[0].shape == (3, 10 * 34 + 2, 7 * 34 + 2)  # 10 directions x 7 steps of 32 px images
    assert not np.array_equal(grids[0], grids[1])  # another point, other strips
    assert inspector.traversal_names.text().count("z") >= 8 and "PC1" in inspector.traversal_names.text()
    shown = inspector.traversals  # drawn at 2 screen pixels per image pixel or more (the tab scrolls)
    assert min((shown.width() - 4) / grids[1].shape[2], (shown.height() - 4) / grids[1].shape[1]) >= 2


def test_every_inspector_picture_saves_as_png_from_its_context_menu(trained_window, qtbot, tmp_path, monkeypatch):
    from PIL import Image
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QMenu

    view, inspector = trained_window.map_view, trained_window.inspector
    trained_window.tabs.setCurrentIndex(1)
    target = int(np.argmax(view.coords[:, 1]))
    with qtbot.waitSignal(view.point_clicked, timeout=2_000):
        click(qtbot, view, view.screen_pos(target))
    for k, picture in enumerate((inspector.neighbours, inspector.reconstruction)):
        save_dialog_returns(monkeypatch, tmp_path / f"{k}.png")

        def choose_save():  # the menu is open: click its entry
            menu = QApplication.activePopupWidget()
            assert isinstance(menu, QMenu) and menu.actions()[0].text().startswith("Save image as PNG")
            qtbot.mouseClick(menu, Qt.LeftButton, pos=menu.actionGeometry(menu.actions()[0]).center())

        QTimer.singleShot(300, choose_save)
        centre = picture.rect().center()  # a right-click, as the window system reports it
        QApplication.sendEvent(picture, QContextMenuEvent(QContextMenuEvent.Mouse, centre, picture.mapToGlobal(centre)))
        qtbot.waitUntil(lambda: (tmp_path / f"{k}.png").exists(), timeout=5_000)
        saved = np.asarray(Image.open(tmp_path / f"{k}.png")).transpose(2, 0, 1)
        assert np.array_equal(saved, picture.image())


def _choose(qtbot, combo, text: str) -> None:
    """Pick an entry of a combo box as a user can: open its list and click the entry."""
    qtbot.mouseClick(combo, Qt.LeftButton)
    qtbot.waitUntil(lambda: combo.view().isVisible(), timeout=2_000)
    view, index = combo.view(), combo.model().index(combo.findText(text), 0)
    view.scrollTo(index)  # as a user scrolls a long list
    qtbot.wait(QApplication.doubleClickInterval() + 50)  # the list ignores a release right after it opens
    rect = view.visualRect(index)
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=rect.center())
    assert combo.currentText() == text


def test_an_attribute_vector_between_two_classes_moves_the_picked_point(trained_window, qtbot):
    from core.latent import decode

    view, inspector, session = trained_window.map_view, trained_window.inspector, trained_window.session
    bar = inspector.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(1).center())
    target = int(np.argmax(view.coords[:, 1]))
    with qtbot.waitSignal(view.point_clicked, timeout=2_000):
        click(qtbot, view, view.screen_pos(target))
    a, b = session.classes[2], session.classes[5]
    _choose(qtbot, inspector.attribute_from, a)
    _choose(qtbot, inspector.attribute_to, b)
    assert inspector.attribute_choice() == (a, b, 1.0)
    strip = inspector.attribute.image()  # 8 images of 32 px in a row
    assert strip.shape == (3, 34 + 2, 8 * 34 + 2)
    mu, labels = session.map.latent_map.mu, session.map.labels
    vector = mu[labels == 5].mean(axis=0) - mu[labels == 2].mean(axis=0)
    end = decode(session.model, (mu[target] + vector)[None])[0]
    assert np.array_equal(strip[:, 2:34, 2:34], session.point_images(target)[1])  # starts at the point itself
    assert np.array_equal(strip[:, 2:34, 2 + 7 * 34:2 + 7 * 34 + 32], end)  # ends one whole vector further


def test_images_replace_points_below_the_threshold_and_go_above_it(map_view, qtbot):
    from explorer.latent_map import THUMBNAIL_POINTS

    view = map_view
    rng = np.random.default_rng(0)
    n = 3 * THUMBNAIL_POINTS
    coords = rng.uniform(-10, 10, (n, 2)).astype(np.float32)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    view.set_data(coords, rng.integers(0, 10, n), [f"c{k}" for k in range(10)], np.array([0.1, 0.1]))
    view.set_images(images)
    assert view.thumbnail_count() == 0  # 6,000 in view: points
    vb = view.plot.plotItem.vb
    vb.setRange(xRange=(-3, 3), yRange=(-3, 3), padding=0)  # about 540 in view
    x, y = coords[:, 0], coords[:, 1]
    in_view = np.count_nonzero((x >= -3) & (x <= 3) & (y >= -3) & (y <= 3))
    assert 0 < in_view <= THUMBNAIL_POINTS and view.thumbnail_count() == in_view

    def colours() -> int:
        shot = view.plot.grab().toImage()
        return len({shot.pixel(px, py) for px in range(0, shot.width(), 5) for py in range(0, shot.height(), 5)})

    with_images = colours()
    qtbot.mouseClick(view.toolbar.images_box, Qt.LeftButton)  # the toggle turns them off
    assert view.thumbnail_count() == 0
    assert with_images > 3 * colours()  # random images drawn: far more colours than the points' class colours
    qtbot.mouseClick(view.toolbar.images_box, Qt.LeftButton)
    assert view.thumbnail_count() == in_view
    chosen = np.flatnonzero((x >= -3) & (x <= 0) & (y >= -3) & (y <= 3))  # the left half of the view selected:
    view.set_selection(chosen)  # the other images fade, as their points turn grey
    assert view.thumbnail_count() == in_view and view.thumbnails.faded_count() == in_view - len(chosen)
    vb.setRange(xRange=(-10, 10), yRange=(-10, 10), padding=0)  # zoomed out again: above the threshold
    assert view.thumbnail_count() == 0
