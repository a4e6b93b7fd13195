"""SamplesController: answers the Samples panel from the prior or from a Gaussian mixture fitted to
the training latents. The mixture is fitted in the background (after training, or when first
asked for) and cached for the model snapshot it was fitted to.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject

from explorer.sampler import SamplesPanel
from explorer.session import Session
from explorer.tasks import Progress, TaskRunner


class SamplesController(QObject):
    def __init__(self, session: Session, runner: TaskRunner, panel: SamplesPanel, device_choice: Callable[[], str],
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.runner, self.panel, self._device_choice = session, runner, panel, device_choice
        self.mixture = None  # core.latent.LatentMixture of the current snapshot
        self._asked: tuple | None = None  # the panel's last request: (source, temperature, seed)
        self._mixture_generation = -1
        panel.sample_requested.connect(self.draw)
        session.model_changed.connect(self._on_model_changed)
        session.training_changed.connect(self._on_training_changed)

    @property
    def has_mixture(self) -> bool:
        return self.mixture is not None and self._mixture_generation == self.session.generation

    def draw(self, source: str, temperature: float, seed: int) -> None:
        from core.latent import image_grid, sample_mixture

        self._asked = (source, temperature, seed)
        if self.session.model is None:
            return
        if source == "mixture" and self.has_mixture:
            images = sample_mixture(self.session.model, self.mixture, 64, temperature, seed)
            what = f"the fitted mixture, temperature {temperature:.2f}"
        else:  # the prior, also while the mixture is not fitted yet
            images, what = self.session.samples(64, temperature, seed), f"the prior N(0, {temperature:.2f}² I)"
            if source == "mixture" and self.session.training:
                self.panel.set_status("Prior samples for now: the mixture is fitted to the model when training ends.")
            elif source == "mixture":
                self.fit_mixture()  # draws from the mixture when it is ready
        self.panel.set_grid(image_grid(images, nrow=8), f"64 samples from {what}, seed {seed}")

    def fit_mixture(self) -> None:
        """Encode the training images with the current snapshot and fit the mixture, in the background."""
        from core.latent import MIXTURE_IMAGES, fit_training_mixture

        if self.session.checkpoint is None:
            return
        if self.session.dataset is None:
            self.panel.set_status("Load the dataset first: the mixture is fitted to its training latents.")
            return
        if self.has_mixture or self.runner.running("mixture"):
            return
        ds = self.session.dataset  # embeddings' images are all in their one split, test
        ckpt, images = self.session.checkpoint, ds.train.images if len(ds.train) else ds.test.images
        if images is None:
            self.panel.set_status("No mixture: these points came without images to encode.")
            return
        try:  # a model file of another image size than the dataset loaded: the map says what to do
            ckpt.check_images(images, "This model", self.session.dataset.name)
        except ValueError as e:
            self.panel.set_status(f"No mixture: {e}.")
            return
        device, n = self.session.background_device(self._device_choice()), min(len(images), MIXTURE_IMAGES)

        def work(progress: Progress):
            return fit_training_mixture(ckpt.build_model().to(device), images, progress)

        def progress(done: int, total: int) -> None:
            self.panel.set_status(f"Fitting the mixture: encoded {done:,} of {total:,} training images...")

        self.panel.set_status(f"Fitting a 10-component mixture to the latents of {n:,} training images...")
        generation = self.session.generation
        self.runner.run(work, lambda mixture: self._on_fitted(mixture, generation), "Fitting the mixture failed",
                        kind="mixture", on_progress=progress)

    def _on_fitted(self, mixture, generation: int) -> None:
        self.mixture, self._mixture_generation = mixture, generation
        self.panel.set_status("Mixture fitted to the training latents of this model.")
        if self._asked is not None and self._asked[0] == "mixture":
            self.draw(*self._asked)

    def _on_training_changed(self) -> None:
        """After training (finished, stopped or failed): fit the mixture to the model it left."""
        if not self.session.training and self.session.model is not None:
            self.fit_mixture()

    def _on_model_changed(self) -> None:
        self.panel.set_status("")
        if self.session.checkpoint is None:
            self.panel.clear()
        else:
            self.panel.request()
