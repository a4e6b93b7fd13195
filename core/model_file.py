"""Model files: anyone's VAE, explored without running its code. One zip (`.vaemodel`) holds two
`torch.export` programs, an encoder (images [N, C, H, W] in [0, 1] -> mu, logvar) and a decoder
(z [N, latent] -> images), and a manifest (name, image size, channels, latent size, class names).

Opening one never unpickles an object: the programs' graphs are JSON, checked before torch reads them
(only PyTorch's own `aten` operators, symbolic sizes made of size symbols and arithmetic, no guard code),
and their weights load with `torch.load(weights_only=True)`. `torch.export.load` is not used: it falls
back to full unpickling, and its shape expressions go through sympy's `eval`.
"""
from __future__ import annotations

import copy
import io
import itertools
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from core.checkpoint import Checkpoint, CheckpointError, atomic_file, check_images, load_checkpoint
from core.metrics import History

FORMAT, VERSION, SUFFIX = "vae-explorer-model", 1, ".vaemodel"
PARTS = ("encoder", "decoder")
PIECES = ("state_dict", "constants", "example_inputs")  # torch.export's tensors, beside its JSON graph
FIX = "Write model files with `vae-explorer export-model` or core.model_file.export_model."
_TARGET = re.compile(r"torch\.ops\.aten\.\w+\.\w+|_operator\.getitem")
_SYMBOL = re.compile(r"Symbol\('[su]\d+'(, (positive|integer)=(True|False))*\)")
_NAMES = {"FloorDiv", "CeilDiv", "Mod", "PythonMod", "Max", "Min", "True", "False", "oo"}
_EXPRESSION = re.compile(r"[\w\s()+\-*/,<>=]*")


class ModelFileError(CheckpointError):
    """A model file cannot be written or opened; the message names the file and the fix."""


@dataclass(frozen=True)
class ModelShape:
    """What a model file's VAE takes and gives: images [N, in_ch, img_size, img_size], latents [N, latent_dim]."""

    latent_dim: int
    img_size: int
    in_ch: int

    def describe(self) -> str:
        return f"latent {self.latent_dim}, {self.img_size} px"


class ExportedVAE(nn.Module):
    """The two programs of a model file behind the ConvVAE's interface: `encode`, `decode`, `config`."""

    def __init__(self, encoder: torch.export.ExportedProgram, decoder: torch.export.ExportedProgram,
                 shape: ModelShape):
        super().__init__()
        self.programs, self.config = (encoder, decoder), shape
        self.encoder, self.decoder = encoder.module(), decoder.module()
        self.training = False

    def train(self, mode: bool = True) -> "ExportedVAE":
        """The programs were exported in eval mode and stay so (an exported module refuses train/eval)."""
        self.training = mode
        return self

    def to(self, device, *args, **kwargs) -> "ExportedVAE":
        """Move copies of both programs to `device` with torch.export's device pass (it moves the constants
        written into the graph too, and changes the program it is given: the model file's own stay put)."""
        from torch.export.passes import move_to_device_pass

        device = torch.device(device)
        weight = next(itertools.chain(self.encoder.parameters(), self.encoder.buffers()), None)
        if weight is None or weight.device != device:
            self.programs = tuple(move_to_device_pass(copy.deepcopy(p), device) for p in self.programs)
            self.encoder, self.decoder = (p.module() for p in self.programs)
        return self

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, C, H, W] in [0,1] -> (mu, logvar), each [B, latent]."""
        mu, logvar = self.encoder(x)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """[B, latent] -> [B, C, H, W] in [0,1]."""
        return self.decoder(z)


@dataclass
class ModelFile:
    """An opened model file. It answers what exploring asks of a Checkpoint (a model, its shape, its classes)
    and has no training state: it is explored, never trained here."""

    path: Path
    name: str
    model_config: ModelShape
    classes: list[str] | None
    programs: tuple  # (encoder, decoder) torch.export.ExportedProgram
    history: History = field(default_factory=History)
    step: int = 0
    epoch: int = 0
    dataset: str | None = None
    map_frames: dict | None = None
    train_config: None = None
    old_measure: bool = False
    trainable = False  # Checkpoint.trainable is True

    def build_model(self) -> ExportedVAE:
        return ExportedVAE(*self.programs, self.model_config)

    def check_images(self, images, name: str, data_name: str) -> None:
        check_images(self.model_config, images, name, data_name)


class _Part(nn.Module):
    """One method of a module as a module's forward (its weights stay parameters of the program)."""

    def __init__(self, owner: nn.Module, method: str = "forward"):
        super().__init__()
        self.owner, self.method = owner, method

    def forward(self, x):
        return getattr(self.owner, self.method)(x)


