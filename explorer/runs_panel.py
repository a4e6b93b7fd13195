"""RunsPanel: the table of kept runs (core.runs), with a text filter, sorting by any column, ticks that
overlay a run's curves (each in its own colour), and buttons to open, rename, delete, reveal and compare.

Fed by the runs controller with `set_runs` and `set_ticked` (the ticks are the session's: explorer.choices);
it says what the user asked for with signals (paths as str).
"""
from __future__ import annotations

import math
from datetime import timedelta

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.structure import PROTOCOL
from explorer.style import swatch

COLUMNS = ("name", "dataset", "loss", "beta", "latent", "steps", "epochs", "wall time", "date", "PSNR dB", "kNN %",
           "KL/dim", "active")
PATH, SORT = Qt.UserRole + 1, Qt.UserRole + 2  # a row's run path; a cell's sort key
KNN = COLUMNS.index("kNN %")
OLD_KNN = "* measured the older way (k = 5, Euclidean on raw latent means): not comparable with the others"


def _cells(run) -> list[tuple[str, object]]:
    """(text, sort key) of each column for a core.runs.RunSummary."""
    def number(value, fmt):
        return ("" if value is None or (isinstance(value, float) and math.isnan(value)) else fmt.format(value),
                -math.inf if value is None or (isinstance(value, float) and math.isnan(value)) else value)

    if run.error:
        return [(run.name, run.name.lower()), (f"unreadable: {run.error}", "")] + [("", -math.inf)] * (len(COLUMNS) - 2)
    wall = "" if math.isnan(run.wall_s) else str(timedelta(seconds=round(run.wall_s)))
    return [(run.name, run.name.lower()), (run.dataset, run.dataset), (run.loss, run.loss), number(run.beta, "{:g}"),
            number(run.latent_dim, "{}"), number(run.steps, "{:,}"), number(run.epochs, "{}"),
            (wall, -math.inf if math.isnan(run.wall_s) else run.wall_s), (run.created.replace("T", " "), run.created),
            number(run.test_psnr, "{:.2f}"), number(100 * run.knn, "{:.1f}*" if run.old_knn else "{:.1f}"),
            number(run.kl_per_dim, "{:.3f}"),
            number(run.active_units, "{}")]


