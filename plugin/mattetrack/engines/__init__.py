"""Segmentation engines. `get_engine(name)` returns a ready engine."""

from __future__ import annotations

from mattetrack.engines.base import Coverages, Engine, FrameSource
from mattetrack.errors import InputError

# classic needs nothing; the others are the SAM 2 family through transformers (engines/sam).
ENGINES = ("classic", "sam2", "edgetam", "sam3")


def get_engine(
    name: str = "classic",
    model: str | None = None,
    device: str | None = None,
    compile: bool = False,
) -> Engine:
    """The engine called `name` (`--engine`).

    model: a weights folder or Hugging Face id for the deep engines (default: the family's
    released checkpoint); device: auto, cpu, cuda or cuda:N; compile: `torch.compile` the
    image encoder. The classic engine takes none of them.
    """
    if name == "classic":
        if model is not None:
            raise InputError("--model: the classic engine has no weights (it needs no --model)")
        if device not in (None, "auto", "cpu") or compile:
            option = "--compile" if compile else f"--device {device}"
            raise InputError(f"{option}: only for the deep engines (classic runs on the CPU)")
        from mattetrack.engines.classic import ClassicEngine

        return ClassicEngine()
    if name in ENGINES:
        try:
            import transformers  # noqa: F401
        except ImportError:
            raise InputError(
                f"--engine {name}: needs the transformers package "
                "(pip install 'mattetrack[sam]')"
            ) from None
        from mattetrack.engines.sam import SamEngine

        return SamEngine(name, model, device=device, compile=compile)
    raise InputError(f"--engine {name!r}: unknown engine (choose from {', '.join(ENGINES)})")


__all__ = ["Coverages", "Engine", "FrameSource", "get_engine", "ENGINES"]