def export_model(encoder: nn.Module, decoder: nn.Module, example: torch.Tensor, path: str | os.PathLike,
                 name: str, classes: list[str] | None = None) -> Path:
    """Write a model file from any encoder (images -> (mu, logvar)) and decoder (z -> images) and an example
    batch of images (float [N, C, H, W] in [0, 1]). Both are exported in eval mode with a free batch size.

    Raises ModelFileError naming what does not fit (outputs of the wrong shape, a graph torch.export cannot
    trace, a path that cannot be written).
    """
    from torch.export import Dim, export

    path = Path(path).expanduser()
    if example.ndim != 4 or example.shape[2] != example.shape[3]:
        raise ModelFileError(f"the example batch must be square images [N, C, H, W], got {list(example.shape)}")
    example = example.float().repeat(2 if len(example) < 2 else 1, 1, 1, 1)  # a batch of 2+: the size stays free
    encoder.eval(), decoder.eval()
    with torch.no_grad():
        out = encoder(example)
        if not (isinstance(out, (tuple, list)) and len(out) == 2 and out[0].shape == out[1].shape
                and out[0].ndim == 2 and len(out[0]) == len(example)):
            raise ModelFileError("the encoder must return (mu, logvar), each [N, latent]")
        images = decoder(out[0])
        if tuple(images.shape) != tuple(example.shape):
            raise ModelFileError(f"the decoder returns {list(images.shape)} for {list(out[0].shape)} latents; it "
                                 f"must return images like the example, {list(example.shape)}")
    batch = Dim("batch")
    try:
        programs = [export(_Part(encoder), (example,), dynamic_shapes=({0: batch},)),
                    export(_Part(decoder), (out[0].contiguous(),), dynamic_shapes=({0: batch},))]
    except Exception as e:
        raise ModelFileError(f"torch.export could not trace the model: {str(e).strip().splitlines()[0]}") from e
    manifest = {"format": FORMAT, "version": VERSION, "name": str(name), "image_size": int(example.shape[2]),
                "channels": int(example.shape[1]), "latent_size": int(out[0].shape[1]),
                "classes": list(classes) if classes else None, "torch": torch.__version__}
    _write_zip(path, manifest, programs)
    return path


def export_checkpoint(ckpt: Checkpoint, path: str | os.PathLike, name: str | None = None) -> Path:
    """A model file of one of our checkpoints' ConvVAE (it encodes and decodes exactly as the checkpoint)."""
    model, c = ckpt.build_model().eval(), ckpt.model_config
    example = torch.rand(2, c.in_ch, c.img_size, c.img_size, generator=torch.Generator().manual_seed(0))
    return export_model(_Part(model, "encode"), _Part(model, "decode"), example, path,
                        name or Path(path).stem, ckpt.classes)


def _write_zip(path: Path, manifest: dict, programs: list) -> None:
    from torch._export.serde.serialize import serialize

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("manifest.json", json.dumps(manifest, indent=1))
            for part, program in zip(PARTS, programs):
                artifact = serialize(program)
                z.writestr(f"{part}/program.json", artifact.exported_program)
                for piece in PIECES:
                    z.writestr(f"{part}/{piece}.pt", getattr(artifact, piece))
    except OSError as e:
        raise ModelFileError(f"cannot write {path}: {e.strerror or e}; choose a writable location") from e


def is_model_file(path: str | os.PathLike) -> bool:
    """A zip with a model file's manifest (checkpoints are zips too, without one)."""
    try:
        with zipfile.ZipFile(path) as z:
            return "manifest.json" in z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def open_model(path: str | os.PathLike) -> "Checkpoint | ModelFile":
    """A checkpoint or a model file, by what the file holds; CheckpointError (or ModelFileError) if neither."""
    return load_model_file(path) if is_model_file(path) else load_checkpoint(path)


