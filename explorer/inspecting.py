"""InspectController: what the Inspector shows about the map, from the session's Qt-free `query`
(core.maps.MapQuery): a clicked point with its reconstruction and neighbours, a decoded empty spot, an
interpolation, traversals and attribute walks, a selection against the rest of the map (with every lens
value, computed when a selection first asks), groups, and an image the user dropped or pasted.

One way down and one way back: a gesture on the LatentMapView or the Inspector changes the session (the
clicked point, the selection, groups); the session's signals come back here and the answer feeds the view
and the Inspector (which never see the session).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QObject

from core.lenses import LENSES, lens
from explorer.inspector import Inspector
from explorer.latent_map import LatentMapView
from explorer.session import Session

NO_DECODER = ("These embeddings came without a model, so nothing can be decoded: a click on empty space, "
              "traversals, interpolations and samples need one. Points, neighbours, lenses and selections work.")


class InspectController(QObject):
    def __init__(self, session: Session, view: LatentMapView, inspector: Inspector,
                 with_lenses: Callable[[object, Callable[[], None]], None], report: Callable[..., None],
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.view, self.inspector = session, view, inspector
        self._with_lenses, self._report = with_lenses, report  # MapController.with_lenses; the error policy
        view.point_clicked.connect(self._on_point_clicked)
        view.empty_clicked.connect(self._on_empty_clicked)
        view.selection_made.connect(session.select)
        inspector.traversals_visible.connect(self._on_traversals_visible)
        inspector.choice_requested.connect(self._choose)
        inspector.group_requested.connect(self._save_group)
        session.map_changed.connect(self._on_map_changed)
        session.picked_changed.connect(self._on_picked)
        session.selection_changed.connect(self._on_selection)
        session.groups_changed.connect(self._update_attribute_sources)
        session.choices_changed.connect(self._on_choices_changed)
        self._traversals_visible = False  # decoded only while their tab is in front
        inspector.set_choices(session.choices)

    def _choose(self, name: str, value) -> None:
        self.session.request(name, value, self._report)

    def _on_choices_changed(self, changed: frozenset) -> None:
        self.inspector.set_choices(self.session.choices)
        if changed & {"attribute_from", "attribute_to"}:
            self._update_attribute_sources()  # an end that is not on this map: the first and second names
        if changed & {"attribute_from", "attribute_to", "attribute_strength"}:
            self._show_attribute()
        if "walk_dimension" in changed and self._traversals_visible:
            self._show_traversals()

    def _on_traversals_visible(self, visible: bool) -> None:
        self._traversals_visible = visible
        if visible:
            self._show_traversals()

    def _on_map_changed(self) -> None:
        self._update_attribute_sources()
        if self.session.map is None:
            self.inspector.clear()
        else:
            self._place_given(show=False)

    def _on_picked(self) -> None:
        """The clicked point changed: its images, neighbours and (on that tab) traversals."""
        index = self.session.picked
        self.view.mark_point(index)
        if index is None or self.session.map is None:
            return
        point = self.session.query.point(index)
        self.inspector.show_point(point.image_index, self.session.classes[point.label], point.original,
                                  point.reconstruction)
        self._show_neighbours(point.neighbours)
        if self._traversals_visible:
            self._show_traversals()

    def _on_point_clicked(self, index: int, shift: bool) -> None:
        picked = self.session.picked
        if shift and picked is not None and picked != index and self.session.decodable:
            self._show_interpolation(picked, index)
        else:
            self.session.pick(index)

    def show_given_image(self, name: str, source) -> None:
        """An image the user dropped or pasted (a path or bytes): prepared like the image-folder loader,
        encoded, marked where it lands, and shown with its reconstruction and neighbours."""
        from core.data import DatasetError, load_image

        ckpt = self.session.checkpoint
        if ckpt is None or self.session.map is None:
            self._report("Cannot place an image", "There is no map yet: train or open a model first, then drop it.")
            return
        try:
            image = load_image(source, ckpt.model_config.img_size, ckpt.model_config.in_ch, name)
        except DatasetError as e:
            self._report("Not an image", str(e), e.details)
            return
        self.session.given = (name, image)
        self.session.pick(None)  # the inspector shows the brought image now, not the earlier click
        self._place_given(show=True)

    def _place_given(self, show: bool) -> None:
        """Mark the given image on the map shown (every new map, projection or frame places it again)."""
        if self.session.given is None or self.session.map is None or self.session.model is None:
            self.view.mark_given(None)
            return
        name, image = self.session.given
        placed = self.session.query.place(image)
        self.view.mark_given(np.asarray(placed.xy))
        if show:  # a new map or frame only moves the star
            self.inspector.show_given(name, image, placed.reconstruction, placed.xy)
            self._show_neighbours(placed.neighbours)

    def _show_neighbours(self, near) -> None:
        """A strip of core.selection.Neighbours in the inspector (two rows: 64 px or more each), ringed on the map."""
        from core.latent import image_grid

        labels, images = self.session.map.labels, self.session.query.images()
        self.inspector.show_neighbours(image_grid(images[near.indices], nrow=4) if images is not None else None,
                                       [self.session.classes[labels[i]] for i in near.indices], near.distances)
        self.view.mark_neighbours(near.indices)

    def _show_traversals(self) -> None:
        """Decoded only while the Traversals tab shows (70 images: ~80 ms on one CPU thread)."""
        from core.latent import image_grid

        if self.session.picked is None or self.session.map is None or not self.session.decodable:
            return
        first = self.session.choices.walk_dimension
        walk = self.session.query.traversals(self.session.picked, first=first if first >= 0 else None)
        self.inspector.show_traversals(image_grid(walk.images, nrow=len(walk.images) // len(walk.names)), walk.names)
        self._show_attribute()

    def _show_attribute(self) -> None:
        """The picked point moved along the vector between two classes' (or the selection's) mean latents."""
        from core.latent import image_grid

        if (self.session.picked is None or self.session.map is None or not self._traversals_visible
                or not self.session.decodable):
            return
        c = self.session.choices
        source, target, strength = c.attribute_from, c.attribute_to, c.attribute_strength
        if not source or not target:
            return
        source_points, target_points = self.session.members(source), self.session.members(target)
        if not len(source_points) or not len(target_points):
            empty = source if not len(source_points) else target
            self.inspector.show_attribute(None, f"{empty} has no points on this map")
            return
        images = self.session.query.attribute_walk(self.session.picked, source_points, target_points, strength)
        # two rows of four, left to right then down: 64 px an image fits the inspector's width
        self.inspector.show_attribute(image_grid(images, nrow=4), f"{source} → {target}, 0 … {strength:g}×")

    def _update_attribute_sources(self) -> None:
        groups = self.session.group_names()
        names = list(self.session.classes) + (["selection"] if self.session.selection is not None else [])
        names += [f"group {g}" for g in groups]
        self.inspector.set_attribute_sources(names)
        chosen = self.session.choices
        ends = {"attribute_from": chosen.attribute_from, "attribute_to": chosen.attribute_to}
        gone = {end: default for (end, name), default in zip(ends.items(), names[:2]) if name not in names}
        if gone and self.session.map is not None:  # an end not on this map: the first name, the second
            self.session.choose(**gone)
        self.inspector.set_choices(self.session.choices)
        self.inspector.show_groups("Groups: " + ", ".join(
            # never broken inside
            f"{g}\u00a0({len(self.session.group_points(g)):,})" for g in groups) if groups else "")

    def _save_group(self) -> None:
        if self.session.selection is not None:
            self.session.add_group(self.session.selection)

    def _on_selection(self) -> None:
        from core.latent import image_grid

        points = self.session.selection
        self.view.show_selection(points)
        self._update_attribute_sources()
        if points is None or self.session.map is None:
            self.inspector.show_selection(0, "", None, None)
            return
        summary = self.session.query.selection(points, self.session.lenses.known())
        if self.session.lenses.missing():  # every lens against the rest of the map, when they arrive
            self._with_lenses(LENSES, lambda: self.session.selection is points and self._show_contrasts(points))
        images = self.session.query.images()
        grid = image_grid(images[points[:64]], nrow=8) if images is not None else None
        some = summary.typical is not None and len(summary.typical) and images is not None
        typical = image_grid(images[summary.typical], nrow=8) if some else None
        self.inspector.show_selection(summary.count, summary.per_class, grid, summary.mean_image, typical,
                                      self._describe_contrasts(summary.contrasts))

    def _show_contrasts(self, points: np.ndarray) -> None:
        from core.lenses import contrast

        self.inspector.show_contrasts(self._describe_contrasts(contrast(self.session.lenses.known(), points)))

    def _describe_contrasts(self, contrasts) -> str:
        """Rich text: a row per property, the selection beside the rest, sparkline histograms."""
        from core.lenses import HUES

        rows = []
        for c in contrasts:
            kind, title = lens(c.name).kind, lens(c.name).title
            if kind == "number":
                figures = f"{c.inside:.3g} <span style='color:#888'>(rest {c.outside:.3g})</span>"
            else:
                kind = "component" if c.name == "mixture" else c.name
                name = HUES[c.category] if c.name == "hue" else f"{kind} {c.category}"
                figures = f"{name} {100 * c.inside:.0f}% <span style='color:#888'>(rest {100 * c.outside:.0f}%)</span>"
            rows.append(f"<tr><td>{title}</td><td>{figures}</td><td style='font-family:monospace'>"
                        f"{c.sparkline('inside')} <span style='color:#888'>{c.sparkline('outside')}</span></td></tr>")
        return "<table cellspacing=4>" + "".join(rows) + "</table>" if rows else ""

    def _on_empty_clicked(self, x: float, y: float) -> None:
        if not self.session.decodable:  # embeddings without a model
            self.view.show_message(NO_DECODER)
            return
        spot = self.session.query.decode_at([x, y])
        how = ("PCA inverse" if spot.exact
               else f"estimate from the {self.session.map.projection.neighbours} nearest points")
        self.inspector.show_decoded(x, y, spot.image, how)

    def _show_interpolation(self, a: int, b: int) -> None:
        from core.latent import image_grid

        images = self.session.query.interpolation(a, b, 10, self.session.choices.interpolation)
        m = self.session.map
        a_name, b_name = (f"{self.session.classes[m.labels[i]]} #{m.image_index(i)}" for i in (a, b))
        self.inspector.show_strip(a_name, b_name, image_grid(images, nrow=5))  # two rows: 64 px each
