"""Maps: what the app and the CLI ask of a model and one encoded map of a split, Qt-free.

`encode_and_project` makes a map (the CLI's `encode` and the app's Encode both call it); `MapLenses` holds its
lens values, computed the first time something asks; a `MapQuery` answers about it: a point's view, decoding a
spot, traversals, attribute walks, a selection's summary, placing a new image, interpolations. Every answer
is a dataclass of numpy values (uint8 [C, H, W] images).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data import ImageSet, Progress
from core.latent import decode, encode, interpolate
from core.lenses import (
    IMAGE_LENSES,
    LENSES,
    MODEL_LENSES,
    contrast,
    image_properties,
    kmeans_clusters,
    lens,
    medoids,
    mixture_components,
    model_properties,
)
from core.model import ConvVAE
from core.projection import PROJECTORS, Projected
from core.selection import Directions, Neighbours, attribute_walk, latent_neighbours, traversal, traversal_directions
from core.structure import class_structure


@dataclass
class MapData:
    """A latent map of one split (or of a subset of it: `indices`), ready to draw."""

    split: str
    labels: np.ndarray  # [N] int64
    coords: np.ndarray  # [N, 2] float32
    knn: float | None  # class structure of the latent means, core.structure's kNN (None for a live frame)
    projection: Projected  # its mu is None for a stored live-map frame
    indices: np.ndarray | None = None  # [N] image indices into the split; None: all of it, in order
    frame: int | None = None  # which live-map frame this is, if it is one

    @property
    def explained(self) -> np.ndarray | None:
        """[2] variance fractions of a PCA map's axes; None for a non-linear map."""
        return self.projection.explained

    def image_index(self, point: int) -> int:
        return int(point if self.indices is None else self.indices[point])

    def same_points(self, other: "MapData | None") -> bool:
        return (other is not None and other.split == self.split and self.indices is not None
                and other.indices is not None and np.array_equal(self.indices, other.indices))


def projection_steps(projection: str, n_images: int) -> int:
    """The progress total of `encode_and_project`: one unit per image encoded (counted at once when an earlier
    map's latents serve), then the projection's own."""
    return n_images + PROJECTORS[projection].steps


def encode_and_project(model: ConvVAE | None, split: str, data: ImageSet, projection: str = "pca",
                       progress: Progress | None = None, encoded: MapData | None = None) -> MapData:
    """Encode a split (or reuse `encoded`, an earlier map of the same model and split) and project it with
    PROJECTORS[projection]; also scores the kNN accuracy of the latent means. Nothing else: lens values
    (MapLenses) are computed when asked."""
    total = projection_steps(projection, len(data))
    report = progress or (lambda done, total: None)
    if encoded is not None:
        mu, knn = encoded.projection.mu, encoded.knn
    else:
        mu = encode(model, data.images, progress=lambda d, t: report(d, total))
        knn = class_structure(mu, data.labels)
    projected = PROJECTORS[projection].fit(mu, progress=lambda d, t: report(len(data) + d, total))
    return MapData(split, data.labels, projected.coords, knn, projected)


