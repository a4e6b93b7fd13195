"""The Qt binding must not corrupt reference counts: PySide6 6.12.0 on Python 3.11 decrefs None
in every void call, and the interpreter aborts at exit ("deallocating None"). pyproject pins it out."""
import sys

from PySide6.QtWidgets import QPushButton


def test_void_qt_calls_keep_none_alive(qtbot):
    button = QPushButton("x")
    qtbot.addWidget(button)
    before = sys.getrefcount(None)
    for _ in range(1000):
        button.setEnabled(True)
    assert sys.getrefcount(None) >= before - 50  # a broken binding loses ~1000 here
