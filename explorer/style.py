"""Bundled resources (palette, icon) read with importlib.resources, so they work when frozen too."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from PySide6.QtGui import QColor, QIcon, QPixmap


@lru_cache(maxsize=1)
def palette() -> dict:
    return json.loads(resources.files("resources").joinpath("palette.json").read_text(encoding="utf-8"))


def class_colors(n: int = 10) -> list[QColor]:
    """The fixed class colours; more than ten classes cycle through them."""
    colors = palette()["classes"]
    return [QColor(colors[i % len(colors)]) for i in range(n)]


def curve_color(name: str) -> str:
    return palette()["curves"][name]


def app_icon() -> QIcon:
    data = resources.files("resources").joinpath("icon.svg").read_bytes()
    pixmap = QPixmap()
    pixmap.loadFromData(data, "SVG")
    return QIcon(pixmap)
