"""Configuration dataclasses: the one place where defaults live.

The CLI, the GUI form and checkpoints all read their defaults from here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

LOSS_MODES = ("elbo", "calibrated", "sum", "mean")
LR_SCHEDULES = ("constant", "cosine")
PROJECTIONS = ("pca", "tsne", "umap")  # 2D maps of the latents: core.latent.LatentMap, core.projection.PROJECTORS
DEVICES = ("auto", "cpu", "cuda", "mps")


class ConfigError(ValueError):
    """A value a user can get wrong; `field` names it (the form marks that field, the CLI names it)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Preset:
    """Named training settings, with what bench/sweep.py measured for them (README: the sweep). The form's
    Preset box and `vae-explorer train --preset NAME` apply `settings()`."""

    name: str
    measured: str
    loss: str
    beta: float
    contrast: float = 0.0
    augment: float = 0.5

    def settings(self) -> dict:
        """The TrainConfig fields it sets."""
        return {"loss": self.loss, "beta": self.beta, "contrast": self.contrast, "augment": self.augment}

    def describe(self) -> str:
        words = f"loss {self.loss}, beta {self.beta:g}"
        if self.contrast:
            words += f", contrastive weight {self.contrast:g}, augmentation {self.augment:g}"
        return f"{words}: {self.measured}"


# bench/sweep.py after five CPU epochs of CIFAR-10 (README "The contrastive option" and "Loss x beta")
PRESETS = (
    Preset("sharp reconstructions",
           "after 5 CPU epochs test PSNR 21.61 dB, kNN of the latent means 39.0 % (raw pixels 37.2 %), linear "
           "probe 41.7 % (pixels 32.5 %); after 1 epoch 18.45 dB, kNN 37.1 %",
           "calibrated", 1.0),
    Preset("class structure",
           "after 5 CPU epochs test PSNR 21.15 dB, kNN of the latent means 47.8 % (raw pixels 37.2 %), linear probe "
           "52.0 % (pixels 32.5 %); each step costs about twice as much (two views)",
           "calibrated", 0.5, contrast=20.0, augment=0.5),
)


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the reference ConvVAE (see ../shared/reference/convvae.md)."""

    latent_dim: int = 128
    channels: int = 64
    img_size: int = 32
    in_ch: int = 3

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f.name, f"{f.name} must be a positive whole number, got {value!r}")
        if self.img_size % 16:
            raise ConfigError("img_size",
                              f"img_size must be divisible by 16 (four stride-2 stages), got {self.img_size}")
        if self.in_ch not in (1, 3):
            raise ConfigError("in_ch", f"in_ch must be 1 (grayscale) or 3 (RGB), got {self.in_ch}")

    @property
    def flat(self) -> int:
        """Length of the flattened encoder output: 8c * (img/16)^2."""
        return 8 * self.channels * (self.img_size // 16) ** 2

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainConfig:
    """How to train. `steps` (if set) overrides `epochs`."""

    dataset: str = "shapes"
    epochs: int = 10
    steps: int | None = None
    batch_size: int = 128
    lr: float = 1e-3
    beta: float = 1.0
    loss: str = "calibrated"  # chosen by bench/loss_weighting.py, see README ("Model, loss and the default")
    kl_warmup: int = 0  # steps over which beta ramps linearly from 0
    lr_schedule: str = "constant"  # or "cosine": decay to 0 over the run, after lr_warmup steps
    lr_warmup: int = 0  # steps over which the learning rate ramps linearly from 0 (each run)
    grad_clip: float = 0.0  # clip the gradient norm to this; 0 = off
    contrast: float = 0.0  # NT-Xent on two augmented views, in units of the reconstruction term; 0 = off
    augment: float = 0.5  # the views' augmentation strength, 0-1 (core.contrastive.augment)
    device: str = "auto"
    seed: int = 0
    threads: int = 0  # CPU threads for torch; 0 = all cores
    log_every: int = 10  # steps between progress callbacks (each one waits for the device)
    log_interval_s: float = 0.0  # also report when this many seconds passed (single process); 0 = off
    compile: bool = False  # torch.compile the model (CUDA; see bench/gpu.py for whether it helps)
    eval_images: int = 2000  # test images scored at each epoch end; 0 = the whole split
    live_map: bool = True  # encode a fixed subset of test images into map frames while training
    live_map_images: int = -1  # -1: auto (1,000 on CPU and MPS, the whole test split on CUDA); 0: all
    live_map_interval_s: float = -1  # -1: auto (30 s on CPU and MPS, epoch ends only on CUDA); 0: epoch ends

    def live_map_settings(self, device_type: str) -> tuple[int, float, float]:
        """(images, seconds between frames, least seconds between epoch-end frames), "auto" resolved."""
        cuda = device_type == "cuda"
        # on the CPU a frame of 2,000 images every 20 s cost 7% of training (bench/live_map.py); this ~2.5%
        images = self.live_map_images if self.live_map_images >= 0 else (0 if cuda else 1000)
        interval = self.live_map_interval_s if self.live_map_interval_s >= 0 else (0.0 if cuda else 30.0)
        # a CUDA epoch of CIFAR-10 takes about a second: a frame every 10 s is enough to watch
        min_gap = 10.0 if cuda and self.live_map_interval_s < 0 else 0.0
        return images, interval, min_gap

    def validate(self) -> None:
        """Raise ValueError naming the first bad field and what it accepts."""
        checks = [
            ("epochs", self.epochs >= 1, "at least 1"),
            ("steps", self.steps is None or self.steps >= 1, "at least 1"),
            ("batch_size", 1 <= self.batch_size <= 65536, "between 1 and 65536"),
            ("lr", 0 < self.lr <= 1, "greater than 0 and at most 1"),
            ("beta", 0 <= self.beta <= 1000, "between 0 and 1000"),
            ("kl_warmup", self.kl_warmup >= 0, "0 or more"),
            ("threads", self.threads >= 0, "0 (all cores) or more"),
            ("log_every", self.log_every >= 1, "at least 1"),
            ("log_interval_s", self.log_interval_s >= 0, "0 (off) or more"),
            ("eval_images", self.eval_images >= 0, "0 (all) or more"),
            ("live_map_images", self.live_map_images >= -1, "-1 (auto), 0 (all) or more"),
            ("live_map_interval_s", self.live_map_interval_s >= -1, "-1 (auto), 0 (epoch ends only) or more"),
            ("loss", self.loss in LOSS_MODES, "one of " + ", ".join(LOSS_MODES)),
            ("lr_schedule", self.lr_schedule in LR_SCHEDULES, "one of " + ", ".join(LR_SCHEDULES)),
            ("lr_warmup", self.lr_warmup >= 0, "0 or more"),
            ("grad_clip", self.grad_clip >= 0, "0 (off) or more"),
            ("contrast", 0 <= self.contrast <= 1000, "between 0 (off) and 1000"),
            ("augment", 0 <= self.augment <= 1, "between 0 and 1"),
            ("device", self.device in DEVICES, "one of " + ", ".join(DEVICES)),
        ]
        for name, ok, accepted in checks:
            if not ok:
                raise ConfigError(name, f"{name} must be {accepted}, got {getattr(self, name)!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
