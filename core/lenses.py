"""Lenses: what organises a map. Properties of each image (brightness, saturation, dominant hue, contrast)
and of the model's view of it (reconstruction error, KL, loss), clusters of the latents, and how well the
latent means -- or raw pixels, as the reference -- predict each property.

Numbers and categories are scored by core.structure's one kNN protocol (R^2, accuracy); `linear_probe_accuracy`
is the class probe of representation-learning papers (logistic regression fitted on one split, scored on another).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.structure import varies

HUES = ("red", "yellow", "green", "cyan", "blue", "magenta", "grey")
IMAGE_LENSES = ("brightness", "saturation", "hue", "contrast")  # from the pixels alone (no model)
MODEL_LENSES = ("recon_error", "kl", "loss")  # the model's view: one encode-and-decode pass


@dataclass(frozen=True)
class Lens:
    name: str
    title: str
    kind: str  # "number" or "category"
    help: str


LENSES = {lens.name: lens for lens in (
    Lens("class", "class", "category", "the dataset's label"),
    Lens("brightness", "brightness", "number", "mean luminance, 0 (black) to 1 (white)"),
    Lens("saturation", "saturation", "number", "mean colour saturation (HSV), 0 grey to 1 vivid"),
    Lens("hue", "dominant hue", "category", "the hue most of the image's saturated pixels have (grey: few)"),
    Lens("contrast", "contrast (edges)", "number", "mean gradient magnitude of the luminance: edge energy"),
    Lens("recon_error", "reconstruction error", "number", "mean squared error of the decoded latent mean"),
    Lens("kl", "KL (nats)", "number", "KL of the image's posterior from the prior, summed over dimensions"),
    Lens("loss", "loss (per image)", "number", "summed squared error plus KL: the ELBO's terms for this image"),
    Lens("cluster", "k-means cluster", "category", "k-means of the latent means"),
    Lens("mixture", "mixture component", "category", "the most likely component of a Gaussian mixture fit"),
)}


def dimension_name(d: int) -> str:
    """The lens of latent dimension d: "z12" colours each point by its latent mean's value there."""
    return f"z{d}"


def lens(name: str) -> Lens | None:
    """LENSES[name], the lens of a latent dimension ("z12") or of an embeddings file's column ("col:score"), or
    None for a name that is none of them."""
    if name in LENSES:
        return LENSES[name]
    if name.startswith("z") and name[1:].isdigit():
        return Lens(name, f"latent dimension {name[1:]}", "number", "each point's latent mean on this dimension")
    if name.startswith("col:") and len(name) > 4:
        return Lens(name, name[4:], "number", "a column of the embeddings file")
    return None


def image_properties(images: np.ndarray, chunk: int = 4096) -> dict[str, np.ndarray]:
    """brightness, saturation, hue (index into HUES) and contrast of uint8 [N, C, H, W] images, in chunks."""
    out = {k: [] for k in ("brightness", "saturation", "hue", "contrast")}
    for i in range(0, len(images), chunk):
        x = images[i:i + chunk].astype(np.float32) / 255
        if x.shape[1] == 1:
            x = np.repeat(x, 3, axis=1)
        r, g, b = x[:, 0], x[:, 1], x[:, 2]
        luma = 0.299 * r + 0.587 * g + 0.114 * b
        hi, lo = x.max(1), x.min(1)
        sat = np.where(hi > 0, (hi - lo) / np.maximum(hi, 1e-6), 0)
        # hue in sixths of the circle (HSV), counted over pixels saturated enough to have one
        span = np.maximum(hi - lo, 1e-6)
        hue = np.where(hi == r, ((g - b) / span) % 6, np.where(hi == g, (b - r) / span + 2, (r - g) / span + 4))
        bins = np.floor((hue + 0.5) % 6).astype(np.int64)  # red centred on 0
        coloured = (sat > 0.25) & (hi > 0.15)
        counts = np.stack([((bins == h) & coloured).sum((1, 2)) for h in range(6)], 1)
        dominant = np.where(coloured.mean((1, 2)) > 0.1, counts.argmax(1), len(HUES) - 1)
        gy, gx = np.diff(luma, axis=1)[:, :, :-1], np.diff(luma, axis=2)[:, :-1, :]  # forward differences
        out["brightness"].append(luma.mean((1, 2)))
        out["saturation"].append(sat.mean((1, 2)))
        out["hue"].append(dominant)
        out["contrast"].append(np.sqrt(gx * gx + gy * gy).mean((1, 2)))
    return {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in out.items()}


