"""Clicks on the map and what the inspector shows: a point, its reconstruction and true latent neighbours,
a decoded empty spot, an interpolation, traversals, an attribute vector, and saving each picture."""
import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication

from tests.explorer.gestures import choose, click, click_tab, save_dialog_returns


def test_clicking_a_point_shows_it_and_its_reconstruction(explored_window, qtbot):
    view, inspector = explored_window.map_view, explored_window.inspector
    assert inspector.original.image() is None
    target = int(np.argmax(view.coords[:, 0]))  # an outlying point, so no neighbour overlaps it
    with qtbot.waitSignal(view.point_clicked, timeout=2_000) as clicked:
        click(qtbot, view, view.screen_pos(target))
    assert clicked.args == [target, False]
    assert np.array_equal(inspector.original.image(), explored_window.session.dataset.test.images[target])
    recon = inspector.reconstruction.image()
    assert recon is not None and recon.shape == (3, 32, 32) and recon.std() > 0
    assert explored_window.session.classes[explored_window.session.map.labels[target]] in inspector.title.text()


def test_picking_near_points_in_the_densest_region_with_unequal_axes(explored_window, qtbot):
    """A click a few pixels off a point picks the point nearest in screen pixels, not in data units."""
    view = explored_window.map_view
    explored_window.tabs.setCurrentIndex(1)
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
    for i in np.repeat(rng.permutation(on_screen), 4):  # a few spots around each point (the region is sparse)
        spot = np.round(screen[i] + rng.uniform(-4, 4, 2))
        d = np.hypot(*(screen - spot).T)
        view_xy = view.plot.plotItem.vb.mapSceneToView(view.plot.mapToScene(QPoint(*map(int, spot))))
        in_data_units = int(np.argmin(np.hypot(c[:, 0] - view_xy.x(), c[:, 1] - view_xy.y())))
        if d.min() < 5 and in_data_units != int(np.argmin(d)) and int(np.argmin(d)) not in [e for _, e in spots]:
            spots.append((spot, int(np.argmin(d))))
        if len(spots) == 5:
            break
    assert len(spots) == 5
    for spot, expected in spots:
        with qtbot.waitSignal(view.point_clicked, timeout=2_000) as clicked:
            click(qtbot, view, QPointF(*spot))
        assert clicked.args == [expected, False], f"clicked at {spot}: got {clicked.args}, nearest on screen {expected}"


def test_clicking_empty_space_decodes_and_marks_the_spot(explored_window, qtbot):
    view, inspector = explored_window.map_view, explored_window.inspector
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


def test_shift_click_interpolates(explored_window, qtbot):
    view, inspector = explored_window.map_view, explored_window.inspector
    a, b = int(np.argmax(view.coords[:, 0])), int(np.argmin(view.coords[:, 0]))
    click(qtbot, view, view.screen_pos(a))
    with qtbot.waitSignal(view.point_clicked, timeout=2_000):
        click(qtbot, view, view.screen_pos(b), Qt.ShiftModifier)
    assert explored_window.session.picked == a  # the strip runs from the clicked point; b is not picked
    strip = inspector.strip.image()
    assert strip is not None and strip.shape[1:] == (2 + 2 * 34, 2 + 5 * 34)  # ten decoded images in two rows
    assert min((inspector.strip.width() - 4) / strip.shape[2], (inspector.strip.height() - 4) / strip.shape[1]) >= 2


