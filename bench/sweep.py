"""Loss weighting x beta on CIFAR-10: which setting gives both sharp reconstructions and a map that
shows classes? For each setting, after the same training: test PSNR, kNN accuracy (core.structure's
protocol) and a linear probe of the latent means (raw pixels beside, as the reference of the same
run), KL/dim and active dimensions. Rows are appended to a CSV as each run ends (a stopped sweep
keeps what it measured); --plot draws PSNR against kNN with the Pareto front from any number of those CSVs.

Usage: python bench/sweep.py [--epochs 1] [--losses calibrated elbo] [--betas 0.5 1 2 4 8] [--latent-dims 128]
       python bench/sweep.py --plot bench/out/sweep_1ep.csv bench/out/sweep_5ep.csv
(one CIFAR-10 epoch is 391 steps, about 3.5 minutes per setting on 2 CPU cores)
"""
from __future__ import annotations

import argparse
import csv
import itertools
from pathlib import Path

from common import ROOT, Stopwatch, bench_dataset

from core.config import LOSS_MODES, ModelConfig, TrainConfig

OUT = ROOT / "bench" / "out"
COLUMNS = ("loss", "beta", "contrast", "augment", "latent_dim", "epochs", "test_psnr", "knn", "probe", "pixel_knn",
           "pixel_probe", "kl_per_dim", "active_units", "seconds")
PROBE_TRAIN = 10000  # training images the probe is fitted on
GOAL_PSNR, GOAL_KNN = 18, 10  # after five CPU epochs: test PSNR in dB, kNN points above raw pixels (README)
TEST = 5000  # test images the probe is scored on; kNN: core.structure's protocol, as the trainer stores it


