"""MapController: decides when a split is encoded into a latent map and does it in the background, shows the
live map's frames while the model trains (and from an opened checkpoint's timeline), and colours, labels and
scores the map with its lenses, computed only when something asks (core.maps.MapLenses).

The user's choices go down to the session (`choose`) and come back with `choices_changed`, which this draws;
it never reads a widget. Finished maps go into the session, tagged with the generation they were computed for.
What the Inspector shows about the map is explorer.inspecting's.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.lenses import IMAGE_LENSES, LENSES, MODEL_LENSES, lens
from core.structure import varies
from explorer.latent_map import LatentMapView
from explorer.session import Session
from explorer.tasks import Progress, TaskRunner

if TYPE_CHECKING:
    from core.maps import MapData
    from core.metrics import Outcome

DROP_HINT = "Drop or paste (Ctrl+V) an image to place it."
KNN = "kNN accuracy (k = 20, cosine) of the latent means"  # core.structure's protocol: the label's tooltip


class MapController(QObject):
    map_ready = Signal()  # a new map is drawn
    lenses_ready = Signal(object)  # core.lenses.LensReport of the map shown
    lenses_cleared = Signal(str)  # why the map shown has no lens report

    def __init__(self, session: Session, runner: TaskRunner, view: LatentMapView,
                 device_choice: Callable[[], str], report: Callable[..., None], parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.runner, self.view, self.report = session, runner, view, report
        self._device_choice = device_choice  # the device named in the training form
        view.encode_requested.connect(self.encode)
        view.cancel_requested.connect(self.cancel)
        view.frame_selected.connect(self.show_frame)
        view.choice_requested.connect(self.choose)
        session.map_changed.connect(self._on_map_changed)
        session.choices_changed.connect(self._on_choices_changed)
        session.frame_added.connect(self._on_frame_added)
        session.frames_reset.connect(self._update_timeline)
        session.dataset_changed.connect(self._on_dataset_changed)
        self._shown: MapData | None = None
        self._cache: dict[tuple, MapData] = {}  # (generation, split, projection) -> map
        self._lenses_shown = False  # the Lenses tab is in view: only then is a map's lens report computed
        self._scored: MapData | None = None  # the map whose lens report was asked for last
        self._lens_job: tuple | None = None  # (MapLenses, names being computed, callbacks waiting for them)
        view.set_choices(session.choices)

    def choose(self, name: str, value) -> None:
        """A choice the user made on the map (an explorer.choices.Choices field)."""
        self.session.request(name, value, self.report)

    def walk_dimension(self, d: int) -> None:
        """The Lenses tab's heatmap asked for latent dimension d: the map is coloured by it, and the traversals
        walk it first."""
        from core.lenses import dimension_name

        self.choose("walk_dimension", d)
        self.choose("colour_by", dimension_name(d))

    def _on_choices_changed(self, changed: frozenset) -> None:
        self.view.set_choices(self.session.choices, changed)
        if "colour_by" in changed and "colour_range" not in changed and self.session.choices.colour_range:
            # a typed range was the other lens's
            self.session.choose(colour_range=())
        elif changed & {"colour_by", "colour_range", "colour_map", "colour_log"}:
            self._colour()
        if changed & {"cluster_labels", "cluster_k"}:
            self._label_clusters()

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

    def encode(self) -> None:
        """Map the split chosen with the current snapshot: encode it (once), then the projection chosen (PCA,
        t-SNE or UMAP), in the background. Maps are cached per model snapshot, split and projection; a cancelled
        run leaves the map shown."""
        from core.maps import encode_and_project, projection_steps

        if self.session.embeddings is not None and self.session.checkpoint is None:
            self._project_embeddings()
            return
        if self.session.checkpoint is None or self.session.dataset is None:
            return
        split, projection = self.session.choices.split, self.session.choices.projection
        key = (self.session.generation, split, projection)
        if key in self._cache:
            self.session.set_map(self._cache[key])
            return
        encoded = self._cache.get((self.session.generation, split, "pca"))  # its latent means serve every projection
        ckpt, data, device = self.session.checkpoint, self.session.dataset.split(split), self.encode_device()
        if data.images is None:
            self.report("Nothing to encode", f"{self.session.dataset.name} came without images. In the Train tab, "
                                             f"load a dataset for the model to map.", "")
            return
        try:  # a model file of another image size than the dataset loaded
            ckpt.check_images(data.images, "This model", self.session.dataset.name)
        except ValueError as e:
            self.report("The dataset does not fit the model", f"{e}. In the Train tab, choose Shapes (made at the "
                         f"model's size) or an image folder, and Load.", "")
            return
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

    def _project_embeddings(self) -> None:
        """Embeddings without a model: the projection chosen of their vectors (their given coordinates, if any,
        were the first map; opening the file again shows them)."""
        from core.embeddings import embeddings_map
        from core.maps import projection_steps

        projection = self.session.choices.projection
        embeddings = dataclasses.replace(self.session.embeddings, coords=None)  # projected, not the given map
        key = (self.session.generation, "test", projection)
        if key in self._cache:
            self.session.set_map(self._cache[key])
            return

        def done(m: MapData) -> None:
            self._cache[key] = m
            self.session.set_map(m)

        self.view.set_progress(0, projection_steps(projection, 0))
        self.runner.run(lambda progress: embeddings_map(embeddings, projection, progress), done, "Projecting failed",
                        kind="encode", on_progress=self.view.set_progress)

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
        from core.maps import MapData

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
        if self.session.embeddings is not None:
            return self._embeddings_caption(m)
        n = f"{len(m.labels):,} {m.split} images"
        if m.frame is not None:
            frame = self.session.live.frames[m.frame]
            old = " (an older measure: k = 5, Euclidean)" if self.session.old_measure else ""
            knn = f"; {KNN} {100 * frame.knn:.1f}%{old}" if np.isfinite(frame.knn) else ""
            return (f"Live map: {n} encoded at step {frame.step:,} (frame {m.frame + 1}){knn}. Click a point to "
                    f"inspect it, empty space to decode it (PCA inverse).")
        knn = f" {KNN} {100 * m.knn:.1f}%" if m.knn is not None else ""
        if not m.projection.exact:
            return (f"{n}, {m.projection.settings}.{knn}. Click a point to inspect it; empty space decodes "
                    f"an estimate (the weighted mean latent of the {m.projection.neighbours} nearest points). "
                    f"{DROP_HINT}")
        return (f"{n}.{knn}; PCA explains {100 * m.explained.sum():.1f}% of the variance. Click a point "
                f"to inspect it, empty space to decode it, shift-click a second point to interpolate. {DROP_HINT}")

    def _embeddings_caption(self, m: MapData) -> str:
        e = self.session.embeddings
        knn = f" {KNN.replace('latent means', 'vectors')} {100 * m.knn:.1f}%." if m.knn is not None else ""
        how = (f"PCA explains {100 * m.explained.sum():.1f}% of the variance" if m.explained is not None
               else m.projection.settings)
        decode = "" if self.session.decodable else " No model came with them, so nothing is decoded."
        return (f"{len(m.labels):,} embeddings ({e.vectors.shape[1]}-d) from {e.name}; {how}.{knn} Click a point to "
                f"see it and its neighbours.{decode}")

    # ------------------------------------------------------------ the document changed: feed the widgets

    def _on_map_changed(self) -> None:
        m, shown = self.session.map, self._shown
        self._shown = m
        if m is None:
            self.view.clear()
            return
        if m.same_points(shown):
            self.view.move_to(m.coords, m.explained, self._caption(m))
        else:
            self.view.set_data(m.coords, m.labels, self.session.classes, m.explained, self._caption(m),
                               m.projection.title, self.session.lenses.columns())
            ds = self.session.dataset
            self.view.set_images(ds.split(m.split).images if ds is not None else None, m.indices)
        self._colour()
        self._score_lenses(m)
        if m.frame is None:
            self._label_clusters()
        self._update_timeline()
        self.map_ready.emit()

    # ------------------------------------------------------------ lenses, computed when asked

    def with_lenses(self, names, then: Callable[[], None]) -> None:
        """Call `then()` once the map shown has the lens values `names` (core.lenses.LENSES keys) it can have: at
        once if it has them, else when a background task has computed them (one task at a time, asked once)."""
        lenses, job = self.session.lenses, self._lens_job
        missing = set(lenses.missing(names))
        if not missing:
            then()
            return
        joining = job is not None and job[0] is lenses and bool(self.runner.running("lens values"))
        if joining and missing <= job[1]:
            job[2].append(then)
            return
        wanted, waiting = missing | (job[1] if joining else set()), (job[2] if joining else []) + [then]
        self._lens_job = (lenses, wanted, waiting)
        ckpt, device = self.session.checkpoint, self.encode_device()

        def work(progress):
            model = ckpt.build_model().to(device) if wanted & set(MODEL_LENSES) else None
            return lenses.compute(wanted, model, progress)

        def done(values) -> None:
            lenses.add(values)
            self._lens_job = None
            if self.session.map is not None and self.session.lenses is lenses:
                for callback in waiting:
                    callback()

        self.runner.run(work, done, "Computing the map's lens values failed", kind="lens values")

    def _label_clusters(self) -> None:
        """Cluster labels for the map shown (as chosen: off, k by BIC or k), in the background."""
        from core.lenses import cluster_labels

        m, ds, k = self.session.map, self.session.dataset, self.session.choices.cluster_count
        if k is None or m is None or m.frame is not None or m.projection.mu is None or ds is None:
            self.view.set_cluster_labels([])
            if k is not None and m is not None:
                self.view.show_message("Cluster labels need an encoded map: press Encode.")
            return

        def label() -> None:  # with the image statistics that name what sets each cluster apart
            mu, coords, lenses, classes = m.projection.mu, m.coords, self.session.lenses.known(), self.session.classes
            images = ds.split(m.split).images

            def done(labels) -> None:
                self.view.set_cluster_labels(labels, [images[m.image_index(label.medoid)] for label in labels])

            self.runner.run(lambda progress: cluster_labels(mu, coords, lenses, classes, k), done,
                            "Clustering the map failed", kind="clusters")

        self.with_lenses(IMAGE_LENSES, lambda: self.session.map is m and label())

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
        if m is None or m.frame is not None or ds is None or m.projection.mu is None:
            return
        if not self._lenses_shown:
            if m is not self._scored:
                self._scored = None
                self.lenses_cleared.emit("Scoring what these latents predict...")
            return
        if m is self._scored:
            return
        self._scored = m
        self.lenses_cleared.emit("Scoring what these latents predict...")

        def score() -> None:
            lenses = self.session.lenses
            mu, images, properties = lenses.mu, lenses.images, lenses.known()
            properties = {k: v for k, v in properties.items() if k not in ("cluster", "mixture")}
            if not any(varies(v) for v in properties.values()):  # embeddings: one class, no more
                self.lenses_cleared.emit("Nothing to rank: these points have one class, no images and no other "
                                         "columns. Colour by a cluster to see their structure.")
                return
            classes, kl = self.session.classes, self.session.kl_dims
            self.runner.run(lambda progress: lens_report(mu, images, properties, classes=classes, kl_dims=kl),
                            self.lenses_ready.emit, "Scoring the lenses failed", kind="lenses")

        self.with_lenses([n for n in LENSES if n not in ("cluster", "mixture")],
                         lambda: self.session.map is m and score())

    def _colour(self) -> None:
        """Colour the map by the lens chosen (class where the map cannot have it), computing it if need be."""
        name, m = self.session.choices.colour_by, self.session.map
        if m is None or self.session.dataset is None:
            return
        if name == "class":
            self.view.set_colouring(None)
            return
        title = lens(name).title
        if not self.session.lenses.possible(name):
            self.view.show_message(f"{title} is known for encoded maps of a model that has it; this map is coloured "
                                   f"by class (brightness, saturation, hue and contrast work for every map).")
            self.view.set_colouring(None)
            return
        if self.session.lenses.missing([name]):
            self.view.show_message(f"Computing {title} for {len(m.labels):,} points...")
        self.with_lenses([name], lambda: self.session.map is m and self._show_colouring(name, m))

    def _show_colouring(self, name: str, m: "MapData") -> None:
        from core.colours import colouring

        if self.session.choices.colour_by == name:
            self.view.set_colouring(colouring(name, self.session.lenses.get(name), self.session.classes,
                                              self.session.choices.colour_scale))
            self.view.show_message(self._caption(m))
