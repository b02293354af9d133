"""The synthetic shot generator: determinism, truth, occlusion, motion blur and speed."""

from __future__ import annotations

import time

import numpy as np

from mattetrack.synthetic import (
    SyntheticSource,
    click_point,
    linear_to_srgb,
    render_shot,
    srgb_to_linear,
)


def test_deterministic_from_seed() -> None:
    a = render_shot(6, 160, 90, seed=3)
    b = render_shot(6, 160, 90, seed=3)
    c = render_shot(6, 160, 90, seed=4)
    for (ia, ca), (ib, cb) in zip(a, b, strict=True):
        assert np.array_equal(ia, ib) and np.array_equal(ca, cb)
    assert not np.array_equal(a[0][0], c[0][0])


def test_shapes_ranges_and_speed() -> None:
    t = time.perf_counter()
    shot = render_shot(40, 480, 270, seed=0)
    elapsed = time.perf_counter() - t
    assert elapsed < 4.0, f"40 frames took {elapsed:.2f} s"
    assert len(shot) == 40
    for rgb, cov in shot:
        assert rgb.shape == (270, 480, 3) and rgb.dtype == np.float32
        assert cov.shape == (270, 480) and cov.dtype == np.float32
        assert cov.min() >= 0.0 and cov.max() <= 1.0 and np.isfinite(rgb).all()


def test_object_moves_is_occluded_and_has_soft_edges() -> None:
    shot = render_shot(40, 480, 270, seed=0)
    areas = np.array([cov.sum() for _, cov in shot])
    centres = [np.argwhere(cov >= 0.5).mean(0) for _, cov in shot]
    assert np.linalg.norm(centres[-1] - centres[0]) > 50  # it moves
    assert areas.min() < 0.8 * areas.max()  # the foreground pole hides part of it
    assert areas[0] > 0.7 * areas.max() and areas[-1] > 0.7 * areas.max()  # but not at the ends
    # Motion blur: the truth has partial coverage along the boundary.
    partial = [np.count_nonzero((cov > 0.05) & (cov < 0.95)) for _, cov in shot]
    assert min(partial) > 100


def test_click_point_is_deep_inside() -> None:
    shot = render_shot(40, 480, 270, seed=1)
    cov = shot[0][1]
    x, y = click_point(cov)
    assert cov[int(y) - 10 : int(y) + 11, int(x) - 10 : int(x) + 11].min() > 0.99


def test_source_and_colour() -> None:
    src = SyntheticSource.render(first_frame=1001, n_frames=4, width=96, height=54, seed=0)
    assert src.frames == [1001, 1002, 1003, 1004]
    assert (src.width, src.height) == (96, 54)
    img = src.image(1002)
    assert img.shape == (54, 96, 3) and img.dtype == np.float32
    assert img.min() >= 0.0 and img.max() <= 1.0
    np.testing.assert_allclose(srgb_to_linear(img), np.clip(src.linear(1002), 0, 1), atol=1e-4)
    np.testing.assert_allclose(linear_to_srgb(np.float32([0.0, 0.18, 1.0])),
                               [0.0, 0.4614, 1.0], atol=1e-3)


def test_object_can_leave_the_frame_or_be_hidden() -> None:
    for kind in ("leave", "hide"):
        shot = render_shot(30, 240, 135, seed=0, motion_blur_samples=1, **{kind: (0.4, 0.6)})
        areas = np.array([cov.sum() for _, cov in shot])
        gone = np.flatnonzero(areas < 1.0)
        assert len(gone) >= 4, (kind, gone)  # entirely out of sight for a few frames
        assert gone.min() >= 0.3 * 29 and gone.max() <= 0.7 * 29, (kind, gone)  # window + ramps
        assert areas[0] > 0 and areas[-1] > 0.7 * areas.max()  # in view before and after
