"""Command line: `vae-explorer train|sample|encode|runs|compare|export-model` (also `python -m core.cli ...`).
The exploring subcommands live in core.explore_cli.

The `vae-explorer` console script starts in explorer.app, which opens the desktop app when no
subcommand is given and hands subcommands to `main` here; core never imports the app.

Exit codes: 0 success, 2 bad input (one `error: ...` line on stderr), 1 anything unexpected.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from core.config import DEVICES, LOSS_MODES, LR_SCHEDULES, PRESETS, ModelConfig, TrainConfig
from core.explore_cli import EXPLORE_COMMANDS, add_explore_parsers, load_data, positive_int
from core.metrics import EpochMetrics, StepMetrics

_T, _M = TrainConfig(), ModelConfig()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vae-explorer")
    except PackageNotFoundError:
        return "unknown"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors: one line, exit 2
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default=_T.dataset, help="cifar10, shapes, or a folder of <class>/<images>")
    p.add_argument("--data-dir", type=Path, help="folder holding cifar-10-batches-py (default: user data folder)")
    p.add_argument("--download", action="store_true", help="download CIFAR-10 if it is missing")


COMMANDS = ("train", "runs", *EXPLORE_COMMANDS)


def build_parser(epilog: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="vae-explorer", description="Train and explore a convolutional VAE.", epilog=epilog,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    t = sub.add_parser("train", help="train a model and save a checkpoint")
    _dataset_args(t)
    length = t.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=positive_int, default=_T.epochs)
    length.add_argument("--steps", type=positive_int)
    t.add_argument("--batch-size", type=positive_int, default=_T.batch_size,
                   help="images per step per process (under torchrun the global batch is N times this)")
    t.add_argument("--latent-dim", type=positive_int, default=_M.latent_dim)
    t.add_argument("--channels", type=positive_int, default=_M.channels)
    presets = "; ".join(f"'{p.name}' ({p.describe()})" for p in PRESETS).replace("%", "%%")  # help is %-formatted
    t.add_argument("--preset", choices=[p.name for p in PRESETS], metavar="NAME",
                   help=f"named settings measured by bench/sweep.py (README), one of: {presets}. The flags below "
                        "override it")
    # None: the preset's value, else TrainConfig's default (see _train_settings)
    t.add_argument("--beta", type=float, help=f"KL weight (default {_T.beta:g})")
    t.add_argument("--loss", choices=LOSS_MODES, help=f"loss weighting (default {_T.loss})")
    t.add_argument("--contrast", type=float, metavar="W",
                   help="contrastive weight, in units of the reconstruction term: two augmented views per image "
                        f"and NT-Xent on their latent means (default {_T.contrast:g} = off; twice the compute)")
    t.add_argument("--augment", type=float, metavar="S", help=f"the views' augmentation strength, 0-1 "
                                                               f"(default {_T.augment:g})")
    t.add_argument("--kl-warmup", type=int, default=_T.kl_warmup, metavar="STEPS")
    t.add_argument("--lr", type=float, default=_T.lr)
    t.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=_T.lr_schedule,
                   help="cosine: decay to 0 over the run (after --lr-warmup steps)")
    t.add_argument("--lr-warmup", type=_non_negative_int, default=_T.lr_warmup, metavar="STEPS")
    t.add_argument("--grad-clip", type=float, default=_T.grad_clip, metavar="NORM", help="0 = off")
    t.add_argument("--device", choices=DEVICES, default=_T.device)
    t.add_argument("--seed", type=int, default=_T.seed)
    t.add_argument("--threads", type=int, default=_T.threads, help="CPU threads (0 = all cores)")
    t.add_argument("--log-every", type=positive_int, default=50, help="steps between progress lines")
    t.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA; see bench/gpu.py)")
    t.add_argument("--dist-timeout", type=float, default=300, metavar="SECONDS",
                   help="under torchrun: how long to wait for a lost process before stopping")
    t.add_argument("--save-every", type=_non_negative_int, default=0, metavar="STEPS", help="also save every N steps")
    where = t.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, help="checkpoint file to write (instead of a run folder)")
    where.add_argument("--runs-dir", type=Path, metavar="DIR",
                       help="keep the run in a new folder under DIR (default: the user data runs folder, "
                            "where the app's Runs panel lists it)")
    t.add_argument("--resume", type=Path, metavar="CKPT", help="continue training this checkpoint")
    t.add_argument("--metrics-csv", type=Path, metavar="F", help="also write the training history as CSV")
    t.add_argument("--no-live-map", dest="live_map", action="store_false",
                   help="keep no live-map frames in the checkpoint")
    t.add_argument("--live-map-images", type=int, default=_T.live_map_images, metavar="N",
                   help="test images in each live-map frame (-1 auto: 1,000 on CPU, all on CUDA; 0 all)")
    t.add_argument("--live-map-every", type=float, default=_T.live_map_interval_s, metavar="SECONDS",
                   help="seconds between live-map frames besides epoch ends (-1 auto: 30 on CPU; 0 epoch ends only)")

    r = sub.add_parser("runs", help="list the runs in a runs folder with their settings and results")
    r.add_argument("folder", type=Path, nargs="?", help="runs folder (default: the user data runs folder)")
    r.add_argument("--csv", type=Path, metavar="FILE", help="write the table as CSV instead of printing it")

    add_explore_parsers(sub, _dataset_args)
    return parser


def cmd_train(args) -> None:
    """Train, alone or as one process of a torchrun job (then rank 0 prints and saves)."""
    from core import distributed

    ranks = distributed.Ranks.from_environment()
    try:
        _train(args, ranks)
    finally:
        distributed.stop()


def _train_settings(args) -> dict:
    """loss, beta, contrast and augment: the flag when given, else the --preset's value, else the default."""
    preset = next((p for p in PRESETS if p.name == args.preset), None)
    settings = {name: getattr(_T, name) for name in ("loss", "beta", "contrast", "augment")}
    settings |= preset.settings() if preset is not None else {}
    return settings | {name: getattr(args, name) for name in settings if getattr(args, name) is not None}


