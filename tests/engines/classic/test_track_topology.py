"""Whole-part rules of a tracking step: no new enclosed holes, detached background parts dropped,
re-detection of a lost object at the size it was last seen."""

from __future__ import annotations

import numpy as np

from mattetrack.engines.classic import track
from mattetrack.engines.classic.imaging import WorkImage
from mattetrack.engines.classic.track import TrackParams, TrackState, _fill_new_holes, _keep_parts


def _square(h: int = 60, w: int = 80) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[10:50, 20:60] = True
    return m


def test_a_hole_opened_inside_the_object_is_filled() -> None:
    before = _square()
    now = before.copy()
    now[25:32, 35:42] = False  # evidence punched a hole where the object was solid
    assert _fill_new_holes(now, before).tolist() == before.tolist()


def test_a_hole_that_was_background_before_is_kept() -> None:
    before = _square()
    before[25:30, 35:40] = False  # a real gap (between legs, inside a wheel)
    now = before.copy()
    now[24:32, 34:42] = False  # the gap grew: still the same background
    out = _fill_new_holes(now, before)
    assert not out[24:32, 34:42].any()


def test_background_reaching_the_frame_border_is_never_filled() -> None:
    before = np.ones((40, 40), bool)  # the object filled the frame
    now = before.copy()
    now[15:25, 0:10] = False  # a notch opening onto the border: background coming into view
    out = _fill_new_holes(now, before)
    assert not out[15:25, 0:10].any()


def test_a_detached_part_moving_like_the_background_is_dropped() -> None:
    hard = _square()
    hard[52:58, 2:10] = True  # a speck of the set carried along by the flow
    camera = np.zeros(hard.shape, np.float32)
    camera[52:58, 2:10] = -2.0
    camera[10:50, 20:60] = -2.0  # the main body is never dropped, whatever its evidence
    out = _keep_parts(hard, np.zeros_like(hard), camera, 1.5)
    assert not out[52:58, 2:10].any()
    assert out[10:50, 20:60].all()


def test_a_detached_part_without_strong_evidence_is_kept() -> None:
    hard = _square()
    hard[52:58, 2:10] = True
    camera = np.zeros(hard.shape, np.float32)
    camera[52:58, 2:6] = -2.0  # only half of it: mean -1.0, above -1.5
    out = _keep_parts(hard, np.zeros_like(hard), camera, 1.5)
    assert out.tolist() == hard.tolist()


def test_a_part_nothing_but_appearance_supports_is_dropped() -> None:
    hard = _square()
    hard[52:58, 2:10] = True  # appearance alone made this blob
    support = np.zeros_like(hard)
    support[20:40, 30:50] = True  # flow is sure of the object's interior only
    out = _keep_parts(hard, support, None, 1.5)
    assert not out[52:58, 2:10].any()
    assert out[10:50, 20:60].all()


def _redetect_among(monkeypatch, regions: list[tuple[slice, slice, float]],
                    seen_area: float) -> np.ndarray:
    """Run re-detection on a 120 x 160 frame whose object-looking regions (rows, cols, mean
    posterior) are given; returns the found (h, w) bool object."""
    h, w = 120, 160
    labels = np.zeros((h, w), np.int32)
    means = [0.1]
    for k, (rows, cols, mean) in enumerate(regions, 1):
        labels[rows, cols] = k
        means.append(mean)
    areas = np.bincount(labels.ravel(), None, len(means))
    monkeypatch.setattr(track, "_object_regions",
                        lambda state, feats: (labels, areas, np.asarray(means)))
    image = WorkImage.from_image(np.full((h, w, 3), 0.5, np.float32), (w, h))
    state = TrackState.start(np.zeros((h, w), np.float32), appearance=None)
    state.key_area, state.seen_area, state.lost = 2400, seen_area, True
    return track._redetect(state, None, image, TrackParams()) >= 0.5


def test_redetection_looks_for_the_size_the_object_was_last_seen_at(monkeypatch) -> None:
    """A keyframe-sized look-alike (surer) loses to a region of the size last seen."""
    rider = (slice(10, 30), slice(10, 30), 0.78)  # 400 px, as last seen
    path = (slice(50, 90), slice(60, 120), 0.9)  # 2400 px, the keyframe's size
    found = _redetect_among(monkeypatch, [rider, path], seen_area=400)
    assert found[12:28, 12:28].all() and not found[50:90, 60:120].any()
    # Seen at the keyframe's size, the surer region of that size wins.
    found = _redetect_among(monkeypatch, [rider, path], seen_area=2400)
    assert found[52:88, 62:118].all() and not found[10:30, 10:30].any()


def test_redetection_finds_nothing_of_an_implausible_size(monkeypatch) -> None:
    found = _redetect_among(monkeypatch, [(slice(50, 90), slice(60, 120), 0.95)], seen_area=300)
    assert not found.any()
