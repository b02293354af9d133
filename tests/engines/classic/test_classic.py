"""The classic engine on synthetic shots with known truth: selection, propagation, contracts."""

from __future__ import annotations

import collections
import os
import threading
import weakref

import cv2
import numpy as np
import pytest

from mattetrack.engines import get_engine
from mattetrack.engines.classic import ClassicEngine
from mattetrack.errors import InputError
from mattetrack.evaluation import iou
from mattetrack.memo import TrackMemo
from mattetrack.prompts import FramePrompts
from mattetrack.synthetic import SyntheticSource, click_point

N = 36


@pytest.fixture(scope="module")
def src() -> SyntheticSource:
    return SyntheticSource.render(n_frames=N, width=480, height=270, seed=0)


@pytest.fixture(scope="module")
def engine() -> ClassicEngine:
    eng = get_engine("classic")
    assert isinstance(eng, ClassicEngine) and eng.name == "classic"
    return eng


def run(engine: ClassicEngine, src: SyntheticSource, keyframes, frames=None):
    frames = src.frames if frames is None else frames
    return [(r.frame, r.coverages) for r in engine.propagate(src, keyframes, frames)]


def mean_iou(results, src: SyntheticSource, obj: int = 0) -> float:
    return float(np.mean([iou(c[obj], src.truth(f)) for f, c in results]))


# ---------------------------------------------------------------------------------------- select


def test_select_from_click(engine, src) -> None:
    truth = src.truth(0)
    p = FramePrompts()
    p.add_point(*click_point(truth))
    cov = engine.select(src.image(0), p)
    assert cov.shape == truth.shape and cov.dtype == np.float32
    assert cov.min() >= 0.0 and cov.max() <= 1.0
    assert iou(cov, truth) >= 0.9  # measured 0.97


def test_select_negative_click_removes(engine, src) -> None:
    """A negative click on the object keeps that spot out of the selection."""
    truth = src.truth(0)
    x, y = click_point(truth)
    p = FramePrompts()
    p.add_point(x, y)
    p.add_point(x, y + 25, positive=False)
    cov = engine.select(src.image(0), p)
    assert cov[int(y + 25), int(x)] < 0.5 and cov[int(y), int(x)] > 0.5


def test_select_from_box(engine, src) -> None:
    truth = src.truth(0)
    ys, xs = np.nonzero(truth >= 0.5)
    p = FramePrompts(box=(xs.min() - 6.0, ys.min() - 6.0, xs.max() + 7.0, ys.max() + 7.0))
    assert iou(engine.select(src.image(0), p), truth) >= 0.88  # measured 0.95


def test_select_from_mask_is_the_artists_word(engine, src) -> None:
    mask = np.zeros((src.height, src.width), np.float32)
    mask[40:80, 50:120] = 0.7
    mask[0, 0] = 1.5  # out of range values are clipped, nothing else changes
    cov = engine.select(src.image(0), FramePrompts(mask=mask))
    assert np.array_equal(cov, np.clip(mask, 0, 1))


def test_select_large_plate_uses_bounded_resolution(engine, src) -> None:
    """A 1920x1080 plate: processed at <= 960 px and upsampled edge-aware to full resolution."""
    big = cv2.resize(src.image(0), (1920, 1080), interpolation=cv2.INTER_CUBIC)
    truth = cv2.resize(src.truth(0), (1920, 1080), interpolation=cv2.INTER_LINEAR)
    p = FramePrompts()
    p.add_point(*click_point(truth))
    cov = engine.select(np.clip(big, 0, 1), p)
    assert cov.shape == (1080, 1920)
    assert iou(cov, truth) >= 0.9
    assert np.count_nonzero((cov > 0.05) & (cov < 0.95)) > 500  # soft edges at full resolution


# ------------------------------------------------------------------------------------- propagate


@pytest.fixture(scope="module")
def two_keys(engine, src):
    keys = {0: {0: src.truth(0), N - 1: src.truth(N - 1)}}
    return keys, run(engine, src, keys)


