"""The engine interface shared by `classic` and the deep engines.

Engines are stateless with respect to shots: everything about a shot (objects, prompts, keyframe
coverage) is passed in, so one loaded engine serves many sessions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple, Protocol

import numpy as np

from mattetrack.prompts import FramePrompts

# {object id: (H, W) float32 coverage in [0, 1] on the display window}
Coverages = dict[int, np.ndarray]


class Propagated(NamedTuple):
    """One frame of a propagation: coverages {object id: (H, W) float32 in [0, 1]} and the
    engine's confidence {object id: c in [0, 1]} that each is right (its own signals: how well
    the tracks held, how much they disagree; 1.0 on a keyframe)."""

    frame: int
    coverages: Coverages
    confidence: dict[int, float]


class FrameSource(Protocol):
    """Frames of a shot, read on demand (a `Shot` is one)."""

    @property
    def frames(self) -> Sequence[int]: ...

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    def image(self, frame: int) -> np.ndarray:
        """(H, W, 3) float32 display-referred RGB in [0, 1] covering the display window."""
        ...


class Memo(Protocol):
    """Intermediate per-frame results an engine may keep between runs of one shot (a result
    store's `mattetrack.memo.TrackMemo`), by keys the engine makes from everything that decides
    them. Only a memo: an engine given none computes the same results, only slower."""

    def frame_key(self, frame: int) -> str:
        """What decides a plate frame's pixels (file identity and colour pipeline); asked for
        every frame and flow, so kept cheap (the session caches it)."""
        ...

    def get(self, key: str) -> tuple[np.ndarray, float] | None:
        """((h, w) float32 coverage, confidence) kept under `key`, or None."""
        ...

    def put(self, key: str, coverage: np.ndarray, confidence: float) -> None: ...

    def get_flow(self, key: str) -> np.ndarray | None:
        """(h, w, 2) float32 optical flow (px) kept under `key`, or None."""
        ...

    def put_flow(self, key: str, flow: np.ndarray) -> None: ...

    def get_vector(self, key: str) -> np.ndarray | None:
        """(n,) float32 vector kept under `key` (what an engine derives from one plate frame),
        or None."""
        ...

    def put_vector(self, key: str, value: np.ndarray) -> None: ...


class Engine(Protocol):
    name: str
    # Everything the engine's results depend on besides its inputs (parameters, weights,
    # device kind), as a string for result keys.
    cache_key: str
    # A frame's result depends only on the object's keyframes on either side of it (tracks
    # restart at every keyframe), not on keyframes farther away: after a correction only the
    # spans around it change.
    span_results: bool
    # Its tracks stop at the shot's hard cuts (`cuts` finds them as its sweeps do): a frame's
    # result depends only on the frames and keyframes of its own cut segment.
    stops_at_cuts: bool

    def cuts(self, source: FrameSource, frames: Sequence[int],
             memo: Memo | None = None) -> list[int]:
        """The frames of `frames` (ascending, consecutive in the shot) that open a new cut
        segment, exactly where the engine's own propagation stops its tracks (empty for an
        engine that tracks across cuts). Reads every frame once, except what `memo` kept from
        an earlier propagation."""
        ...

    def select(self, image: np.ndarray, prompts: FramePrompts,
               context: Sequence[tuple[int, np.ndarray]] = ()) -> np.ndarray:
        """Coverage of the prompted object on one frame. Points and strokes on a frame with a
        dense prompt (`prompts.dense`: the artist's mask or the matte they are correcting)
        refine that coverage.

        image: (H, W, 3) float32 display-referred RGB in [0, 1]; context: (frame offset, image)
        of the shot's frames next to it (e.g. -1 and +1; none for a still), which an engine may
        use to see what moves. Returns (H, W) float32 in [0, 1].
        """
        ...

    def prepare(self, image: np.ndarray) -> None:
        """Precompute what `select` will need for this image (its features), so that the first
        click on a frame the artist is looking at answers sooner. Only a memo: skipping it
        changes no result. image: (H, W, 3) float32 display-referred RGB in [0, 1]."""
        ...

    def propagate(
        self,
        source: FrameSource,
        keyframes: Mapping[int, Mapping[int, np.ndarray]],
        frames: Sequence[int],
        bases: Mapping[int, Mapping[int, np.ndarray]] | None = None,
        memo: Memo | None = None,
    ) -> Iterator[Propagated]:
        """Propagate keyframe coverage through `frames`.

        keyframes: {object id: {frame: (H, W) float32 coverage}}; every object has at least one.
        bases: {object id: {keyframe: (H, W) float32 matte}} for the keyframes that correct a
        matte: what was on screen before the correction, so that an engine may carry only the
        change the correction made (an engine whose memory takes the corrected mask as a
        prompt may ignore it). memo: where an engine may keep and find what a run before
        computed (see `Memo`; an engine that keeps nothing between runs ignores it).
        Runs forwards and backwards from every keyframe and blends between neighbouring keyframes;
        a keyframe's own coverage is returned unchanged on its frame. Yields a `Propagated` for
        every frame of `frames` in ascending order, one at a time, so memory does not grow with
        shot length.
        """
        ...