def model_properties(model, images: np.ndarray, batch_size: int = 500, progress=None):
    """(mu [N, D], {"recon_error", "kl", "loss"}) of uint8 images in one pass: encode, decode the mean.
    `progress(done, total)` after each batch; returning False cancels (InterruptedError)."""
    import torch

    from core.latent import _device, evaluating
    from core.model import to_float

    device, mus, props = _device(model), [], {"recon_error": [], "kl": [], "loss": []}
    with evaluating(model):
        for i in range(0, len(images), batch_size):
            x = to_float(torch.from_numpy(images[i:i + batch_size]).to(device))
            mu, logvar = model.encode(x)
            sq = (model.decode(mu).float() - x).pow(2).flatten(1).sum(1)
            kl = 0.5 * (mu.float().pow(2) + logvar.float().exp() - 1 - logvar.float()).sum(1)
            mus.append(mu.float().cpu().numpy())
            props["recon_error"].append((sq / x[0].numel()).cpu().numpy())
            props["kl"].append(kl.cpu().numpy())
            props["loss"].append((sq + kl).cpu().numpy())
            if progress is not None and progress(min(i + batch_size, len(images)), len(images)) is False:
                raise InterruptedError("encoding cancelled")
    dim = model.config.latent_dim
    mu = np.concatenate(mus) if mus else np.zeros((0, dim), np.float32)
    return mu, {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in props.items()}


def kmeans_clusters(mu: np.ndarray, k: int = 10, seed: int = 0) -> np.ndarray:
    from sklearn.cluster import MiniBatchKMeans

    k = max(1, min(k, len(mu)))
    return MiniBatchKMeans(k, random_state=seed, n_init=3, batch_size=2048).fit_predict(mu).astype(np.int64)


def mixture_components(mu: np.ndarray, k: int = 10, seed: int = 0) -> np.ndarray:
    from sklearn.mixture import GaussianMixture

    k = max(1, min(k, len(mu)))
    return GaussianMixture(k, covariance_type="diag", random_state=seed).fit(mu).predict(mu).astype(np.int64)


def predictability(features: np.ndarray, values: np.ndarray, kind: str, seed: int = 0,
                   max_points: int = 5000) -> float:
    """How well `features` predict `values`: the one protocol of core.structure (kNN accuracy for categories,
    R^2 of the kNN's weighted mean for numbers)."""
    from core.structure import knn_score

    return knn_score(features, values, kind, seed, max_points)


@dataclass(frozen=True)
class Predicted:
    """How well the latents (and raw pixels) predict one property."""

    name: str
    kind: str
    latent: float  # accuracy or R^2
    pixels: float
    chance: float  # accuracy of always guessing the commonest category (0 for numbers)

    @property
    def score(self) -> float:
        """Comparable across kinds: R^2, or accuracy above chance as a share of the room above it."""
        return self.latent if self.kind == "number" else (self.latent - self.chance) / max(1 - self.chance, 1e-9)

    @property
    def figure(self) -> str:
        return (f"R² {self.latent:.2f}" if self.kind == "number" else f"kNN {100 * self.latent:.0f} %") + \
            (f" (pixels {self.pixels:.2f})" if self.kind == "number" else f" (pixels {100 * self.pixels:.0f} %)")