class MapLenses:
    """The lens values (core.lenses.LENSES) of one map's points, each computed the first time something asks:
    class at once, the image statistics from the pixels, the model's view (reconstruction error, KL, loss)
    with one encode-and-decode pass, clusters and mixture components from the latent means.

    `compute` only reads (it may run on a worker thread) and returns new arrays; `add` merges them in. A live
    frame with no latent means (`mu` None) has class and the image statistics only. Embeddings without a model
    (`decodable` False) have no model's view, those without images (`images` None) no image statistics, and
    their file's own `columns` ("col:NAME" lenses, or ours by name) from the start."""

    def __init__(self, labels: np.ndarray, images: np.ndarray | None, mu: np.ndarray | None,
                 columns: dict[str, np.ndarray] | None = None, decodable: bool = True) -> None:
        self.images, self.mu = images, mu  # the map's images uint8 [N, C, H, W] and latent means [N, D]
        self.decodable = decodable
        self._values: dict[str, np.ndarray] = {"class": np.asarray(labels, np.int64), **(columns or {})}

    def possible(self, name: str) -> bool:
        """Whether this map can have lens `name` (the model's view, clusters and dimensions need latent means)."""
        if name in self._values:
            return True
        if name not in LENSES:  # a latent dimension's, "z12", or no lens
            return (lens(name) is not None and name[0] == "z" and self.mu is not None
                    and int(name[1:]) < self.mu.shape[1])
        if name in IMAGE_LENSES:
            return self.images is not None
        if name in MODEL_LENSES:
            return self.mu is not None and self.decodable
        return self.mu is not None and len(self.mu) >= 2  # clusters need two points

    def missing(self, names=tuple(LENSES)) -> list[str]:
        return [n for n in names if self.possible(n) and n not in self._values]

    def get(self, name: str) -> np.ndarray | None:
        return self._values.get(name)

    def known(self) -> dict[str, np.ndarray]:
        """The values computed so far, in LENSES order, then latent dimensions (a new dict: later additions do not
        change it)."""
        return {n: self._values[n] for n in [*LENSES, *sorted(set(self._values) - set(LENSES))] if n in self._values}

    def columns(self) -> list[str]:
        """The lenses that came with the map's file (an embeddings file's columns), in their order."""
        return [n for n in self._values if n.startswith("col:")]

    def compute(self, names=tuple(LENSES), model: ConvVAE | None = None,
                progress: Progress | None = None) -> dict[str, np.ndarray]:
        """The values of `names` not known yet (those this map can have). `model` is needed for the model's view;
        `progress(done, total)` follows its pass over the images (False cancels: InterruptedError)."""
        wanted, out = set(self.missing(names)), {}
        if wanted & set(IMAGE_LENSES):
            out |= image_properties(self.images)
        if wanted & set(MODEL_LENSES):
            out |= model_properties(model, self.images, progress=progress)[1]
        if "cluster" in wanted:
            out["cluster"] = kmeans_clusters(self.mu)
        if "mixture" in wanted:
            out["mixture"] = mixture_components(self.mu)
        for name in wanted - set(LENSES):  # latent dimensions
            out[name] = self.mu[:, int(name[1:])].copy()
        return out

    def add(self, values: dict[str, np.ndarray]) -> None:
        self._values |= values

    def fill(self, names=tuple(LENSES), model: ConvVAE | None = None) -> dict[str, np.ndarray]:
        """Compute what is missing now (the CLI's encode writing columns) and return every value known."""
        self.add(self.compute(names, model))
        return self.known()


def pixel_structure(data: ImageSet) -> float:
    """The class structure of the raw pixels (core.structure): the reference a map's latents are measured against."""
    return class_structure(data.images, data.labels)


@dataclass(frozen=True)
class PointView:
    """A clicked map point: its image, reconstruction from its latent mean, and nearest neighbours."""

    point: int  # index into the map
    image_index: int  # index into the split
    label: int
    original: np.ndarray | None  # uint8 [C, H, W] (None: embeddings without images)
    reconstruction: np.ndarray | None  # uint8 [C, H, W] (None: embeddings without a model)
    neighbours: Neighbours


@dataclass(frozen=True)
class DecodedSpot:
    xy: tuple[float, float]
    image: np.ndarray  # uint8 [C, H, W]
    exact: bool  # decoded from the exact inverse (PCA) or from an estimate


@dataclass(frozen=True)
class Traversals:
    names: list[str]  # one per direction
    images: np.ndarray  # uint8 [K * steps, C, H, W], a row of `steps` per direction


@dataclass(frozen=True)
class SelectionSummary:
    count: int
    class_counts: np.ndarray  # [classes] int
    per_class: str  # "cat 12, dog 3", largest first
    mean_image: np.ndarray | None  # uint8 [C, H, W]: the decoded mean latent (None: no model)
    typical: np.ndarray | None = None  # [K] points: the selection's medoids in latent space, most typical first
    contrasts: tuple = ()  # core.lenses.Contrast of each property: the selection against the rest of the map


@dataclass(frozen=True)
class Placement:
    """An image from elsewhere, encoded and placed on the map."""

    latent: np.ndarray  # [D]
    xy: tuple[float, float]
    reconstruction: np.ndarray  # uint8 [C, H, W]
    neighbours: Neighbours


