"""Bring your own image: drop an image file on the map, or paste one, and see where it lands."""
import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication

from core.latent import encode, save_png
from explorer.image_view import to_qimage
from tests.explorer.gestures import drop, file_mime


def test_a_dropped_png_lands_where_encoding_it_says_and_a_text_file_changes_nothing(explored_window, tmp_path):
    window, view, inspector = explored_window, explored_window.map_view, explored_window.inspector
    window.tabs.setCurrentIndex(1)
    m, k = window.session.map, 123
    image = window.session.query.images()[k]
    save_png(image, tmp_path / "mine.png")
    drop(view, file_mime(tmp_path / "mine.png"))

    xy = np.array(view.marks.given_position())
    expected = m.projection.transform(encode(window.session.model, image[None]))[0]
    np.testing.assert_allclose(xy, expected, atol=1e-4)
    np.testing.assert_allclose(xy, m.coords[k], atol=1e-3 * np.ptp(m.coords))  # on its own point of the map
    assert "mine.png" in inspector.title.text() and np.array_equal(inspector.original.image(), image)
    assert inspector.reconstruction.image() is not None and inspector.neighbours.image() is not None
    assert inspector.neighbour_text.text().startswith(window.session.classes[m.labels[k]] + " 0.00")  # itself

    (tmp_path / "notes.txt").write_text("not a picture")
    coords, shown = view.coords.copy(), inspector.original.image()
    drop(view, file_mime(tmp_path / "notes.txt"))
    title, message = window.messages.last_error
    assert title == "Not an image" and "notes.txt" in message and "PNG" in message
    assert str(tmp_path) not in message and "Error" not in message  # the technical part is under Show Details
    assert view.marks.given_position() == tuple(xy) and np.array_equal(view.coords, coords)
    assert inspector.original.image() is shown and window.session.given[0] == "mine.png"


def test_a_pasted_image_is_placed_on_every_projection(explored_window, qtbot):
    window, view = explored_window, explored_window.map_view
    window.tabs.setCurrentIndex(1)
    image = window.session.query.images()[7]
    QGuiApplication.clipboard().setImage(to_qimage(image))
    view.activateWindow()
    view.plot.setFocus()
    qtbot.keyClick(view.plot.viewport(), Qt.Key_V, Qt.ControlModifier)
    assert window.session.given is not None and window.session.given[0] == "the pasted image"
    np.testing.assert_array_equal(window.inspector.original.image(), image)
    first = view.marks.given_position()

    view.toolbar.split_box.setCurrentIndex(1)  # a new map of the train split: the star moves with it
    qtbot.mouseClick(view.toolbar.encode_button, Qt.LeftButton, pos=QPoint(5, 5))
    qtbot.waitUntil(lambda: window.session.map.split == "train", timeout=60_000)
    z = encode(window.session.model, image[None])
    np.testing.assert_allclose(view.marks.given_position(), window.session.map.projection.transform(z)[0], atol=1e-4)
    assert view.marks.given_position() != first
