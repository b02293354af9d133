"""Whole-part rules of a tracking step: no new enclosed holes, detached background parts dropped."""

from __future__ import annotations

import numpy as np

from mattetrack.engines.classic.track import _fill_new_holes, _keep_parts


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
