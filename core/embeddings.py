"""Embeddings without a model: vectors another tool wrote (or our own `Export latents` and `encode`), with
labels, other columns (which become lenses) and, if given, their images or their 2D map.

Read from `.npz` (arrays by name; never pickles), `.csv` (a header row) or the TensorBoard Projector's TSV
pair (`tensors.tsv`, with `metadata.tsv` beside it). Every problem raises EmbeddingsError naming the file
and the fix. `embeddings_map` turns them into a map: the given coordinates as they are, else a projection.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.data import Dataset, DatasetError, ImageSet, Progress

SUFFIXES = (".npz", ".csv", ".tsv")
VECTOR_KEYS = ("mu", "vectors", "embeddings", "embedding", "features", "x")
COORD_KEYS = (("x", "y"), ("given1", "given2"), ("pc1", "pc2"), ("tsne1", "tsne2"), ("umap1", "umap2"))  # CSV
COORD_ARRAYS = ("coords", "xy", "given", "pca", "tsne", "umap")  # npz arrays [N, 2]
LABEL_KEYS = ("labels", "label", "class", "classes", "category")
FOLDER_IMAGE_SIDE = 64  # images read from a folder: centre-cropped and resized to this side
_VECTOR_COLUMN = re.compile(r"(mu|z|dim|v|e|x)_?\d+")
FIX = ("Give an .npz with a 2-D array of vectors (mu, vectors or embeddings), a .csv with a header row and "
       "columns mu_0, mu_1, ..., or the Projector's tensors.tsv (with metadata.tsv beside it)")


class EmbeddingsError(DatasetError):
    """Embeddings cannot be read; the message names the file and the fix."""


@dataclass
class Embeddings:
    """N vectors and what came with them."""

    path: Path
    vectors: np.ndarray  # [N, D] float32
    labels: np.ndarray  # [N] int64, into classes (all 0 when none were given)
    classes: list[str]
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # lens name -> [N] float (core.lenses.lens)
    images: np.ndarray | None = None  # uint8 [N, C, H, W], if given
    coords: np.ndarray | None = None  # [N, 2] float32, if given: the map, as it is

    @property
    def name(self) -> str:
        return self.path.name

    def dataset(self) -> Dataset:
        """A dataset of one split (test) holding these points' images (None: no images) and labels."""
        empty = np.zeros((0, *(self.images.shape[1:] if self.images is not None else (1, 1, 1))), np.uint8)
        return Dataset(self.name, self.classes, ImageSet(empty, np.zeros(0, np.int64)),
                       ImageSet(self.images, self.labels))


def _column_lens(name: str) -> str:
    """The lens a column becomes: one of ours by its own name (our exports' brightness, kl, ...), else "col:NAME"."""
    from core.lenses import LENSES

    ours = name.startswith("col:") or name in LENSES and name != "class" and LENSES[name].kind == "number"
    return name if ours else f"col:{name}"


def _labels(values: np.ndarray, classes: list[str] | None) -> tuple[np.ndarray, list[str]]:
    """Integer labels into class names: given names, or names made from the values (strings or numbers)."""
    values = np.asarray(values)
    if values.dtype.kind in "iu" and classes:
        if values.min() < 0 or values.max() >= len(classes):
            raise EmbeddingsError(f"its labels run from {values.min()} to {values.max()}, but it names "
                                  f"{len(classes)} classes")
        return values.astype(np.int64), list(classes)
    names, labels = np.unique(values.astype(str) if values.dtype.kind not in "iu" else values, return_inverse=True)
    return labels.astype(np.int64), [str(n) for n in names]


def _images(array: np.ndarray, n: int) -> np.ndarray:
    """uint8 [N, C, H, W] from [N, C, H, W], [N, H, W, C] or [N, H, W]."""
    a = np.asarray(array)
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim == 4 and a.shape[1] not in (1, 3) and a.shape[3] in (1, 3):
        a = a.transpose(0, 3, 1, 2)
    if a.ndim != 4 or a.shape[1] not in (1, 3) or len(a) != n:
        raise EmbeddingsError(f"its images are {list(np.shape(array))}; give {n:,} images as [N, C, H, W] or "
                              f"[N, H, W, C] with 1 or 3 channels")
    if a.dtype != np.uint8:
        a = np.clip(a * 255 if a.dtype.kind == "f" and a.max() <= 1 else a, 0, 255).round().astype(np.uint8)
    return np.ascontiguousarray(a)


