"""Session: objects with stable ids, prompts per frame, keyframes, selection cache, propagation."""

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pytest

from mattetrack.errors import InputError
from mattetrack.prompts import FramePrompts
from mattetrack.session import Session
from mattetrack.store import ResultStore

W, H = 32, 24


class Frames:
    """A tiny in-memory shot with frames 10..19."""

    frames = list(range(10, 20))
    width, height = W, H

    def image(self, frame: int) -> np.ndarray:
        return np.full((H, W, 3), frame / 100.0, np.float32)


class RecordingEngine:
    """Selection = disc around positive points (or the mask); propagation = nearest keyframe.

    Records what the session passes so the tests can check the session's side of the contract.
    """

    name = "recording"

    def __init__(self) -> None:
        self.select_calls = 0
        self.keyframes: Mapping[int, Mapping[int, np.ndarray]] | None = None

    def select(self, image: np.ndarray, prompts: FramePrompts) -> np.ndarray:
        self.select_calls += 1
        if prompts.mask is not None:
            return prompts.mask.copy()
        yy, xx = np.mgrid[:H, :W] + 0.5
        cov = np.zeros((H, W), np.float32)
        for (x, y), label in zip(prompts.points, prompts.labels, strict=True):
            if label:
                cov[(xx - x) ** 2 + (yy - y) ** 2 <= 16] = 1.0
        return cov

    def propagate(self, source, keyframes, frames: Sequence[int]) -> Iterator:
        self.keyframes = keyframes
        for f in frames:
            out = {}
            for obj, keys in keyframes.items():
                nearest = min(keys, key=lambda k: abs(k - f))
                out[obj] = keys[nearest]
            yield f, out


def test_object_ids_are_stable_and_names_unique():
    s = Session(Frames(), RecordingEngine())
    a = s.add_object("dog")
    b = s.add_object()
    c = s.add_object()
    assert (a, b, c) == (1, 2, 3)
    assert [o.name for o in s.objects] == ["dog", "object", "object2"]
    s.remove_object(b)
    d = s.add_object("cat")
    assert d == 4  # never reuses an id
    assert [o.id for o in s.objects] == [1, 3, 4]
    with pytest.raises(InputError, match="already an object"):
        s.add_object("dog")
    with pytest.raises(InputError, match="no object with id 2"):
        s.add_point(2, 10, 1, 1)


def test_prompts_are_validated_against_the_shot():
    s = Session(Frames(), RecordingEngine())
    obj = s.add_object()
    with pytest.raises(InputError, match="frame 5 is not in the shot \\(frames 10-19\\)"):
        s.add_point(obj, 5, 1, 1, where="--point 5:1,1")
    with pytest.raises(InputError, match="outside the 32x24 frame"):
        s.add_point(obj, 10, 40, 1)
    with pytest.raises(InputError, match="mask is 3x3"):
        s.add_mask(obj, 10, np.ones((3, 3)))
    nan_mask = np.zeros((H, W), np.float32)
    nan_mask[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        s.add_mask(obj, 10, nan_mask)
    assert s.keyframes(obj) == []  # nothing bad was kept


def test_selection_is_cached_until_prompts_change():
    engine = RecordingEngine()
    s = Session(Frames(), engine)
    obj = s.add_object()
    s.add_point(obj, 12, 10, 10)
    first = s.select(obj, 12)
    assert first[10, 10] == 1.0 and first[20, 30] == 0.0
    s.select(obj, 12)
    assert engine.select_calls == 1
    s.add_point(obj, 12, 25, 18)
    second = s.select(obj, 12)
    assert engine.select_calls == 2 and second[18, 25] == 1.0
    with pytest.raises(ValueError):
        second[0, 0] = 1  # previews are read-only: callers can't corrupt the cache


def test_propagate_passes_keyframes_and_stores_results(tmp_path):
    engine = RecordingEngine()
    store = ResultStore(tmp_path, W, H)
    s = Session(Frames(), engine, store)
    dog = s.add_object("dog")
    ball = s.add_object("ball")
    s.add_point(dog, 11, 8, 8)
    mask = np.zeros((H, W), np.float32)
    mask[12:, 16:] = 1
    s.add_mask(ball, 15, mask)
    s.add_point(dog, 18, 20, 12, positive=False)
    s.add_point(dog, 18, 24, 12)
    frames = [f for f, _ in s.propagate()]
    assert frames == list(range(10, 20))
    assert {k: sorted(v) for k, v in engine.keyframes.items()} == {dog: [11, 18], ball: [15]}
    assert store.frames(dog) == list(range(10, 20))
    np.testing.assert_allclose(store.get(ball, 19), mask)
    assert store.objects == {dog: "dog", ball: "ball"}


def test_propagate_needs_prompts():
    s = Session(Frames(), RecordingEngine())
    with pytest.raises(InputError, match="nothing to track"):
        next(s.propagate())
    obj = s.add_object("lonely")
    with pytest.raises(InputError, match="'lonely' has no prompts"):
        next(s.propagate())
    s.add_point(obj, 10, 1, 1)
    s.clear_prompts(obj, 10)
    with pytest.raises(InputError, match="has no prompts"):
        next(s.propagate())
