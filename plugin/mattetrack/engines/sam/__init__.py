"""Deep engines: the SAM 2 family (SAM 2, EdgeTAM, SAM 3 tracker) through transformers."""

from mattetrack.engines.sam.engine import SamEngine, SamParams
from mattetrack.engines.sam.families import FAMILIES, Family
from mattetrack.engines.sam.loading import LoadedModel, load_model


def create(spec, model: str | None = None, device: str | None = None,
           compile: bool = False) -> SamEngine:
    """The engine table's factory (`mattetrack.engines.ENGINES`): the row's model family."""
    return SamEngine(dict(spec.options)["family"], model, device=device, compile=compile)


__all__ = ["create", "FAMILIES", "Family", "LoadedModel", "SamEngine", "SamParams", "load_model"]