def what_latents_predict(mu: np.ndarray, images: np.ndarray, properties: dict[str, np.ndarray],
                         names=None, max_points: int = 5000) -> list[Predicted]:
    """For each property (by default every one given): latents vs pixels, ranked by `score`, best first. Class
    is always scored on the protocol's own points (core.structure.MAX_POINTS): the figure the map's caption
    and the runs table show for the same model."""
    from core.structure import MAX_POINTS

    out = []
    for name in names or properties:
        values, kind = properties[name], lens(name).kind
        chance = float(np.bincount(values.astype(np.int64)).max() / len(values)) if kind == "category" else 0.0
        n = MAX_POINTS if name == "class" else max_points
        pixels = predictability(images, values, kind, max_points=n) if images is not None else float("nan")
        out.append(Predicted(name, kind, predictability(mu, values, kind, max_points=n), pixels, chance))
    return sorted(out, key=lambda p: -p.score)


@dataclass(frozen=True)
class Contrast:
    """One property of a selection against the rest of the map."""

    name: str
    inside: float  # the selection's mean (numbers) or share of its commonest category
    outside: float  # the same for the rest of the map
    hist_inside: np.ndarray  # [BINS] shares over the map's range (numbers) or over the categories
    hist_outside: np.ndarray
    category: int | None = None  # the selection's commonest category (categories)

    def sparkline(self, which: str) -> str:
        bars = "▁▂▃▄▅▆▇█"
        h = self.hist_inside if which == "inside" else self.hist_outside
        top = max(float(h.max()), 1e-9)
        return "".join(bars[min(int(v / top * (len(bars) - 1) + 0.5), len(bars) - 1)] for v in h)


BINS = 10


def contrast(properties: dict[str, np.ndarray], points: np.ndarray) -> list[Contrast]:
    """Each property's distribution in the selected `points` against the other points of the map."""
    rest = np.ones(len(properties["class"]), bool)
    rest[points] = False
    out = []
    for name, values in properties.items():
        if name not in LENSES or name == "class":
            continue
        inside, outside = values[points], values[rest] if rest.any() else values[:0]
        if lens(name).kind == "number":
            edges = np.linspace(*np.nanpercentile(values, [1, 99]), BINS + 1) if len(values) else np.arange(BINS + 1)
            hist = [np.histogram(np.clip(v, edges[0], edges[-1]), edges)[0] / max(len(v), 1) for v in (inside, outside)]
            out.append(Contrast(name, float(inside.mean()), float(outside.mean()) if len(outside) else float("nan"),
                                *hist))
        else:
            k = int(values.max()) + 1
            hist = [np.bincount(v.astype(np.int64), minlength=k) / max(len(v), 1) for v in (inside, outside)]
            top = int(hist[0].argmax())
            out.append(Contrast(name, float(hist[0][top]), float(hist[1][top]), *hist, category=top))
    return out


def medoids(mu: np.ndarray, points: np.ndarray, k: int = 8, sample: int = 1000, seed: int = 0) -> np.ndarray:
    """The `k` selected points with the smallest mean distance in latent space to the others (a sample of
    them for a large selection): the selection's most typical members, most typical first."""
    if len(points) == 0:
        return np.zeros(0, np.int64)
    rng = np.random.default_rng(seed)
    ref = points if len(points) <= sample else rng.choice(points, sample, replace=False)
    x, r = mu[points].astype(np.float64), mu[ref].astype(np.float64)
    d2 = (x * x).sum(1)[:, None] + (r * r).sum(1)[None] - 2 * x @ r.T
    spread = np.sqrt(np.maximum(d2, 0)).mean(1)
    return np.asarray(points)[np.argsort(spread, kind="stable")[:k]]


@dataclass(frozen=True)
class ClusterLabel:
    """A cluster of the map's latents, described in words at the middle of its points."""

    cluster: int
    xy: tuple[float, float]  # the median of its points on the map
    size: int
    text: str  # "dark, blue: ship 41 %"
    medoid: int  # its most typical point