def _check_graph(node, part: str) -> None:
    """Refuse a program JSON that could run anything but PyTorch's own operators (see the module docstring)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "target" and isinstance(value, str) and not _TARGET.fullmatch(value):
                raise ModelFileError(f"its {part} calls {value[:80]!r}, which is not one of PyTorch's own operators")
            if key == "guards_code" and value:
                raise ModelFileError(f"its {part} holds guard code, which would run on opening")
            if key == "custom_obj_values" and value:
                raise ModelFileError(f"its {part} holds custom objects")
            if key == "expr_str" or key == "range_constraints":
                for expr in (value if isinstance(value, dict) else [value]):
                    _check_expression(expr, part)
            _check_graph(value, part)
    elif isinstance(node, list):
        for value in node:
            _check_graph(value, part)


def _check_expression(expr, part: str) -> None:
    rest = _SYMBOL.sub("s", str(expr))
    names = set(re.findall(r"[A-Za-z_]\w*", rest)) - _NAMES
    if not _EXPRESSION.fullmatch(rest) or any(not re.fullmatch(r"[su]\d*", n) for n in names):
        raise ModelFileError(f"its {part} holds a size expression that is not arithmetic on sizes: {str(expr)[:80]!r}")


def _load_tensors(data: bytes, where: str):
    if not data:
        return {}
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelFileError(f"its {where} contains Python objects that could run code, so it was refused") from e


def _read_program(z: zipfile.ZipFile, part: str):
    from torch._export.serde.serialize import SerializedArtifact, deserialize

    try:
        graph = z.read(f"{part}/program.json")
        _check_graph(json.loads(graph), part)
        pieces = [_load_tensors(z.read(f"{part}/{p}.pt"), f"{part}'s {p}") for p in PIECES]
    except KeyError as e:
        raise ModelFileError(f"it has no {e.args[0]}") from e
    except json.JSONDecodeError as e:
        raise ModelFileError(f"its {part} graph is not JSON ({e})") from e
    try:
        program = deserialize(SerializedArtifact(graph, *pieces))
    except Exception as e:
        raise ModelFileError(f"its {part} cannot be read by this PyTorch ({str(e).strip()[:120]})") from e
    for node in program.graph.nodes:  # what the JSON check promised, on the program torch built
        if node.op == "call_function" and not (getattr(node.target, "namespace", None) == "aten"
                                               or node.target.__name__ == "getitem"):
            raise ModelFileError(f"its {part} calls {node.target}, which is not one of PyTorch's own operators")
    return program


def _manifest(z: zipfile.ZipFile) -> tuple[str, ModelShape, list[str] | None]:
    try:
        m = json.loads(z.read("manifest.json"))
        if m.get("format") != FORMAT or m.get("version") != VERSION:
            raise ModelFileError(f"its manifest is format {m.get('format')!r} version {m.get('version')!r}, "
                                 f"not {FORMAT!r} version {VERSION}")
        shape = ModelShape(int(m["latent_size"]), int(m["image_size"]), int(m["channels"]))
        classes = m.get("classes")
        if classes is not None and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
            raise ModelFileError("its manifest's classes are not a list of names")
        if min(shape.latent_dim, shape.img_size, shape.in_ch) < 1:
            raise ModelFileError("its manifest's sizes must be positive")
        return str(m.get("name") or "model"), shape, classes
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise ModelFileError(f"its manifest is malformed ({e})") from e


def peek_model(path: str | os.PathLike) -> "Checkpoint | ModelFile":
    """A checkpoint's or model file's settings and history without its weights (a model file: its manifest
    only): for listing runs and overlaying curves, never for exploring."""
    from core.checkpoint import peek_checkpoint

    path = Path(path).expanduser()
    if not is_model_file(path):
        return peek_checkpoint(path)
    try:
        with zipfile.ZipFile(path) as z:
            name, shape, classes = _manifest(z)
    except ModelFileError as e:
        raise ModelFileError(f"Cannot read model file {path}: {e}. {FIX}") from e
    return ModelFile(path, name, shape, classes, ())


def load_model_file(path: str | os.PathLike) -> ModelFile:
    """Open a model file safely and prove it: a probe batch must encode to [N, latent] twice and decode to
    images of the manifest's size. Every problem raises ModelFileError naming the file and the fix."""
    path = Path(path).expanduser()
    try:
        data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            name, shape, classes = _manifest(z)
            programs = tuple(_read_program(z, part) for part in PARTS)
        model = ExportedVAE(*programs, shape)
        with torch.inference_mode():
            mu, logvar = model.encode(torch.full((2, shape.in_ch, shape.img_size, shape.img_size), 0.5))
            images = model.decode(mu)
        if mu.shape != (2, shape.latent_dim) or logvar.shape != mu.shape or images.shape[1:] != (
                shape.in_ch, shape.img_size, shape.img_size):
            raise ModelFileError(f"its programs do not match its manifest (latents {list(mu.shape)}, images "
                                 f"{list(images.shape)})")
    except ModelFileError as e:
        raise ModelFileError(f"Cannot open model file {path}: {e}. {FIX}") from e
    except OSError as e:
        raise ModelFileError(f"Cannot open model file {path}: {e.strerror or e}. {FIX}") from e
    except (zipfile.BadZipFile, ValueError, RuntimeError, TypeError) as e:
        raise ModelFileError(f"Cannot open model file {path}: {str(e).strip()[:160]}. {FIX}") from e
    return ModelFile(path, name, shape, classes, programs)
