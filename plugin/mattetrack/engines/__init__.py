"""Segmentation engines, declared in one table (`ENGINES`); `get_engine(name)` returns a ready one.

Adding an engine is a row here plus its package with a `create(spec, model, device, compile)`
factory; the command line's choices and help, the service's engine gate and the default
read-ahead all come from the row. No caller compares an engine's name.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from mattetrack.engines.base import Coverages, Engine, FrameSource, Propagated
from mattetrack.errors import InputError
from mattetrack.tables import resolve


@dataclass(frozen=True)
class EngineSpec:
    """One engine and what callers need to know of it before loading it.

    factory: `"module:function"` making the engine from (spec, model, device, compile);
    requires: modules it imports (checked first, for a one-line error naming the pip extra
    `extra`); takes_model: it has weights (`--model`) and runs on a device (`--device`,
    `--compile`); concurrent: one loaded engine may serve calls from several threads at once (it
    keeps no state between calls; else the service runs one call at a time); read_ahead /
    read_ahead_gpu: frames decoded ahead by default on the CPU / when it runs on a GPU (which can
    outrun one core's decoding: a 1080p half EXR takes ~60 ms to decode and convert).
    span_results: its tracks restart at every keyframe, so a frame's matte depends only on the
    keyframes either side (`Engine.span_results`; a farm job splits there).
    stops_at_cuts: its tracks stop at hard cuts (`Engine.stops_at_cuts`; a farm job splits
    there too, at the cuts `Engine.cuts` finds).
    options: extra keyword arguments for the factory.
    """

    name: str
    description: str
    factory: str
    requires: tuple[str, ...] = ()
    extra: str | None = None
    takes_model: bool = False
    concurrent: bool = False
    read_ahead: int = 2
    read_ahead_gpu: int = 2
    span_results: bool = False
    stops_at_cuts: bool = False
    options: tuple[tuple[str, str], ...] = ()

    def default_read_ahead(self, device: str | None) -> int:
        """Frames to decode ahead for this engine on `device` (`--device`)."""
        if not self.takes_model or self.read_ahead_gpu == self.read_ahead:
            return self.read_ahead
        from mattetrack.engines.devices import pick_device

        return self.read_ahead_gpu if pick_device(device).type == "cuda" else self.read_ahead


def _sam(name: str, title: str) -> EngineSpec:
    return EngineSpec(name, f"{title} through transformers",
                      "mattetrack.engines.sam:create", requires=("transformers",), extra="sam",
                      takes_model=True, concurrent=False, read_ahead=2, read_ahead_gpu=8,
                      options=(("family", name),))


ENGINES: dict[str, EngineSpec] = {e.name: e for e in (
    EngineSpec("classic", "embedded, no weights, any CPU",
               "mattetrack.engines.classic:create", concurrent=True, span_results=True,
               stops_at_cuts=True),
    _sam("sam2", "SAM 2"),
    _sam("edgetam", "EdgeTAM"),
    _sam("sam3", "the SAM 3 tracker"),
)}
DEFAULT_ENGINE = "classic"


def engine_spec(name: str) -> EngineSpec:
    """The table's row for `--engine name`; a one-line error for an unknown name."""
    spec = ENGINES.get(name)
    if spec is None:
        raise InputError(f"{name!r}: unknown engine (choose from {', '.join(ENGINES)})",
                         field="engine")
    return spec


def get_engine(
    name: str = DEFAULT_ENGINE,
    model: str | None = None,
    device: str | None = None,
    compile: bool = False,
) -> Engine:
    """The engine called `name` (`--engine`), loaded.

    model: a weights folder or Hugging Face id for engines with weights (default: the family's
    released checkpoint); device: auto, cpu, cuda or cuda:N; compile: `torch.compile` the
    image encoder. Engines without weights take none of them.
    """
    spec = engine_spec(name)
    if not spec.takes_model:
        if model is not None:
            raise InputError(f": the {name} engine has no weights (it needs no --model)",
                             field="model")
        if device not in (None, "auto", "cpu") or compile:
            field, detail = ("compile", "") if compile else ("device", f" {device}")
            raise InputError(f"{detail}: only for the deep engines ({name} runs on the CPU)",
                             field=field)
    for module in spec.requires:
        try:
            importlib.import_module(module)
        except ImportError:
            raise InputError(f"{name}: needs the {module} package (pip install "
                             f"'mattetrack[{spec.extra}]')", field="engine") from None
    return resolve(spec.factory)(spec, model=model, device=device, compile=compile)


__all__ = ["Coverages", "DEFAULT_ENGINE", "ENGINES", "Engine", "EngineSpec", "FrameSource",
           "Propagated", "engine_spec", "get_engine"]
