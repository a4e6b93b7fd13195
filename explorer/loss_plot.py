"""LossPlot: live curves of loss, recon and KL per step (smoothed), plus test loss at each epoch end.

Fed by the window with `add_steps([StepMetrics])`, `add_epoch(EpochMetrics)` and `load_history(History)`
(core.metrics). Values live in growing numpy buffers; a timer redraws at most once a second (a Python-heavy repaint
holds the GIL the training thread needs), and
pyqtgraph draws only the visible part, decimated to the screen's width (clip to view, peak downsampling).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

from explorer.style import curve_color, plot_widget, swatch

CURVES = ("loss", "recon", "kld")
SMOOTHING = 0.9  # EMA weight per training step (so sparse histories, e.g. every 50 steps, are not over-smoothed)


class _Columns:
    """Float columns that grow by doubling: x, then the raw and smoothed value of each curve."""

    def __init__(self, width: int) -> None:
        self.data, self.n = np.zeros((1024, width)), 0

    def append(self, rows: np.ndarray) -> None:
        if self.n + len(rows) > len(self.data):
            grown = np.zeros((max(2 * len(self.data), self.n + len(rows)), self.data.shape[1]))
            grown[:self.n] = self.data[:self.n]
            self.data = grown
        self.data[self.n:self.n + len(rows)] = rows
        self.n += len(rows)

    def column(self, i: int) -> np.ndarray:
        return self.data[:self.n, i]


class LossPlot(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = plot_widget()
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self._rows = _Columns(1 + 2 * len(CURVES))  # step, raw loss/recon/kld, smoothed loss/recon/kld
        self._ema = np.zeros(len(CURVES))
        self._norm = 0.0  # debiasing: the EMA of a constant 1, as TensorBoard does
        self._tests = _Columns(2)  # step, test loss
        # draw what is in view, decimated to one bin per pixel column (its min and max: "peak"); pyqtgraph's
        # default of 5 bins per pixel made a 10-minute GPU-rate history cost 3.5 ms per curve and frame
        self.curves = {
            k: self.plot.plot([], [], name=k, pen=pg.mkPen(curve_color(k), width=2), autoDownsampleFactor=1.0)
            for k in CURVES
        }
        for curve in self.curves.values():
            curve.setClipToView(True)
            curve.setDownsampling(auto=True, method="peak")
        self.test_points = self.plot.plot(
            [], [], name="test loss", pen=None, symbol="o", symbolSize=8,
            symbolBrush=curve_color("test"), symbolPen="w",
        )
        self.toggles = {}
        row = QHBoxLayout()
        for name in (*CURVES, "test"):  # the legend too: each box carries its curve's colour, off the plot
            box = QCheckBox(name if name != "test" else "test loss")
            box.setIcon(swatch(curve_color(name)))
            box.setChecked(True)
            box.toggled.connect(self._on_toggle)
            self.toggles[name] = box
            row.addWidget(box)
        row.addStretch(1)
        self.smooth_box = QCheckBox("smooth")
        self.smooth_box.setChecked(True)
        self.smooth_box.toggled.connect(self._mark_dirty)
        self.log_box = QCheckBox("log scale")
        self.log_box.toggled.connect(lambda on: self.plot.setLogMode(y=on))
        row.addWidget(self.smooth_box)
        row.addWidget(self.log_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addLayout(row)
        self._dirty = False
        self.redraws = 0
        self._timer = QTimer(self, interval=1000)  # at most one redraw a second
        self._timer.timeout.connect(self._redraw)
        self._timer.start()

    def clear(self) -> None:
        self._norm, self._ema = 0.0, np.zeros(len(CURVES))
        self._rows.n = self._tests.n = 0
        self._mark_dirty()

    def add_steps(self, metrics: list) -> None:
        if not metrics:
            return
        rows = np.empty((len(metrics), self._rows.data.shape[1]))
        rows[:, 0] = [m.step for m in metrics]
        rows[:, 1:1 + len(CURVES)] = [[getattr(m, k) for k in CURVES] for m in metrics]
        self._append(rows)

    def _append(self, rows: np.ndarray) -> None:
        """rows [N, 7] with step and raw values filled: smooth them, continuing the EMA, and store."""
        last = self._rows.column(0)[-1] if self._rows.n else rows[0, 0] - 1
        gaps = np.maximum(np.diff(rows[:, 0], prepend=last), 1)
        for i, w in enumerate(SMOOTHING ** gaps):  # a short loop: one batch of log points
            self._norm = w * self._norm + (1 - w)
            self._ema = w * self._ema + (1 - w) * rows[i, 1:1 + len(CURVES)]
            rows[i, 1 + len(CURVES):] = self._ema / self._norm
        self._rows.append(rows)
        self._mark_dirty()

    def add_epoch(self, metrics) -> None:
        self._tests.append(np.array([[metrics.step, metrics.test_loss]], float))
        self._mark_dirty()

    def load_history(self, history) -> None:
        """Show a whole core.metrics.History, replacing what is drawn."""
        self.clear()
        steps = history.steps
        if len(steps):
            rows = np.empty((len(steps), self._rows.data.shape[1]))
            rows[:, 0] = steps.column("step")
            for i, k in enumerate(CURVES):
                rows[:, 1 + i] = steps.column(k)
            self._append(rows)
        epochs = history.epochs
        if len(epochs):
            self._tests.append(np.stack([epochs.column("step"), epochs.column("test_loss")], axis=1).astype(float))

    def values(self, curve: str, smoothed: bool = False) -> np.ndarray:
        """The logged values of one curve ("loss", "recon" or "kld"), oldest first."""
        return self._rows.column(1 + CURVES.index(curve) + (len(CURVES) if smoothed else 0))

    def point_count(self) -> int:
        return self._rows.n

    def _mark_dirty(self, *_) -> None:
        self._dirty = True

    def _on_toggle(self, *_) -> None:
        for k in CURVES:
            self.curves[k].setVisible(self.toggles[k].isChecked())
        self.test_points.setVisible(self.toggles["test"].isChecked())

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.redraws += 1
        offset = 1 + len(CURVES) if self.smooth_box.isChecked() else 1
        x = self._rows.column(0)
        for i, k in enumerate(CURVES):
            self.curves[k].setData(x, self._rows.column(offset + i))
        self.test_points.setData(self._tests.column(0), self._tests.column(1))
