"""MapController: encodes a split into a latent map in the background, shows the live map's frames
while the model trains (and from an opened checkpoint's timeline), and answers the map's clicks.

It feeds the LatentMapView and the Inspector from the session (they never see the session) and
puts finished maps into the session, tagged with the generation they were computed for.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal

from explorer.inspector import Inspector
from explorer.latent_map import LatentMapView
from explorer.session import MapData, Session
from explorer.tasks import Progress, TaskRunner


DROP_HINT = "Drop or paste (Ctrl+V) an image to place it."


class MapController(QObject):
    map_ready = Signal()  # a new map is drawn

    def __init__(self, session: Session, runner: TaskRunner, view: LatentMapView, inspector: Inspector,
                 device_choice: Callable[[], str], report: Callable[[str, str], None], parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.runner, self.view, self.inspector, self.report = session, runner, view, inspector, report
        self._device_choice = device_choice  # the device named in the training form
        view.encode_requested.connect(self.encode)
        view.cancel_requested.connect(self.cancel)
        view.point_clicked.connect(self._on_point_clicked)
        view.empty_clicked.connect(self._on_empty_clicked)
        view.interpolate_requested.connect(self._on_interpolate)
        view.frame_selected.connect(self.show_frame)
        view.selection_made.connect(self._on_selection)
        inspector.traversals_shown.connect(self._show_traversals)
        inspector.attribute_changed.connect(self._show_attribute)
        inspector.group_requested.connect(self._save_group)
        self._picked: int | None = None  # the point last clicked (index into the map shown)
        session.map_changed.connect(self._on_map_changed)
        session.frame_added.connect(self._on_frame_added)
        session.frames_reset.connect(self._update_timeline)
        self._shown: MapData | None = None
        self._cache: dict[tuple, MapData] = {}  # (generation, split, projection) -> map

    def encode_device(self):
        return self.session.background_device(self._device_choice())

    def encode(self, split: str | None = None, projection: str | None = None) -> None:
        """Map a split with the current snapshot: encode it (once), then PCA, t-SNE or UMAP, in the background.

        Maps are cached per model snapshot, split and projection; a cancelled run leaves the map shown."""
        from core.latent import LatentMap, encode, knn_accuracy
        from core.projection import PROJECTORS

        if self.session.checkpoint is None or self.session.dataset is None:
            return
        split, projection = split or self.view.toolbar.split(), projection or self.view.toolbar.projection()
        key = (self.session.generation, split, projection)
        if key in self._cache:
            self.session.set_map(self._cache[key])
            return
        pca_map = self._cache.get((self.session.generation, split, "pca"))
        ckpt, data, device = self.session.checkpoint, self.session.dataset.split(split), self.encode_device()
        project, steps = PROJECTORS.get(projection, (None, 0))
        total = len(data) + steps

        def work(progress: Progress) -> MapData:
            if pca_map is not None:
                mu, knn, pixel_knn = pca_map.latent_map.mu, pca_map.knn, pca_map.pixel_knn
            else:
                mu = encode(ckpt.build_model().to(device), data.images, progress=lambda d, t: progress(d, total))
                knn, pixel_knn = knn_accuracy(mu, data.labels), knn_accuracy(data.images, data.labels)
            if project is not None:
                emap = project(mu, progress=lambda d, t: progress(len(data) + d, total))
                return MapData(split, data.labels, emap.coords, None, knn, emap, pixel_knn=pixel_knn)
            lmap = LatentMap.fit(mu)
            return MapData(split, data.labels, lmap.coords, lmap.explained, knn, lmap, pixel_knn=pixel_knn)

        def done(m: MapData) -> None:
            self._cache = {k: v for k, v in self._cache.items() if k[0] == key[0]}  # this snapshot's maps only
            self._cache[key] = m
            self.session.set_map(m)

        self.view.toolbar.set_progress(0, total)
        self.runner.run(work, done, "Encoding failed", kind="encode", on_progress=self.view.toolbar.set_progress)

    def cancel(self) -> None:
        """Stop the running encode or projection; the map shown stays."""
        self.runner.cancel("encode")
        self.view.toolbar.set_progress(1, 1)

    @property
    def encoding(self) -> bool:
        return bool(self.runner.running("encode"))

    def show_frame(self, k: int) -> None:
        """Show live-map frame k (the newest one also knows its latent means)."""
        live, ds = self.session.live, self.session.dataset
        if live is None or ds is None or not 0 <= k < len(live.frames):
            return
        frame, newest = live.frames[k], k == len(live.frames) - 1
        labels = ds.split(live.split).labels[live.indices]
        lmap = frame.latent_map(live.last_mu if newest else None)
        self.session.set_map(MapData(live.split, labels, lmap.coords, lmap.explained, None, lmap, live.indices, k))

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
        text = f"frame {index + 1} of {count} · step {step:,}" if on_frame else f"{count} frames of the run (showing the full map)"
        self.view.set_timeline(count, index, text if count else "")

    def _caption(self, m: MapData) -> str:
        n = f"{len(m.labels):,} {m.split} images"
        if m.frame is not None:
            step = self.session.live.frames[m.frame].step
            return (f"Live map: {n} encoded at step {step:,} (frame {m.frame + 1}). Click a point to inspect it, "
                    f"empty space to decode it (PCA inverse).")
        knn = f" kNN accuracy (k=5) of the latent means {100 * m.knn:.1f}%" if m.knn is not None else ""
        pixels = f", of the raw pixels {100 * m.pixel_knn:.1f}%" if m.pixel_knn is not None else ""
        if m.explained is None:
            return (f"{n}, {m.latent_map.settings}.{knn}{pixels}. Click a point to inspect it; empty space decodes "
                    f"an estimate (the weighted mean latent of the {m.latent_map.neighbours} nearest points). {DROP_HINT}")
        return (f"{n}.{knn}{pixels}; PCA explains {100 * m.explained.sum():.1f}% of the variance. Click a point "
                f"to inspect it, empty space to decode it, shift-click a second point to interpolate. {DROP_HINT}")

    def _on_map_changed(self) -> None:
        m, shown = self.session.map, self._shown
        if not (m is not None and m.same_points(shown)):
            self._picked = None
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
        self._update_timeline()
        self._place_given(show=False)
        self.map_ready.emit()

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
            self.report("Not an image", str(e))
            return
        self.session.given = (name, image)
        self._place_given(show=True)

    def _place_given(self, show: bool) -> None:
        """Mark the given image on the map shown (every new map, projection or frame places it again)."""
        if self.session.given is None or self.session.map is None or self.session.model is None:
            self.view.mark_given(None)
            return
        z = self.session.given_latent()
        xy = self.session.map.latent_map.transform(z[None])[0]
        self.view.mark_given(xy)
        if show:  # a new map or frame only moves the star
            name, image = self.session.given
            self.inspector.show_given(name, image, self.session.decode(z[None])[0], xy)
            self._show_neighbours(self.session.neighbours(None, z=z))

    def _show_neighbours(self, near) -> None:
        """A strip of core.selection.Neighbours in the inspector (two rows: 64 px or more each), ringed on the map."""
        from core.latent import image_grid

        labels = self.session.map.labels
        self.inspector.show_neighbours(image_grid(self.session.map_images()[near.indices], nrow=4),
                                       [self.session.classes[labels[i]] for i in near.indices], near.distances)
        self.view.mark_neighbours(near.indices)

    def _on_point_clicked(self, index: int) -> None:
        original, recon = self.session.point_images(index)
        m = self.session.map
        self.inspector.show_point(m.image_index(index), self.session.classes[m.labels[index]], original, recon)
        self._show_neighbours(self.session.neighbours(index))
        self._picked = index
        if self.inspector.showing_traversals():
            self._show_traversals()

    def _show_traversals(self) -> None:
        """Decoded only while the Traversals tab shows (70 images: ~80 ms on one CPU thread)."""
        from core.latent import image_grid

        if self._picked is None or self.session.map is None:
            return
        names, images = self.session.traversals(self._picked)
        self.inspector.show_traversals(image_grid(images, nrow=len(images) // len(names)), names)
        self._show_attribute()

    def _show_attribute(self) -> None:
        """The picked point moved along the vector between two classes' (or the selection's) mean latents."""
        from core.latent import image_grid

        if self._picked is None or self.session.map is None or not self.inspector.showing_traversals():
            return
        source, target, strength = self.inspector.attribute_choice()
        if not source or not target:
            return
        source_points, target_points = self._members(source), self._members(target)
        if not len(source_points) or not len(target_points):
            self.inspector.show_attribute(None, f"{source if not len(source_points) else target} has no points on this map")
            return
        images = self.session.attribute_walk(self._picked, source_points, target_points, strength)
        self.inspector.show_attribute(image_grid(images, nrow=len(images)), f"{source} → {target}, 0 … {strength:g}×")

    def _update_attribute_sources(self) -> None:
        groups = self.session.group_names()
        names = list(self.session.classes) + (["selection"] if self.view.selection is not None else [])
        self.inspector.set_attribute_sources(names + [f"group {g}" for g in groups])
        self.inspector.show_groups("Groups: " + ", ".join(
            f"{g} ({len(self.session.group_points(g)):,})" for g in groups) if groups else "")

    def _save_group(self) -> None:
        if self.view.selection is not None:
            self.session.add_group(self.view.selection)
            self._update_attribute_sources()

    def _members(self, name: str):
        """Map points of a class name, a group ("group A") or the current selection."""
        import numpy as np

        if name == "selection" and self.view.selection is not None:
            return self.view.selection
        group = name.removeprefix("group ")
        if group != name and group in self.session.groups:
            return self.session.group_points(group)
        return np.flatnonzero(self.session.map.labels == self.session.classes.index(name))

    def _on_selection(self, indices) -> None:
        from core.latent import image_grid

        self._update_attribute_sources()
        if not len(indices):
            self.inspector.show_selection(0, "", None, None)
            return
        per_class, mean = self.session.selection_summary(indices)
        grid = image_grid(self.session.map_images()[indices[:64]], nrow=8)
        self.inspector.show_selection(len(indices), per_class, grid, mean)

    def _on_empty_clicked(self, x: float, y: float) -> None:
        m = self.session.map
        how = "PCA inverse" if m.explained is not None else f"estimate from the {m.latent_map.neighbours} nearest points"
        self.inspector.show_decoded(x, y, self.session.decode_map_point([x, y]), how)

    def _on_interpolate(self, a: int, b: int) -> None:
        from core.latent import image_grid

        images = self.session.interpolation(a, b, 10, self.inspector.mode)
        m = self.session.map
        a_name, b_name = (f"{self.session.classes[m.labels[i]]} #{m.image_index(i)}" for i in (a, b))
        self.inspector.show_strip(a_name, b_name, image_grid(images, nrow=5))  # two rows: 64 px each
