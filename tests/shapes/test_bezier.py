"""Bezier fitting: the native all-segments fit against `fit_segment`, one segment at a time."""

from __future__ import annotations

import numpy as np
import pytest

from mattetrack import _native
from mattetrack.shapes.bezier import (
    density_knots,
    fit_distances,
    fit_segment,
    knot_density,
    knot_tangents,
    needed_count,
)
from mattetrack.shapes.contour import resample


def outline(seed: int) -> np.ndarray:
    """A closed wobbly outline (n, 2) at 0.5 px spacing, with pixel noise."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    r = 60 + 12 * np.sin(3 * t + rng.uniform(0, 6)) + 5 * np.cos(7 * t)
    poly = np.stack([100 + r * np.cos(t), 90 + r * np.sin(t)], axis=1)
    poly = resample(poly, 0.5)
    return poly + rng.normal(0, 0.15, poly.shape)


def one_at_a_time(poly: np.ndarray, knots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, k = len(poly), len(knots)
    t_in, t_out = knot_tangents(poly, knots)
    rows, dist = np.zeros((k, 6)), np.zeros(n)
    rows[:, :2] = poly[knots]
    for i in range(k):
        a, b = int(knots[i]), int(knots[(i + 1) % k])
        idx = np.arange(a, b + 1) if b > a else np.r_[np.arange(a, n), np.arange(0, b + 1)]
        ctrl, d = fit_segment(poly[idx], t_out[i], t_in[(i + 1) % k])
        rows[i, 4:6], rows[(i + 1) % k, 2:4] = ctrl[1], ctrl[2]
        dist[idx] = np.maximum(dist[idx], d)
    return rows, dist


def assert_same_fit(poly: np.ndarray, knots: np.ndarray) -> None:
    """The native fit's rows and distances are the one-segment-at-a-time fit's (1e-6 px)."""
    rows, dist = fit_distances(poly, knots)
    want_rows, want_dist = one_at_a_time(poly, knots)
    np.testing.assert_allclose(rows, want_rows, atol=1e-6)
    np.testing.assert_allclose(dist, want_dist, atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("count", [4, 11, 40, 300])
def test_native_fit_equals_the_segment_at_a_time_fit(seed: int, count: int):
    poly = outline(seed)
    knots = density_knots(knot_density(poly, 0.5), count, 0.37 * seed % 1.0)
    assert_same_fit(poly, knots)


def test_segments_that_wrap_and_degenerate_ones():
    poly = outline(9)
    n = len(poly)
    # Knots across the wrap point, two adjacent knots (a 2-point segment: the third-of-chord
    # handles) and a long segment.
    knots = np.array([n - 3, 1, 2, n // 2])
    assert_same_fit(poly, knots)


def test_fewest_knots_search_from_a_guess_agrees_with_a_search_from_four():
    poly = outline(3)
    cum = knot_density(poly, 0.5)
    allowed = np.full(len(poly), 0.5)
    need = needed_count(poly, cum, allowed)
    assert need > 4
    for guess in (4, need - 3, need, need + 5, 200):
        assert needed_count(poly, cum, allowed, guess=guess) == need


def test_bad_arrays_are_value_errors():
    poly = outline(0)
    knots = np.array([0, 10, 20])
    t = np.tile([1.0, 0.0], (3, 1))
    with pytest.raises(ValueError, match="not an index"):
        _native.fit_bezier_segments(poly, np.array([0, 10, len(poly)]), t, t)
    with pytest.raises(ValueError, match="tangents"):
        _native.fit_bezier_segments(poly, knots, t[:2], t)
    bad = poly.copy()
    bad[5, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        _native.fit_bezier_segments(bad, knots, t, t)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        _native.fit_bezier_segments(poly[:, :1], knots, t, t)
