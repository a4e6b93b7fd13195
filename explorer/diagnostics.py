"""DiagnosticsPanel: what the latent space is using, updated at each epoch end.

KL per latent dimension as sorted bars (with the 0.1-nat line), active units, informative dims,
the prior mismatch and test PSNR per epoch. Fed by the window with `set_epochs([EpochMetrics])`,
`add_epoch(EpochMetrics)` (core.metrics) and `set_model_step(step)`, so the text says which step the
figures describe and how far the model has moved on since; a redraw only updates items created once.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from core.structure import PROTOCOL
from explorer.style import curve_color, plot_widget

INFORMATIVE_NATS = 0.1


KNN_AXIS = "kNN of means (%)"  # short enough for the plot's height


class DiagnosticsPanel(QWidget):
    evaluate_requested = Signal()  # evaluate the model as it is now (it has trained on since the figures)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.evaluate_button = QPushButton("Evaluate now")
        self.evaluate_button.setToolTip("Compute these figures for the model as it is now (on the test split)")
        self.evaluate_button.clicked.connect(self.evaluate_requested)
        self.evaluate_button.setVisible(False)
        self._idle = True  # no training running: the model can be evaluated now
        self.kl_plot = plot_widget(x_grid=False)
        self.kl_plot.setLabel("bottom", "latent dimension, sorted by KL")
        self.kl_plot.setLabel("left", "KL (nats)")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.85, brush=curve_color("kld"), pen=None)
        self.kl_plot.addItem(self.bars)
        self.kl_plot.addItem(pg.InfiniteLine(INFORMATIVE_NATS, angle=0, pen=pg.mkPen("k", style=Qt.DashLine),
                                             label="0.1 nat", labelOpts={"position": 0.95, "color": "k"}))
        self.psnr_plot = plot_widget()
        self.psnr_plot.setLabel("bottom", "step")
        self.psnr_plot.setLabel("left", "test PSNR (dB)")
        self.psnr_curve = self.psnr_plot.plot([], [], pen=pg.mkPen(curve_color("test"), width=2), symbol="o",
                                              symbolSize=6, symbolBrush=curve_color("test"))
        self.knn_plot = plot_widget()
        self.knn_plot.setLabel("bottom", "step")
        self.knn_plot.setLabel("left", KNN_AXIS)
        self.knn_plot.setToolTip(f"Class structure of the latent means, {PROTOCOL}")
        self.knn_curve = self.knn_plot.plot([], [], pen=pg.mkPen(curve_color("kld"), width=2), symbol="o",
                                            symbolSize=6, symbolBrush=curve_color("kld"))
        self.knn_plot.setXLink(self.psnr_plot)
        self.summary = QLabel("Diagnostics appear at the first epoch end (or when a checkpoint opens).")
        self.summary.setWordWrap(True)
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.kl_plot)
        split.addWidget(self.psnr_plot)
        split.addWidget(self.knn_plot)
        split.setSizes([440, 180, 180])
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.evaluate_button, 0, Qt.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self._epochs: list = []
        self._model_step: int | None = None  # where the model is now (it moves on between epoch ends)

    def set_epochs(self, epochs: list, old_measure: bool = False) -> None:
        """Every epoch's figures (`old_measure`: their kNN was measured before core.structure's protocol)."""
        self.knn_plot.setTitle("kNN measured the older way (k = 5, Euclidean)" if old_measure else None, size="8pt")
        self._epochs = list(epochs)
        self._redraw()

    def add_epoch(self, m) -> None:
        self._epochs.append(m)
        self._redraw()

    def set_model_step(self, step: int | None, idle: bool = True) -> None:
        """The step the current model is at (None: no model), and whether it is idle (not training, so it
        can be evaluated now); only the text and the Evaluate button change."""
        if (step, idle) != (self._model_step, self._idle):
            self._model_step, self._idle = step, idle
            self._describe()

    def bar_heights(self) -> np.ndarray:
        """The KL per dimension as drawn (sorted, largest first)."""
        return np.asarray(self.bars.opts["height"], float)

    def _redraw(self) -> None:
        with_dims = [m for m in self._epochs if m.kl_dims]
        if not with_dims:
            self.bars.setOpts(x=[], height=[])
            self.psnr_curve.setData([], [])
            self.knn_curve.setData([], [])
            self.summary.setText("Diagnostics appear at the first epoch end (or when a checkpoint opens).")
            self._describe()
            return
        m = with_dims[-1]
        kl = np.sort(np.asarray(m.kl_dims, float))[::-1]
        self.bars.setOpts(x=np.arange(len(kl)), height=kl)
        steps, psnr = [e.step for e in self._epochs], [e.test_psnr for e in self._epochs]
        self.psnr_curve.setData(steps, psnr)
        low, high = min(psnr), max(psnr)
        pad = max(0.5, 0.1 * (high - low))  # one point, or a flat curve: a readable span of a dB or more
        self.psnr_plot.setYRange(low - pad, high + pad, padding=0)
        self.psnr_plot.setXRange(0, max(steps) * 1.05, padding=0)  # from the start of training
        knn = np.array([100 * getattr(e, "knn", np.nan) for e in self._epochs], float)
        known = np.isfinite(knn)  # older checkpoints did not record it
        self.knn_curve.setData(np.asarray(steps)[known], knn[known])
        self._describe()

    def _describe(self) -> None:
        with_dims = [m for m in self._epochs if m.kl_dims]
        evaluated = with_dims[-1].step if with_dims else None
        self.evaluate_button.setVisible(self._idle and self._model_step is not None
                                        and (evaluated is None or self._model_step > evaluated))
        if not with_dims:
            return
        m, now = with_dims[-1], self._model_step
        kl = np.asarray(m.kl_dims, float)
        later = (f" The model has trained on to step {now:,} since; these figures are from the last evaluation "
                 f"(each epoch end, or Evaluate now)." if now is not None and now > m.step else "")
        self.summary.setText(
            f"Evaluated at step {m.step:,}: <b>{m.active_units}</b> of {len(kl)} latent dimensions active "
            f"(Var<sub>x</sub> E[z|x] &gt; 0.01), <b>{m.informative_dims}</b> carry more than 0.1 nat; "
            f"KL {kl.sum():.1f} nats per image; prior mismatch KL(fit of the aggregate posterior ‖ N(0, I)) "
            f"{m.prior_mismatch:.1f} nats; test PSNR {m.test_psnr:.2f} dB.{later}")