def _words(properties: dict[str, np.ndarray], members: np.ndarray) -> list[str]:
    """What sets a cluster apart, in words: each property whose cluster mean is in the map's outer thirds."""
    words = []
    for name, low, high in (("brightness", "dark", "bright"), ("saturation", "grey", "vivid"),
                            ("contrast", "smooth", "busy")):
        if name in properties:
            lo, hi = np.percentile(properties[name], [33, 67])
            mean = properties[name][members].mean()
            words += [low] if mean < lo else [high] if mean > hi else []
    if "hue" in properties:
        counts = np.bincount(properties["hue"][members].astype(np.int64), minlength=len(HUES))
        top = int(counts.argmax())
        if HUES[top] != "grey" and counts[top] >= 0.35 * len(members):
            words.append(HUES[top])
    return words


def choose_k(mu: np.ndarray, candidates=(2, 4, 6, 8, 10, 12, 16), seed: int = 0) -> int:
    """The number of Gaussian-mixture components (diagonal covariances) with the lowest BIC."""
    from sklearn.mixture import GaussianMixture

    sample = mu if len(mu) <= 5000 else mu[np.random.default_rng(seed).choice(len(mu), 5000, replace=False)]
    bics = {k: GaussianMixture(k, covariance_type="diag", random_state=seed).fit(sample).bic(sample)
            for k in candidates if k < len(sample)}
    return min(bics, key=bics.get) if bics else 1


def cluster_labels(mu: np.ndarray, coords: np.ndarray, properties: dict[str, np.ndarray], classes: list[str],
                   k: int = 0, seed: int = 0) -> list[ClusterLabel]:
    """k-means clusters of the latent means (k = 0: k by BIC), each labelled with what sets it apart and its
    commonest class, biggest first."""
    k = k or choose_k(mu, seed=seed)
    assign = kmeans_clusters(mu, k, seed)
    labels = properties["class"]
    out = []
    for c in range(int(assign.max()) + 1):
        members = np.flatnonzero(assign == c)
        if not len(members):
            continue
        counts = np.bincount(labels[members], minlength=len(classes))
        top = int(counts.argmax())
        words = _words(properties, members)
        share = f"{classes[top] if top < len(classes) else top} {100 * counts[top] / len(members):.0f} %"
        text = (", ".join(words) + ": " if words else "") + share
        xy = np.median(coords[members], axis=0)
        out.append(ClusterLabel(c, (float(xy[0]), float(xy[1])), len(members), text, int(medoids(mu, members, 1)[0])))
    return sorted(out, key=lambda label: -label.size)


@dataclass(frozen=True)
class LensReport:
    """What a map's latents are organised by: each property ranked, and the linear class probe."""

    ranked: list[Predicted]
    probe: float  # logistic regression on the latent means -> class, held-out accuracy
    pixel_probe: float  # the same on raw pixels
    dimensions: DimensionLens | None = None  # which property each active dimension follows

    @property
    def headline(self) -> str:
        """"This model's latents follow brightness (R^2 0.9) more than class (kNN 34 %)"."""
        top = self.ranked[0]
        cls = next((p for p in self.ranked if p.name == "class"), None)
        first = f"These latents follow {lens(top.name).title} most ({top.figure.split(' (')[0]})"
        if cls is None or cls is top:
            return first + "."
        return first + f", more than class ({cls.figure.split(' (')[0]})."


def lens_report(mu: np.ndarray, images: np.ndarray, properties: dict[str, np.ndarray], seed: int = 0,
                max_points: int = 2000, classes: list[str] | None = None, kl_dims=None) -> LensReport:
    """`what_latents_predict` for every property but the clusters of these very latents, plus the class probe
    (fitted on 80 % of up to `max_points` images of the map, scored on the rest), and with `classes` the
    `dimension_lens`. 2,000 points keep the raw pixels' side (3,072 numbers an image) to seconds on two cores."""
    from sklearn.model_selection import train_test_split

    names = [n for n in properties if n not in ("cluster", "mixture") and varies(properties[n])]
    ranked = what_latents_predict(mu, images, properties, names, max_points)
    idx = np.sort(np.random.default_rng(seed).permutation(len(mu))[:max_points])
    labels = properties["class"][idx]
    probes = []
    for x in (mu[idx], images[idx] if images is not None else None):  # no probe without images, or of one class
        if x is None or not varies(labels):
            probes.append(float("nan"))
            continue
        x_tr, x_te, y_tr, y_te = train_test_split(x, labels, test_size=0.2, random_state=seed)
        probes.append(linear_probe_accuracy(x_tr, y_tr, x_te, y_te))
    dims = dimension_lens(mu, properties, classes, kl_dims, seed=seed) if classes is not None else None
    return LensReport(ranked, *probes, dims)


