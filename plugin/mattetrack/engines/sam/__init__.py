"""Deep engines: the SAM 2 family (SAM 2, EdgeTAM, SAM 3 tracker) through transformers."""

from mattetrack.engines.sam.engine import SamEngine, SamParams
from mattetrack.engines.sam.families import FAMILIES, Family
from mattetrack.engines.sam.loading import LoadedModel, load_model

__all__ = ["FAMILIES", "Family", "LoadedModel", "SamEngine", "SamParams", "load_model"]