def pareto(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both coordinates (larger is better)."""
    return [i for i, (a, b) in enumerate(points)
            if not any(c >= a and d >= b and (c, d) != (a, b) for c, d in points)]


def measure(data, loss: str, beta: float, latent_dim: int, epochs: int, runs_dir: Path | None = None,
            contrast: float = 0.0, augment: float = 0.5) -> dict:
    from core.latent import encode
    from core.lenses import linear_probe_accuracy
    from core.train import Trainer

    config = TrainConfig(epochs=epochs, loss=loss, beta=beta, contrast=contrast, augment=augment, log_every=100,
                         device="cpu", live_map=False)
    trainer = Trainer(data, config, ModelConfig(latent_dim=latent_dim))
    with Stopwatch() as sw:
        trainer.run()
    if runs_dir is not None:  # kept as a run, so the app's Runs tab can overlay and compare the sweep
        from core.runs import RunFolder, rename_run, summarise

        run = RunFolder.create(runs_dir, data.name, loss)
        run.save(trainer.checkpoint())
        run.close()
        name = f"{setting(loss, beta, contrast, augment)}, {epochs} epochs"
        rename_run(summarise(trainer.checkpoint(), run.folder), name)
    model = trainer.model.cpu().eval()
    test_mu = encode(model, data.test.images[:TEST])
    train_mu = encode(model, data.train.images[:PROBE_TRAIN])
    m = trainer.history.epochs[-1]
    return {"loss": loss, "beta": beta, "contrast": contrast, "augment": augment, "latent_dim": latent_dim,
            "epochs": epochs, "test_psnr": m.test_psnr,
            "knn": m.knn,  # the figure the runs table and the map caption show for this model
            "probe": linear_probe_accuracy(train_mu, data.train.labels[:PROBE_TRAIN], test_mu, data.test.labels[:TEST]),
            "kl_per_dim": m.kl_per_dim, "active_units": m.active_units, "seconds": sw.seconds}


def pixel_reference(data) -> dict:
    from core.lenses import linear_probe_accuracy
    from core.structure import class_structure

    return {"pixel_knn": class_structure(data.test.images, data.test.labels),
            "pixel_probe": linear_probe_accuracy(data.train.images[:PROBE_TRAIN], data.train.labels[:PROBE_TRAIN],
                                                 data.test.images[:TEST], data.test.labels[:TEST])}


def setting(loss: str, beta: float, contrast: float = 0.0, augment: float = 0.5) -> str:
    """A row's training setting in words: "elbo beta 0.5, contrast 20 (augment 0.5)"."""
    words = f"{loss} beta {float(beta):g}"
    return words + (f", contrast {float(contrast):g} (augment {float(augment):g})" if float(contrast) else "")


def row_setting(row: dict) -> str:  # rows of CSVs from before the contrastive option have no such columns
    return setting(row["loss"], row["beta"], row.get("contrast") or 0, row.get("augment") or 0.5)


def print_row(row: dict) -> None:
    print(f"{row_setting(row):<40} {int(row['latent_dim']):>4} {int(row['epochs']):>3} "
          f"{float(row['test_psnr']):>8.2f} {100 * float(row['knn']):>6.1f} {100 * float(row['probe']):>6.1f} "
          f"{100 * float(row['pixel_knn']):>6.1f} {100 * float(row['pixel_probe']):>6.1f} "
          f"{float(row['kl_per_dim']):>7.3f} {int(row['active_units']):>6} {float(row['seconds']):>6.0f}s", flush=True)


HEADER = (f"{'setting':<40} {'dim':>4} {'ep':>3} {'PSNR dB':>8} {'kNN %':>6} {'probe%':>6} "
          f"{'px kNN':>6} {'px prb':>6} {'KL/dim':>7} {'active':>6} {'time':>7}")


def plot(paths: list[Path], out: Path) -> None:
    """PSNR (x) against kNN minus raw pixels (y), one colour per epoch count, the front joined by a line."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    import pyqtgraph.exporters
    from PySide6.QtWidgets import QApplication

    rows = [r for p in paths for r in csv.DictReader(p.open())]
    app = QApplication.instance() or QApplication([])
    pg.setConfigOptions(background="w", foreground="k", antialias=True)
    widget = pg.PlotWidget(title="Reconstruction against class structure")  # keeps the item alive
    widget.resize(900, 600)
    plot_item = widget.getPlotItem()
    plot_item.getViewBox().setDefaultPadding(0.1)  # room for the labels at the ends
    plot_item.addLegend(offset=(10, 10))
    plot_item.setLabel("bottom", "test PSNR (dB)")
    plot_item.setLabel("left", "kNN minus raw pixels (points)")
    print(HEADER)
    for colour, epochs in zip(("#1f77b4", "#d62728", "#2ca02c"), sorted({int(r["epochs"]) for r in rows})):
        group = [r for r in rows if int(r["epochs"]) == epochs]
        points = [(float(r["test_psnr"]), 100 * (float(r["knn"]) - float(r["pixel_knn"]))) for r in group]
        front = sorted(pareto(points), key=lambda i: points[i][0])
        plot_item.plot([p[0] for p in points], [p[1] for p in points], pen=None, symbol="o", symbolSize=9,
                       symbolBrush=colour, name=f"{epochs} epoch(s)")
        plot_item.plot([points[i][0] for i in front], [points[i][1] for i in front], pen=pg.mkPen(colour, width=2))
        middle = (min(float(r["test_psnr"]) for r in rows) + max(float(r["test_psnr"]) for r in rows)) / 2
        for r, (x, y) in zip(group, points):
            text = row_setting(r).replace(" beta ", " β").replace(" (augment 0.5)", "") + (
                f", latent {r['latent_dim']}" if int(r["latent_dim"]) != 128 else "")
            label = pg.TextItem(text, color=colour, anchor=(1 if x > middle else 0, 1))  # inside the plot
            label.setPos(x, y)
            plot_item.addItem(label)
        print(f"-- {epochs} epoch(s); Pareto front (PSNR, kNN - pixels): "
              + "; ".join(row_setting(group[i]) for i in front))
        for r in group:
            print_row(r)
    plot_item.addLine(y=GOAL_KNN, pen=pg.mkPen("#888", style=pg.QtCore.Qt.PenStyle.DashLine))
    plot_item.addLine(x=GOAL_PSNR, pen=pg.mkPen("#888", style=pg.QtCore.Qt.PenStyle.DashLine))
    exporter = pg.exporters.ImageExporter(plot_item)
    exporter.parameters()["width"] = 900
    exporter.export(str(out))
    print(f"plot (goal: right of {GOAL_PSNR} dB and above +{GOAL_KNN} points, dashed): {out}")
    del app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--losses", nargs="+", choices=LOSS_MODES, default=["calibrated", "elbo"])
    ap.add_argument("--betas", nargs="+", type=float, default=[0.5, 1, 2, 4, 8])
    ap.add_argument("--latent-dims", nargs="+", type=int, default=[128])
    ap.add_argument("--contrasts", nargs="+", type=float, default=[0.0],
                    help="contrastive weights (core.contrastive; 0 = off): each doubles a step's cost")
    ap.add_argument("--augments", nargs="+", type=float, default=[0.5], help="the views' augmentation strengths")
    ap.add_argument("--csv", type=Path, help="append rows here (default bench/out/sweep_<epochs>ep.csv)")
    ap.add_argument("--runs-dir", type=Path, help="also keep each run in a run folder here (see core/runs.py)")
    ap.add_argument("--plot", type=Path, nargs="+", help="draw the front from these CSVs and exit")
    ap.add_argument("--out", type=Path, help="the plot's PNG (default bench/out/sweep_front.png)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.plot:
        plot(args.plot, args.out or OUT / "sweep_front.png")
        return
    path = args.csv or OUT / f"sweep_{args.epochs}ep.csv"  # a CSV from before the contrastive option: a new --csv
    data = bench_dataset()
    reference = pixel_reference(data)
    print(f"data: {data.name}; {args.epochs} epoch(s), batch 128, Adam 1e-3, seed 0; kNN (core.structure) and "
          f"the probe on {TEST} test "
          f"images, linear probe fitted on {PROBE_TRAIN} training images and scored on the same {TEST}")
    print(f"reference: raw pixels kNN {100 * reference['pixel_knn']:.1f}%, probe {100 * reference['pixel_probe']:.1f}%")
    print(HEADER)
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        if new:
            writer.writeheader()
        for latent_dim, loss, beta, contrast in itertools.product(args.latent_dims, args.losses, args.betas,
                                                                  args.contrasts):
            for augment in args.augments if contrast else [0.5]:
                row = measure(data, loss, beta, latent_dim, args.epochs, args.runs_dir, contrast, augment) | reference
                writer.writerow(row)
                f.flush()
                print_row(row)


if __name__ == "__main__":
    main()
