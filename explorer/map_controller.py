"""MapController: encodes a split into a latent map in the background and answers the map's clicks.

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


class MapController(QObject):
    map_ready = Signal()  # a new map is drawn

    def __init__(self, session: Session, runner: TaskRunner, view: LatentMapView, inspector: Inspector,
                 device_choice: Callable[[], str], parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.runner, self.view, self.inspector = session, runner, view, inspector
        self._device_choice = device_choice  # the device named in the training form
        view.encode_requested.connect(self.encode)
        view.point_clicked.connect(self._on_point_clicked)
        view.empty_clicked.connect(self._on_empty_clicked)
        view.interpolate_requested.connect(self._on_interpolate)
        session.map_changed.connect(self._on_map_changed)

    def encode_device(self):
        return self.session.background_device(self._device_choice())

    def encode(self, split: str | None = None) -> None:
        """Encode a split with the current snapshot and fit the 2D PCA, in the background."""
        from core.latent import LatentMap, encode, knn_accuracy

        if self.session.checkpoint is None or self.session.dataset is None:
            return
        split = split or self.view.split()
        ckpt, data, device = self.session.checkpoint, self.session.dataset.split(split), self.encode_device()

        def work(progress: Progress) -> MapData:
            model = ckpt.build_model().to(device)
            mu = encode(model, data.images, progress=progress)
            lmap = LatentMap.fit(mu)
            return MapData(split, data.labels, lmap.coords, lmap.explained, knn_accuracy(mu, data.labels), lmap)

        self.view.set_progress(0, len(data))
        self.runner.run(work, self.session.set_map, "Encoding failed", kind="encode",
                        on_progress=self.view.set_progress)

    @property
    def encoding(self) -> bool:
        return bool(self.runner.running("encode"))

    def _on_map_changed(self) -> None:
        m = self.session.map
        if m is None:
            self.view.clear()
            self.inspector.clear()
            return
        self.view.set_data(m.coords, m.labels, self.session.classes, m.explained, m.knn, m.split)
        self.map_ready.emit()

    def _on_point_clicked(self, index: int) -> None:
        original, recon = self.session.point_images(index)
        self.inspector.show_point(index, self.session.classes[self.session.map.labels[index]], original, recon)

    def _on_empty_clicked(self, x: float, y: float) -> None:
        self.inspector.show_decoded(x, y, self.session.decode_map_point([x, y]))

    def _on_interpolate(self, a: int, b: int) -> None:
        from core.latent import image_grid

        images = self.session.interpolation(a, b, 10, self.inspector.mode)
        names = [self.session.classes[self.session.map.labels[i]] for i in (a, b)]
        self.inspector.show_strip(f"{names[0]} #{a}", f"{names[1]} #{b}", image_grid(images, nrow=10))