def test_propagate_forward(engine, src) -> None:
    res = run(engine, src, {0: {0: src.truth(0)}})
    assert mean_iou(res, src) >= 0.85  # measured 0.92 (through the occlusion)
    assert min(iou(c[0], src.truth(f)) for f, c in res[:14]) >= 0.95  # before the occluder


def test_propagate_backward(engine, src) -> None:
    res = run(engine, src, {0: {N - 1: src.truth(N - 1)}})
    assert [f for f, _ in res] == src.frames
    assert mean_iou(res, src) >= 0.78  # measured 0.85


def test_propagate_two_keyframes(src, two_keys) -> None:
    keys, res = two_keys
    assert mean_iou(res, src) >= 0.92  # measured 0.955


def test_keyframes_returned_unchanged(src, two_keys) -> None:
    keys, res = two_keys
    out = dict(res)
    for frame, cov in keys[0].items():
        assert np.array_equal(out[frame][0], cov)


def test_yields_exactly_requested_frames_ascending(engine, src, two_keys) -> None:
    _, full = two_keys
    wanted = [25, 7, 8, 20, 9]  # unsorted, not contiguous
    res = run(engine, src, {0: {0: src.truth(0), N - 1: src.truth(N - 1)}}, wanted)
    assert [f for f, _ in res] == sorted(wanted)
    # Keyframes outside the range still anchor tracks: same result as the whole-shot run.
    ref = dict(full)
    for f, cov in res:
        assert iou(cov[0], ref[f][0]) > 0.97


def test_several_objects_at_once(engine, src) -> None:
    """Two objects share frames and flow but are tracked independently.

    Alone, object 0 needs only a forward sweep; with object 5 both sweeps run and the forward one
    reads float16 flows spilled by the backward one, so results agree closely, not bit for bit.
    """
    keys = {0: {0: src.truth(0)}, 5: {N - 1: src.truth(N - 1)}}
    res = run(engine, src, keys)
    assert all(set(c) == {0, 5} for _, c in res)
    alone = run(engine, src, {0: {0: src.truth(0)}})
    for (f, c), (g, a) in zip(res, alone, strict=True):
        assert f == g and iou(c[0], a[0]) > 0.98, f
    assert mean_iou(res, src, 0) >= 0.85
    assert mean_iou(res, src, 5) >= 0.78


def test_soft_edges(src, two_keys) -> None:
    _, res = two_keys
    for f, c in res[1:-1]:
        partial = np.count_nonzero((c[0] > 0.05) & (c[0] < 0.95))
        assert partial > 100, f
        assert c[0].dtype == np.float32 and c[0].min() >= 0.0 and c[0].max() <= 1.0


def test_no_drift_past_a_keyframe(engine, src) -> None:
    """A (deliberately wrong) keyframe in the middle rules the frames after it."""
    wrong = np.zeros((src.height, src.width), np.float32)
    cv2.circle(wrong, (80, 220), 30, 1.0, -1)
    res = dict(run(engine, src, {0: {0: src.truth(0), 18: wrong}}))
    assert np.array_equal(res[18][0], wrong)
    for f in range(19, N):
        assert iou(res[f][0], src.truth(f)) < 0.05, f
        assert np.count_nonzero((res[f][0] >= 0.5) & (wrong >= 0.5)) > 0.5 * wrong.sum(), f
    # Before it, the blend leans on the correct keyframe near frame 0.
    assert iou(res[2][0], src.truth(2)) > 0.85


