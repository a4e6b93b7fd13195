"""LossPlot: live curves of loss, recon and KL per step (smoothed), plus test loss at each epoch end.

Fed by the window with `add_steps([StepMetrics])` and `add_epoch(EpochMetrics)` (core.metrics);
it redraws at most 20 times a second from a timer, updating plot items created once with setData.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

from explorer.style import curve_color

CURVES = ("loss", "recon", "kld")
SMOOTHING = 0.9  # EMA weight per training step (so sparse histories, e.g. every 50 steps, are not over-smoothed)


class LossPlot(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(-10, 10))
        self._steps: list[float] = []
        self._raw = {k: [] for k in CURVES}
        self._smooth = {k: [] for k in CURVES}
        self._ema = {k: 0.0 for k in CURVES}
        self._norm = 0.0  # debiasing: the EMA of a constant 1, as TensorBoard does
        self._test_x: list[float] = []
        self._test_y: list[float] = []
        self.curves = {
            k: self.plot.plot([], [], name=k, pen=pg.mkPen(curve_color(k), width=2)) for k in CURVES
        }
        self.test_points = self.plot.plot(
            [], [], name="test loss", pen=None, symbol="o", symbolSize=8,
            symbolBrush=curve_color("test"), symbolPen="w",
        )
        self.toggles = {}
        row = QHBoxLayout()
        for name in (*CURVES, "test"):
            box = QCheckBox(name)
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
        self._timer = QTimer(self, interval=50)  # at most ~20 redraws a second
        self._timer.timeout.connect(self._redraw)
        self._timer.start()

    def clear(self) -> None:
        self._norm = 0.0
        self._ema = {k: 0.0 for k in CURVES}
        self._steps.clear()
        self._test_x.clear()
        self._test_y.clear()
        for k in CURVES:
            self._raw[k].clear()
            self._smooth[k].clear()
        self._mark_dirty()

    def add_steps(self, metrics: list) -> None:
        for m in metrics:
            gap = m.step - self._steps[-1] if self._steps else 1
            w = SMOOTHING ** max(gap, 1)
            self._norm = w * self._norm + (1 - w)
            self._steps.append(m.step)
            for k in CURVES:
                y = float(getattr(m, k))
                self._raw[k].append(y)
                self._ema[k] = w * self._ema[k] + (1 - w) * y
                self._smooth[k].append(self._ema[k] / self._norm)
        self._mark_dirty()

    def add_epoch(self, metrics) -> None:
        self._test_x.append(metrics.step)
        self._test_y.append(metrics.test_loss)
        self._mark_dirty()

    def load_history(self, steps: list, epochs: list) -> None:
        """Show a whole history (StepMetrics and EpochMetrics), replacing what is drawn."""
        self.clear()
        self.add_steps(steps)
        for m in epochs:
            self.add_epoch(m)

    def point_count(self) -> int:
        return len(self._steps)

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
        x = np.asarray(self._steps, dtype=np.float64)
        source = self._smooth if self.smooth_box.isChecked() else self._raw
        for k in CURVES:
            self.curves[k].setData(x, np.asarray(source[k], dtype=np.float64))
        self.test_points.setData(np.asarray(self._test_x, np.float64), np.asarray(self._test_y, np.float64))
