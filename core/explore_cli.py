"""The exploring subcommands: `sample`, `encode`, `compare`, `export-model` and `map`. Each takes one of our
checkpoints or a model file (core.model_file) wherever it takes a model; `map` takes embeddings alone
(core.embeddings). core.cli holds the parser and `train`.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import numpy as np

from core.config import PROJECTIONS
from core.data import SPLITS

MODEL_HELP = "a checkpoint (.pt) or a model file (.vaemodel, from export-model)"


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_explore_parsers(sub, dataset_args: Callable[[argparse.ArgumentParser], None]) -> None:
    s = sub.add_parser("sample", help="decode samples from the prior or a fitted mixture into an image grid")
    s.add_argument("checkpoint", type=Path, metavar="MODEL", help=MODEL_HELP)
    s.add_argument("--out", type=Path, required=True, help="PNG file to write")
    s.add_argument("--n", type=positive_int, default=64)
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
    e.add_argument("checkpoint", type=Path, metavar="MODEL", help=MODEL_HELP)
    e.add_argument("--out", type=Path, help="latents.npz or latents.csv (needed unless only --timeline is asked)")
    dataset_args(e)
    e.add_argument("--split", choices=SPLITS, default="test", help="all: the training then the test images")
    e.add_argument("--projection", choices=PROJECTIONS, default="pca",
                   help="pca (exact inverse), tsne (openTSNE; about 80 s for 10,000 points on 2 cores) or umap "
                        "(umap-learn; its first use in a process compiles for about 20 s)")
    e.add_argument("--timeline", type=Path, metavar="OUT.npz",
                   help="also write the checkpoint's live-map frames (steps, coordinates, bases, indices)")
    e.add_argument("--projector", type=Path, metavar="DIR", help="also write TensorBoard Projector files there")

    c = sub.add_parser("compare", help="two models' maps of the same images side by side (B aligned to A) and "
                                       "their neighbour agreement")
    c.add_argument("a", type=Path, metavar="A", help=MODEL_HELP)
    c.add_argument("b", type=Path, metavar="B", help=MODEL_HELP)
    c.add_argument("--out", type=Path, required=True, help="PNG file to write")
    dataset_args(c)
    c.set_defaults(dataset=None)
    c.add_argument("--split", choices=SPLITS, default="test")
    c.add_argument("--images", type=positive_int, default=2000, help="images to map (the first N of the split)")
    c.add_argument("--projection", choices=PROJECTIONS, default="pca")

    x = sub.add_parser("export-model", help="write a checkpoint's ConvVAE as a model file (two torch.export programs "
                                            "and a manifest) that other tools and this app open without its code")
    x.add_argument("checkpoint", type=Path, metavar="CKPT")
    x.add_argument("--out", type=Path, required=True, help="the model file to write (.vaemodel)")
    x.add_argument("--name", help="the name the app shows (default: the file's name)")

    m = sub.add_parser("map", help="map embeddings without a model (.npz, .csv, or the Projector's tensors.tsv) to "
                                   "2D: their given coordinates, else PCA, t-SNE or UMAP of the vectors")
    m.add_argument("embeddings", type=Path, metavar="EMBEDDINGS")
    m.add_argument("--out", type=Path, required=True, help="map.npz or map.csv (written as encode writes latents)")
    m.add_argument("--projection", choices=PROJECTIONS,
                   help="project the vectors (default: the file's own coordinates if it has them, else pca)")
    m.add_argument("--images", type=Path, metavar="FILE|DIR",
                   help="their images: an .npy/.npz array or a folder of image files in the rows' order")


def load_data(args, model_config):
    """The dataset `args` name, made or checked at the size `model_config` (a ModelConfig or ModelShape) takes."""
    from core.data import load_dataset

    return load_dataset(args.dataset, args.data_dir, model_config.img_size, model_config.in_ch, args.download)


def cmd_sample(args) -> None:
    from core.latent import image_grid, sample_prior, save_png
    from core.model_file import open_model

    if not 0 < args.temperature <= 10:
        raise ValueError(f"--temperature must be greater than 0 and at most 10, got {args.temperature}")
    ckpt = open_model(args.checkpoint)
    model = ckpt.build_model()
    if args.source == "mixture":
        from core.latent import fit_training_mixture, sample_mixture

        args.dataset = args.dataset or ckpt.dataset
        if not args.dataset:
            raise ValueError("--from mixture fits the training latents, and this checkpoint names no dataset; "
                             "pass --dataset cifar10|shapes|PATH")
        mixture = fit_training_mixture(model, load_data(args, ckpt.model_config).train.images)
        images = sample_mixture(model, mixture, args.n, args.temperature, args.seed)
    else:
        images = sample_prior(model, args.n, args.temperature, args.seed)
    try:
        save_png(image_grid(images, nrow=8), args.out)
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot write {args.out}: {e}; choose a writable .png path") from e
    print(f"wrote {args.n} samples to {args.out}")


def cmd_encode(args) -> None:
    from core.latent import LATENT_SUFFIXES, save_latents
    from core.maps import MapLenses, encode_and_project, pixel_structure
    from core.model_file import open_model

    if args.out is None and (args.timeline is None or args.projector is not None):
        raise ValueError("encode needs --out latents.npz (or .csv), or --timeline OUT.npz alone for the live-map "
                         "frames")
    if args.out is not None and args.out.suffix.lower() not in LATENT_SUFFIXES:  # checked before the slow encode
        raise ValueError(f"--out must end in .npz or .csv, got {args.out}")
    ckpt = open_model(args.checkpoint)
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
    data = load_data(args, ckpt.model_config)
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


def cmd_compare(args) -> None:
    from core.compare import compare_models, render_pair
    from core.latent import save_png
    from core.model_file import open_model

    a, b = open_model(args.a), open_model(args.b)
    args.dataset = args.dataset or a.dataset or b.dataset
    if not args.dataset:
        raise ValueError("neither checkpoint names its dataset; pass --dataset cifar10|shapes|PATH")
    data = load_data(args, a.model_config)
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


def cmd_export_model(args) -> None:
    from core.checkpoint import load_checkpoint
    from core.model_file import SUFFIX, export_checkpoint

    if args.out.suffix != SUFFIX:
        raise ValueError(f"--out must end in {SUFFIX}, got {args.out}")
    ckpt = load_checkpoint(args.checkpoint)
    export_checkpoint(ckpt, args.out, args.name)
    c = ckpt.model_config
    print(f"wrote {args.out}: encoder and decoder of a ConvVAE (latent {c.latent_dim}, {c.img_size} px, "
          f"{c.in_ch} channels) as torch.export programs")


def cmd_map(args) -> None:
    import dataclasses

    from core.embeddings import embeddings_map, read_embeddings
    from core.latent import LATENT_SUFFIXES, save_latents

    if args.out.suffix.lower() not in LATENT_SUFFIXES:  # checked before the slow part
        raise ValueError(f"--out must end in .npz or .csv, got {args.out}")
    e = read_embeddings(args.embeddings, args.images)
    if args.projection:
        e = dataclasses.replace(e, coords=None)
    m = embeddings_map(e, args.projection or "pca")
    columns = {name.removeprefix("col:"): values for name, values in e.columns.items()}
    save_latents(args.out, e.vectors, e.labels, e.classes, m.coords, m.explained, m.projection.name, columns)
    knn = f"; class structure (core.structure's kNN) {100 * m.knn:.1f}%" if m.knn is not None else ""
    print(f"mapped {len(e.vectors):,} embeddings of {e.vectors.shape[1]} dimensions ({m.projection.title}){knn}; "
          f"wrote {args.out}")


EXPLORE_COMMANDS = {"sample": cmd_sample, "encode": cmd_encode, "compare": cmd_compare,
                    "export-model": cmd_export_model, "map": cmd_map}
