"""Every screen readable: at the default window size and the smallest supported one, after real gestures,
every visible label's text fits its width (or is elided on purpose, its whole text in the tooltip), every
image caption fits, and nothing is wider than its scroll area without a scroll bar."""
import math

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QScrollArea

from core.metrics import Outcome
from explorer.image_view import ImageView
from explorer.style import FitLabel
from tests.explorer.gestures import choose, click, click_tab, drag, drop, file_mime

SIZES = [(1280, 820), (1024, 700)]  # the default window, and the smallest supported


def _text_width(label: QLabel) -> float:
    if label.textFormat() == Qt.RichText or (label.textFormat() == Qt.AutoText and GuiQt.mightBeRichText(label.text())):
        doc = QTextDocument()
        doc.setDefaultFont(label.font())
        doc.setDocumentMargin(0)
        doc.setHtml(label.text())
        return doc.idealWidth()
    return max(label.fontMetrics().horizontalAdvance(line) for line in label.text().split("\n"))


def problems(window) -> list[str]:
    """What does not fit on the screen shown now: one line per label, caption, button or scroll area."""
    found = []
    shown = [w for w in window.findChildren(QLabel) + window.findChildren(ImageView)
             + window.findChildren(QAbstractButton) + window.findChildren(QScrollArea) if w.isVisible()]
    for w in shown:
        name = f"{type(w).__name__} {w.objectName() or ''}".strip()
        if isinstance(w, FitLabel):
            if w.elided() and w.toolTip() != w.text():
                found.append(f"{name}: {w.text()!r} elided without its whole text as tooltip")
        elif isinstance(w, QLabel) and w.text().strip() and w.pixmap().isNull():
            room = w.contentsRect().width() - 2 * w.margin()
            if w.wordWrap():
                if w.heightForWidth(w.width()) > w.height() + 1:
                    found.append(f"{name}: {w.text()[:60]!r} needs {w.heightForWidth(w.width())} px of height, "
                                 f"has {w.height()}")
            elif _text_width(w) > room + 1:
                found.append(f"{name}: {w.text()[:60]!r} is {math.ceil(_text_width(w))} px wide in {room} px")
        elif isinstance(w, ImageView):
            if w.shown_caption() != w.caption and w.toolTip() != w.caption:
                found.append(f"{name}: caption {w.caption!r} elided without a tooltip")
        elif isinstance(w, QAbstractButton):
            if w.text() and w.width() < w.minimumSizeHint().width():
                found.append(f"{type(w).__name__}: {w.text()!r} is {w.width()} px, needs {w.minimumSizeHint().width()}")
        elif isinstance(w, QScrollArea) and w.widget() is not None:
            needs = max(w.widget().minimumSizeHint().width(), w.widget().minimumWidth())
            if needs > w.viewport().width() + 1 and not w.horizontalScrollBar().isVisible():
                found.append(f"QScrollArea: content {needs} px wide in {w.viewport().width()} px, no scroll bar")
    bar = window.statusBar()
    for w in bar.findChildren(QLabel):
        if w.isVisible() and w.parent() is bar and w.geometry().right() > bar.rect().right():
            found.append(f"status bar: {w.text()!r} runs off the window's edge")
    message = bar.currentMessage()
    taken = sum(w.width() for w in bar.findChildren(QLabel) if w.isVisible() and w.parent() is bar)
    if message and bar.fontMetrics().horizontalAdvance(message) > bar.width() - taken:
        found.append(f"status bar: {message!r} runs into its permanent labels")
    return found


def settle(qtbot) -> None:
    QApplication.processEvents()
    qtbot.wait(50)  # layouts that react to a resize settle in the next event-loop turns
    QApplication.processEvents()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_screen_fits_after_real_gestures(window, qtbot, tmp_path, size):
    from core.latent import save_png

    window.resize(*size)
    settle(qtbot)
    assert (window.width(), window.height()) == size  # the window can be this small
    assert problems(window) == []  # the Train tab at start

    panel = window.train_panel
    panel.fields["epochs"].setText("50")
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "ETA" in panel.progress_label.text(), timeout=60_000)
    width_training = panel.width()
    settle(qtbot)
    assert problems(window) == []  # the progress line while training, with its ETA
    window.messages.status("Cannot export latents: cannot write /a/very/long/path/" + "x" * 150 + ".csv: "
                           "Permission denied; choose a writable location", 10_000)
    assert problems(window) == []  # a long message keeps clear of the permanent labels
    with qtbot.waitSignal(window.training_finished, timeout=30_000) as finished:
        qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    assert finished.args == [Outcome.STOPPED]
    settle(qtbot)
    assert panel.width() == width_training  # the panel keeps its width between training and idle

    click_tab(qtbot, window.tabs, 1)
    view, inspector = window.map_view, window.inspector
    with qtbot.waitSignal(window.map_ready, timeout=120_000):
        qtbot.mouseClick(view.toolbar.encode_button, Qt.LeftButton)
    settle(qtbot)
    assert problems(window) == []  # the full map
    target = int(np.argmax(view.coords[:, 1]))
    with qtbot.waitSignal(view.point_clicked, timeout=2_000):
        click(qtbot, view, view.screen_pos(target))
    settle(qtbot)
    assert problems(window) == []  # a point, its neighbours
    click_tab(qtbot, inspector.tabs, 1)
    choose(qtbot, inspector.attribute_from, window.session.classes[0])
    choose(qtbot, inspector.attribute_to, window.session.classes[9])
    settle(qtbot)
    assert problems(window) == []  # traversals and an attribute vector (strength 3x: the widest label)
    inspector.strength.setValue(inspector.strength.maximum())
    settle(qtbot)
    assert problems(window) == []

    view.toolbar.drag_box.setCurrentText("lasso")
    vb = view.plot.plotItem.vb
    (x0, x1), (y0, y1) = vb.viewRange()
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, 0.3 * min(x1 - x0, y1 - y0)
    ring = [view.plot.mapFromScene(vb.mapViewToScene(QPointF(cx + r * math.cos(t), cy + r * math.sin(t))))
            for t in np.linspace(0, 2 * np.pi, 40)]
    drag(qtbot, view, ring)
    for _ in range(2):
        qtbot.mouseClick(inspector.group_button, Qt.LeftButton)
    settle(qtbot)
    assert window.session.selection is not None and problems(window) == []  # a selection and its groups
    view.toolbar.drag_box.setCurrentText("pan")

    image = window.session.query.images()[5]
    save_png(image, tmp_path / "my own picture with a long name.png")
    drop(view, file_mime(tmp_path / "my own picture with a long name.png"))
    settle(qtbot)
    assert "yours" in inspector.original.caption and problems(window) == []  # a dropped image
    (tmp_path / "notes.txt").write_text("not a picture")
    drop(view, file_mime(tmp_path / "notes.txt"))
    settle(qtbot)
    assert problems(window) == []  # and its message

    for index in (2, 3):  # Samples, Diagnostics
        click_tab(qtbot, window.tabs, index)
        settle(qtbot)
        assert problems(window) == [], window.tabs.tabText(index)


def test_the_check_sees_a_clipped_label(window, qtbot):
    """The check can fail: a progress line that neither wraps nor elides (as it was) is reported."""
    panel = window.train_panel
    window.resize(1024, 700)
    panel.progress_label.setWordWrap(False)
    panel.progress_label.setText("step 14 of 150 (9%) · model at step 14, epoch 0.04 · 2122 img/s · ETA 1 min 2 s")
    settle(qtbot)
    assert any("step 14 of 150" in line for line in problems(window))
