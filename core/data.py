"""Datasets held in memory: CIFAR-10, an image folder, and synthetic "shapes".

Every dataset is `uint8 [N, C, H, W]` images plus `int64 [N]` labels and class names; batches
become float in [0,1] on the training device. User-caused problems raise DatasetError.
"""
from __future__ import annotations

import functools
import io
import os
import pickle
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_TEST = ["test_batch"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
SHAPE_CLASSES = [
    "circle", "square", "triangle", "diamond", "ring",
    "plus", "cross", "bar", "frame", "half-disc",
]


class DatasetError(Exception):
    """A dataset cannot be used; the message names the path and the fix, `details` the technical cause."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


@dataclass
class ImageSet:
    images: np.ndarray  # [N, C, H, W] uint8
    labels: np.ndarray  # [N] int64

    def __len__(self) -> int:
        return len(self.labels)


SPLITS = ("test", "train", "all")


@dataclass
class Dataset:
    name: str
    classes: list[str]
    train: ImageSet
    test: ImageSet
    _all: ImageSet | None = field(default=None, repr=False, compare=False)

    def split(self, name: str) -> ImageSet:
        """"train", "test", or "all" (train then test; made once, then kept)."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {name!r}")
        if name == "all":
            if self._all is None:
                self._all = ImageSet(np.concatenate([self.train.images, self.test.images]),
                                     np.concatenate([self.train.labels, self.test.labels]))
            return self._all
        return self.train if name == "train" else self.test


def user_data_dir() -> Path:
    """Where the app keeps data and autosaves: $VAE_EXPLORER_DATA, else the OS's user data folder."""
    if os.environ.get("VAE_EXPLORER_DATA"):
        return Path(os.environ["VAE_EXPLORER_DATA"]).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", home / ".local" / "share"))
    return base / "vae-explorer"


# ---------------------------------------------------------------- CIFAR-10

class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only, so a batch file cannot run code."""

    _allowed = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self._allowed:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    fix = "Delete the folder and download again, or point to a good copy of cifar-10-batches-py."
    if not path.is_file():
        raise DatasetError(f"CIFAR-10 batch {path} is missing. {fix}")
    try:
        with open(path, "rb") as f:
            batch = _ArrayUnpickler(io.BytesIO(f.read()), encoding="latin1").load()
        data = np.asarray(batch["data"])
        labels = np.asarray(batch["labels"], dtype=np.int64)
    except Exception as e:  # any malformed file is the user's data problem
        raise DatasetError(f"CIFAR-10 batch {path} is unreadable ({type(e).__name__}: {e}). {fix}") from e
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DatasetError(
            f"CIFAR-10 batch {path} has data {data.dtype} {data.shape} and {len(labels)} labels; "
            f"expected uint8 (N, 3072) with N labels. {fix}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DatasetError(f"CIFAR-10 batch {path} has labels outside 0..9. {fix}")
    return data.reshape(-1, 3, 32, 32), labels


def _image_set(parts: list[tuple[np.ndarray, np.ndarray]]) -> ImageSet:
    return ImageSet(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


def find_cifar_folder(root: Path) -> Path:
    """`root` itself if it is a cifar-10-batches-py folder, else root/cifar-10-batches-py."""
    root = Path(root).expanduser()
    return root if (root / "batches.meta").exists() or root.name == CIFAR_FOLDER else root / CIFAR_FOLDER


Progress = Callable[[int, int], "bool | None"]  # (done, total) -> False to cancel; the one progress type


def _check(progress: Progress | None, done: int, total: int) -> None:
    """Report progress; raise InterruptedError if the caller cancelled."""
    if progress is not None and progress(done, total) is False:
        raise InterruptedError("cancelled")


def download_cifar10(root: Path, timeout_s: float = 30.0, progress: Progress | None = None) -> None:
    """Download the official archive into `root`, verify its MD5 and unpack it (torchvision).

    The archive streams into a temporary file and unpacks into a temporary folder that is renamed
    into place only when complete, so a failed or cancelled download (InterruptedError when
    `progress` returns False) leaves `root` as it was.
    """
    import shutil
    import tempfile
    import urllib.request

    from torchvision.datasets.utils import check_integrity, extract_archive

    root = Path(root).expanduser()
    archive = unpacked = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, archive = tempfile.mkstemp(prefix=".cifar-10-download.", suffix=".tar.gz", dir=root)
        request = urllib.request.Request(CIFAR_URL, headers={"User-Agent": "vae-explorer"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout_s) as response:
            total, done = int(response.headers.get("Content-Length") or 0), 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                done += len(chunk)
                _check(progress, done, total)
        if not check_integrity(archive, CIFAR_MD5):
            raise DatasetError(f"the download is corrupt (MD5 differs from {CIFAR_MD5})")
        unpacked = tempfile.mkdtemp(prefix=".cifar-10-unpack.", dir=root)
        extract_archive(archive, unpacked)
        os.replace(Path(unpacked) / CIFAR_FOLDER, root / CIFAR_FOLDER)
    except InterruptedError:
        raise
    except Exception as e:
        raise DatasetError(
            f"Could not download CIFAR-10 into {root} ({type(e).__name__}: {e}). Check the network "
            f"connection, or copy an existing {CIFAR_FOLDER} folder there, or use the built-in "
            f"'shapes' dataset, which needs no download."
        ) from e
    finally:
        if archive is not None and os.path.exists(archive):
            os.unlink(archive)
        if unpacked is not None:
            shutil.rmtree(unpacked, ignore_errors=True)


def load_cifar10(root: Path, download: bool = False, progress: Progress | None = None) -> Dataset:
    """Read CIFAR-10 from `root` (or root/cifar-10-batches-py); download first if allowed and absent.

    A local folder is checked by structure, not MD5 (re-pickled copies are fine). `progress`
    reports bytes while downloading, then batch files read; returning False cancels.
    """
    folder = find_cifar_folder(root)
    if not folder.is_dir():
        if not download:
            raise DatasetError(
                f"No CIFAR-10 found at {folder}. Download it (--download, or the Download button), "
                f"choose the folder that holds {CIFAR_FOLDER}, or use the 'shapes' dataset."
            )
        download_cifar10(folder.parent, progress=progress)
    classes = [f"class {i}" for i in range(10)]
    meta = folder / "batches.meta"
    if meta.is_file():
        try:
            with open(meta, "rb") as f:
                names = _ArrayUnpickler(f, encoding="latin1").load()["label_names"]
            if len(names) == 10:
                classes = [str(n) for n in names]
        except Exception as e:
            raise DatasetError(f"CIFAR-10 metadata {meta} is unreadable ({e}); replace the folder.") from e
    names = CIFAR_TRAIN + CIFAR_TEST
    parts = []
    for i, name in enumerate(names):
        parts.append(_read_cifar_batch(folder / name))
        _check(progress, i + 1, len(names))
    train, test = parts[:len(CIFAR_TRAIN)], parts[len(CIFAR_TRAIN):]
    return Dataset("cifar10", classes, _image_set(train), _image_set(test))


# ---------------------------------------------------------------- image folder

def _load_image(path, img_size: int, in_ch: int) -> np.ndarray:
    """Centre-crop to a square, resize to img_size -> [C, H, W] uint8. Raises on unreadable files.
    `path` may also be a binary file object."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("L" if in_ch == 1 else "RGB")
        w, h = im.size
        s = min(w, h)
        left, top = (w - s) // 2, (h - s) // 2
        im = im.crop((left, top, left + s, top + s)).resize((img_size, img_size), Image.BILINEAR)
        arr = np.array(im, dtype=np.uint8)  # a writable copy
    return arr[None] if in_ch == 1 else arr.transpose(2, 0, 1)