class RunsPanel(QWidget):
    open_requested = Signal(str)
    rename_requested = Signal(str, str)  # path, new name
    delete_requested = Signal(str)
    reveal_requested = Signal(str)
    colour_requested = Signal(str)  # change this run's colour
    ticked_changed = Signal(list)  # the runs the user wants ticked now (paths): their curves overlaid
    compare_requested = Signal(str, str)  # two ticked runs' paths: their maps side by side
    add_folder_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        self.model.setHeaderData(KNN, Qt.Horizontal, f"Class structure of the latent means, {PROTOCOL}", Qt.ToolTipRole)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT)
        self.proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)  # any column
        self.filter = QLineEdit(placeholderText="Filter runs (name, dataset, loss, date...)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMNS.index("date"), Qt.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditKeyPressed | QAbstractItemView.DoubleClicked)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self._on_double_click)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.itemChanged.connect(self._on_item_changed)
        self.buttons = {name: QPushButton(name) for name in
                        ("Open", "Rename", "Colour...", "Delete", "Reveal", "Compare maps", "Add folder...")}
        self.buttons["Open"].setToolTip("Open the selected run's checkpoint: the map, samples and diagnostics")
        self.buttons["Compare maps"].setToolTip("Tick two runs, then see their maps of the same images side by side")
        self.buttons["Reveal"].setToolTip("Show the run's folder in the file manager")
        self.buttons["Colour..."].setToolTip("Change the colour of the selected run's curves")
        for name, signal in (("Open", self.open_requested), ("Delete", self.delete_requested),
                             ("Reveal", self.reveal_requested), ("Colour...", self.colour_requested)):
            self.buttons[name].clicked.connect(lambda _=False, s=signal: self._emit_selected(s))
        self.buttons["Rename"].clicked.connect(self._rename)
        self.buttons["Compare maps"].clicked.connect(self._compare)
        self.buttons["Add folder..."].clicked.connect(self.add_folder_requested)
        self.summary = QLabel("No runs yet: each training run is kept here.")
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        for b in self.buttons.values():
            top.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        self._filling = False
        self._ticked: list[str] = []  # the ticks drawn (the session's)
        self._update_buttons()

    def set_runs(self, runs: list, colours: dict[str, str], ticked: set[str], folders: list[str]) -> None:
        """Show `runs` (core.runs.RunSummary); `colours` and `ticked` by path; the selection is kept."""
        selected, self._ticked = self.selected_path(), [str(r.path) for r in runs if str(r.path) in ticked]
        self._filling = True
        self.model.removeRows(0, self.model.rowCount())
        for run in runs:
            path = str(run.path)
            row = []
            for text, key in _cells(run):
                item = QStandardItem(text)
                item.setData(key, SORT)
                item.setData(path, PATH)
                item.setEditable(False)
                if run.error:
                    item.setForeground(QBrush(QColor("#a33")))
                    item.setToolTip(run.error)
                elif len(row) == KNN and run.old_knn:
                    item.setToolTip(OLD_KNN)
                row.append(item)
            name = row[0]
            name.setEditable(not run.error)
            name.setCheckable(not run.error)
            name.setCheckState(Qt.Checked if path in ticked else Qt.Unchecked)
            name.setToolTip(run.error or f"{path}\nTick to overlay its curves; double-click to rename")
            if path in colours:
                name.setIcon(swatch(colours[path]))
            self.model.appendRow(row)
        self._filling = False
        self.table.sortByColumn(self.table.horizontalHeader().sortIndicatorSection(),
                                self.table.horizontalHeader().sortIndicatorOrder())
        self.select_path(selected)
        bad = sum(1 for r in runs if r.error)
        self.summary.setText(f"{len(runs)} runs in {', '.join(folders)}" + (f"; {bad} unreadable" if bad else "")
                             + ". Tick runs to overlay their curves below.")
        self._update_buttons()

    def row_of(self, path: str) -> int:
        """The row (in the table as shown: sorted and filtered) of a run, or -1."""
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data(PATH) == path:
                return r
        return -1

    def select_path(self, path: str | None) -> None:
        row = self.row_of(path) if path else -1
        if row >= 0:
            self.table.selectRow(row)

    def selected_path(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(PATH) if rows else None

    def set_ticked(self, ticked: list[str]) -> None:
        """Tick these runs (paths) and no others."""
        self._filling = True
        self._ticked = []
        for r in range(self.model.rowCount()):
            item = self.model.item(r, 0)
            on = item.data(PATH) in ticked and item.isCheckable()
            item.setCheckState(Qt.Checked if on else Qt.Unchecked)
            self._ticked += [item.data(PATH)] if on else []
        self._filling = False
        self._update_buttons()

    def ticked(self) -> list[str]:
        """The runs drawn ticked."""
        return list(self._ticked)

    def _emit_selected(self, signal) -> None:
        path = self.selected_path()
        if path:
            signal.emit(path)

    def _rename(self) -> None:
        row = self.table.selectionModel().selectedRows()
        if row:
            self.table.edit(row[0])

    def _compare(self) -> None:
        ticked = self.ticked()
        if len(ticked) == 2:
            self.compare_requested.emit(*ticked)

    def _on_double_click(self, index) -> None:
        path = index.data(PATH)
        if path and index.column() != 0:  # a double-click on the name edits it
            self.open_requested.emit(path)

    def _on_item_changed(self, item: QStandardItem) -> None:
        if self._filling or item.column() != 0:
            return
        path = item.data(PATH)
        if (item.checkState() == Qt.Checked) != (path in self._ticked):  # a tick, not a rename
            self.ticked_changed.emit([p for p in self._ticked if p != path]
                                     + ([path] if item.checkState() == Qt.Checked else []))
        name = item.text().strip()
        if name and name != item.data(SORT) and name.lower() != item.data(SORT):
            self.rename_requested.emit(path, name)
        self._update_buttons()

    def _update_buttons(self, *_) -> None:
        has = self.selected_path() is not None
        for name in ("Open", "Rename", "Colour...", "Delete", "Reveal"):
            self.buttons[name].setEnabled(has)
        self.buttons["Compare maps"].setEnabled(len(self.ticked()) == 2)
