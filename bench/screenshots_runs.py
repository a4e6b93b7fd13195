"""Regenerate the README screenshots of the Runs tab and the lenses (resources/screenshots/runs.png,
compare.png, lenses.png) from real CIFAR-10 runs: a folder of run folders, such as the one
`bench/sweep.py --epochs 5 --runs-dir bench/out/sweep_runs` keeps.

Opens the real window offscreen on that folder, ticks every run in the table, puts the cursor in the
charts, compares the first two runs' maps, then opens the first run, encodes the test split, turns the
cluster labels on and shows the Lenses tab. Usage: python bench/screenshots_runs.py RUNS_DIR
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from common import ROOT, bench_window  # noqa: E402

OUT = ROOT / "resources" / "screenshots"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", type=Path)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vae-shots-"))
    os.environ["VAE_EXPLORER_DATA"] = str(tmp)

    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from explorer.selftest import wait_until

    app, window = bench_window(tmp, (1400, 900), run_folders=json.dumps([str(args.runs.resolve())]))
    panel = window.runs_panel
    window.tabs.setCurrentIndex(window.tabs.count() - 1)
    wait_until(app, lambda: panel.proxy.rowCount() > 0, 30, "the runs")

    def settle(n: int = 40) -> None:
        for _ in range(n):
            app.processEvents()

    for row in range(panel.proxy.rowCount()):  # tick each run, as a user clicks its box
        rect = panel.table.visualRect(panel.proxy.index(row, 0))
        tick = QPoint(rect.left() + 10, rect.center().y())
        QTest.mouseClick(panel.table.viewport(), Qt.LeftButton, Qt.NoModifier, tick)
    window.run_curves.axis.setCurrentText("epoch")
    settle()
    plot = window.run_curves.plots["loss"]
    vb = plot.plotItem.vb
    QTest.mouseClick(plot.viewport(), Qt.LeftButton, Qt.NoModifier, plot.mapFromScene(vb.sceneBoundingRect().center()))
    settle()
    OUT.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(OUT / "runs.png"))

    ticked = panel.ticked()
    for path in ticked[2:]:  # keep two ticked: the first two rows
        row = panel.row_of(path)
        rect = panel.table.visualRect(panel.proxy.index(row, 0))
        tick = QPoint(rect.left() + 10, rect.center().y())
        QTest.mouseClick(panel.table.viewport(), Qt.LeftButton, Qt.NoModifier, tick)
    QTest.mouseClick(panel.buttons["Compare maps"], Qt.LeftButton)
    wait_until(app, lambda: window.map_compare.pair is not None, 600, "the maps side by side")
    window.map_compare.colour_by.setCurrentText("neighbour agreement")
    settle()
    window.grab().save(str(OUT / "compare.png"))

    first = window.runs.runs[ticked[0]]
    window.loader.open_checkpoint(str(first.checkpoint))
    wait_until(app, lambda: window.session.checkpoint is not None and not window.runner.tasks, 300, "the run")
    window.tabs.setCurrentIndex(1)
    window.session.choose(split="test", projection="pca")
    window.maps.encode()
    wait_until(app, lambda: window.session.map is not None and not window.runner.tasks, 900, "encoding")
    QTest.mouseClick(window.map_view.toolbar.labels_box, Qt.LeftButton)
    window.inspector.tabs.setCurrentWidget(window.lenses)
    wait_until(app, lambda: window.lenses.report is not None and window.map_view.cluster_labels.items, 600, "lenses")
    window.session.choose(colour_by=window.lenses.report.ranked[0].name)
    wait_until(app, lambda: not window.runner.tasks, 300, "the colours")
    settle()
    window.grab().save(str(OUT / "lenses.png"))
    print(window.lenses.report.headline)
    report = window.lenses.report
    print(f"probe: latents {100 * report.probe:.1f} %, pixels {100 * report.pixel_probe:.1f} %")
    for p in window.lenses.report.ranked:
        print(f"  {p.name:<14} {p.figure}")
    window.close()
    wait_until(app, lambda: window.closed, 120, "closing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
