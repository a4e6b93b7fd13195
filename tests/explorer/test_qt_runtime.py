"""Traps in the Qt runtime. The binding must not corrupt reference counts: PySide6 6.12.0 on Python
3.11 decrefs None in every void call, and the interpreter aborts at exit ("deallocating None");
pyproject pins it out. And while a window lives, Python's cycle collector must not destroy Qt objects
on a worker thread: that deadlocked the GUI thread (a Qt mutex against the GIL)."""
import gc
import sys
import threading
import time

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QPushButton


def test_void_qt_calls_keep_none_alive(qtbot):
    button = QPushButton("x")
    qtbot.addWidget(button)
    before = sys.getrefcount(None)
    for _ in range(1000):
        button.setEnabled(True)
    assert sys.getrefcount(None) >= before - 50  # a broken binding loses ~1000 here


def _destroyed_on_after_a_worker_allocates(qtbot) -> list[int]:
    """Leave a garbage cycle holding a Qt object, let a worker thread allocate as a training thread does,
    and answer the threads the object was destroyed on."""
    destroyed_on = []

    class Plot:  # a cycle holding a Qt object, as pyqtgraph items and their menus make
        pass

    plot = Plot()
    plot.menu, plot.me = QObject(), plot
    plot.menu.destroyed.connect(lambda *_: destroyed_on.append(threading.get_ident()), Qt.DirectConnection)
    del plot

    def allocate():  # enough cycles to start a collection
        for _ in range(20_000):
            cycle = []
            cycle.append(cycle)

    worker = threading.Thread(target=allocate)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(destroyed_on) > 0, timeout=5_000)
    return destroyed_on


def test_garbage_holding_qt_objects_is_destroyed_on_the_gui_thread_while_training_threads_run(window, qtbot):
    assert _destroyed_on_after_a_worker_allocates(qtbot) == [threading.get_ident()]


def test_closing_one_window_keeps_collection_on_the_gui_thread_for_the_windows_still_open(window, qtbot,
                                                                                            tmp_path):
    """A second window opened and closed (as a test, or a user with two windows, does) must not hand the
    cycle collector back to every thread while the first still runs encode and training threads."""
    from PySide6.QtCore import QSettings

    from explorer.main_window import MainWindow
    from tests.conftest import close_window

    other = MainWindow(QSettings(str(tmp_path / "other.ini"), QSettings.IniFormat))
    other.messages.interactive = False
    other.show()
    close_window(other, qtbot)
    assert not gc.isenabled()  # `window` is still open
    assert _destroyed_on_after_a_worker_allocates(qtbot) == [threading.get_ident()]


def test_after_the_last_window_closes_garbage_is_still_destroyed_on_the_gui_thread(window, qtbot):
    """Between two windows (a test after another, a user opening a second one) another thread that allocates,
    such as tqdm's monitor, must not collect the cycles the closed window left: they still own live Qt
    objects. A worker crashed in the next window's ViewBox when it did."""
    from explorer.tasks import GuiThreadGarbage
    from tests.conftest import close_window

    close_window(window, qtbot)
    assert GuiThreadGarbage._holders == 0 and not gc.isenabled()
    assert _destroyed_on_after_a_worker_allocates(qtbot) == [threading.get_ident()]


def test_deleting_a_finished_task_never_deletes_its_runner_and_so_the_task_again(qtbot):
    """The order of events that crashed a test worker after test_task_runner_notices_tasks_that_end_at_once:
    a runner nobody else holds, a task that has finished and waits for its deferred delete, and cycle collection
    off (as on the GUI thread while a window lives). Deleting the task released its callbacks, which held the
    last reference to the runner; the runner went, deleting its child, the task being deleted, a second time
    (a segfault in QObject::~QObject). A finished task now lets go of its callbacks before it is deleted."""
    from PySide6.QtCore import QCoreApplication, QEvent

    from explorer.session import Session
    from explorer.tasks import TaskRunner

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        session, results = Session(), []
        runner = TaskRunner(lambda: session.generation, lambda *a: None)
        for i in range(2):  # the first one's deferred delete comes while the second runs
            runner.run(lambda progress, i=i: i, results.append, "x")
        deadline = time.monotonic() + 10
        while runner.busy and time.monotonic() < deadline:  # events of this loop level: the deletes stay queued
            QCoreApplication.processEvents()
        destroyed = []
        runner.destroyed.connect(lambda *_: destroyed.append(True))
        del runner  # only what the finished task holds could keep it now
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
        assert sorted(results) == [0, 1] and destroyed == [True]  # the runner went, and the task only once
    finally:
        if was_enabled:
            gc.enable()
