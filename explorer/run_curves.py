"""RunCurves: the curves of several runs overlaid, one chart per quantity, each run in its own colour.

X axis by step, epoch, images seen or wall time; TensorBoard's debiased smoothing (0 to 0.999) on the
per-step curves; a step cursor linked across the charts (drag it, or click a chart) with a table of each
run's values there. Curves draw what is in view, decimated to one min/max pair per pixel column.
Fed with `set_runs([Curves])`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsItem,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.metrics import History, smooth
from explorer.style import plot_widget

# every chart but the training loss is in units all loss weightings share (core.loss.per_pixel_mse, kl_nats)
CHARTS = (("loss", "steps", "training loss"), ("mse", "steps", "reconstruction MSE per pixel"),
          ("kl", "steps", "KL (nats per image)"), ("test_psnr", "epochs", "test PSNR (dB)"),
          ("knn", "epochs", "kNN of latent means (%)"))
SHORT = {"loss": "loss", "mse": "MSE", "kl": "KL", "test_psnr": "PSNR", "knn": "kNN"}
X_AXES = {"step": "step", "epoch": "epoch", "images seen": "images", "wall time (s)": "wall_s"}
CURSOR_FORMATS = {"step": "{:,.0f}", "epoch": "{:.2f}", "images seen": "{:,.0f}", "wall time (s)": "{:,.1f}"}
PERCENT = ("knn",)  # fractions drawn and listed as percentages


@dataclass
class Curves:
    """One run's curves: what the chart needs to know of it."""

    key: str  # its path
    name: str
    colour: str
    history: History
    batch: int  # images per step (for "images seen")
    loss: str = "elbo"  # its weighting: its training loss is comparable only with runs of the same
    pixels: int = 3072  # per image (C x H x W)
    views: int = 1  # images a step reconstructs per batch image (2 with the contrastive option)
    old_knn: bool = False  # its kNN figures were measured before core.structure's protocol

    @property
    def loss_type(self) -> str:
        return self.loss + (" + contrastive" if self.views > 1 else "")

    def column(self, chart: str) -> np.ndarray:
        """The values of `chart`, in the chart's units (floats; kNN in percent)."""
        from core.loss import kl_nats, per_pixel_mse

        steps, epochs = self.history.steps, self.history.epochs
        if chart == "mse":
            return per_pixel_mse(steps.column("recon"), self.loss, self.batch * self.views, self.pixels)
        if chart == "kl":
            return kl_nats(steps.column("kld"), self.loss, self.batch * self.views)
        if chart == "loss":
            return steps.column("loss").astype(float)
        return (100 if chart in PERCENT else 1) * epochs.column(chart).astype(float)


def _x(curves: Curves, table: str, axis: str) -> np.ndarray:
    """The x of each row of `table` ("steps" or "epochs") of a run, on `axis` (a value of X_AXES)."""
    rows = getattr(curves.history, table)
    step = rows.column("step").astype(float)
    if axis == "step":
        return step
    if axis == "images":
        return step * curves.batch
    steps = curves.history.steps
    per_epoch = steps.column("step") / np.maximum(steps.column("epoch"), 1e-9) if len(steps) else np.ones(1)
    if axis == "epoch":
        counted = steps.column("epoch") > 0
        return step / float(np.nanmedian(per_epoch[counted])) if counted.any() else step
    if not len(steps):
        return np.full(len(step), np.nan)
    return np.interp(step, steps.column("step"), steps.column("wall_s"))