def _from_npz(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    vectors = next((arrays[k] for k in VECTOR_KEYS if k in arrays and arrays[k].ndim == 2), None)
    if vectors is None:
        wide = [k for k, a in arrays.items() if a.ndim == 2 and a.shape[1] > 2 and a.dtype.kind in "fiu"]
        if len(wide) != 1:
            raise EmbeddingsError(f"it has no array named {', '.join(VECTOR_KEYS)}, and not exactly one other "
                                  f"2-D array ({', '.join(arrays) or 'no arrays'})")
        vectors = arrays[wide[0]]
    n = len(vectors)
    label_key = next((k for k in LABEL_KEYS if k in arrays and arrays[k].ndim == 1 and len(arrays[k]) == n), None)
    classes = [str(c) for c in arrays["classes"]] if "classes" in arrays and label_key != "classes" else None
    coords = next((arrays[k] for k in COORD_ARRAYS if k in arrays and arrays[k].shape == (n, 2)), None)
    columns = {k: a for k, a in arrays.items()
               if a.ndim == 1 and len(a) == n and a.dtype.kind in "fiub" and k not in (label_key, "indices")}
    return {"vectors": vectors, "labels": arrays.get(label_key), "classes": classes, "coords": coords,
            "columns": columns, "images": arrays.get("images")}


def _table(path: Path, delimiter: str, header: bool = True) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader((line for line in f if not line.startswith("#")), delimiter=delimiter) if r]
    if not rows:
        raise EmbeddingsError("it is empty")
    return (rows[0], rows[1:]) if header else ([], rows)


def _numeric(values: list[str]) -> np.ndarray | None:
    try:
        return np.asarray(values, np.float64)
    except ValueError:
        return None


def _label_column(columns: dict[str, tuple], fallback: str | None = None):
    """(its name, labels, class names or None) of a table's label column: `class` (with our `label` codes
    beside it), else one of LABEL_KEYS, else `fallback`."""
    key = next((k for k in ("class", *LABEL_KEYS) if k in columns), fallback)
    if key == "class" and "label" in columns:  # ours: label (int) and class (name)
        codes = np.asarray(columns["label"], np.int64)
        names_by_code = dict(zip(codes.tolist(), columns["class"]))
        return key, codes, [names_by_code.get(i, str(i)) for i in range(codes.max() + 1)]
    return key, np.asarray(columns[key]) if key else None, None


def _numeric_columns(columns: dict[str, tuple], skip) -> dict[str, np.ndarray]:
    """The columns of numbers among `columns`, but those named in `skip`."""
    return {n: v for n, v in ((n, _numeric(c)) for n, c in columns.items() if n not in skip) if v is not None}


def _from_columns(names: list[str], rows: list[list[str]]) -> dict:
    """A table with a header row: vector columns (mu_0, ...; else every numeric column left), coordinates
    (x, y or our pc1, pc2, ...), a label column, the rest numeric columns."""
    if any(len(r) != len(names) for r in rows):
        raise EmbeddingsError(f"its rows do not all have the header's {len(names)} columns")
    columns = dict(zip(names, zip(*rows))) if rows else {n: () for n in names}
    label_key, labels, classes = _label_column(columns)
    taken = {label_key, "label", "index"}
    xy = next((pair for pair in COORD_KEYS if all(k in columns for k in pair)), None)
    coords = np.column_stack([_numeric(columns[k]) for k in xy]) if xy else None
    taken |= set(xy or ())
    vector_names = [n for n in names if _VECTOR_COLUMN.fullmatch(n) and n not in taken]
    numeric = _numeric_columns(columns, taken | set(vector_names))
    if not vector_names:  # no named vector columns: every numeric column is a dimension
        vector_names, numeric = list(numeric), {}
    if len(vector_names) < 2:
        raise EmbeddingsError(f"it has {len(vector_names)} vector columns ({', '.join(names[:8])}...)")
    vectors = np.column_stack([_numeric(columns[n]) for n in vector_names])
    return {"vectors": vectors, "labels": labels, "classes": classes, "coords": coords, "columns": numeric,
            "images": None}


