"""Session: objects with stable ids, prompts per frame, keyframes, selection cache, propagation."""

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pytest

from mattetrack.engines.base import Propagated
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
    cache_key = "recording 1"
    span_results = True

    def __init__(self) -> None:
        self.select_calls = 0
        self.keyframes: Mapping[int, Mapping[int, np.ndarray]] | None = None

    def select(self, image: np.ndarray, prompts: FramePrompts, context=()) -> np.ndarray:
        self.select_calls += 1
        self.context = [o for o, _ in context]
        if prompts.mask is not None:
            return prompts.mask.copy()
        yy, xx = np.mgrid[:H, :W] + 0.5
        cov = np.zeros((H, W), np.float32)
        for (x, y), label in zip(prompts.points, prompts.labels, strict=True):
            if label:
                cov[(xx - x) ** 2 + (yy - y) ** 2 <= 16] = 1.0
        return cov

    def propagate(self, source, keyframes, frames: Sequence[int],
                  bases=None, memo=None) -> Iterator:
        self.keyframes = keyframes
        self.bases = bases
        self.frames = list(frames)
        for f in frames:
            out = {}
            for obj, keys in keyframes.items():
                nearest = min(keys, key=lambda k: abs(k - f))
                out[obj] = keys[nearest]
            yield Propagated(f, out, {obj: 1.0 if f in keyframes[obj] else 0.5 for obj in out})


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


def test_result_keys_follow_every_change_of_prompts():
    """The keys (cached per keyframe) change with the prompts, a base, a cleared frame and a
    removed object, and come back when the prompts do."""
    s = Session(Frames(), RecordingEngine())
    obj = s.add_object()
    s.add_point(obj, 12, 10, 10)
    first = s.result_keys(Frames.frames, [obj])
    assert s.result_keys(Frames.frames, [obj]) == first
    s.add_point(obj, 12, 20, 10, positive=False)
    assert s.result_keys(Frames.frames, [obj])[obj][12] != first[obj][12]
    s.clear_prompts(obj, 12)
    s.add_point(obj, 12, 10, 10)
    assert s.result_keys(Frames.frames, [obj]) == first
    s.set_base(obj, 12, np.ones((H, W), np.float32))
    assert s.result_keys(Frames.frames, [obj])[obj][12] != first[obj][12]
    s.remove_object(obj)
    again = s.add_object()
    s.add_point(again, 12, 10, 10)
    assert s.result_keys(Frames.frames, [again])[again][12] == first[obj][12]


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


def _run(s: Session) -> dict[int, dict[int, np.ndarray]]:
    return {f: {k: v.copy() for k, v in c.items()} for f, c in s.propagate()}


def _session(store_root, engine=None) -> tuple[Session, int]:
    s = Session(Frames(), engine or RecordingEngine(), ResultStore(store_root, W, H))
    obj = s.add_object("dog")
    s.add_point(obj, 10, 8, 8)
    s.add_point(obj, 15, 20, 12)
    return s, obj


def test_a_rerun_reuses_everything_and_a_correction_recomputes_only_its_span(tmp_path):
    s, obj = _session(tmp_path)
    first = _run(s)
    assert (s.last_run.computed, s.last_run.reused) == (10, 0)
    assert s.confidence[obj][12] == 0.5 and s.confidence[obj][10] == 1.0

    again, obj = _session(tmp_path)  # a new process with the same prompts
    second = _run(again)
    assert (again.last_run.computed, again.last_run.reused) == (0, 10)
    for f in first:
        np.testing.assert_allclose(second[f][obj], first[f][obj], atol=1e-4)
    assert again.confidence[obj][12] == 0.5  # confidences come back from the store too

    # A correction on frame 17: the span 15..19 after the keyframe at 15 changes, 10..15 not.
    corrected, obj = _session(tmp_path)
    corrected.add_point(obj, 17, 4, 4)
    engine = corrected.engine
    _run(corrected)
    assert corrected.last_run.reused == 6  # frames 10..15
    assert corrected.last_run.computed == 4 and engine.frames == [16, 17, 18, 19]


def test_engines_whose_results_depend_on_every_keyframe_recompute_all(tmp_path):
    engine = RecordingEngine()
    engine.span_results = False
    s, obj = _session(tmp_path, engine)
    _run(s)
    s2, obj = _session(tmp_path, engine)
    s2.add_point(obj, 17, 4, 4)
    _run(s2)
    assert s2.last_run.computed == 8  # all but the unchanged keyframes 10 and 15


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path):
    s, obj = _session(tmp_path)
    gen = s.propagate()
    for _ in range(4):
        next(gen)
    gen.close()  # killed after frame 13
    again, obj = _session(tmp_path)
    _run(again)
    assert again.engine.frames == [14, 15, 16, 17, 18, 19]
    assert again.last_run.reused == 4


