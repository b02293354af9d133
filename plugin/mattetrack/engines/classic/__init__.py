"""The `classic` engine: embedded, weights-free, CPU-only.

Modules: `select` (GrabCut from prompts), `flow` (DIS optical flow, warping, forward-backward
check), `appearance` (colour model in a boundary band), `track` (one tracking step), `propagate`
(two sweeps with spill and keyframe blending), `refine` (guided filter), `spill`, `imaging`.
"""

from mattetrack.engines.classic.engine import ClassicEngine, ClassicParams
from mattetrack.engines.classic.propagate import PropagateParams
from mattetrack.engines.classic.select import SelectParams
from mattetrack.engines.classic.track import TrackParams

__all__ = ["ClassicEngine", "ClassicParams", "PropagateParams", "SelectParams", "TrackParams"]
