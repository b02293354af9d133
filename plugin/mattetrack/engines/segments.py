"""Propagation one cut segment at a time, for engines whose tracks stop at cuts.

Where the shot's cuts are known before a run (a farm job finds them when it is made, with the
engine's own `Engine.cuts`), a run over part of the shot need not sweep up to a cut from
keyframes on its far side only to have the track stop there. `propagate_in_segments` hands the
engine each cut segment as a shot of its own with the keyframes inside it; an object with none
there gets zero coverage and confidence 0, which is what the engine gives a frame no track
reaches. The mattes are those of one run over the whole shot (tests/engines/test_segments.py);
only the sweeps across cuts are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from mattetrack.engines.base import Engine, FrameSource, Memo, Propagated


class FrameSubset:
    """A `FrameSource` showing some consecutive frames of another (a cut segment)."""

    def __init__(self, source: FrameSource, frames: Sequence[int]) -> None:
        self._source = source
        self._frames = list(frames)

    @property
    def frames(self) -> Sequence[int]:
        return self._frames

    @property
    def width(self) -> int:
        return self._source.width

    @property
    def height(self) -> int:
        return self._source.height

    def image(self, frame: int) -> np.ndarray:
        """(H, W, 3) float32 display-referred RGB in [0, 1] (the source's)."""
        return self._source.image(frame)


def segments(frames: Sequence[int], cuts: Sequence[int]) -> list[list[int]]:
    """The shot's `frames` (ascending) split before each of `cuts` (frames opening a segment)."""
    starts = set(cuts)
    out: list[list[int]] = []
    for f in frames:
        if not out or f in starts:
            out.append([])
        out[-1].append(f)
    return out


def propagate_in_segments(
    engine: Engine,
    source: FrameSource,
    keyframes: Mapping[int, Mapping[int, np.ndarray]],
    frames: Sequence[int],
    bases: Mapping[int, Mapping[int, np.ndarray]] | None,
    memo: Memo | None,
    cuts: Sequence[int],
) -> Iterator[Propagated]:
    """`engine.propagate(source, keyframes, frames, bases, memo)` for an engine that
    `stops_at_cuts`, run segment by segment between `cuts` (frames of `source` that open a cut
    segment, as `engine.cuts` finds them). Yields a `Propagated` per frame of `frames`,
    ascending, with every object of `keyframes` in its order."""
    wanted = set(frames)
    bases = bases or {}
    for seg in segments(source.frames, cuts):
        seg_frames = [f for f in seg if f in wanted]
        if not seg_frames:
            continue
        inside = set(seg)
        kfs = {obj: {f: c for f, c in ks.items() if f in inside}
               for obj, ks in keyframes.items()}
        live = {obj: ks for obj, ks in kfs.items() if ks}
        run = iter(())
        if live:
            run = engine.propagate(
                FrameSubset(source, seg), live, seg_frames,
                {obj: {f: b for f, b in (bases.get(obj) or {}).items() if f in inside}
                 for obj in live}, memo)
        try:
            for f in seg_frames:
                item = next(run) if live else Propagated(f, {}, {})
                assert item.frame == f, (item.frame, f)
                yield Propagated(
                    f, {obj: item.coverages[obj] if obj in item.coverages
                        else np.zeros((source.height, source.width), np.float32)
                        for obj in keyframes},
                    {obj: item.confidence.get(obj, 0.0) for obj in keyframes})
        finally:
            close = getattr(run, "close", None)
            if close is not None:
                close()
