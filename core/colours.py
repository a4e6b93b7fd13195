"""Colours, in one place: the class palette (resources/palette.json), the dominant hues, viridis for numbers,
and a lens's colouring of a map's points (each point a code, each code a colour, a legend or a scale).

Qt-free RGB (uint8) so that the app's map and comparison (explorer.map_colours turns these into brushes) and
the CLI's PNGs (core.compare) colour alike.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from core import lenses
from core.lenses import HUES

LEVELS = 64  # colours a number is drawn with
HUE_RGB = {"red": "#d62728", "yellow": "#e5c100", "green": "#2ca02c", "cyan": "#17becf", "blue": "#1f5fd6",
           "magenta": "#c43dc4", "grey": "#8c8c8c"}
# viridis (matplotlib's perceptually uniform map) sampled at 17 even steps; linear between them
VIRIDIS = np.array([(68, 1, 84), (72, 23, 105), (71, 44, 122), (66, 63, 133), (59, 81, 139), (51, 98, 141),
                    (44, 113, 142), (38, 129, 142), (33, 144, 140), (31, 159, 136), (39, 173, 128), (61, 188, 115),
                    (92, 200, 98), (129, 211, 76), (170, 220, 49), (213, 226, 25), (253, 231, 37)], np.float64)


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


@lru_cache(maxsize=1)
def palette() -> dict:
    """resources/palette.json: the class colours and the loss curves' colours."""
    return json.loads(resources.files("resources").joinpath("palette.json").read_text(encoding="utf-8"))


def class_rgb(n: int) -> np.ndarray:
    """[n, 3] uint8: the fixed class colours; more than ten classes cycle through them."""
    colours = palette()["classes"]
    return np.array([hex_rgb(colours[i % len(colours)]) for i in range(n)], np.uint8).reshape(n, 3)


def viridis(t) -> np.ndarray:
    """Values 0..1 (clipped) -> [..., 3] uint8 on viridis."""
    x = np.clip(np.asarray(t, np.float64), 0, 1) * (len(VIRIDIS) - 1)
    lo = np.minimum(x.astype(int), len(VIRIDIS) - 2)
    f = (x - lo)[..., None]
    return np.round((1 - f) * VIRIDIS[lo] + f * VIRIDIS[lo + 1]).astype(np.uint8)


def category_names(name: str, values: np.ndarray, classes: list[str]) -> list[str]:
    """What each value of a category lens is called: class names, hue names, "cluster 3", "component 2"."""
    count = int(values.max()) + 1 if len(values) else 1
    if name == "class":
        return [classes[k] if k < len(classes) else str(k) for k in range(max(count, len(classes)))]
    if name == "hue":
        return list(HUES)
    prefix = {"cluster": "cluster", "mixture": "component"}.get(name, name)
    return [f"{prefix} {k}" for k in range(count)]


@dataclass(frozen=True)
class Colouring:
    """A lens's colours for a map's points: `codes` index `rgb`; a category has a legend, a number a scale."""

    name: str  # a core.lenses.lens name
    title: str
    codes: np.ndarray  # [N] int64: each point's colour
    rgb: np.ndarray  # [K, 3] uint8: the colour of each code
    legend: list[tuple[str, int]]  # (category with its count, code) of a category; empty for a number
    levels: tuple[float, float] | None = None  # a number's range: the colour scale's ends

    @property
    def point_rgb(self) -> np.ndarray:
        """[N, 3] uint8: each point's colour."""
        return self.rgb[self.codes]


def colouring(name: str, values: np.ndarray, classes: list[str]) -> Colouring:
    """Colour by lens `name`: classes in the class palette, hues in their own colours, other categories in the
    class palette, numbers on viridis from the 1st to the 99th percentile in LEVELS steps."""
    lens = lenses.lens(name)
    if lens.kind == "category":
        codes = np.asarray(values, np.int64)
        names = category_names(name, codes, classes)
        rgb = np.array([hex_rgb(HUE_RGB[n]) for n in names], np.uint8) if name == "hue" else class_rgb(len(names))
        counts = np.bincount(codes, minlength=len(names))
        legend = [(f"{n} ({c:,})", k) for k, (n, c) in enumerate(zip(names, counts))]
        return Colouring(name, lens.title, codes, rgb, legend)
    values = np.asarray(values, np.float64)
    lo, hi = np.nanpercentile(values, [1, 99]) if len(values) else (0.0, 1.0)
    hi = hi if hi > lo else lo + 1e-9
    codes = np.clip(((values - lo) / (hi - lo) * LEVELS).astype(np.int64), 0, LEVELS - 1)
    return Colouring(name, lens.title, codes, viridis((np.arange(LEVELS) + 0.5) / LEVELS), [], (float(lo), float(hi)))
