"""The engine contract (`mattetrack.engines.base.Engine`), checked on every engine in the table:
classic, and each deep family on its tiny random checkpoint (`tests/engines/sam/tiny_models.py`).

Whatever an engine does inside, callers rely on: coverage (H, W) float32 in [0, 1] on every
frame asked for, in ascending order and no other; a keyframe's coverage given back unchanged;
tracks in both directions from a keyframe inside the range; several objects with their own ids;
and memory that does not grow with the number of frames (nothing yielded is kept, and the
engine's own peak stays flat from a short shot to a three times longer one).
"""

from __future__ import annotations

import gc
import os
import tracemalloc
import weakref

import numpy as np
import pytest

from mattetrack.engines import ENGINES, get_engine
from mattetrack.prompts import FramePrompts
from mattetrack.synthetic import SyntheticSource

W, H = 160, 90
FIRST = 1001


@pytest.fixture(scope="module")
def shots() -> dict[int, SyntheticSource]:
    """The same kind of shot, 8 and 24 frames long."""
    return {n: SyntheticSource.render(n_frames=n, width=W, height=H, seed=3, first_frame=FIRST)
            for n in (8, 24)}


@pytest.fixture(scope="module", params=list(ENGINES))
def engine(request, tmp_path_factory):
    """Every engine of the table, ready: deep ones load a tiny checkpoint saved to disk."""
    spec = ENGINES[request.param]
    if not spec.takes_model:
        return get_engine(spec.name)
    pytest.importorskip("transformers", reason="the deep engines need transformers ([sam] extra)")
    os.environ["HF_HUB_OFFLINE"] = "1"
    from tiny_models import tiny_model

    folder = tmp_path_factory.mktemp(spec.name)
    tiny_model(spec.name).save_pretrained(folder)
    return get_engine(spec.name, str(folder), device="cpu")


def _check_coverage(cov: np.ndarray) -> None:
    assert cov.shape == (H, W) and cov.dtype == np.float32
    assert np.isfinite(cov).all() and cov.min() >= 0.0 and cov.max() <= 1.0


def test_select_gives_coverage(engine, shots):
    image = shots[8].image(FIRST + 2)
    prompts = FramePrompts()
    prompts.add_point(W / 2, H / 2)
    _check_coverage(engine.select(image, prompts))
    engine.prepare(image)  # only a memo: the same selection after it
    np.testing.assert_array_equal(engine.select(image, prompts), engine.select(image, prompts))


def test_range_order_and_keyframes_unchanged(engine, shots):
    """A sub-range with keyframes inside, before and after it: exactly the wanted frames, in
    ascending order; each keyframe's coverage returned as given, bit for bit."""
    shot = shots[24]
    keys = {1: {FIRST + 2: shot.truth(FIRST + 2), FIRST + 14: shot.truth(FIRST + 14)},
            7: {FIRST + 9: (shot.truth(FIRST + 9) > 0.5).astype(np.float32)}}
    wanted = list(range(FIRST + 5, FIRST + 13))
    results = list(engine.propagate(shot, keys, wanted))
    got = [(r.frame, r.coverages) for r in results]
    assert [f for f, _ in got] == wanted
    for frame, covs in got:
        assert set(covs) == {1, 7}
        for cov in covs.values():
            _check_coverage(cov)
        if frame == FIRST + 9:
            np.testing.assert_array_equal(covs[7], keys[7][FIRST + 9])
    # A confidence per object and frame, in [0, 1]; 1 on a keyframe (the artist's word).
    for r in results:
        assert set(r.confidence) == {1, 7}
        assert all(isinstance(c, float) and 0.0 <= c <= 1.0 for c in r.confidence.values())
    assert {r.frame: r.confidence[7] for r in results}[FIRST + 9] == 1.0
    # What the session needs to key stored results.
    assert isinstance(engine.cache_key, str) and engine.cache_key
    assert isinstance(engine.span_results, bool)
    # The table says it before the engine loads (a farm job is split by it).
    assert engine.span_results == ENGINES[engine.name].span_results
    assert engine.stops_at_cuts == ENGINES[engine.name].stops_at_cuts
    # Its cuts: frames of those asked about, none on a shot without one.
    assert engine.cuts(shots[8], list(shots[8].frames)) == []


def test_both_directions_from_one_keyframe(engine, shots):
    """One keyframe in the middle: frames before it are tracked backwards, after it forwards,
    and the keyframe comes back unchanged."""
    shot = shots[8]
    key = shot.truth(FIRST + 4)
    got = {r.frame: r.coverages for r in engine.propagate(shot, {3: {FIRST + 4: key}},
                                                          shot.frames)}
    assert sorted(got) == shot.frames
    np.testing.assert_array_equal(got[FIRST + 4][3], key)
    for frame in shot.frames:
        _check_coverage(got[frame][3])


def _run(engine, shot: SyntheticSource) -> tuple[int, int]:
    """(peak traced bytes while propagating, results still alive after their frame)."""
    keys = {1: {FIRST + 3: shot.truth(FIRST + 3)}}
    refs: list[weakref.ref] = []
    gc.collect()
    tracemalloc.start()
    try:
        for _, covs, _ in engine.propagate(shot, keys, shot.frames):
            refs.extend(weakref.ref(c) for c in covs.values())
            del covs
        gc.collect()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, sum(r() is not None for r in refs)


def test_memory_flat_in_shot_length(engine, shots):
    """Three times the frames: the engine's peak (NumPy buffers, traced) grows by at most 25%,
    and no yielded result is kept by the engine."""
    _run(engine, shots[8])  # warm-up: one-time caches and imports are not the shot's
    short, kept_short = _run(engine, shots[8])
    long, kept_long = _run(engine, shots[24])
    assert kept_short == 0 and kept_long == 0
    assert long <= 1.25 * short, (short, long)
