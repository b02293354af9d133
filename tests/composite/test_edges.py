"""The compositing arithmetic and the edge colour estimate, on a synthetic soft edge."""

from __future__ import annotations

import cv2
import numpy as np

from mattetrack.composite.edges import object_colour, over, premultiplied, soft_box


def _edge_scene(seed: int = 0):
    """A textured reddish object with a motion-blurred edge over a bluish textured background A;
    B another background. Returns (plate, alpha, F, B, truth over B), (h, w, ...) float32."""
    rng = np.random.default_rng(seed)
    h, w = 120, 160
    shape = np.zeros((h, w), np.float32)
    cv2.ellipse(shape, (80, 60), (45, 30), 15, 0, 360, 1.0, -1)
    alpha = cv2.GaussianBlur(cv2.filter2D(shape, -1, np.ones((1, 13), np.float32) / 13),
                             (0, 0), 1.2)
    texture = cv2.GaussianBlur(rng.random((h, w, 3), np.float32), (0, 0), 4)
    colour = (0.2 + 0.6 * texture) * np.float32([1.0, 0.45, 0.25])
    a_bg = (0.2 + 0.8 * cv2.GaussianBlur(rng.random((h, w, 3), np.float32), (0, 0), 2)) \
        * np.float32([0.2, 0.5, 1.0])
    b_bg = np.broadcast_to(np.float32([0.1, 0.8, 0.2]), (h, w, 3))
    plate = over(colour, alpha, a_bg)
    return plate, alpha, colour, b_bg, over(colour, alpha, b_bg)


def test_over_and_premultiplied_arithmetic() -> None:
    colour = np.full((2, 2, 3), 0.8, np.float32)
    alpha = np.array([[0.0, 0.25], [1.0, 1.5]], np.float32)  # 1.5: clipped to 1
    background = np.full((2, 2, 3), 0.2, np.float32)
    np.testing.assert_allclose(over(colour, alpha, background)[..., 0],
                               [[0.2, 0.35], [0.8, 0.8]], atol=1e-6)
    rgba = premultiplied(colour, alpha)
    np.testing.assert_allclose(rgba[..., 0], [[0.0, 0.2], [0.8, 0.8]], atol=1e-6)
    np.testing.assert_allclose(rgba[..., 3], [[0.0, 0.25], [1.0, 1.0]], atol=1e-6)


def test_soft_box_covers_the_soft_pixels_only() -> None:
    hard = np.zeros((50, 60), np.float32)
    hard[10:20, 10:30] = 1.0
    assert soft_box(hard) is None
    soft = hard.copy()
    soft[20, 10:30] = 0.5
    ys, xs = soft_box(soft, margin=3)
    assert (ys.start, ys.stop, xs.start, xs.stop) == (17, 24, 7, 33)


def test_decontamination_removes_the_old_background_from_the_edge() -> None:
    plate, alpha, colour, b_bg, truth = _edge_scene()
    soft = (alpha > 0.02) & (alpha < 0.98)
    estimated = object_colour(plate, alpha)
    # Solid object pixels keep the plate's exact values.
    solid = alpha >= 1.0 - 1.0 / 1024
    np.testing.assert_array_equal(estimated[solid], plate[solid])
    naive = np.abs(over(plate, alpha, b_bg) - truth)[soft].mean()
    clean = np.abs(over(estimated, alpha, b_bg) - truth)[soft].mean()
    assert clean * 2 <= naive, (clean, naive)  # measured 0.0020 against 0.0465
    # The blue of the old background is gone from the edge: the estimate's blue is the object's.
    band = soft & (alpha < 0.5)
    assert abs(estimated[band][:, 2].mean() - colour[band][:, 2].mean()) < \
        0.5 * abs(plate[band][:, 2].mean() - colour[band][:, 2].mean())


def test_scene_linear_highlights_survive() -> None:
    plate, alpha, _, _, _ = _edge_scene(1)
    bright = plate * 8.0  # a linear plate well above 1
    np.testing.assert_allclose(object_colour(bright, alpha), 8.0 * object_colour(plate, alpha),
                               rtol=2e-3, atol=2e-4)
