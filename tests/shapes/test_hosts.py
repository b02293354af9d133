"""Shape coordinates in the hosts' conventions (shapes/hosts.py)."""

from __future__ import annotations

import numpy as np

from mattetrack.shapes.hosts import from_blender, to_blender, to_nuke

W, H = 854, 480


def rows_at(points: list[tuple[float, float]]) -> np.ndarray:
    """Rows with handles 10 px left / right of each point."""
    return np.array([[x, y, x - 10, y, x + 10, y] for x, y in points], float)


def test_nuke_is_bottom_left_pixels_with_relative_tangents():
    out = to_nuke(rows_at([(0, 0), (W, H), (100, 30)]), H)
    np.testing.assert_allclose(out[:, :2], [[0, H], [W, 0], [100, H - 30]])
    np.testing.assert_allclose(out[:, 2:], [[-10, 0, 10, 0]] * 3)
    # A handle above its point on screen (smaller y) is above it in Nuke (larger y).
    up = to_nuke(np.array([[50.0, 50, 50, 40, 50, 60]]), H)
    assert up[0, 3] == 10 and up[0, 5] == -10


def test_blender_is_normalised_bottom_left_with_the_short_side_centred():
    corners = rows_at([(0, 0), (W, 0), (0, H), (W, H), (W / 2, H / 2)])
    out = to_blender(corners, W, H)
    top, bottom = 0.5 + H / (2 * W), 0.5 - H / (2 * W)
    np.testing.assert_allclose(out[:, :2], [[0, top], [1, top], [0, bottom], [1, bottom],
                                            [0.5, 0.5]])
    # Aspect kept: 10 px is the same length across and up.
    assert np.isclose(out[0, 4] - out[0, 0], 10 / W)
    np.testing.assert_allclose(from_blender(out[:, :2], W, H), corners[:, :2])
    tall = to_blender(rows_at([(0, 0), (H, W)]), H, W)  # a portrait frame: x is the short side
    np.testing.assert_allclose(tall[:, :2], [[0.5 - H / (2 * W), 1], [0.5 + H / (2 * W), 0]])