def _from_projector(path: Path) -> dict:
    """tensors.tsv (no header, a vector a row) and metadata.tsv beside it (one column without a header: the
    labels; more: a header row)."""
    _, rows = _table(path, "\t", header=False)
    vectors = _numeric(rows)
    if vectors is None:
        raise EmbeddingsError("it is not a table of numbers (the Projector's tensors.tsv is one vector a row)")
    meta = path.with_name("metadata.tsv")
    out = {"vectors": vectors, "labels": None, "classes": None, "coords": None, "columns": {}, "images": None}
    if meta.is_file() and meta != path:
        _, table = _table(meta, "\t", header=False)
        if table and len(table[0]) == 1:
            out["labels"] = np.asarray([r[0] for r in table])
        elif table:
            columns = dict(zip(table[0], zip(*table[1:])))
            label_key, out["labels"], out["classes"] = _label_column(columns, fallback=table[0][0])
            out["columns"] = _numeric_columns(columns, {label_key, "label", "index"})
        if out["labels"] is not None and len(out["labels"]) != len(vectors):
            raise EmbeddingsError(f"{meta.name} has {len(out['labels']):,} rows for {len(vectors):,} vectors")
    return out


def read_embeddings(path, images=None) -> Embeddings:
    """Read embeddings (see the module docstring). `images`: an array file (.npy or .npz with `images`) or a
    folder of image files in the rows' order (sorted by name), if the file holds none; by default
    `<name>.images.npy` or the folder `<name>.images/` beside the file, if there is one."""
    path = Path(path).expanduser()
    if images is None:
        images = next((p for p in (path.with_suffix(".images.npy"), path.with_suffix(".images")) if p.exists()), None)
    try:
        if path.suffix.lower() not in SUFFIXES:
            raise EmbeddingsError(f"it is a {path.suffix or 'file without a suffix'}, not .npz, .csv or .tsv")
        if path.suffix.lower() == ".npz":
            parts = _from_npz(path)
        elif path.suffix.lower() == ".csv":
            parts = _from_columns(*_table(path, ","))
        else:
            parts = _from_projector(path)
        vectors = np.asarray(parts["vectors"], np.float32)
        if vectors.ndim != 2 or len(vectors) < 2 or not np.isfinite(vectors).all():
            raise EmbeddingsError(f"its vectors must be a finite [N, D] table of 2 or more rows, got "
                                  f"{list(vectors.shape)}" + ("" if np.isfinite(vectors).all() else " with NaN"))
        n = len(vectors)
        labels, classes = _labels(parts["labels"], parts["classes"]) if parts["labels"] is not None else (
            np.zeros(n, np.int64), ["all points"])
        columns = {_column_lens(k): np.asarray(v, np.float32) for k, v in parts["columns"].items()}
        given = parts["images"] if parts["images"] is not None else _read_images(images, n)
        coords = parts["coords"]
        emb = Embeddings(path, vectors, labels, classes, columns, _images(given, n) if given is not None else None,
                         np.asarray(coords, np.float32) if coords is not None else None)
    except EmbeddingsError as e:
        raise EmbeddingsError(f"Cannot open embeddings {path}: {e}. {FIX}.", e.details) from e
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as e:
        raise EmbeddingsError(f"Cannot open embeddings {path}: {e}. {FIX}.", repr(e)) from e
    return emb


def _read_images(source, n: int) -> np.ndarray | None:
    if source is None:
        return None
    from core.data import load_image

    source = Path(source).expanduser()
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".webp"))
        if len(files) != n:
            raise EmbeddingsError(f"the image folder {source} holds {len(files):,} images for {n:,} rows")
        return np.stack([load_image(f, FOLDER_IMAGE_SIDE, 3) for f in files])
    if source.suffix.lower() == ".npy":
        return np.load(source, allow_pickle=False)
    with np.load(source, allow_pickle=False) as z:
        if "images" not in z.files:
            raise EmbeddingsError(f"{source} has no array named images")
        return z["images"]


def embeddings_map(emb: Embeddings, projection: str = "pca", progress: Progress | None = None):
    """A core.maps.MapData of the embeddings: their given coordinates as they are (nothing re-projected), else
    PROJECTORS[projection] of the vectors; with the class structure of the vectors (NaN for one class)."""
    from core.maps import MapData
    from core.projection import PROJECTORS, GivenMap
    from core.structure import class_structure

    report = progress or (lambda done, total: None)
    if emb.coords is not None:
        projected = GivenMap(emb.vectors, emb.coords, "given coordinates")
    else:
        projected = PROJECTORS[projection].fit(emb.vectors, progress=report)
    knn = class_structure(emb.vectors, emb.labels)
    return MapData("test", emb.labels, projected.coords, None if np.isnan(knn) else knn, projected)
