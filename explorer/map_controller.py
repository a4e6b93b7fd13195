"""MapController: decides when a split is encoded into a latent map and does it in the background, shows the
live map's frames while the model trains (and from an opened checkpoint's timeline), and answers the map.

One way down and one way back: a gesture on the LatentMapView changes the session (the clicked point, the
selection, groups); the session's signals come back here, the question goes to the session's Qt-free
`explorer` (core.explore) once, and its answer feeds the view and the Inspector (which never see the session).
Finished maps go into the session, tagged with the generation they were computed for.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from explorer.inspector import Inspector
from explorer.latent_map import LatentMapView
from explorer.session import Session
from explorer.tasks import Progress, TaskRunner

if TYPE_CHECKING:
    from core.explore import MapData
    from core.metrics import Outcome

DROP_HINT = "Drop or paste (Ctrl+V) an image to place it."


class MapController(QObject):
    map_ready = Signal()  # a new map is drawn
    lenses_ready = Signal(object)  # core.lenses.LensReport of the map shown
    lenses_cleared = Signal(str)  # why the map shown has no lens report

    def __init__(self, session: Session, runner: TaskRunner, view: LatentMapView, inspector: Inspector,
                 device_choice: Callable[[], str], report: Callable[..., None], parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.runner, self.view, self.inspector, self.report = session, runner, view, inspector, report
        self._device_choice = device_choice  # the device named in the training form
        view.encode_requested.connect(self.encode)
        view.cancel_requested.connect(self.cancel)
        view.point_clicked.connect(self._on_point_clicked)
        view.empty_clicked.connect(self._on_empty_clicked)
        view.frame_selected.connect(self.show_frame)
        view.selection_made.connect(session.select)
        view.colour_requested.connect(self._colour)
        view.labels_requested.connect(self._label_clusters)
        inspector.traversals_shown.connect(self._show_traversals)
        inspector.attribute_changed.connect(self._show_attribute)
        inspector.group_requested.connect(self._save_group)
        session.map_changed.connect(self._on_map_changed)
        session.picked_changed.connect(self._on_picked)
        session.selection_changed.connect(self._on_selection)
        session.groups_changed.connect(self._update_attribute_sources)
        session.frame_added.connect(self._on_frame_added)
        session.frames_reset.connect(self._update_timeline)
        session.dataset_changed.connect(self._on_dataset_changed)
        self._shown: MapData | None = None
        self._cache: dict[tuple, MapData] = {}  # (generation, split, projection) -> map
        self._lenses_shown = False  # the Lenses tab is in view: only then is a map's lens report computed
        self._scored: MapData | None = None  # the map whose lens report was asked for last

    # ------------------------------------------------------------ when to encode

    def on_training_finished(self, outcome: "Outcome") -> None:
        """A finished run gets the full map of the split chosen (a stopped or failed one keeps its frames)."""
        from core.metrics import Outcome

        if outcome is Outcome.FINISHED and self.session.model is not None:
            self.encode()

    def on_checkpoint_opened(self, checkpoint, path: str = "") -> None:
        """An opened checkpoint is encoded now if its dataset is loaded (else once it is: _on_dataset_changed)."""
        ds = self.session.dataset
        if ds is not None and (checkpoint.dataset not in ("shapes", "cifar10") or ds.name == checkpoint.dataset):
            self.encode()

    def _on_dataset_changed(self) -> None:
        if self.session.model is not None and not self.session.training:
            self.encode()

    def encode_device(self):
        return self.session.background_device(self._device_choice())

    def encode(self, split: str | None = None, projection: str | None = None) -> None:
        """Map a split with the current snapshot: encode it (once), then PCA, t-SNE or UMAP, in the background.

        Maps are cached per model snapshot, split and projection; a cancelled run leaves the map shown."""
        from core.explore import encode_and_project, projection_steps

        if self.session.checkpoint is None or self.session.dataset is None:
            return
        chosen = self.view.map_choice()
        split, projection = split or chosen[0], projection or chosen[1]
        key = (self.session.generation, split, projection)
        if key in self._cache:
            self.session.set_map(self._cache[key])
            return
        encoded = self._cache.get((self.session.generation, split, "pca"))  # its latent means serve every projection
        ckpt, data, device = self.session.checkpoint, self.session.dataset.split(split), self.encode_device()
        total = projection_steps(projection, len(data))

        def work(progress: Progress) -> MapData:
            model = ckpt.build_model().to(device) if encoded is None else None
            return encode_and_project(model, split, data, projection, progress, encoded)

        def done(m: MapData) -> None:
            self._cache = {k: v for k, v in self._cache.items() if k[0] == key[0]}  # this snapshot's maps only
            self._cache[key] = m
            self.session.set_map(m)

        self.view.set_progress(0, total)
        self.runner.run(work, done, "Encoding failed", kind="encode", on_progress=self.view.set_progress)

    def cancel(self) -> None:
        """Stop the running encode or projection; the map shown stays."""
        self.runner.cancel("encode")
        self.view.set_progress(1, 1)

    @property
    def encoding(self) -> bool:
        return bool(self.runner.running("encode"))

    # ------------------------------------------------------------ the live map's frames

    def show_frame(self, k: int) -> None:
        """Show live-map frame k (the newest one also knows its latent means)."""
        from core.explore import MapData

        live, ds = self.session.live, self.session.dataset
        if live is None or ds is None or not 0 <= k < len(live.frames):
            return
        frame, newest = live.frames[k], k == len(live.frames) - 1
        labels = ds.split(live.split).labels[live.indices]
        lmap = frame.latent_map(live.last_mu if newest else None)
        self.session.set_map(MapData(live.split, labels, lmap.coords, None, lmap, live.indices, k))

    def _on_frame_added(self, k: int) -> None:
        shown = self.session.map
        following = shown is None or shown.frame is None or shown.frame == k - 1
        if following and not self.encoding:  # stay on an older frame or a full map the user chose
            self.show_frame(k)
        self._update_timeline()

    def _update_timeline(self) -> None:
        live, m = self.session.live, self.session.map
        count = len(live.frames) if live is not None else 0
        on_frame = m is not None and m.frame is not None
        index = m.frame if on_frame else count - 1
        step = live.frames[index].step if count else 0
        text = (f"frame {index + 1} of {count} · step {step:,}" if on_frame else
                f"showing the full map, not a frame · drag to replay the run's {count} frames")
        self.view.set_timeline(count, index, text if count else "")

    def _caption(self, m: MapData) -> str:
        n = f"{len(m.labels):,} {m.split} images"
        if m.frame is not None:
            frame = self.session.live.frames[m.frame]
            knn = f"; kNN accuracy (k=5) of the latent means {100 * frame.knn:.1f}%" if np.isfinite(frame.knn) else ""
            return (f"Live map: {n} encoded at step {frame.step:,} (frame {m.frame + 1}){knn}. Click a point to "
                    f"inspect it, empty space to decode it (PCA inverse).")
        knn = f" kNN accuracy (k=5) of the latent means {100 * m.knn:.1f}%" if m.knn is not None else ""
        pixels = f", of the raw pixels {100 * m.pixel_knn:.1f}%" if m.pixel_knn is not None else ""
        if not m.latent_map.exact:
            return (f"{n}, {m.latent_map.settings}.{knn}{pixels}. Click a point to inspect it; empty space decodes "
                    f"an estimate (the weighted mean latent of the {m.latent_map.neighbours} nearest points). {DROP_HINT}")
        return (f"{n}.{knn}{pixels}; PCA explains {100 * m.explained.sum():.1f}% of the variance. Click a point "
                f"to inspect it, empty space to decode it, shift-click a second point to interpolate. {DROP_HINT}")

    # ------------------------------------------------------------ the document changed: feed the widgets

    def _on_map_changed(self) -> None:
        m, shown = self.session.map, self._shown
        self._update_attribute_sources()
        self._shown = m
        if m is None:
            self.view.clear()
            self.inspector.clear()
            return
        if m.same_points(shown):
            self.view.move_to(m.coords, m.explained, self._caption(m))
        else:
            self.view.set_data(m.coords, m.labels, self.session.classes, m.explained, self._caption(m),
                               m.latent_map.title)
            ds = self.session.dataset
            self.view.set_images(ds.split(m.split).images if ds is not None else None, m.indices)
        self._colour()
        self._score_lenses(m)
        if m.frame is None:
            self._label_clusters(self.view.toolbar.cluster_count())
        self._update_timeline()
        self._place_given(show=False)
        self.map_ready.emit()

    def _label_clusters(self, k: int | None) -> None:
        """Cluster labels for the map shown (k: None off, 0 by BIC), in the background."""
        from core.lenses import cluster_labels

        m, ds = self.session.map, self.session.dataset
        if k is None or m is None or m.properties is None or m.latent_map.mu is None or ds is None:
            self.view.set_cluster_labels([])
            if k is not None and m is not None:
                self.view.info.setText("Cluster labels need an encoded map: press Encode.")
            return
        mu, coords, properties, classes = m.latent_map.mu, m.coords, m.properties, self.session.classes
        images = ds.split(m.split).images

        def done(labels) -> None:
            self.view.set_cluster_labels(labels, [images[m.image_index(label.medoid)] for label in labels])

        self.runner.run(lambda progress: cluster_labels(mu, coords, properties, classes, k), done,
                        "Clustering the map failed", kind="clusters")

    def set_lenses_shown(self, shown: bool) -> None:
        """The Lenses tab came into view (or left it): the map shown is scored when it is in view."""
        self._lenses_shown = shown
        if shown:
            self._score_lenses(self.session.map)

    def _score_lenses(self, m: "MapData | None") -> None:
        """Rank what the map's latents predict, in the background, once per map and only while the Lenses tab is
        in view (a live frame keeps the last ranking)."""
        from core.lenses import lens_report

        ds = self.session.dataset
        if m is None or m.frame is not None or m.properties is None or ds is None or m.latent_map.mu is None:
            return
        if not self._lenses_shown:
            if m is not self._scored:
                self._scored = None
                self.lenses_cleared.emit("Scoring what these latents predict...")
            return
        if m is self._scored:
            return
        self._scored = m
        images = ds.split(m.split).images if m.indices is None else ds.split(m.split).images[m.indices]
        mu, properties = m.latent_map.mu, m.properties
        self.lenses_cleared.emit("Scoring what these latents predict...")
        self.runner.run(lambda progress: lens_report(mu, images, properties), self.lenses_ready.emit,
                        "Scoring the lenses failed", kind="lenses")

    def _colour(self, *_) -> None:
        """Colour the map by the lens chosen in its toolbar (class where the map has no such property)."""
        from core.explore import lens_values
        from core.lenses import HUES, LENSES
        from explorer.map_colours import Colouring

        m, name, ds = self.session.map, self.view.toolbar.colour_by(), self.session.dataset
        if m is None:
            return
        values = lens_values(m, ds.split(m.split).images if ds is not None else None, name)
        if name == "class" or values is None:
            if values is None:
                self.view.info.setText(f"{LENSES[name].title} is known for encoded maps; live-map frames are "
                                       f"coloured by class (brightness, saturation, hue and contrast work for both).")
            self.view.set_colouring(None)
            return
        lens = LENSES[name]
        names = list(HUES) if name == "hue" else None
        prefix = {"cluster": "cluster", "mixture": "component"}.get(name)
        if prefix:
            names = [f"{prefix} {k}" for k in range(int(values.max()) + 1)]
        self.view.set_colouring(Colouring.of(name, lens.title, lens.kind, values, names))

    def _on_picked(self) -> None:
        """The clicked point changed: its images, neighbours and (on that tab) traversals."""
        index = self.session.picked
        self.view.mark_point(index)
        if index is None or self.session.map is None:
            return
        point = self.session.explorer.point(index)
        self.inspector.show_point(point.image_index, self.session.classes[point.label], point.original,
                                  point.reconstruction)
        self._show_neighbours(point.neighbours)
        if self.inspector.showing_traversals():
            self._show_traversals()

    def _on_point_clicked(self, index: int, shift: bool) -> None:
        picked = self.session.picked
        if shift and picked is not None and picked != index:
            self._show_interpolation(picked, index)
        else:
            self.session.pick(index)

    def show_given_image(self, name: str, source) -> None:
        """An image the user dropped or pasted (a path or bytes): prepared like the image-folder loader,
        encoded, marked where it lands, and shown with its reconstruction and neighbours."""
        from core.data import DatasetError, load_image

        ckpt = self.session.checkpoint
        if ckpt is None or self.session.map is None:
            self.report("Cannot place an image", "There is no map yet: train or open a model first, then drop it.")
            return
        try:
            image = load_image(source, ckpt.model_config.img_size, ckpt.model_config.in_ch, name)
        except DatasetError as e:
            self.report("Not an image", str(e), e.details)
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
        placed = self.session.explorer.place(image)
        self.view.mark_given(np.asarray(placed.xy))
        if show:  # a new map or frame only moves the star
            self.inspector.show_given(name, image, placed.reconstruction, placed.xy)
            self._show_neighbours(placed.neighbours)

    def _show_neighbours(self, near) -> None:
        """A strip of core.selection.Neighbours in the inspector (two rows: 64 px or more each), ringed on the map."""
        from core.latent import image_grid

        labels = self.session.map.labels
        self.inspector.show_neighbours(image_grid(self.session.explorer.images()[near.indices], nrow=4),
                                       [self.session.classes[labels[i]] for i in near.indices], near.distances)
        self.view.mark_neighbours(near.indices)

    def _show_traversals(self) -> None:
        """Decoded only while the Traversals tab shows (70 images: ~80 ms on one CPU thread)."""
        from core.latent import image_grid

        if self.session.picked is None or self.session.map is None:
            return
        walk = self.session.explorer.traversals(self.session.picked)
        self.inspector.show_traversals(image_grid(walk.images, nrow=len(walk.images) // len(walk.names)), walk.names)
        self._show_attribute()

    def _show_attribute(self) -> None:
        """The picked point moved along the vector between two classes' (or the selection's) mean latents."""
        from core.latent import image_grid

        if self.session.picked is None or self.session.map is None or not self.inspector.showing_traversals():
            return
        source, target, strength = self.inspector.attribute_choice()
        if not source or not target:
            return
        source_points, target_points = self.session.members(source), self.session.members(target)
        if not len(source_points) or not len(target_points):
            self.inspector.show_attribute(None, f"{source if not len(source_points) else target} has no points on this map")
            return
        images = self.session.explorer.attribute_walk(self.session.picked, source_points, target_points, strength)
        # two rows of four, left to right then down: 64 px an image fits the inspector's width
        self.inspector.show_attribute(image_grid(images, nrow=4), f"{source} → {target}, 0 … {strength:g}×")

    def _update_attribute_sources(self) -> None:
        groups = self.session.group_names()
        names = list(self.session.classes) + (["selection"] if self.session.selection is not None else [])
        self.inspector.set_attribute_sources(names + [f"group {g}" for g in groups])
        self.inspector.show_groups("Groups: " + ", ".join(
            f"{g}\u00a0({len(self.session.group_points(g)):,})" for g in groups) if groups else "")  # never broken inside

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
        summary = self.session.explorer.selection(points)
        images = self.session.explorer.images()
        grid = image_grid(images[points[:64]], nrow=8)
        typical = image_grid(images[summary.typical], nrow=8) if summary.typical is not None and len(summary.typical) else None
        self.inspector.show_selection(summary.count, summary.per_class, grid, summary.mean_image, typical,
                                      self._describe_contrasts(summary.contrasts))

    def _describe_contrasts(self, contrasts) -> str:
        """Rich text: a row per property, the selection beside the rest, sparkline histograms."""
        from core.lenses import HUES, LENSES

        rows = []
        for c in contrasts:
            lens = LENSES[c.name]
            if lens.kind == "number":
                figures = f"{c.inside:.3g} <span style='color:#888'>(rest {c.outside:.3g})</span>"
            else:
                kind = "component" if c.name == "mixture" else c.name
                name = HUES[c.category] if c.name == "hue" else f"{kind} {c.category}"
                figures = f"{name} {100 * c.inside:.0f}% <span style='color:#888'>(rest {100 * c.outside:.0f}%)</span>"
            rows.append(f"<tr><td>{lens.title}</td><td>{figures}</td><td style='font-family:monospace'>"
                        f"{c.sparkline('inside')} <span style='color:#888'>{c.sparkline('outside')}</span></td></tr>")
        return "<table cellspacing=4>" + "".join(rows) + "</table>" if rows else ""

    def _on_empty_clicked(self, x: float, y: float) -> None:
        spot = self.session.explorer.decode_at([x, y])
        how = "PCA inverse" if spot.exact else f"estimate from the {self.session.map.latent_map.neighbours} nearest points"
        self.inspector.show_decoded(x, y, spot.image, how)

    def _show_interpolation(self, a: int, b: int) -> None:
        from core.latent import image_grid

        images = self.session.explorer.interpolation(a, b, 10, self.inspector.mode)
        m = self.session.map
        a_name, b_name = (f"{self.session.classes[m.labels[i]]} #{m.image_index(i)}" for i in (a, b))
        self.inspector.show_strip(a_name, b_name, image_grid(images, nrow=5))  # two rows: 64 px each