def _train(args, ranks) -> None:
    from core.checkpoint import load_checkpoint, save_checkpoint
    from core.devices import device_label, select_device
    from core.distributed import start
    from core.train import Trainer

    if ranks.world > 1:  # join before loading anything, so a rank that fails early fails them all quickly
        start(ranks, select_device(args.device), args.dist_timeout)
    ckpt = load_checkpoint(args.resume) if args.resume else None
    model_config = ckpt.model_config if ckpt else ModelConfig(latent_dim=args.latent_dim, channels=args.channels)
    config = TrainConfig(
        dataset=args.dataset, epochs=args.epochs, steps=args.steps, batch_size=args.batch_size,
        lr=args.lr, lr_schedule=args.lr_schedule, lr_warmup=args.lr_warmup, grad_clip=args.grad_clip,
        **_train_settings(args), kl_warmup=args.kl_warmup, device=args.device,
        seed=args.seed, threads=args.threads, live_map=args.live_map, live_map_images=args.live_map_images,
        live_map_interval_s=args.live_map_every, compile=args.compile,
        # callbacks at every print and every save; prints stay at --log-every
        log_every=math.gcd(args.log_every, args.save_every) if args.save_every else args.log_every,
    )
    config.validate()
    data = load_data(args, model_config)
    trainer = Trainer(data, config, model_config, checkpoint=ckpt, ranks=ranks)
    run = None
    if ranks.main and args.out is None:  # a new folder of its own: no run overwrites another
        from core.runs import RunFolder

        run = RunFolder.create(args.runs_dir, data.name, config.loss)
        run.since_step(trainer.step)
        print(f"run folder: {run.folder}", flush=True)

    def save():
        return run.save(trainer.checkpoint()) if run is not None else save_checkpoint(trainer.checkpoint(), args.out)

    if ranks.main:
        job = f", {ranks.world} processes of batch {config.batch_size}" if ranks.world > 1 else ""
        print(f"training on {data.name} ({len(data.train)} images), {device_label(trainer.device)}{job}, "
              f"steps {trainer.step} -> {trainer.target_step}", flush=True)

    def on_step(m: StepMetrics) -> None:  # rank 0 only
        if m.step % args.log_every == 0 or m.step == trainer.target_step:
            print(f"step {m.step:>6}/{m.total_steps}  loss {m.loss:.4g}  recon {m.recon:.4g}  "
                  f"kld {m.kld:.4g}  {m.img_per_s:.0f} img/s  ETA {m.eta_s:.0f}s", flush=True)
        if args.save_every and m.step % args.save_every == 0:
            save()

    def on_epoch(m: EpochMetrics) -> None:
        print(f"epoch end at step {m.step}: test MSE {m.test_mse:.4f}, PSNR {m.test_psnr:.2f} dB, "
              f"KL/dim {m.kl_per_dim:.3f}", flush=True)

    try:
        trainer.run(on_step=on_step, on_epoch=on_epoch)
        if not ranks.main:
            return
        path = save()
        final = trainer.history.epochs[-1]
        print(f"final test PSNR {final.test_psnr:.2f} dB; saved {path}")
        if args.metrics_csv:
            from core.export import write_metrics_csv

            write_metrics_csv(args.metrics_csv, trainer.history.steps, trainer.history.epochs)
            print(f"wrote the training history to {args.metrics_csv}")
    finally:  # its event writer's threads end with the run
        if run is not None:
            run.close()


RUN_COLUMNS = ("name", "dataset", "loss", "beta", "latent_dim", "steps", "epochs", "wall_s", "created", "test_psnr",
               "knn", "kl_per_dim", "active_units", "error", "path")


def cmd_runs(args) -> None:
    import csv

    from core.runs import default_root, list_runs, runs_table

    folder = args.folder or default_root()
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder; pass a runs folder (train --runs-dir DIR makes one)")
    runs = list_runs([folder])
    rows = [{k: getattr(r, k) for k in RUN_COLUMNS} for r in runs]
    if args.csv:
        try:
            with args.csv.open("w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, RUN_COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
        except OSError as e:
            raise ValueError(f"cannot write {args.csv}: {e.strerror or e}; choose a writable location") from e
        print(f"wrote {len(rows)} runs to {args.csv}")
        return
    print(f"{len(runs)} runs in {folder}")
    print("\n".join(runs_table(runs)))


def main(argv: list[str] | None = None, epilog: str | None = None) -> int:
    """Run one subcommand; `epilog` lets the app's entry point add its own options to --help."""
    parser = build_parser(epilog)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from core.checkpoint import CheckpointError
    from core.data import DatasetError
    from core.distributed import PeerLost
    from core.train import TrainingError

    try:
        commands = {"train": cmd_train, "runs": cmd_runs, **EXPLORE_COMMANDS}
        commands[args.command](args)
    except (CheckpointError, DatasetError, TrainingError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except PeerLost as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