def test_a_correction_carries_only_its_change_back(engine, src) -> None:
    """A keyframe that corrects a matte (with its base) changes the frames before it only by
    what the correction changed: none when it changed nothing; when it restores a part the
    matte had lost, the frames before it get that part back (carried along the motion), most
    near the correction, and lose nothing they had right."""
    # The first keyframe misses the object's right third: every tracked frame misses it.
    first = src.truth(0).copy()
    xs = np.nonzero(first.max(axis=0) >= 0.5)[0]
    first[:, xs.max() - (xs.max() - xs.min()) // 3:] = 0.0
    base = dict(run(engine, src, {0: {0: first}}))
    k = 12  # before the occluder
    plain = {0: {0: first, k: base[k][0]}}
    same = dict(run_with(engine, src, plain, {0: {k: base[k][0]}}))
    for f in range(1, k):  # unchanged before it: no second track's drift blended in
        np.testing.assert_array_equal(same[f][0], base[f][0])
    res = dict(run_with(engine, src, {0: {0: first, k: src.truth(k)}}, {0: {k: base[k][0]}}))
    before = {f: iou(base[f][0], src.truth(f)) for f in range(1, k)}
    after = {f: iou(res[f][0], src.truth(f)) for f in range(1, k)}
    for f in range(1, k):
        assert after[f] >= before[f] - 0.01, (f, before[f], after[f])
        lost = np.count_nonzero((base[f][0] >= 0.5) & (src.truth(f) >= 0.5)
                                & ~(res[f][0] >= 0.5))
        assert lost <= 0.01 * np.count_nonzero(src.truth(f) >= 0.5), f
    assert after[k - 1] >= before[k - 1] + 0.1, (before[k - 1], after[k - 1])
    assert after[k - 1] > after[k // 2] > after[1] - 0.01  # fading towards frame 0
    with pytest.raises(InputError, match="no keyframe"):
        list(engine.propagate(src, plain, src.frames, bases={0: {k + 1: base[k][0]}}))


def test_remembered_tracks_give_the_very_mattes_tracking_gives(engine, src, tmp_path) -> None:
    """With a memo, a run takes the tracks an earlier run made over the same frames from the
    same keyframe and steps nothing for them; where the memo stops short it tracks again from
    the keyframe. Either way the mattes are those of a run without a memo, bit for bit."""
    first = src.truth(0)
    k = 20
    memo = TrackMemo(tmp_path / "tracks", lambda f: f"plate {f}")
    part = src.frames[: k - 5]  # frame 0's forward track as far as frame 14 only
    assert len(list(engine.propagate(src, {0: {0: first}}, part, memo=memo))) == len(part)
    assert (memo.hits, memo.puts) == (0, len(part) - 1)
    # The whole shot: 1-14 from the memo, then caught up from frame 0 and tracked on.
    whole = dict(run_memo(engine, src, {0: {0: first}}, memo))
    assert (memo.hits, memo.puts) == (len(part) - 1, N - 1)
    plain = dict(run(engine, src, {0: {0: first}}))
    for f in src.frames:
        np.testing.assert_array_equal(whole[f][0], plain[f][0])
    # A correction at k: frame 0's track up to it is remembered; the span after k is new.
    # Its change is carried back along remembered flows: no frame before k is even read (the
    # plate is at processing resolution, so no edges to refine either).
    hits = memo.hits
    keys = {0: {0: first, k: src.truth(k)}}
    reading = ReadCountingSource(src)
    corrected = dict(run_memo(engine, reading, keys, memo, {0: {k: whole[k][0]}}))
    assert memo.hits - hits == k - 1
    assert not any(reading.reads[f] for f in range(k)), sorted(reading.reads.items())
    assert all(reading.reads[f] for f in range(k + 1, N))  # the new track's frames are read
    again = dict(run_with(engine, src, keys, {0: {k: whole[k][0]}}))
    for f in src.frames:
        np.testing.assert_array_equal(corrected[f][0], again[f][0])


class ReadCountingSource:
    """A FrameSource that counts the reads of each frame."""

    def __init__(self, inner: SyntheticSource) -> None:
        self.inner = inner
        self.reads: collections.Counter[int] = collections.Counter()
        self.frames = inner.frames
        self.width, self.height = inner.width, inner.height

    def image(self, frame: int) -> np.ndarray:
        self.reads[frame] += 1
        return self.inner.image(frame)


def run_memo(engine: ClassicEngine, src: SyntheticSource, keyframes, memo, bases=None):
    return [(r.frame, r.coverages) for r in engine.propagate(src, keyframes, src.frames,
                                                              bases=bases, memo=memo)]


def run_with(engine: ClassicEngine, src: SyntheticSource, keyframes, bases):
    return [(r.frame, r.coverages) for r in engine.propagate(src, keyframes, src.frames,
                                                              bases=bases)]


class CountingSource:
    """A FrameSource that counts how many of the images it handed out are still alive."""

    def __init__(self, inner: SyntheticSource) -> None:
        self.inner = inner
        self.live = 0
        self.peak = 0
        self.frames = inner.frames
        self.width, self.height = inner.width, inner.height

    def _dead(self) -> None:
        self.live -= 1

    def image(self, frame: int) -> np.ndarray:
        img = self.inner.image(frame).view(_Tracked)
        self.live += 1
        self.peak = max(self.peak, self.live)
        weakref.finalize(img, self._dead)
        return img


class _Tracked(np.ndarray):
    pass


def test_memory_does_not_grow_and_spill_is_cleaned(src, tmp_path) -> None:
    engine = ClassicEngine(spill_root=tmp_path)
    counting = CountingSource(src)
    gen = engine.propagate(counting, {0: {0: src.truth(0), N - 1: src.truth(N - 1)}},
                           src.frames)
    seen = 0
    for _item in gen:
        seen += 1
        if seen == 1:
            spills = os.listdir(tmp_path)
            assert len(spills) == 1  # the backward sweep spilled to disk
            assert len(os.listdir(tmp_path / spills[0])) >= N - 3
        del _item
    assert seen == N
    assert counting.peak <= 4, counting.peak  # two frames in flight, not the shot
    assert os.listdir(tmp_path) == []


def test_plate_resolution_edges_come_in_order_and_stop_with_the_run(tmp_path) -> None:
    """Above the processing resolution, edges are refined on the finisher's threads behind
    the sweep: frames still come in order, each with its plate-resolution matte, a few frames
    in flight at most, and stopping the run stops those threads."""
    big = SyntheticSource.render(n_frames=12, width=960, height=540, seed=2)
    engine = ClassicEngine(spill_root=tmp_path)
    counting = CountingSource(big)
    keys = {0: {0: big.truth(0)}, 1: {11: big.truth(11)}}
    got = []
    for item in engine.propagate(counting, keys, big.frames):
        assert set(item.coverages) == {0, 1}
        assert all(c.shape == (540, 960) and c.dtype == np.float32
                   for c in item.coverages.values())
        got.append(item.frame)
        assert iou(item.coverages[0] >= 0.5, big.truth(item.frame) >= 0.5) > 0.8, item.frame
        del item
    assert got == big.frames
    assert counting.peak <= 5, counting.peak  # the sweep's two, at most three with the finisher
    gen = engine.propagate(big, keys, big.frames)
    next(gen)
    assert any(t.name.startswith("mattetrack-edges") for t in threading.enumerate())
    gen.close()
    assert not any(t.name.startswith("mattetrack-edges") for t in threading.enumerate())


def test_spill_cleaned_when_stopped_early(src, tmp_path) -> None:
    engine = ClassicEngine(spill_root=tmp_path)
    gen = engine.propagate(src, {0: {N - 1: src.truth(N - 1)}}, src.frames)
    next(gen)
    assert os.listdir(tmp_path)
    gen.close()
    assert os.listdir(tmp_path) == []


def test_bad_input(engine, src) -> None:
    with pytest.raises(InputError):
        list(engine.propagate(src, {0: {0: src.truth(0)}}, [999]))
    with pytest.raises(InputError):
        list(engine.propagate(src, {0: {999: src.truth(0)}}, src.frames))
    with pytest.raises(InputError):
        list(engine.propagate(src, {0: {0: np.zeros((10, 10), np.float32)}}, src.frames))
