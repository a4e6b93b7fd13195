"""Command line: `vae-explorer train|sample|encode|runs|compare` (also `python -m core.cli ...`).

The `vae-explorer` console script starts in explorer.app, which opens the desktop app when no
subcommand is given and hands subcommands to `main` here; core never imports the app.

Exit codes: 0 success, 2 bad input (one `error: ...` line on stderr), 1 anything unexpected.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from core.config import DEVICES, LOSS_MODES, LR_SCHEDULES, PRESETS, PROJECTIONS, ModelConfig, TrainConfig
from core.data import SPLITS
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


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default=_T.dataset, help="cifar10, shapes, or a folder of <class>/<images>")
    p.add_argument("--data-dir", type=Path, help="folder holding cifar-10-batches-py (default: user data folder)")
    p.add_argument("--download", action="store_true", help="download CIFAR-10 if it is missing")


COMMANDS = ("train", "sample", "encode", "runs", "compare")


def build_parser(epilog: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="vae-explorer", description="Train and explore a convolutional VAE.", epilog=epilog,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    t = sub.add_parser("train", help="train a model and save a checkpoint")
    _dataset_args(t)
    length = t.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=_positive_int, default=_T.epochs)
    length.add_argument("--steps", type=_positive_int)
    t.add_argument("--batch-size", type=_positive_int, default=_T.batch_size,
                   help="images per step per process (under torchrun the global batch is N times this)")
    t.add_argument("--latent-dim", type=_positive_int, default=_M.latent_dim)
    t.add_argument("--channels", type=_positive_int, default=_M.channels)
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
    t.add_argument("--log-every", type=_positive_int, default=50, help="steps between progress lines")
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

    s = sub.add_parser("sample", help="decode samples from the prior or a fitted mixture into an image grid")
    s.add_argument("checkpoint", type=Path)
    s.add_argument("--out", type=Path, required=True, help="PNG file to write")
    s.add_argument("--n", type=_positive_int, default=64)
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--from", dest="source", choices=("prior", "mixture"), default="prior",
                   help="prior: N(0, T^2 I); mixture: a 10-component Gaussian mixture fitted to the latent "
                        "means of up to 20,000 training images (needs the dataset)")
    s.add_argument("--dataset", help="for --from mixture (default: the checkpoint's dataset)")
    s.add_argument("--data-dir", type=Path, help="folder holding cifar-10-batches-py")
    s.add_argument("--download", action="store_true", help="download CIFAR-10 if it is missing")

    e = sub.add_parser("encode", help="encode a dataset split to latent means and 2D coordinates (PCA, t-SNE or "
                                      "UMAP), or write a checkpoint's live-map timeline")
    e.add_argument("checkpoint", type=Path)
    e.add_argument("--out", type=Path, help="latents.npz or latents.csv (needed unless only --timeline is asked)")
    _dataset_args(e)
    e.add_argument("--split", choices=SPLITS, default="test", help="all: the training then the test images")
    e.add_argument("--projection", choices=PROJECTIONS, default="pca",
                   help="pca (exact inverse), tsne (openTSNE; about 80 s for 10,000 points on 2 cores) or umap "
                        "(umap-learn; its first use in a process compiles for about 20 s)")
    e.add_argument("--timeline", type=Path, metavar="OUT.npz",
                   help="also write the checkpoint's live-map frames (steps, coordinates, bases, indices)")
    e.add_argument("--projector", type=Path, metavar="DIR", help="also write TensorBoard Projector files there")

    r = sub.add_parser("runs", help="list the runs in a runs folder with their settings and results")
    r.add_argument("folder", type=Path, nargs="?", help="runs folder (default: the user data runs folder)")
    r.add_argument("--csv", type=Path, metavar="FILE", help="write the table as CSV instead of printing it")

    c = sub.add_parser("compare", help="two models' maps of the same images side by side (B aligned to A) and "
                                       "their neighbour agreement")
    c.add_argument("a", type=Path, metavar="A.pt")
    c.add_argument("b", type=Path, metavar="B.pt")
    c.add_argument("--out", type=Path, required=True, help="PNG file to write")
    _dataset_args(c)
    c.set_defaults(dataset=None)
    c.add_argument("--split", choices=SPLITS, default="test")
    c.add_argument("--images", type=_positive_int, default=2000, help="images to map (the first N of the split)")
    c.add_argument("--projection", choices=PROJECTIONS, default="pca")
    return parser


def _load_data(args, model_config: ModelConfig):
    from core.data import load_dataset

    return load_dataset(args.dataset, args.data_dir, model_config.img_size, model_config.in_ch, args.download)


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
    data = _load_data(args, model_config)
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


def cmd_sample(args) -> None:
    from core.checkpoint import load_checkpoint
    from core.latent import image_grid, sample_prior, save_png

    if not 0 < args.temperature <= 10:
        raise ValueError(f"--temperature must be greater than 0 and at most 10, got {args.temperature}")
    ckpt = load_checkpoint(args.checkpoint)
    model = ckpt.build_model()
    if args.source == "mixture":
        from core.latent import fit_training_mixture, sample_mixture

        args.dataset = args.dataset or ckpt.dataset
        if not args.dataset:
            raise ValueError("--from mixture fits the training latents, and this checkpoint names no dataset; "
                             "pass --dataset cifar10|shapes|PATH")
        mixture = fit_training_mixture(model, _load_data(args, ckpt.model_config).train.images)
        images = sample_mixture(model, mixture, args.n, args.temperature, args.seed)
    else:
        images = sample_prior(model, args.n, args.temperature, args.seed)
    try:
        save_png(image_grid(images, nrow=8), args.out)
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot write {args.out}: {e}; choose a writable .png path") from e
    print(f"wrote {args.n} samples to {args.out}")


def cmd_encode(args) -> None:
    from core.checkpoint import load_checkpoint
    from core.latent import LATENT_SUFFIXES, save_latents
    from core.maps import MapLenses, encode_and_project, pixel_structure

    if args.out is None and (args.timeline is None or args.projector is not None):
        raise ValueError("encode needs --out latents.npz (or .csv), or --timeline OUT.npz alone for the live-map "
                         "frames")
    if args.out is not None and args.out.suffix.lower() not in LATENT_SUFFIXES:  # checked before the slow encode
        raise ValueError(f"--out must end in .npz or .csv, got {args.out}")
    ckpt = load_checkpoint(args.checkpoint)
    if args.timeline:
        if ckpt.map_frames is None:
            raise ValueError(f"{args.checkpoint} holds no live-map frames (it was trained with --no-live-map, "
                             f"or by an older version)")
        try:
            np.savez_compressed(args.timeline, **{k: np.asarray(v) for k, v in ckpt.map_frames.items()})
        except OSError as e:
            raise ValueError(f"cannot write {args.timeline}: {e.strerror or e}; choose a writable location") from e
        print(f"wrote {len(ckpt.map_frames['steps'])} live-map frames to {args.timeline}")
        if args.out is None:
            return
    data = _load_data(args, ckpt.model_config)
    split = data.split(args.split)
    model = ckpt.build_model()
    m = encode_and_project(model, args.split, split, args.projection)
    mu, how = m.projection.mu, m.projection.settings
    if m.explained is not None:
        how = f"PCA explains {100 * m.explained.sum():.1f}%"
    columns = MapLenses(split.labels, split.images, mu).fill(model=model)  # every lens, a column each
    save_latents(args.out, mu, split.labels, data.classes, m.coords, m.explained, args.projection, columns)
    print(f"encoded {len(mu)} {args.split} images; {how}; class structure (core.structure's kNN) of the latent means "
          f"{100 * m.knn:.1f}% (raw pixels {100 * pixel_structure(split):.1f}%); wrote {args.out}")
    if args.projector:
        from core.export import write_projector

        write_projector(args.projector, mu, split.labels, data.classes, split.images)
        print(f"wrote TensorBoard Projector files to {args.projector}")


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


def cmd_compare(args) -> None:
    from core.checkpoint import load_checkpoint
    from core.compare import compare_models, render_pair
    from core.latent import save_png

    a, b = load_checkpoint(args.a), load_checkpoint(args.b)
    args.dataset = args.dataset or a.dataset or b.dataset
    if not args.dataset:
        raise ValueError("neither checkpoint names its dataset; pass --dataset cifar10|shapes|PATH")
    data = _load_data(args, a.model_config)
    split = data.split(args.split)
    n = min(args.images, len(split))
    for ckpt, path in ((a, args.a), (b, args.b)):
        ckpt.check_images(split.images, str(path), args.dataset)
    pair = compare_models(a.build_model(), b.build_model(), split.images[:n], split.labels[:n], args.projection)
    picture = render_pair(pair, data.classes, (args.a.stem if args.a.name != "checkpoint.pt" else args.a.parent.name,
                                                args.b.stem if args.b.name != "checkpoint.pt" else args.b.parent.name))
    try:
        save_png(picture, args.out)
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot write {args.out}: {e}; choose a writable .png path") from e
    print(f"mapped {n} {args.split} images with both models ({args.projection}, B aligned to A); mean neighbour "
          f"agreement (10 nearest in latent space) {100 * pair.mean_agreement:.1f}%; wrote {args.out}")


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
        commands = {"train": cmd_train, "sample": cmd_sample, "encode": cmd_encode, "runs": cmd_runs,
                    "compare": cmd_compare}
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
