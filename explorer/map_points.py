"""The map's points: pyqtgraph's ScatterPlotItem with a cheaper frame. A pan or zoom redraws the same
points with the same symbols, so what does not change with the view is kept between frames.

The fast frame reads pyqtgraph internals (the fragment buffer, the export flag, each point's atlas
rectangle); pyproject pins pyqtgraph below the next minor release, and the first MapPoints checks that
they are still there. Where they are not, it logs a warning and ScatterPlotItem paints every frame itself.
"""
from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg

log = logging.getLogger(__name__)


# what MapPoints reads of ScatterPlotItem beyond its public API: methods, then attributes with the members used
PRIVATE_METHODS = ("_style", "_maybeRebuildAtlas", "pixelVectors")
PRIVATE_MEMBERS = {"_pixmapFragments": ("resize", "ndarray", "drawargs"),
                   "fragmentAtlas": ("devicePixelRatio", "__getitem__")}


def has_internals(item: pg.ScatterPlotItem) -> bool:
    """Whether `item` still has everything the fast frame and `recolour` read (pyqtgraph 0.13.4 to 0.14 have it):
    every private method, attribute and member they use, the data columns and the cache option."""
    if not hasattr(item, "_exportOpts") or not all(callable(getattr(item, name, None)) for name in PRIVATE_METHODS):
        return False
    for name, members in PRIVATE_MEMBERS.items():
        value = getattr(item, name, None)
        if value is None or not all(callable(getattr(value, member, None)) for member in members):
            return False
    return (isinstance(getattr(type(item.fragmentAtlas), "pixmap", None), property) and "useCache" in item.opts
            and {"sourceRect", "visible", "x", "y", "brush"} <= set(item.data.dtype.names or ()))


class MapPoints(pg.ScatterPlotItem):
    """Draws exactly what ScatterPlotItem draws (same atlas, same fragments, same order), but per frame
    it only maps the points to the screen: each point's atlas rectangle and scale are kept from the
    last change of points or styles, the data bounds are kept across view changes (sizes are in pixels),
    and culling is skipped when every point is in view. Anything else (export, sizes in data units, a
    new device pixel ratio) is left to ScatterPlotItem.paint.
    """

    _columns: np.ndarray | None = None  # [N, 8] float: atlas x, y, w, h, scale x, scale y, rotation, opacity
    _half = 0.0  # the largest symbol's half size in pixels, from _columns
    _holds_all = False  # the fragment buffer holds _columns for every point (all were in view last frame)
    fast: bool | None = None  # whether this pyqtgraph has what the fast frame reads (checked once)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if MapPoints.fast is None:
            MapPoints.fast = has_internals(self)
            if not MapPoints.fast:
                log.warning("pyqtgraph %s lacks the ScatterPlotItem internals the map's fast frame reads; the map "
                            "is drawn by pyqtgraph's own paint (slower with many points). Install the pyqtgraph "
                            "version pyproject.toml names.", pg.__version__)

    def updateSpots(self, dataSet=None):  # noqa: N802 (pyqtgraph's name)
        super().updateSpots(dataSet)
        self._columns = None

    def addPoints(self, *args, **kwargs):  # noqa: N802
        super().addPoints(*args, **kwargs)
        self._columns = None

    def clear(self):
        super().clear()
        self._columns = None

    def move_points(self, xy: np.ndarray) -> None:
        """The points drawn now, at new positions [n, 2] (an animation frame): their symbols, colours and
        order stay, so nothing is restyled."""
        self.prepareGeometryChange()
        self.informViewBoundsChanged()
        self.data["x"], self.data["y"] = xy[:, 0], xy[:, 1]
        self.bounds = [None, None]
        self.invalidate()
        self.sigPlotChanged.emit(self)

    def recolour(self, brushes: list, codes: np.ndarray) -> None:
        """The points drawn now, in their order, with new brushes: point i gets brushes[codes[i]]. The atlas is
        asked once per brush (pyqtgraph's setBrush builds a style key per point: 0.3 s for 60,000)."""
        if not (MapPoints.fast and self.opts["pxMode"] and self.opts["useCache"]) or len(codes) != len(self.data):
            self.setBrush(list(np.asarray(brushes, dtype=object)[codes]))
            return
        table = np.empty(len(brushes), dtype=object)
        table[:] = brushes
        self.data["brush"] = table[codes]
        symbol, size, pen = (col[0] for col in self._style(["symbol", "size", "pen"], idx=np.s_[:1]))
        rects = self.fragmentAtlas[[(symbol, size, pen, brush) for brush in brushes]]  # every point is alike
        self.data["sourceRect"] = np.array([tuple(r) for r in rects], dtype=self.data["sourceRect"].dtype)[codes]
        self._maybeRebuildAtlas()
        self._columns = None
        self.invalidate()

    def viewTransformChanged(self):  # noqa: N802
        bounds = list(self.bounds)
        super().viewTransformChanged()
        if self.opts["pxMode"]:
            self.bounds = bounds  # in data units: the view does not change them when sizes are pixels

    def _fast_path(self, widget) -> bool:
        return (MapPoints.fast and self._exportOpts is False and self.opts["pxMode"] and self.opts["useCache"]
                and self.opts.get("compositionMode") is None and len(self.data) > 0
                and (widget is None or widget.devicePixelRatioF() == self.fragmentAtlas.devicePixelRatio()))

    def paint(self, p, option, widget):
        if not self._fast_path(widget):
            super().paint(p, option, widget)
            return
        data = self.data
        if self._columns is None:
            dpr = self.fragmentAtlas.devicePixelRatio()
            columns = np.empty((len(data), 8))
            columns[:, 0:4] = np.frombuffer(data["sourceRect"].copy(), dtype=int).reshape((-1, 4))
            columns[:, 4:8] = [1 / dpr, 1 / dpr, 0.0, 1.0]
            self._columns, self._half, self._holds_all = columns, columns[:, 2:4].max() / 2, False
        px, py = self.pixelVectors()
        mx, my = self._half * (0 if px is None else px.length()), self._half * (0 if py is None else py.length())
        view = self.viewRect()
        x, y = data["x"], data["y"]
        (x0, x1), (y0, y1) = self.dataBounds(0), self.dataBounds(1)
        everything = (bool(data["visible"].all()) and x0 - mx > view.left() and x1 + mx < view.right()
                      and y0 - my > view.top() and y1 + my < view.bottom())
        if not everything:  # cull as ScatterPlotItem does
            keep = (data["visible"] & (x + mx > view.left()) & (x - mx < view.right())
                    & (y + my > view.top()) & (y - my < view.bottom()))
            x, y = x[keep], y[keep]
        t = p.transform()
        self._pixmapFragments.resize(len(x))
        frags = self._pixmapFragments.ndarray()  # [n, 10]: x, y, then the 8 columns
        frags[:, 0] = x * t.m11() + y * t.m21() + t.dx()
        frags[:, 1] = x * t.m12() + y * t.m22() + t.dy()
        if not everything:
            frags[:, 2:10] = self._columns[keep]
            self._holds_all = False
        elif not self._holds_all:
            frags[:, 2:10] = self._columns
            self._holds_all = True
        p.resetTransform()
        p.drawPixmapFragments(*self._pixmapFragments.drawargs(), self.fragmentAtlas.pixmap)