class RunCurves(QWidget):
    cursor_moved = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.runs: list[Curves] = []
        self.axis = QComboBox()
        self.axis.addItems(list(X_AXES))
        self.axis.setToolTip("What the x axis of every chart counts")
        self.smoothing = QSlider(Qt.Horizontal)
        self.smoothing.setRange(0, 999)
        self.smoothing.setValue(600)
        self.smoothing.setToolTip("Exponential moving average of the per-step curves, debiased (as TensorBoard)")
        self.smoothing_label = QLabel()
        self.plots: dict[str, pg.PlotWidget] = {}
        self.cursors: dict[str, pg.InfiniteLine] = {}
        self.items: dict[tuple[str, str], pg.PlotDataItem] = {}  # (run key, chart) -> its curve
        grid = QGridLayout()
        for i, (name, table, title) in enumerate(CHARTS):
            plot = plot_widget()
            plot.setMinimumSize(220, 150)
            if i:
                plot.setXLink(self.plots[CHARTS[0][0]])
            line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#444", width=1, style=Qt.DashLine))
            line.setZValue(20)
            line.sigPositionChanged.connect(self._on_cursor)
            plot.addItem(line, ignoreBounds=True)
            plot.scene().sigMouseClicked.connect(lambda ev, p=plot: self._on_click(p, ev))
            self.plots[name], self.cursors[name] = plot, line
            grid.addWidget(plot, i // 3, i % 3)
        self.legend = self.plots["loss"].addLegend(offset=(-10, 10))  # each run's name in its colour
        self.values = QTableWidget(0, 1 + len(CHARTS))
        self.values.setHorizontalHeaderLabels(["run"] + [SHORT[c[0]] for c in CHARTS])
        self.values.verticalHeader().hide()
        self.values.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.values.setToolTip("Each run's values at the cursor (the last point at or before it)")
        cursor_box = QVBoxLayout()
        self.cursor_label = QLabel("Cursor: click a chart")
        cursor_box.addWidget(self.cursor_label)
        cursor_box.addWidget(self.values, 1)
        grid.addLayout(cursor_box, 1, 2)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("X axis"))
        controls.addWidget(self.axis)
        controls.addSpacing(16)
        controls.addWidget(QLabel("Smoothing"))
        controls.addWidget(self.smoothing, 1)
        controls.addWidget(self.smoothing_label)
        self.hint = QLabel("Tick runs in the table to overlay their curves.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.hint)
        layout.addLayout(grid, 1)
        self.axis.currentTextChanged.connect(lambda _: self._redraw(fit=True))
        self.smoothing.valueChanged.connect(lambda _: self._redraw())
        self._moving = False
        self._redraw()

    @property
    def weight(self) -> float:
        return self.smoothing.value() / 1000

    def set_runs(self, runs: list[Curves]) -> None:
        """Overlay these runs (the order is the legend's and the table's)."""
        keep = {(r.key, c[0]) for r in runs for c in CHARTS}
        for key in [k for k in self.items if k not in keep]:
            self.plots[key[1]].removeItem(self.items.pop(key))
        self.runs = list(runs)
        self.hint.setVisible(not runs)
        self._redraw(fit=True)

    def curve(self, run_key: str, chart: str) -> pg.PlotDataItem:
        return self.items[(run_key, chart)]

    def shown_in(self, run: Curves, chart: str) -> bool:
        """The training loss is drawn only for the runs of the first run's loss type (the others' is in other
        units); every other chart holds every run."""
        return chart != "loss" or run.loss_type == self.runs[0].loss_type

    def _titles(self) -> None:
        hidden = [r for r in self.runs if not self.shown_in(r, "loss")]
        for name, _, title in CHARTS:
            if name == "loss" and self.runs:
                title = f"training loss: {self.runs[0].loss_type} runs only"
                title += f" ({len(hidden)} other{'s' * (len(hidden) > 1)} in other units)" if hidden else ""
            if name == "knn" and any(r.old_knn for r in self.runs):
                title += "; dashed: an older measure"
            self.plots[name].setTitle(title, size="9pt")

    def _redraw(self, fit: bool = False) -> None:
        self.smoothing_label.setText(f"{self.weight:.3f}")
        axis = X_AXES[self.axis.currentText()]
        for name, plot in self.plots.items():
            plot.setLabel("bottom", self.axis.currentText())
        self._titles()
        for run in self.runs:
            for name, table, _ in CHARTS:
                x, y = _x(run, table, axis), run.column(name)
                if table == "steps":
                    y = smooth(y, self.weight)
                item = self.items.get((run.key, name))
                if item is None:
                    symbol = {"symbol": "o", "symbolSize": 5, "symbolPen": None} if table == "epochs" else {}
                    item = self.plots[name].plot([], [], name=run.name, autoDownsampleFactor=1.0, **symbol)
                    item.setClipToView(True)
                    item.setDownsampling(auto=True, method="peak")
                    # drawn once per change of data or view: moving the cursor or hovering re-blits it
                    item.curve.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
                    self.items[(run.key, name)] = item
                dashed = name == "knn" and run.old_knn
                item.setPen(pg.mkPen(run.colour, width=2, style=Qt.DashLine if dashed else Qt.SolidLine))
                if table == "epochs":
                    item.setSymbolBrush(run.colour)
                finite = np.isfinite(x) & np.isfinite(y)
                item.setData(x[finite], y[finite])
                item.setVisible(bool(finite.any()) and self.shown_in(run, name))  # an empty one costs a paint
        if fit:
            for plot in self.plots.values():
                plot.enableAutoRange()
            # x is set from the data: auto-range over the x-linked charts kept the old width after a change of
            # unit (step to epoch left a view of -550 to 550 around 3 epochs)
            shown = [item.xData for item in self.items.values() if item.isVisible() and item.xData is not None]
            if any(len(x) for x in shown):
                lo, hi = min(x.min() for x in shown if len(x)), max(x.max() for x in shown if len(x))
                self.plots[CHARTS[0][0]].setXRange(lo, hi if hi > lo else lo + 1, padding=0.02)
                self.plots[CHARTS[0][0]].enableAutoRange(axis="x")  # and follows runs that are still training
        self._fill_values()

    def _on_click(self, plot: pg.PlotWidget, ev) -> None:
        if ev.button() == Qt.LeftButton and plot.plotItem.vb.sceneBoundingRect().contains(ev.scenePos()):
            self.set_cursor(plot.plotItem.vb.mapSceneToView(ev.scenePos()).x())

    def set_cursor(self, x: float) -> None:
        """Put the linked cursor at `x` (in the chosen axis's units) in every chart."""
        self._moving = True
        for line in self.cursors.values():
            line.setValue(x)
        self._moving = False
        self._fill_values()
        self.cursor_moved.emit(x)

    def _on_cursor(self, line: pg.InfiniteLine) -> None:
        if not self._moving:
            self.set_cursor(line.value())

    def value_at(self, run: Curves, chart: str, x: float) -> float:
        """A run's value of `chart` (smoothed as drawn) at the last point at or before `x`; NaN before its first."""
        table = dict((c[0], c[1]) for c in CHARTS)[chart]
        if not self.shown_in(run, chart):
            return float("nan")
        xs = _x(run, table, X_AXES[self.axis.currentText()])
        ys = run.column(chart)
        if table == "steps":
            ys = smooth(ys, self.weight)
        i = int(np.searchsorted(xs, x, side="right")) - 1
        return float(ys[i]) if i >= 0 else float("nan")

    def _fill_values(self) -> None:
        x = self.cursors[CHARTS[0][0]].value()
        axis = self.axis.currentText()
        self.cursor_label.setText(f"Cursor at {axis} {CURSOR_FORMATS[axis].format(x)}")  # the axis's own unit
        self.values.setRowCount(len(self.runs))
        for r, run in enumerate(self.runs):
            name = QTableWidgetItem(run.name)
            name.setForeground(pg.mkColor(run.colour))
            self.values.setItem(r, 0, name)
            for c, (chart, _, _) in enumerate(CHARTS, start=1):
                v = self.value_at(run, chart, x)
                self.values.setItem(r, c, QTableWidgetItem("" if np.isnan(v) else f"{v:.4g}"))