@dataclass(frozen=True)
class DimensionLens:
    """Which property each active latent dimension follows: Spearman's rank correlation of the dimension's
    latent means with brightness, saturation and contrast, and with each hue and each class one-vs-rest."""

    dims: list[int]  # the active dimensions, most KL (or variance of the means) first
    activity: list[str]  # "KL 2.31" (or "var 0.84") of each
    columns: list[str]  # "brightness", ..., "hue: red", ..., "class: cat", ...
    rho: np.ndarray  # [dims, columns] in [-1, 1]

    def follows(self, row: int) -> str:
        """"z12 follows brightness (ρ 0.81)": the column of the largest |rho| in a row."""
        c = int(np.argmax(np.abs(self.rho[row])))
        return f"{dimension_name(self.dims[row])} follows {self.columns[c]} (ρ {self.rho[row, c]:+.2f})"


def dimension_lens(mu: np.ndarray, properties: dict[str, np.ndarray], classes: list[str], kl_dims=None,
                   max_dims: int = 16, max_points: int = 5000, seed: int = 0) -> DimensionLens:
    """Spearman's rho of each active dimension (KL above 0.1 nat, or, without KL, a variance of the means above
    0.01: core.loss's thresholds), at most `max_dims` of them, on up to `max_points` points."""
    from scipy.stats import rankdata

    from core.loss import ACTIVE_VARIANCE, INFORMATIVE_NATS

    idx = np.sort(np.random.default_rng(seed).permutation(len(mu))[:max_points])
    by_kl = kl_dims is not None and len(kl_dims) == mu.shape[1] and not np.isnan(np.asarray(kl_dims, float)).all()
    score = np.asarray(kl_dims, float) if by_kl else mu[idx].var(axis=0)
    order = [int(d) for d in np.argsort(-score) if score[d] > (INFORMATIVE_NATS if by_kl else ACTIVE_VARIANCE)]
    dims = order[:max_dims]
    columns, values = [], []
    numbers = [n for n in properties if lens(n).kind == "number" and n in ("brightness", "saturation", "contrast")
               or n.startswith("col:")]  # an embeddings file's columns too
    for name in numbers:
        columns.append(lens(name).title)
        values.append(properties[name][idx])
    for name, labels in (("hue", HUES), ("class", classes)):
        if name not in properties or not varies(properties[name]):
            continue
        codes = properties[name][idx]
        for k in np.unique(codes):
            columns.append(f"{name}: {labels[k]}")
            values.append((codes == k).astype(float))  # one-vs-rest
    def standard_ranks(x: np.ndarray) -> np.ndarray:  # [N, K] -> ranks scaled to mean 0, norm 1 per column
        r = rankdata(x, axis=0)
        r -= r.mean(axis=0)
        return r / np.maximum(np.linalg.norm(r, axis=0), 1e-12)

    rho = standard_ranks(mu[idx][:, dims]).T @ standard_ranks(np.stack(values, axis=1))  # Pearson's r of ranks
    what = "KL" if by_kl else "var"
    return DimensionLens(dims, [f"{what} {score[d]:.2f}" for d in dims], columns, rho)


def linear_probe_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                          max_iter: int = 300) -> float:
    """Accuracy on the test rows of a logistic regression fitted on the (standardised) train rows."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from core.structure import flat

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, C=0.1))
    with warnings.catch_warnings():  # a probe stopped at max_iter still ranks features; it is a measure, not a model
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(flat(train_x), train_y)
    return float(probe.score(flat(test_x), test_y))
