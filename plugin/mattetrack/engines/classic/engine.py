"""The `classic` engine: weights-free selection and propagation on any CPU."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mattetrack import __version__
from mattetrack.engines.base import FrameSource, Memo, Propagated
from mattetrack.engines.classic.propagate import PropagateParams, find_cuts, propagate
from mattetrack.engines.classic.select import (
    SelectCache,
    SelectParams,
    prepare_select,
    select_coverage,
)
from mattetrack.prompts import FramePrompts


@dataclass
class ClassicParams:
    """All tunables of the classic engine, grouped by stage."""

    select: SelectParams = field(default_factory=SelectParams)
    propagate: PropagateParams = field(default_factory=PropagateParams)


class ClassicEngine:
    """GrabCut selection, DIS-flow tracking with colour-model correction, guided-filter edges.

    spill_root: parent folder for propagation's temporary spill (default: the system temp dir).
    """

    name = "classic"
    span_results = True  # tracks restart at every keyframe
    stops_at_cuts = True  # a track never crosses a cut

    def __init__(
        self, params: ClassicParams | None = None, spill_root: str | os.PathLike[str] | None = None
    ) -> None:
        self.params = params or ClassicParams()
        self.spill_root = spill_root
        # Selections and visual words of recent images (a memo: thread-safe, bounded).
        self.cache = SelectCache()

    @property
    def cache_key(self) -> str:
        """See `mattetrack.engines.base.Engine.cache_key`."""
        return f"classic {__version__} {self.params!r}"

    def select(self, image: np.ndarray, prompts: FramePrompts,
               context: Sequence[tuple[int, np.ndarray]] = ()) -> np.ndarray:
        """image: (H, W, 3) float32 display-referred RGB in [0, 1] -> (H, W) float32 coverage;
        context: (frame offset, image) of frames around it (the motion cue)."""
        return select_coverage(image, prompts, self.params.select, self.cache, context)

    def prepare(self, image: np.ndarray) -> None:
        """See `mattetrack.engines.base.Engine.prepare`: the image's visual words."""
        prepare_select(image, self.params.select, self.cache)

    def propagate(
        self,
        source: FrameSource,
        keyframes: Mapping[int, Mapping[int, np.ndarray]],
        frames: Sequence[int],
        bases: Mapping[int, Mapping[int, np.ndarray]] | None = None,
        memo: Memo | None = None,
    ) -> Iterator[Propagated]:
        """See `mattetrack.engines.base.Engine.propagate` (memo: remembered tracks)."""
        return propagate(source, keyframes, frames, self.params.propagate, self.spill_root,
                         bases, memo)

    def cuts(self, source: FrameSource, frames: Sequence[int],
             memo: Memo | None = None) -> list[int]:
        """See `mattetrack.engines.base.Engine.cuts`."""
        return find_cuts(source, frames, self.params.propagate, memo)