def test_prompts_on_a_propagated_frame_correct_its_matte(tmp_path):
    s, obj = _session(tmp_path)
    shown = _run(s)[17][obj]
    s2, obj = _session(tmp_path)
    s2.add_point(obj, 17, 4, 4, positive=False)
    s2.adopt_bases()
    np.testing.assert_allclose(s2.object(obj).prompts[17].base, shown, atol=1e-4)
    _run(s2)
    # The engine is told which keyframes correct a matte, and what that matte was.
    assert set(s2.engine.bases[obj]) == {17}
    np.testing.assert_allclose(s2.engine.bases[obj][17], shown, atol=1e-4)
    # The next run keeps the first base, though frame 17's stored result is its own now.
    s3, obj = _session(tmp_path)
    s3.add_point(obj, 17, 4, 4, positive=False)
    s3.add_point(obj, 17, 5, 5, positive=False)
    s3.adopt_bases()
    np.testing.assert_allclose(s3.object(obj).prompts[17].base, shown, atol=1e-4)
    # Keyframes prompted from the start have no base; a frame no longer prompted loses its own.
    assert s3.object(obj).prompts[10].base is None
    s4, obj = _session(tmp_path)
    s4.adopt_bases()
    assert s4.store.base_frames(obj) == []


def test_all_negative_prompts_are_refused():
    s = Session(Frames(), RecordingEngine())
    obj = s.add_object("dog")
    s.add_point(obj, 12, 5, 5, positive=False)
    with pytest.raises(InputError, match="frame 12 are all negative"):
        next(s.propagate())
    with pytest.raises(InputError, match="frame 12 are all negative"):  # nor a preview of it
        s.select(obj, 12)
    assert s.prompt_problem(obj, 12) is not None and s.prompt_problem(obj, 11) is None
    s.set_base(obj, 12, np.ones((Frames().height, Frames().width), np.float32))
    assert s.prompt_problem(obj, 12) is None  # a correction of a matte: it takes away from it


def test_strokes_are_prompts():
    s = Session(Frames(), RecordingEngine())
    obj = s.add_object("dog")
    s.add_stroke(obj, 11, np.array([[2, 2], [10, 10]]), width=4)
    assert s.keyframes(obj) == [11]
    with pytest.raises(InputError, match="outside the 32x24 frame"):
        s.add_stroke(obj, 11, np.array([[2, 2], [100, 10]]))
    with pytest.raises(InputError, match="width must be > 0"):
        s.add_stroke(obj, 11, np.array([[2, 2]]), width=0)


def test_held_mattes_pass_through_until_the_object_has_prompts(tmp_path):
    """An object opened with mattes of its own (the service's imported mattes) needs no prompts:
    propagation passes its mattes through, keyed by their source, beside tracked objects;
    prompts on it make it tracked from its keyframes."""
    from mattetrack.session import HeldMattes

    engine = RecordingEngine()
    s = Session(Frames(), engine, ResultStore(tmp_path, W, H))
    given = {f: np.full((H, W), (f - 10) / 10, np.float32) for f in range(10, 16)}
    opened = s.add_object("opened")
    s.hold(opened, HeldMattes(given.get, lambda f: f"file{f}" if f in given else "none"))
    dog = s.add_object("dog")
    s.add_point(dog, 12, 8, 8)
    out = dict(s.propagate())
    assert sorted(out) == list(range(10, 20)) and list(out[10]) == [opened, dog]
    for f in range(10, 16):
        np.testing.assert_array_equal(out[f][opened], given[f])
    assert not out[19][opened].any()  # no matte given there: empty
    assert list(engine.keyframes) == [dog]  # the engine never sees the held object
    keys = s.result_keys([10, 19], [opened])[opened]
    assert keys == {10: "hfile10", 19: "hnone"}
    assert s.last_run.reused >= 10
    # Prompts make it a tracked object like any other.
    s.add_point(opened, 14, 20, 12)
    out = dict(s.propagate())
    assert list(engine.keyframes) == [opened]  # tracked now (dog: all reused from the store)
    assert out[19][opened].max() == 1.0 and s.result_keys([19], [opened])[opened][19][0] == "p"
