"""LatentMapView: the 2D map of encoded images, clickable, moving while the model trains (points animate
between frames; explorer.map_timeline scrubs back through them). Fed by the MapController: `set_data` for a
new map, `move_to` for a new frame, `set_choices` (it draws with the session's explorer.choices, never keeps
its own), `set_colouring`, `show_selection`, and marks (explorer.map_marks). It asks with signals and decodes
nothing: point_clicked, empty_clicked, encode_requested, cancel_requested, frame_selected, selection_made (a
rectangle or lasso, explorer.map_select) and choice_requested (its toolbar and legend: explorer.map_toolbar,
explorer.map_legend). One ScatterPlotItem in a fixed random order, one QBrush per colour; picking measures
screen pixels (core.latent.PixelPicker); very large maps draw a density image when zoomed out
(explorer.map_lod) and points with room enough draw as their images (explorer.thumbnails).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEasingCurve, QPointF, Qt, QTimeLine, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from core.colours import Colouring, colouring
from core.structure import PROTOCOL
from explorer.choices import Choices
from explorer.map_colours import ColourBar, qcolours
from explorer.map_labels import ClusterLabels
from explorer.map_legend import MapLegend
from explorer.map_lod import LevelOfDetail
from explorer.map_marks import MapMarks
from explorer.map_points import MapPoints
from explorer.map_select import DragSelect
from explorer.map_timeline import MapTimeline
from explorer.map_toolbar import MapToolbar
from explorer.style import FitLabel, class_colors, plot_widget, while_alive
from explorer.thumbnails import ThumbnailLayer

NO_MAP = "No map yet: train a model or open a checkpoint, then Encode."
PICK_RADIUS_PX = 6.0
MOVE_MS = 300  # how long points take to move to a new frame
MOVE_FRAME_MS = 33  # ~30 frames a second while they move: smooth, and half the drawing of 60 while training runs
HIDDEN_GREY = QColor(200, 200, 200, 90)
THUMBNAIL_POINTS = 2000  # at most this many images drawn at once (about 6 ms a frame)
THUMBNAIL_MIN_PX = 24  # images are drawn only when each gets at least this many pixels (else: coloured points)
THUMBNAIL_PX = 64  # and at most this many


class LatentMapView(QWidget):
    point_clicked = Signal(int, bool)  # point index, shift held
    empty_clicked = Signal(float, float)
    encode_requested = Signal()  # map the split and projection chosen
    cancel_requested = Signal()
    frame_selected = Signal(int)
    selection_made = Signal(object)  # int64 [M] point indices (empty: selection cleared)
    choice_requested = Signal(str, object)  # an explorer.choices.Choices field and the value asked for

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.coords, self.labels, self.classes = np.zeros((0, 2), np.float32), np.zeros(0, np.int64), []
        self.order = np.zeros(0, np.int64)  # draw order: a fixed random permutation of the points
        self._picker = None  # core.latent.PixelPicker over the visible points
        self._brushes: list[pg.QtGui.QBrush] = []
        self.choices = Choices()  # what the user chose, as the session holds it (set_choices)
        self.colouring = colouring("class", self.labels, [])  # each point's colour code, and their colours
        self._animation = QTimeLine(MOVE_MS, self)  # emits t from 0 to 1
        self._animation.setUpdateInterval(MOVE_FRAME_MS)
        self._animation.setEasingCurve(QEasingCurve.Linear)
        self._animation.valueChanged.connect(self._on_animation_step)
        self._animation.finished.connect(self._rebuild_picker)
        self._animation.finished.connect(self._refresh_thumbnails)
        self._move_from = self._move_to = self.coords
        self.selection: np.ndarray | None = None  # the selection drawn (the session's); the others draw grey

        self.plot = plot_widget(grid_alpha=0.15)
        self.plot.getPlotItem().setMenuEnabled(False)
        self.points, self._drawn = MapPoints(size=5, pen=None), np.zeros(0, np.int64)  # _drawn: in drawing order
        self.plot.addItem(self.points)
        self.thumbnails = ThumbnailLayer()  # the points' images, when few are in view
        self.thumbnails.setZValue(3)
        self.plot.addItem(self.thumbnails)
        # (images of the split [M, C, H, W], indices of the points or None); the points whose images are drawn
        self._images, self._thumb_set = None, None
        self.lod = LevelOfDetail(self.plot)  # very large maps: a density image when zoomed out
        self.cluster_labels = ClusterLabels(self.plot)  # captions of the latents' clusters, when asked
        self.plot.plotItem.vb.sigRangeChanged.connect(while_alive(self, LatentMapView._on_range_changed))
        # shown or resized (a map made while its tab was hidden): the images' size follows the view's
        self.plot.plotItem.vb.sigResized.connect(while_alive(self, LatentMapView._refresh_thumbnails))
        self.marks = MapMarks(self.plot)  # hover, clicks, neighbours, a brought image, class ellipses
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self.legend = MapLegend()  # the classes (a tick hides one) and a category lens's key
        self.legend.hidden_requested.connect(lambda hidden: self.choice_requested.emit("hidden_classes", hidden))
        self.toolbar = MapToolbar(THUMBNAIL_MIN_PX)
        for ask in ("encode_requested", "cancel_requested", "choice_requested"):  # the toolbar's asks are the map's
            getattr(self.toolbar, ask).connect(getattr(self, ask))
        self.colour_bar = ColourBar(self.plot)
        self.dragging = DragSelect(self.plot, lambda: self.choices.drag_mode if len(self.labels) else "pan",
                                   self._select_inside)
        self.timeline = MapTimeline()  # the live map's frames
        self.timeline.frame_selected.connect(self.frame_selected)
        self.info = QLabel(NO_MAP, toolTip=f"Class structure: {PROTOCOL}", wordWrap=True)
        self.hover_label = FitLabel(" ")

        split = QSplitter()
        split.addWidget(self.plot)
        split.addWidget(self.legend)
        split.setStretchFactor(0, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.toolbar)
        layout.addWidget(split, 1)
        layout.addWidget(self.timeline)
        layout.addWidget(self.info)
        layout.addWidget(self.hover_label)

    # ------------------------------------------------------------ data

    def set_data(self, coords: np.ndarray, labels: np.ndarray, classes: list[str], explained: np.ndarray | None,
                 caption: str = "", projection: str = "PCA", columns: list[str] = ()) -> None:
        """A new map (the view zooms to it); `projection` names its axes, `columns` its file's own lenses."""
        self._animation.stop()
        self.coords, self.labels, self.classes = np.asarray(coords, np.float32), np.asarray(labels), list(classes)
        self.order = np.random.default_rng(0).permutation(len(self.labels))
        self.legend.set_classes(self.classes, self.labels)
        self.colouring = colouring("class", self.labels, self.classes)
        self.colour_bar.show(None)
        self.cluster_labels.set([])
        self.legend.set_lens(None)
        self.toolbar.set_columns(list(columns), self.choices.colour_by)
        self._set_axes(explained, projection)
        self.info.setText(caption)
        self.selection = None
        self._images = None  # the images of the old points; set_images gives the new ones
        self.marks.clear()
        self._restyle()
        if len(self.coords):  # the points' own bounds (a very large map draws only part of them); applied
            (x0, y0), (x1, y1) = self.coords.min(axis=0).tolist(), self.coords.max(axis=0).tolist()
            self.plot.plotItem.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)  # now: LOD follows

    def move_to(self, coords: np.ndarray, explained: np.ndarray, caption: str = "") -> None:
        """The same points at new positions (a new frame): they move there in MOVE_MS."""
        self._animation.stop()
        self._move_from, self._move_to = self.coords.copy(), np.asarray(coords, np.float32)
        self.thumbnails.clear()  # back when the points have arrived
        self._set_axes(explained)
        self.info.setText(caption)
        self.marks.clear_clicks()
        self._animation.start()

    def clear(self) -> None:
        self.set_data(np.zeros((0, 2)), np.zeros(0, np.int64), [], np.zeros(2), NO_MAP)

    def set_timeline(self, count: int, index: int, text: str = "") -> None:
        """`count` frames, showing `index` (no signal); hidden with fewer than two frames."""
        self.timeline.set_frames(count, index, text)

    def point_count(self) -> int:
        """Points of the classes shown."""
        return len(self.visible_indices())

    def visible_indices(self) -> np.ndarray:
        """Indices of the points of the classes shown (the ones that can be picked)."""
        return np.flatnonzero(np.isin(self.labels, self._shown_classes()))

    def set_images(self, images: np.ndarray | None, indices: np.ndarray | None = None) -> None:
        """The images of the map's points: `images` of the whole split and the points' `indices` into it
        (None: point i is image i). Drawn at the points when few are in view."""
        self._images = None if images is None else (images, indices)
        self._refresh_thumbnails()

    def _refresh_thumbnails(self, *_) -> None:
        self._thumb_set = None
        self._update_thumbnails()

    def _update_thumbnails(self) -> None:
        """Images for the points in view when each would be drawn THUMBNAIL_MIN_PX or larger (an even share
        of the view, at most THUMBNAIL_PX), there are THUMBNAIL_POINTS or fewer, and they are not moving."""
        x0, x1, y0, y1 = self.visible_rect()
        vb = self.plot.plotItem.vb
        width, height = vb.width(), vb.height()
        showing = (self.choices.images and self._images is not None and self._picker is not None
                   and self._animation.state() != QTimeLine.Running and min(width, height) >= THUMBNAIL_MIN_PX)
        band = self._picker.within(x0, x1, y0, y1) if showing else np.zeros(0, np.int64)
        side_px = 0.8 * np.sqrt(width * height / max(len(band), 1))
        if not 0 < len(band) <= THUMBNAIL_POINTS or side_px < THUMBNAIL_MIN_PX:
            self.thumbnails.clear()
            self._thumb_set = None
            self.marks.fit(self.choices.point_size)
            return
        if self._thumb_set is not None and np.array_equal(band, self._thumb_set):
            return  # the same images: they scale with the zoom on their own
        side_px = min(side_px, THUMBNAIL_PX)
        images, indices = self._images
        faded = None if self.selection is None else ~np.isin(band, self.selection)  # greyed like their points
        colors = qcolours(self.colouring.rgb)
        self.thumbnails.set_points(self.coords[band], images[band if indices is None else indices[band]],
                                   side_px * (x1 - x0) / width, faded, [colors[k] for k in self.colouring.codes[band]])
        self.marks.fit(side_px)
        self._thumb_set = band

    def set_colouring(self, lens: Colouring | None) -> None:
        """Colour the points by a lens (a core.colours.Colouring; None: by class), with its colour bar or legend."""
        self.colouring = lens or colouring("class", self.labels, self.classes)
        self.colour_bar.show(self.colouring)
        self.toolbar.show_scale(self.colouring.levels, self.colouring.log)
        self.legend.set_lens(self.colouring)
        if not self._recolour():
            self._restyle()

    def set_cluster_labels(self, labels: list, images: list[np.ndarray] | None = None) -> None:
        """Label clusters on the map (core.lenses.ClusterLabel, biggest first, with their medoids' images)."""
        self.cluster_labels.set(labels, images)

    def mark_given(self, xy: np.ndarray | None) -> None:
        """Star the spot where an image the user brought lands (None: no star)."""
        self.marks.given(xy)

    def mark_neighbours(self, indices: np.ndarray) -> None:
        """Ring these points (a clicked point's nearest neighbours in latent space)."""
        self.marks.neighbours(self.coords[np.asarray(indices, np.int64)])

    def show_selection(self, indices: np.ndarray | None) -> None:
        """Draw these points as selected (None: no selection); the others draw grey."""
        self.selection = indices
        self._restyle()

    def mark_point(self, index: int | None) -> None:
        """Mark the clicked point (None: no mark)."""
        self.marks.click_point(self.coords[index] if index is not None else None)

    def set_choices(self, choices: Choices, changed=frozenset()) -> None:
        """Draw with the session's choices; `changed` names the fields that changed (empty: all may have)."""
        self.choices = choices
        self.toolbar.set_choices(choices)
        self.legend.set_hidden(choices.hidden_classes)
        if not changed or changed & {"hidden_classes", "point_size", "opacity", "grey_hidden"}:
            self._restyle()
        elif "centroids" in changed:
            self._redraw_centroids()
        elif "images" in changed:
            self._refresh_thumbnails()

    def show_message(self, text: str) -> None:
        """A line under the map (its caption, or why a choice cannot be shown)."""
        self.info.setText(text)

    def set_progress(self, done: int, total: int) -> None:
        """The Encode button's progress (done == total: finished)."""
        self.toolbar.set_progress(done, total)

    def mode(self) -> str:
        """How the map is drawn now: "points" or "density" (very large maps, zoomed out)."""
        return "density" if self.lod.showing_density else "points"

    # ------------------------------------------------------------ drawing

    def _set_axes(self, explained: np.ndarray | None, projection: str = "PCA") -> None:
        for axis, k in (("bottom", 0), ("left", 1)):  # a non-linear map's axes have no meaning of their own
            self.plot.setLabel(axis, f"{projection} {k + 1}" if explained is None
                               else f"PC{k + 1} ({100 * explained[k]:.1f}% variance)")

    def _shown_classes(self) -> list[int]:
        return [k for k in range(len(self.classes)) if k not in self.choices.hidden_classes]

    def _make_brushes(self) -> None:
        alpha = self.choices.alpha
        self._brushes = []
        for color in qcolours(self.colouring.rgb):
            color = QColor(color)
            color.setAlpha(alpha)
            self._brushes.append(pg.mkBrush(color))  # one brush per colour, shared by all its points

    def _recolour(self) -> bool:
        """New colours for the points drawn now, in place (same points, order and greys); False where the
        whole map must be redrawn (a density image, nothing drawn)."""
        if self.lod.showing_density or not len(self._drawn):
            return False
        self._make_brushes()
        self.lod.dirty = True
        self.points.recolour(self._brushes + [pg.mkBrush(HIDDEN_GREY)], self._brush_codes()[self._drawn])
        self._thumb_set = None
        self._refresh_thumbnails()
        return True

    def _brush_codes(self) -> np.ndarray:
        """Each point's index into self._brushes, or len(self._brushes) for grey (hidden or not selected)."""
        coloured = np.isin(self.labels, self._shown_classes())
        if self.selection is not None:
            coloured &= np.isin(np.arange(len(self.labels)), self.selection)
        return np.where(coloured, self.colouring.codes, len(self._brushes))

    def _restyle(self, *_) -> None:
        """Brushes from the colouring's colours at the chosen opacity, then redraw."""
        self._make_brushes()
        self.lod.dirty = True
        self._rebuild_picker()
        self._redraw_points(self.coords)
        self._redraw_centroids()
        self._refresh_thumbnails()

    def visible_rect(self) -> tuple[float, float, float, float]:
        """The rectangle of the map in view: x0, x1, y0, y1 in map units."""
        (x0, x1), (y0, y1) = self.plot.plotItem.vb.viewRange()
        return x0, x1, y0, y1

    def set_visible_rect(self, x0: float, x1: float, y0: float, y1: float) -> None:
        self.plot.plotItem.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def _redraw_points(self, coords: np.ndarray) -> None:
        if self._picker is None:
            self._rebuild_picker()
        near = self.lod.points_to_draw(coords, self.colouring.codes, np.isin(self.labels, self._shown_classes()),
                                       self.colouring.rgb, self._picker, self.visible_rect())
        if near is None:  # the density image stands for them
            self._drawn = np.zeros(0, np.int64)
            self.points.setData([], [])
            return
        self._draw_points(coords, self.order if near.all() else self.order[near[self.order]])

    def _on_range_changed(self, *_) -> None:
        self._update_thumbnails()
        self.cluster_labels.declutter()
        if self._animation.state() != QTimeLine.Running and self.lod.needs_redraw(len(self.coords),
                                                                                          self.visible_rect()):
            self._redraw_points(self.coords)

    def _draw_points(self, coords: np.ndarray, order: np.ndarray) -> None:
        """Draw the points `order` (a subset of self.order, in its order)."""
        shown = np.isin(self.labels[order], self._shown_classes())
        if self.selection is not None:  # selected points in colour on top, the rest grey
            shown &= np.isin(order, self.selection)
        grey = self.choices.grey_hidden or self.selection is not None
        order = order if grey else order[shown]
        brushes = np.array(self._brushes + [pg.mkBrush(HIDDEN_GREY)], dtype=object)
        label_brush = self._brush_codes()
        if grey:  # grey points first, so the classes shown stay on top
            order = np.concatenate([order[~shown], order[shown]])
        self._drawn = order
        self.points.setData(pos=coords[order], data=order, brush=list(brushes[label_brush[order]]),
                            size=self.choices.point_size, pen=None)

    def _redraw_centroids(self, *_) -> None:
        shown = self._shown_classes() if self.choices.centroids else []
        colors = class_colors(len(self.classes))
        self.marks.set_centroids([self.coords[self.labels == k] for k in shown], [colors[k] for k in shown])

    def _on_animation_step(self, t: float) -> None:
        self.coords = ((1 - t) * self._move_from + t * self._move_to).astype(np.float32)
        self.lod.dirty = True
        if t < 1.0 and not self.lod.showing_density:  # the same points move: no restyling
            self.points.move_points(self.coords[self._drawn])
        else:  # the last step, or a density image: which points and which mode the view needs
            self._redraw_points(self.coords)
        if t >= 1.0:
            self._redraw_centroids()

    def _rebuild_picker(self) -> None:
        from core.latent import PixelPicker

        self._picker = PixelPicker(self.coords, np.isin(self.labels, self._shown_classes()))

    # ------------------------------------------------------------ picking

    def screen_pos(self, index: int) -> QPointF:
        """Viewport position of a point (for tests and benchmarks that click)."""
        x, y = self.coords[index]
        return self.plot.mapFromScene(self.plot.plotItem.vb.mapViewToScene(QPointF(float(x), float(y))))

    def pick(self, scene_pos: QPointF) -> int | None:
        """Index of the visible point nearest a scene position, within PICK_RADIUS_PX screen pixels."""
        if self._picker is None or not len(self._picker):
            return None
        vb = self.plot.plotItem.vb
        p = vb.mapSceneToView(scene_pos)
        px_w, px_h = vb.viewPixelSize()  # data units per pixel, per axis
        return self._picker.nearest(p.x(), p.y(), px_w, px_h, PICK_RADIUS_PX)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        index = self.pick(scene_pos)
        name = self.classes[self.labels[index]] if index is not None else ""
        self.marks.hover(self.coords[index] if index is not None else None, f"{name} #{index}")
        self.hover_label.setText(f"Nearest point: {name}, index {index}" if index is not None else " ")

    def _select_inside(self, polygon: np.ndarray) -> None:
        """A rectangle or lasso drag ended: select the points of the classes shown inside `polygon`."""
        from core.selection import inside_polygon

        hit = inside_polygon(self.coords, polygon) & np.isin(self.labels, self._shown_classes())
        self.selection_made.emit(np.flatnonzero(hit))

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.LeftButton or not len(self.labels):
            return
        if self.choices.drag_mode != "pan" and self.selection is not None:  # a click clears a selection
            self.selection_made.emit(np.zeros(0, np.int64))
            return
        index = self.pick(event.scenePos())
        if index is not None:
            self.point_clicked.emit(index, bool(event.modifiers() & Qt.ShiftModifier))
        else:
            p = self.plot.plotItem.vb.mapSceneToView(event.scenePos())
            self.marks.click_spot(p.x(), p.y())
            self.empty_clicked.emit(p.x(), p.y())
