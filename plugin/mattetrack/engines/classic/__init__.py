"""The `classic` engine: embedded, weights-free, CPU-only.

Modules: `select` (selection from prompts: a graph cut with geodesic priors for clicks, GrabCut
for a box), `graphcut` (PyMaxflow grid cut), `geodesic` (geodesic distances from clicks), `flow`
(DIS optical flow, warping, reliability), `patches` (appearance: patch descriptors and visual
words), `appearance` (boundary bands, quantised colour), `camera` (motion evidence against the
background), `track` (one tracking step, re-detection), `propagate` (two cut-aware sweeps with
spill and keyframe blending), `refine` (guided filter), `spill`, `imaging`.
"""

from mattetrack.engines.classic.engine import ClassicEngine, ClassicParams
from mattetrack.engines.classic.propagate import PropagateParams
from mattetrack.engines.classic.select import SelectParams
from mattetrack.engines.classic.track import TrackParams


def create(spec, model: str | None = None, device: str | None = None,
           compile: bool = False) -> ClassicEngine:
    """The engine table's factory (`mattetrack.engines.ENGINES`); takes no weights or device."""
    return ClassicEngine()


__all__ = ["ClassicEngine", "ClassicParams", "PropagateParams", "SelectParams", "TrackParams",
           "create"]
