"""Propagation by cut segment (`engines.segments`): the whole shot's mattes, less work."""

from __future__ import annotations

import numpy as np
import pytest

from mattetrack.engines.classic import ClassicEngine
from mattetrack.engines.segments import propagate_in_segments, segments
from mattetrack.synthetic import SyntheticSource, render_shot


@pytest.fixture(scope="module")
def two_shots() -> SyntheticSource:
    """Two synthetic shots of 14 frames cut together (the cut before frame 14), above the
    engine's processing size so that results go through the edge refinement."""
    return SyntheticSource(render_shot(14, 640, 360, seed=0) + render_shot(14, 640, 360, seed=3))


def test_segments_split_before_each_cut() -> None:
    assert segments([1, 2, 3, 4, 5], [3, 5]) == [[1, 2], [3, 4], [5]]
    assert segments([1, 2, 3], []) == [[1, 2, 3]]
    assert segments([1, 2, 3], [1]) == [[1, 2, 3]]


def test_the_engine_finds_the_cut_its_tracks_stop_at(two_shots) -> None:
    assert ClassicEngine().cuts(two_shots, two_shots.frames) == [14]
    assert ClassicEngine().cuts(two_shots, two_shots.frames[:14]) == []


CASES = {
    # Keyframes on both sides; one object only before the cut (zero after it).
    "both sides": ({0: {0: "t", 27: "t"}, 1: {4: "t"}}, {}),
    # A correction after the cut of a keyframe before it: tracked back to the cut only.
    "correction": ({0: {0: "t", 20: "t"}}, {0: {20: "empty"}}),
    # Only after the cut: nothing before it.
    "after": ({0: {18: "t"}}, {}),
}


def _inputs(src: SyntheticSource, case: str):
    keys, bases = CASES[case]
    keyframes = {o: {f: src.truth(f) for f in ks} for o, ks in keys.items()}
    based = {o: {f: np.zeros_like(src.truth(f)) for f in bs} for o, bs in bases.items()}
    return keyframes, based


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("part", [(0, 27), (9, 20), (15, 27)])
def test_segments_give_the_whole_shots_mattes(two_shots, case, part) -> None:
    engine = ClassicEngine()
    keyframes, bases = _inputs(two_shots, case)
    frames = [f for f in two_shots.frames if part[0] <= f <= part[1]]
    whole = list(engine.propagate(two_shots, keyframes, frames, bases))
    split = list(propagate_in_segments(engine, two_shots, keyframes, frames, bases, None,
                                       engine.cuts(two_shots, two_shots.frames)))
    assert [w.frame for w in whole] == [s.frame for s in split] == frames
    for w, s in zip(whole, split, strict=True):
        assert sorted(w.coverages) == sorted(s.coverages) == sorted(keyframes)
        for obj in keyframes:
            np.testing.assert_array_equal(s.coverages[obj], w.coverages[obj], err_msg=str(w.frame))
            assert s.confidence[obj] == w.confidence[obj], (w.frame, obj)


def test_a_segments_run_tracks_nothing_across_the_cut(two_shots, track_steps) -> None:
    """Frames after the cut, keyframes on both sides: a whole-shot run sweeps from frame 0 up to
    the cut (its forward track) and tracks back from 27 to the cut; by segment only the latter."""
    steps = track_steps
    engine = ClassicEngine()
    keyframes, _ = _inputs(two_shots, "both sides")
    keyframes = {0: keyframes[0]}
    frames = list(range(14, 28))
    list(engine.propagate(two_shots, keyframes, frames))
    whole = steps["n"]
    steps["n"] = 0
    list(propagate_in_segments(engine, two_shots, keyframes, frames, None, None, [14]))
    assert steps["n"] == 27 - 14  # 26..14, tracked back from the keyframe
    assert whole >= steps["n"] + 13  # ... and the whole run's forward track 1..13 besides


def test_cuts_come_from_a_propagations_memo_without_reading_frames(two_shots, tmp_path):
    """A farm job made after a propagation (Send to farm) finds the cuts from the signatures
    the sweeps kept in the store's memo: the same cuts, no frame read."""
    from mattetrack.memo import TrackMemo

    class Counting:
        def __init__(self, source):
            self.source, self.read = source, 0
            self.frames, self.width, self.height = source.frames, source.width, source.height

        def image(self, frame):
            self.read += 1
            return self.source.image(frame)

    memo = TrackMemo(tmp_path / "tracks", str)
    engine = ClassicEngine()
    keyframes, _ = _inputs(two_shots, "both sides")
    list(engine.propagate(two_shots, keyframes, two_shots.frames, memo=memo))
    counting = Counting(two_shots)
    assert engine.cuts(counting, counting.frames, memo) == [14]
    assert counting.read == 0
    assert engine.cuts(counting, counting.frames) == [14] and counting.read == 28
