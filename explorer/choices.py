"""Choices: everything the user chose about what the app shows (the map's split, projection, colour lens and
its scale, cluster labels, hidden classes, point size and opacity, drag mode, ... and the runs ticked to compare).

Plain values, no Qt: the session holds one and says when it changes, the widgets draw it, the settings keep
it (`to_dict` / `from_dict`, which drops what it does not know).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

SPLITS = ("test", "train", "all")
PROJECTIONS = ("pca", "tsne", "umap")
DRAG_MODES = ("pan", "rectangle", "lasso")
# one dataset's or one model's: a restart starts without them
NOT_KEPT = ("hidden_classes", "attribute_from", "attribute_to", "walk_dimension")
INTERPOLATIONS = ("linear", "spherical")
COLOUR_MAPS = ("viridis", "cividis", "diverging")  # core.colours.COLOUR_MAPS


@dataclass(frozen=True)
class Choices:
    split: str = "test"  # which images the map encodes: one of SPLITS
    projection: str = "pca"  # PROJECTIONS
    colour_by: str = "class"  # a core.lenses.lens name: a LENSES key or a latent dimension's ("z12")
    colour_range: tuple = ()  # a number lens's (low, high), typed; (): auto, the 1st to 99th percentile
    colour_map: str = "viridis"  # COLOUR_MAPS: a number lens's colours
    colour_log: bool = False  # a number lens on a log10 scale
    cluster_labels: bool = False  # label the latents' clusters on the map
    cluster_k: int = 0  # how many clusters; 0: k by BIC
    hidden_classes: frozenset = frozenset()  # class indices not drawn (or drawn grey)
    point_size: int = 5  # px
    opacity: int = 80  # percent
    grey_hidden: bool = False  # draw hidden classes grey instead of not at all
    centroids: bool = False  # class ellipses (1 sigma)
    images: bool = True  # points as their images when zoomed in
    drag_mode: str = "pan"  # DRAG_MODES
    ticked_runs: tuple = ()  # paths of the runs whose curves are overlaid (and compared)
    interpolation: str = "linear"  # INTERPOLATIONS: between two shift-clicked points
    attribute_from: str = ""  # an attribute vector's start: a class, "selection" or "group A" ("": the first)
    attribute_to: str = ""  # and its end ("": the second)
    attribute_strength: float = 1.0  # how far along it the walk goes: 0.5 to 3
    walk_dimension: int = -1  # a latent dimension the traversals walk first (the Lenses tab's heatmap); -1: none

    @property
    def cluster_count(self) -> int | None:
        """None: no cluster labels; 0: k by BIC; else k."""
        return self.cluster_k if self.cluster_labels else None

    @property
    def colour_scale(self):
        """core.colours.ColourScale of these choices."""
        from core.colours import ColourScale

        return ColourScale(*(self.colour_range or (None, None)), self.colour_map, self.colour_log)

    @property
    def alpha(self) -> int:
        """The points' opacity, 0-255."""
        return int(255 * self.opacity / 100)

    def with_changes(self, **changes) -> "Choices":
        """A copy with `changes` (ValueError for a name or value that is not a choice)."""
        new = replace(self, **changes)
        problem = new.problem()
        if problem:
            raise ValueError(problem)
        return new

    def problem(self) -> str:
        """What is wrong with these values ("" when nothing)."""
        from core.lenses import LENSES, lens

        allowed = {"split": SPLITS, "projection": PROJECTIONS, "drag_mode": DRAG_MODES, "interpolation": INTERPOLATIONS,
                   "colour_map": COLOUR_MAPS}
        for name, values in allowed.items():
            if getattr(self, name) not in values:
                return f"{name} must be one of {', '.join(values)}, not {getattr(self, name)!r}"
        r = self.colour_range
        if r and not (len(r) == 2 and all(isinstance(v, (int, float)) and math.isfinite(v) for v in r) and r[0] < r[1]):
            return f"a colour range is two numbers, the low one first, not {', '.join(map(str, r))}"
        if lens(self.colour_by) is None:
            return f"colour_by must be one of {', '.join(LENSES)} or a latent dimension (z0, z1, ...), not " \
                   f"{self.colour_by!r}"
        if not (0 <= self.cluster_k <= 40 and 1 <= self.point_size <= 20 and 10 <= self.opacity <= 100
                and 0.5 <= self.attribute_strength <= 3 and self.walk_dimension >= -1):
            return "cluster_k must be 0-40, point_size 1-20, opacity 10-100, attribute_strength 0.5-3 and " \
                   "walk_dimension -1 or more"
        return ""

    def to_dict(self, everything: bool = False) -> dict:
        """What a restart keeps (`everything`: and what a saved view keeps, NOT_KEPT too), as JSON-ready values."""
        kept = {k: v for k, v in asdict(self).items() if everything or k not in NOT_KEPT}
        kept |= {k: sorted(v) if isinstance(v, frozenset) else list(v) for k, v in kept.items()
                 if isinstance(v, (tuple, frozenset))}
        return kept

    @classmethod
    def from_dict(cls, saved: dict, everything: bool = False) -> "Choices":
        """Saved choices, each value that is missing, of the wrong type or out of range left at its default."""
        choices = cls()
        for f in fields(cls):
            if (f.name in NOT_KEPT and not everything) or f.name not in saved:
                continue
            value, default = saved[f.name], getattr(choices, f.name)
            if isinstance(value, list) and isinstance(default, (tuple, frozenset)):
                value = type(default)(value)
            if type(value) is not type(default):
                continue
            try:
                choices = choices.with_changes(**{f.name: value})
            except ValueError:
                pass
        return choices