def load_image(source: str | Path | bytes, img_size: int, in_ch: int, name: str = "") -> np.ndarray:
    """One image file (a path, or its bytes), prepared as the image-folder loader prepares its images
    (centre crop, resize, RGB or grayscale) -> uint8 [C, H, W]. Anything else -> DatasetError."""
    import io

    from PIL import Image

    name = name or str(source if not isinstance(source, bytes) else "the pasted data")
    try:
        return _load_image(io.BytesIO(source) if isinstance(source, bytes) else Path(source), img_size, in_ch)
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as e:  # PIL's errors for bad files
        short = Path(name).name if not isinstance(source, bytes) else name
        raise DatasetError(f"{short} is not an image that can be read. Use a PNG, JPEG, BMP or WebP file.",
                           f"{name}: {type(e).__name__}: {e}") from e


def load_image_folder(
    root: Path, img_size: int = 32, in_ch: int = 3, test_fraction: float = 0.1, seed: int = 0
) -> Dataset:
    """Read root/<class>/*.png|jpg|jpeg|bmp|webp; unreadable files are skipped with a warning."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"Image folder {root} does not exist. Choose a folder laid out as "
                           f"<folder>/<class>/<images>.")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DatasetError(f"Image folder {root} has no class subfolders. Put images in {root}/<class name>/.")
    images, labels, skipped = [], [], 0
    for label, name in enumerate(classes):
        for path in sorted((root / name).iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
                continue
            try:
                images.append(_load_image(path, img_size, in_ch))
                labels.append(label)
            except Exception:  # corrupt or unsupported image: skip and count
                skipped += 1
    if skipped:
        warnings.warn(f"skipped {skipped} unreadable image file(s) in {root}", stacklevel=2)
    if not images:
        raise DatasetError(
            f"Image folder {root} has no readable images ({skipped} unreadable). "
            f"Add .png/.jpg/.jpeg/.bmp/.webp files under {root}/<class name>/."
        )
    x, y = np.stack(images), np.asarray(labels, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(len(y) * test_fraction)) if len(y) > 1 else 0
    test, train = order[:n_test], order[n_test:]
    if n_test == 0:
        test = train
    return Dataset(root.name, classes, ImageSet(x[train], y[train]), ImageSet(x[test], y[test]))


# ---------------------------------------------------------------- synthetic shapes

_SHAPES = [  # each maps coordinates (in units of the shape's radius) to a boolean mask
    lambda dx, dy: dx * dx + dy * dy <= 1,                                      # circle
    lambda dx, dy: np.maximum(abs(dx), abs(dy)) <= 0.8,                         # square
    lambda dx, dy: (dy <= 0.8) & (abs(dx) <= (dy + 0.9) * 0.55),                # triangle
    lambda dx, dy: abs(dx) + abs(dy) <= 1,                                      # diamond
    lambda dx, dy: abs(dx * dx + dy * dy - 0.68) <= 0.32,                       # ring
    lambda dx, dy: _plus(abs(dx), abs(dy)),                                     # plus
    lambda dx, dy: _plus(abs(dx + dy) / np.sqrt(2), abs(dx - dy) / np.sqrt(2)),  # cross
    lambda dx, dy: (abs(dy) <= 0.35) & (abs(dx) <= 1),                          # bar
    lambda dx, dy: abs(np.maximum(abs(dx), abs(dy)) - 0.725) <= 0.175,          # frame
    lambda dx, dy: (dx * dx + dy * dy <= 1) & (dy >= -0.1),                     # half-disc
]


def _plus(ax: np.ndarray, ay: np.ndarray) -> np.ndarray:
    return ((ax <= 0.3) & (ay <= 1)) | ((ay <= 0.3) & (ax <= 1))


def _shape_masks(kind: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Boolean [N, H, W] masks; dx, dy are [N, H, W] coordinates in units of each shape's radius."""
    out = np.empty(dx.shape, dtype=bool)
    for k, shape in enumerate(_SHAPES):
        sel = kind == k
        out[sel] = shape(dx[sel], dy[sel])
    return out


