"""Real gestures on the app's widgets, shared by the GUI tests: clicks, drags and choices as a user makes them
(QTest events on the widget a user touches, never a widget's own signal)."""
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication, QFileDialog


def click(qtbot, view, pos: QPointF, modifier=Qt.NoModifier) -> None:
    """A left click on the map's viewport at a viewport position."""
    qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, modifier, QPoint(round(pos.x()), round(pos.y())))


def hover(view, pos: QPointF) -> None:
    """A real hover event (QTest.mouseMove does not hover offscreen)."""
    viewport, pos = view.plot.viewport(), QPointF(pos)
    QApplication.sendEvent(viewport, QMouseEvent(QEvent.MouseMove, pos, viewport.mapToGlobal(pos), Qt.NoButton,
                                                 Qt.NoButton, Qt.NoModifier))


def drag(qtbot, view, points) -> None:
    """A real left-button drag on the map's viewport through `points` (viewport positions). pyqtgraph
    drops mouse moves less than 10 ms apart; these come faster than a hand moves, so none is dropped."""
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


def click_legend_checkbox(qtbot, view, k: int) -> None:
    rect = view.legend.classes.visualItemRect(view.legend.classes.item(k))
    tick = QPoint(rect.left() + 10, rect.center().y())
    qtbot.mouseClick(view.legend.classes.viewport(), Qt.LeftButton, Qt.NoModifier, tick)


def click_tab(qtbot, tabs, index: int) -> None:
    bar = tabs.tabBar()
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(index).center())


def choose(qtbot, combo, text: str) -> None:
    """Pick an entry of a combo box as a user can: open its list and click the entry."""
    qtbot.mouseClick(combo, Qt.LeftButton)
    qtbot.waitUntil(lambda: combo.view().isVisible(), timeout=2_000)
    view, index = combo.view(), combo.model().index(combo.findText(text), 0)
    view.scrollTo(index)  # as a user scrolls a long list
    qtbot.wait(QApplication.doubleClickInterval() + 50)  # the list ignores a release right after it opens
    rect = view.visualRect(index)
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=rect.center())
    assert combo.currentText() == text


def save_dialog_returns(monkeypatch, path) -> None:
    """The next file dialog answers `path`, as if the user typed it."""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))


def drop(view, mime: QMimeData) -> None:
    """Drag `mime` over the middle of the map and let go (the events a window system sends)."""
    target, pos = view.plot.viewport(), view.plot.viewport().rect().center()
    enter = QDragEnterEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(target, QDropEvent(QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))


def file_mime(path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    return mime