def test_clicking_a_point_lists_and_rings_its_true_latent_neighbours(explored_window, qtbot):
    from sklearn.neighbors import NearestNeighbors

    view, inspector, session = explored_window.map_view, explored_window.inspector, explored_window.session
    target = int(np.argmax(view.coords[:, 1]))  # the top point: alone on screen
    with qtbot.waitSignal(view.point_clicked, timeout=2_000):
        click(qtbot, view, view.screen_pos(target))
    mu = session.map.projection.mu
    _, expected = NearestNeighbors(n_neighbors=9).fit(mu).kneighbors(mu[target:target + 1])
    expected = [i for i in expected[0] if i != target][:8]
    ringed = np.stack(view.marks.neighbour_item.getData(), axis=1)
    assert np.allclose(ringed, view.coords[expected])  # scikit-learn's 8 nearest, in order
    names = [session.classes[session.map.labels[i]] for i in expected]
    assert inspector.neighbour_text.text().split(" · ")[0].startswith(names[0])
    strip = inspector.neighbours.image()
    assert strip is not None and strip.shape[1:] == (2 * 34 + 2, 4 * 34 + 2)  # eight 32 px images, 2 rows of 4


def test_traversal_strips_follow_the_picked_point(explored_window, qtbot):
    view, inspector = explored_window.map_view, explored_window.inspector
    click_tab(qtbot, inspector.tabs, 1)  # the Traversals tab
    qtbot.waitUntil(inspector.showing_traversals, timeout=2_000)
    qtbot.wait(20)  # the tab's change reaches the controller (a queued signal)
    grids = []
    for target in (int(np.argmax(view.coords[:, 1])), int(np.argmin(view.coords[:, 1]))):  # top, then bottom
        with qtbot.waitSignal(view.point_clicked, timeout=2_000):
            click(qtbot, view, view.screen_pos(target))
        grids.append(inspector.traversals.image())
        recon = explored_window.session.query.point(target).reconstruction
        middle = grids[-1][:, 2:2 + 32, 2 + 3 * 34:2 + 3 * 34 + 32]  # row 1 (PC1), column 4 of 7: the point itself
        assert np.array_equal(middle, recon)
    assert grids[0].shape == (3, 10 * 34 + 2, 7 * 34 + 2)  # 10 directions x 7 steps of 32 px images
    assert not np.array_equal(grids[0], grids[1])  # another point, other strips
    assert inspector.traversal_names.text().count("z") >= 8 and "PC1" in inspector.traversal_names.text()
    shown = inspector.traversals  # drawn at 2 screen pixels per image pixel or more (the tab scrolls)
    assert min((shown.width() - 4) / grids[1].shape[2], (shown.height() - 4) / grids[1].shape[1]) >= 2


def test_an_attribute_vector_between_two_classes_moves_the_picked_point(explored_window, qtbot):
    from core.latent import decode

    view, inspector, session = explored_window.map_view, explored_window.inspector, explored_window.session
    click_tab(qtbot, inspector.tabs, 1)
    target = int(np.argmax(view.coords[:, 1]))
    with qtbot.waitSignal(view.point_clicked, timeout=2_000):
        click(qtbot, view, view.screen_pos(target))
    a, b = session.classes[2], session.classes[5]
    choose(qtbot, inspector.attribute_from, a)
    choose(qtbot, inspector.attribute_to, b)
    c = session.choices
    assert (c.attribute_from, c.attribute_to, c.attribute_strength) == (a, b, 1.0)
    strip = inspector.attribute.image()  # 8 images of 32 px in a row
    assert strip.shape == (3, 2 * 34 + 2, 4 * 34 + 2)  # 8 images of 32 px, two rows of four
    mu, labels = session.map.projection.mu, session.map.labels
    vector = mu[labels == 5].mean(axis=0) - mu[labels == 2].mean(axis=0)
    end = decode(session.model, (mu[target] + vector)[None])[0]
    # starts at the point itself
    assert np.array_equal(strip[:, 2:34, 2:34], session.query.point(target).reconstruction)
    assert np.array_equal(strip[:, 36:68, 2 + 3 * 34:2 + 3 * 34 + 32], end)  # ends one whole vector further


def test_every_inspector_picture_saves_as_png_from_its_context_menu(explored_window, qtbot, tmp_path, monkeypatch):
    from PIL import Image
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QMenu

    view, inspector = explored_window.map_view, explored_window.inspector
    explored_window.tabs.setCurrentIndex(1)
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

