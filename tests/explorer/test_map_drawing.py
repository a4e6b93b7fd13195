"""The map as drawn: every point coloured by class in a fixed random order, centroids, the legend, hover,
the density image of very large maps and images in place of points when few are in view."""
import numpy as np
from PySide6.QtCore import Qt

from explorer.latent_map import HIDDEN_GREY
from explorer.style import class_colors
from tests.explorer.gestures import click, click_legend_checkbox, hover


def test_map_holds_every_point_coloured_by_class_in_a_fixed_random_order(explored_window):
    view, m = explored_window.map_view, explored_window.session.map
    assert view.point_count() == len(explored_window.session.dataset.test) == len(m.labels)
    colors = class_colors(10)
    drawn = np.asarray(view.points.data["data"], dtype=int)  # point indices in drawing order
    assert sorted(drawn) == list(range(len(m.labels)))
    assert np.abs(np.diff(m.labels[drawn])).sum() > len(drawn) // 2  # classes interleave, not one after another
    for index, brush in zip(drawn[:50], view.points.data["brush"][:50]):
        assert brush.color().rgb() == colors[m.labels[index]].rgb()
    assert "variance" in view.plot.getPlotItem().getAxis("bottom").labelText
    assert "kNN accuracy" in view.info.text()  # the raw pixels' figures are the Lenses tab's
    assert view.legend.classes.item(0).text().startswith("circle (")


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


def test_legend_checkbox_hides_a_class(explored_window, qtbot):
    view = explored_window.map_view
    explored_window.tabs.setCurrentIndex(1)
    total = view.point_count()
    hidden = np.flatnonzero(view.labels == 3)
    click_legend_checkbox(qtbot, view, 3)
    assert view.legend.classes.item(3).checkState() == Qt.Unchecked
    drawn = np.asarray(view.points.data["data"], dtype=int)
    assert view.point_count() == total - len(hidden) and not np.isin(drawn, hidden).any()
    assert not np.isin(view.visible_indices(), hidden).any()  # not pickable either
    picked = []
    view.point_clicked.connect(lambda index, shift: picked.append(index))
    click(qtbot, view, view.screen_pos(int(hidden[0])))
    assert int(hidden[0]) not in picked  # a hidden point cannot be clicked
    qtbot.mouseClick(view.toolbar.grey_box, Qt.LeftButton)  # or keep hidden classes as grey points
    drawn = np.asarray(view.points.data["data"], dtype=int)
    assert len(drawn) == total and np.isin(hidden, drawn).all()
    grey = {b.color().rgb() for b, i in zip(view.points.data["brush"], drawn) if i in set(hidden[:20])}
    assert grey == {HIDDEN_GREY.rgb()}
    click_legend_checkbox(qtbot, view, 3)
    assert view.point_count() == total


def test_hover_names_the_nearest_class(explored_window, qtbot):
    view = explored_window.map_view
    target = int(np.argmax(view.coords[:, 1]))
    hover(view, view.screen_pos(target))
    qtbot.waitUntil(lambda: view.hover_label.text() != " ", timeout=2_000)
    assert view.hover_label.text() == f"Nearest point: {view.classes[view.labels[target]]}, index {target}"
    assert len(view.marks.hover_item.data) == 1


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
    view.point_clicked.connect(lambda index, shift: clicked.append(index))
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


def test_images_replace_points_when_each_gets_enough_pixels_framed_in_their_class_colour(map_view, qtbot):
    from explorer.latent_map import THUMBNAIL_MIN_PX

    view = map_view
    rng = np.random.default_rng(0)
    n = 2000  # a 2,000-point overview is coloured points: about 10 px a point here, too small for an image
    coords = rng.uniform(-10, 10, (n, 2)).astype(np.float32)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    view.set_data(coords, labels, [f"c{k}" for k in range(10)], np.array([0.1, 0.1]))
    view.set_images(images)
    assert view.thumbnails.count() == 0
    vb = view.plot.plotItem.vb
    x, y = coords[:, 0], coords[:, 1]
    for half in (4, 3, 2.5, 2):  # zoom in until each point in view gets THUMBNAIL_MIN_PX or more
        vb.setRange(xRange=(-half, half), yRange=(-half, half), padding=0)
        in_view = np.count_nonzero((x >= -half) & (x <= half) & (y >= -half) & (y <= half))
        enough = 0.8 * np.sqrt(vb.width() * vb.height() / in_view) >= THUMBNAIL_MIN_PX
        assert view.thumbnails.count() == (in_view if enough else 0), (half, in_view)
    assert enough and view.thumbnails.count() == in_view

    def colours() -> int:
        shot = view.plot.grab().toImage()
        return len({shot.pixel(px, py) for px in range(0, shot.width(), 5) for py in range(0, shot.height(), 5)})

    with_images = colours()
    qtbot.mouseClick(view.toolbar.images_box, Qt.LeftButton)  # the toggle turns them off
    assert view.thumbnails.count() == 0
    assert with_images > 3 * colours()  # random images drawn: far more colours than the points' class colours
    qtbot.mouseClick(view.toolbar.images_box, Qt.LeftButton)
    assert view.thumbnails.count() == in_view
    chosen = np.flatnonzero((x >= -2) & (x <= 0) & (y >= -2) & (y <= 2))  # the left half of the view selected:
    view.show_selection(chosen)  # the other images fade, as their points turn grey
    assert view.thumbnails.count() == in_view and view.thumbnails.faded_count() == in_view - len(chosen)
    vb.setRange(xRange=(-10, 10), yRange=(-10, 10), padding=0)  # zoomed out again: points
    assert view.thumbnails.count() == 0

    # three images far apart, one of each class: each sits in a frame of its class colour, as the legend says
    far = np.array([[-5, 0], [0, 0], [5, 0]], np.float32)
    view.set_data(far, np.array([0, 3, 7]), [f"c{k}" for k in range(10)], np.array([0.1, 0.1]))
    view.set_images(np.full((3, 3, 32, 32), 128, np.uint8))
    assert view.thumbnails.count() == 3
    shot = view.plot.viewport().grab().toImage()
    side = view.thumbnails.drawn_side() / vb.viewPixelSize()[0]  # screen pixels
    for point, k in enumerate((0, 3, 7)):
        centre, colour = view.screen_pos(point), class_colors(10)[k]
        edge = shot.pixelColor(round(centre.x()), round(centre.y() - side / 2 - 1))  # the frame above the image
        assert sum(abs(a - b) for a, b in zip(edge.getRgb()[:3], colour.getRgb()[:3])) < 30


def test_a_map_made_while_hidden_draws_its_images_at_their_size_once_shown(map_view, qtbot):
    """A map encoded while its tab is hidden (the view has no size then) sizes its images when it shows."""
    view = map_view
    view.hide()
    rng = np.random.default_rng(1)
    coords = rng.uniform(-1, 1, (60, 2)).astype(np.float32)
    view.set_data(coords, rng.integers(0, 10, 60), [f"c{k}" for k in range(10)], np.array([0.1, 0.1]))
    view.set_images(rng.integers(0, 256, (60, 3, 32, 32), dtype=np.uint8))
    view.show()
    qtbot.waitUntil(lambda: view.thumbnails.count() == 60, timeout=2_000)
    vb = view.plot.plotItem.vb
    side_px = view.thumbnails.drawn_side() / vb.viewPixelSize()[0]
    assert 24 <= side_px <= 64  # not sized for a zero-width view