class MapQuery:
    """Answers about one map of one model. `images`: the whole split, uint8 [N_split, C, H, W]; `kl_dims`: the
    last evaluation's KL per latent dimension (the traversal directions prefer the dimensions that carry most).
    Embeddings without a model (`model` None) decode nothing (None where an image would be), and those without
    images (`images` None) show none."""

    def __init__(self, model: ConvVAE | None, images: np.ndarray | None, map_data: MapData, classes: list[str],
                 kl_dims: np.ndarray | None = None) -> None:
        self.model, self.map, self.classes, self._kl = model, map_data, classes, kl_dims
        self._split_images = images
        self._mu: np.ndarray | None = map_data.projection.mu
        self._directions: dict[int | None, Directions] = {}  # by the dimension walked first

    def images(self) -> np.ndarray | None:
        """The images of the map's points, uint8 [N, C, H, W] (None: there are none)."""
        if self._split_images is None or self.map.indices is None:
            return self._split_images
        return self._split_images[self.map.indices]

    def latents(self) -> np.ndarray:
        """The latent means [N, D] of the map's points (encoded once for a stored frame, which has none)."""
        if self._mu is None:
            self._mu = encode(self.model, self.images())
        return self._mu

    def decode(self, z: np.ndarray) -> np.ndarray | None:
        return decode(self.model, np.atleast_2d(z)) if self.model is not None else None

    def point(self, index: int, k: int = 8) -> PointView:
        image_index = self.map.image_index(index)
        original = self._split_images[image_index] if self._split_images is not None else None
        decoded = self.decode(self.latents()[index])
        return PointView(index, image_index, int(self.map.labels[index]), original,
                         decoded[0] if decoded is not None else None, latent_neighbours(self.latents(), index, k))

    def decode_at(self, xy) -> DecodedSpot:
        """Decode the map's inverse at a spot (exact for PCA, an estimate for t-SNE and UMAP)."""
        return DecodedSpot((float(xy[0]), float(xy[1])), self.decode(self.map.projection.to_latent(xy))[0],
                           self.map.projection.exact)

    def traversals(self, index: int, steps: int = 7, first: int | None = None) -> Traversals:
        """A point walked -3 to +3 sigma along PC1, PC2 and the 8 latent dimensions with the highest KL; latent
        dimension `first` (if given) walked first."""
        first = first if first is not None and first < self.latents().shape[1] else None  # another model's: none
        if first not in self._directions:  # once per map (and dimension asked for)
            kl = self._kl if self._kl is not None and not np.isnan(self._kl).all() else None
            self._directions[first] = traversal_directions(self.latents(), kl, first=first)
        d = self._directions[first]
        return Traversals(d.names, self.decode(traversal(self.latents()[index], d, steps)))

    def attribute_walk(self, index: int, source: np.ndarray, target: np.ndarray, strength: float) -> np.ndarray:
        """8 images uint8: point `index` moved from 0 to `strength` times the vector from the mean latent of
        the points `source` to that of the points `target`."""
        mu = self.latents()
        return self.decode(attribute_walk(mu[index], mu[source].mean(axis=0), mu[target].mean(axis=0), strength))

    def selection(self, points: np.ndarray, lenses: dict[str, np.ndarray] | None = None) -> SelectionSummary:
        """A selection's class counts, decoded mean, medoids, and each of the `lenses` values given (a
        MapLenses.known()) against the rest of the map."""
        counts = np.bincount(self.map.labels[points], minlength=len(self.classes))
        text = ", ".join(f"{self.classes[k]} {counts[k]:,}" for k in np.argsort(-counts, kind="stable") if counts[k])
        mean = self.decode(self.latents()[points].mean(axis=0, keepdims=True))
        mean = mean[0] if mean is not None else None
        contrasts = tuple(contrast(lenses, points)) if lenses else ()
        return SelectionSummary(len(points), counts, text, mean, medoids(self.latents(), points), contrasts)

    def place(self, image: np.ndarray, k: int = 8) -> Placement:
        """An image (uint8 [C, H, W], already the model's size) encoded and placed where the map puts it."""
        z = encode(self.model, image[None])[0]
        xy = self.map.projection.transform(z[None])[0]
        return Placement(z, (float(xy[0]), float(xy[1])), self.decode(z)[0],
                         latent_neighbours(self.latents(), None, k, z))

    def interpolation(self, a: int, b: int, steps: int = 10, mode: str = "linear") -> np.ndarray:
        """uint8 [steps, C, H, W] from point a to point b, linear or spherical."""
        mu = self.latents()
        return self.decode(interpolate(mu[a], mu[b], steps, mode))