def _shapes_split(n: int, img_size: int, in_ch: int, seed: int) -> ImageSet:
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.int64) % 10
    rng.shuffle(labels)
    s = img_size
    radius = rng.uniform(0.22, 0.38, n) * s
    cx = rng.uniform(radius, s - radius)
    cy = rng.uniform(radius, s - radius)
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) + 0.5
    images = np.empty((n, 3, s, s), dtype=np.uint8)
    for start in range(0, n, 2000):  # chunks keep memory small
        sl = slice(start, min(n, start + 2000))
        r = radius[sl, None, None]
        dx = (xx[None] - cx[sl, None, None]) / r
        dy = (yy[None] - cy[sl, None, None]) / r
        mask = _shape_masks(labels[sl], dx, dy)[:, None]  # (b, 1, s, s)
        m = len(mask)
        bg = rng.uniform(0.0, 0.45, (m, 3, 1, 1))
        fg = rng.uniform(0.55, 1.0, (m, 3, 1, 1))
        swap = rng.random((m, 1, 1, 1)) < 0.3  # some light backgrounds with dark shapes
        bg, fg = np.where(swap, 1 - bg, bg), np.where(swap, 1 - fg, fg)
        img = np.where(mask, fg, bg) + rng.normal(0, 0.02, (m, 3, s, s))
        images[sl] = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    if in_ch == 1:
        gray = images.astype(np.float32).mean(axis=1, keepdims=True)
        images = gray.round().astype(np.uint8)
    return ImageSet(images, labels)


@functools.lru_cache(maxsize=2)
def make_shapes(n_train: int = 10000, n_test: int = 2000, img_size: int = 32, in_ch: int = 3, seed: int = 0) -> Dataset:
    """Ten classes of visibly different shapes, random colour/size/position; deterministic by seed. Made once
    per process and size (1.4 s for the default; a second window, or choosing Shapes again, shares it):
    nothing writes into a dataset's arrays."""
    return Dataset(
        "shapes", list(SHAPE_CLASSES),
        _shapes_split(n_train, img_size, in_ch, seed), _shapes_split(n_test, img_size, in_ch, seed + 10_000),
    )


# ---------------------------------------------------------------- dispatch

def load_dataset(
    spec: str, data_dir: Path | None = None, img_size: int = 32, in_ch: int = 3, download: bool = False,
    progress: Progress | None = None,
) -> Dataset:
    """`spec` is "cifar10", "shapes" or a path to an image folder. CIFAR-10 reports `progress`."""
    if spec == "shapes":
        return make_shapes(img_size=img_size, in_ch=in_ch)
    if spec == "cifar10":
        if img_size != 32 or in_ch != 3:
            raise DatasetError(f"CIFAR-10 images are 32 px, 3-channel (RGB), and this model takes {img_size} px, "
                               f"{in_ch}-channel ones; choose Shapes (made at any size) or an image folder")
        return load_cifar10(Path(data_dir) if data_dir else user_data_dir(), download, progress)
    return load_image_folder(Path(spec), img_size=img_size, in_ch=in_ch)
