"""The two-sweep plan both engines propagate with.

Results must come out in ascending frame order, one frame at a time, while objects whose first
keyframe lies inside the range must also be tracked backwards from it. So an engine runs
1. a backward sweep (descending positions), spilling its results to disk (`spill.py`), then
2. a forward sweep (ascending) that takes the spill back and yields every wanted frame.

Positions are indices into the shot's frame list; `lo`, `hi` are the first and last wanted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SweepPlan:
    """forward_start: where the forward sweep starts (the latest keyframe at or before `lo` of
    any object, else `lo`); it runs to `hi`. backward_from: the keyframe position the backward
    sweep starts from (None: no backward sweep); it runs down to `lo`."""

    lo: int
    hi: int
    forward_start: int
    backward_from: int | None

    @property
    def forward(self) -> range:
        return range(self.forward_start, self.hi + 1)


def plan_sweeps(keys: Mapping[int, Sequence[int]], lo: int, hi: int,
                through_keyframes: bool) -> SweepPlan:
    """The sweeps for objects' keyframe positions `keys` ({object: positions}) over [lo, hi].

    through_keyframes: every keyframe restarts the tracks and the two directions are blended
    between neighbouring keyframes (classic), so the backward sweep starts from the first
    keyframe at or after `hi` (or the last one before it) of any object; otherwise (the SAM
    family, whose memory holds every keyframe and blends them itself) only frames before an
    object's first keyframe need a backward track, and it starts at the latest such keyframe.
    """
    forward_start = min([lo] + [max((k for k in ks if k <= lo), default=lo)
                                for ks in keys.values()])
    backward_from: int | None
    if through_keyframes:
        backward_from = None
        if any(max(ks) > lo for ks in keys.values()):
            backward_from = max(min((k for k in ks if k >= hi), default=max(ks))
                                for ks in keys.values())
    else:
        firsts = [min(ks) for ks in keys.values() if min(ks) > lo]
        backward_from = max(firsts) if firsts else None
    return SweepPlan(lo, hi, forward_start, backward_from)
