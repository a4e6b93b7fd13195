"""Colours, in one place: the class palette (resources/palette.json), the dominant hues, three perceptual maps
for numbers (viridis, cividis, and a diverging one for signed values), and a lens's colouring of a map's points
(each point a code, each code a colour, a legend or a scale: ColourScale says which range, map and log scale).

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
# cividis (Nunez et al. 2018, CC0; readable with colour-vision deficiency), 17 steps as viridis
CIVIDIS = np.array([(0, 32, 77), (0, 44, 105), (6, 54, 110), (45, 66, 108), (65, 77, 107), (82, 89, 108),
                    (97, 100, 111), (111, 112, 115), (125, 124, 120), (139, 135, 121), (155, 148, 119), (172, 161, 116),
                    (188, 175, 111), (206, 188, 104), (224, 203, 94), (242, 218, 80), (255, 234, 70)], np.float64)
# CET-D1 (Kovesi's perceptually uniform diverging blue-white-red, CC-BY 4.0), for signed values around 0
DIVERGING = np.array([(33, 81, 219), (82, 98, 222), (112, 117, 226), (138, 136, 229), (160, 156, 232),
                      (182, 177, 234), (202, 197, 237), (221, 219, 239), (238, 231, 233), (242, 215, 208),
                      (240, 190, 178), (237, 165, 148), (231, 140, 119), (224, 115, 91), (215, 88, 63), (204, 57, 36),
                      (192, 2, 6)], np.float64)
COLOUR_MAPS = {"viridis": VIRIDIS, "cividis": CIVIDIS, "diverging": DIVERGING}


@dataclass(frozen=True)
class ColourScale:
    """How a number lens is coloured: its range (both None: the 1st to 99th percentile, symmetric around 0 on
    the diverging map), one of COLOUR_MAPS, and a log10 scale (values at or below 0 draw at the low end)."""

    low: float | None = None
    high: float | None = None
    cmap: str = "viridis"
    log: bool = False


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


def ramp(t, cmap: str = "viridis") -> np.ndarray:
    """Values 0..1 (clipped) -> [..., 3] uint8 on COLOUR_MAPS[cmap]."""
    table = COLOUR_MAPS[cmap]
    x = np.clip(np.asarray(t, np.float64), 0, 1) * (len(table) - 1)
    lo = np.minimum(x.astype(int), len(table) - 2)
    f = (x - lo)[..., None]
    return np.round((1 - f) * table[lo] + f * table[lo + 1]).astype(np.uint8)


def viridis(t) -> np.ndarray:
    """Values 0..1 (clipped) -> [..., 3] uint8 on viridis."""
    return ramp(t, "viridis")


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
    levels: tuple[float, float] | None = None  # a number's range: the colour scale's ends (log10 on a log scale)
    cmap: str = "viridis"  # a number's map, a COLOUR_MAPS key
    log: bool = False  # a number on a log10 scale (`levels` are log10 of the values)

    @property
    def point_rgb(self) -> np.ndarray:
        """[N, 3] uint8: each point's colour."""
        return self.rgb[self.codes]


def colouring(name: str, values: np.ndarray, classes: list[str], scale: ColourScale = ColourScale()) -> Colouring:
    """Colour by lens `name`: classes in the class palette, hues in their own colours, other categories in the
    class palette, numbers in LEVELS steps of the `scale`'s map over its range (by default the 1st to the 99th
    percentile)."""
    lens = lenses.lens(name)
    if lens.kind == "category":
        codes = np.asarray(values, np.int64)
        names = category_names(name, codes, classes)
        rgb = np.array([hex_rgb(HUE_RGB[n]) for n in names], np.uint8) if name == "hue" else class_rgb(len(names))
        counts = np.bincount(codes, minlength=len(names))
        legend = [(f"{n} ({c:,})", k) for k, (n, c) in enumerate(zip(names, counts))]
        return Colouring(name, lens.title, codes, rgb, legend)
    values = np.asarray(values, np.float64)
    title = f"log10 {lens.title}" if scale.log else lens.title
    if scale.log:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(values > 0, np.log10(np.where(values > 0, values, 1)), np.nan)
    if scale.low is not None and scale.high is not None:
        lo, hi = (np.log10(max(v, 1e-300)) for v in (scale.low, scale.high)) if scale.log else (scale.low, scale.high)
    elif np.isfinite(values).any():
        lo, hi = np.nanpercentile(values, [1, 99])
        if scale.cmap == "diverging":  # 0 in the middle, white
            lo, hi = -max(abs(lo), abs(hi)), max(abs(lo), abs(hi))
    else:
        lo, hi = 0.0, 1.0
    hi = hi if hi > lo else lo + 1e-9
    with np.errstate(invalid="ignore"):
        codes = np.clip(np.nan_to_num((values - lo) / (hi - lo) * LEVELS, nan=0.0), 0, LEVELS - 1).astype(np.int64)
    return Colouring(name, title, codes, ramp((np.arange(LEVELS) + 0.5) / LEVELS, scale.cmap), [],
                     (float(lo), float(hi)), scale.cmap, scale.log)
