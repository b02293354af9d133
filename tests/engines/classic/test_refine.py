"""Guided-filter refinement: soft edges that follow the image, and its band-limited upsampling."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mattetrack.engines.classic.refine import (
    _dot3,
    boundary_band,
    guided_coefficients,
    refine_edges,
)


def _scene(w: int, h: int, big_w: int, big_h: int, seed: int = 0):
    """A disc (and a block at the corner) at processing size, a noisy textured guide at both."""
    rng = np.random.default_rng(seed)
    cov = np.zeros((h, w), np.float32)
    cv2.circle(cov, (w // 2, h // 2), h // 5, 1.0, -1)
    cov[: h // 10, : w // 12] = 1.0
    guide = rng.random((h, w, 3)).astype(np.float32)
    full = np.clip(cv2.resize(guide, (big_w, big_h)) + rng.normal(0, 0.03, (big_h, big_w, 3)),
                   0, 1).astype(np.float32)
    return cov, guide, full


def _whole_frame_upsampling(cov, guide, full, radius, eps):
    """The reference: coefficients over the whole frame, upsampled over the whole frame."""
    band = boundary_band(cov >= 0.5, 2 * radius)
    a_c, b_c = guided_coefficients(guide, cov, radius, eps)
    a = np.where(band[..., None], a_c, 0.0).astype(np.float32)
    b = np.where(band, b_c, cov).astype(np.float32)
    size = (full.shape[1], full.shape[0])
    a_full = cv2.resize(a, size, interpolation=cv2.INTER_LINEAR)
    b_full = cv2.resize(b, size, interpolation=cv2.INTER_LINEAR)
    return np.clip(_dot3(a_full, full) + b_full, 0, 1)


@pytest.mark.parametrize("size", [(854, 480), (1920, 1080), (700, 394)])
def test_band_limited_upsampling_matches_the_whole_frame_computation(size) -> None:
    cov, guide, full = _scene(512, 288, *size)
    out = refine_edges(cov, guide, 3, 1e-3, guide_full=full)
    ref = _whole_frame_upsampling(cov, guide, full, 3, 1e-3)
    assert out.shape == (size[1], size[0])
    assert np.abs(out - ref).max() < 1e-4


def test_coverage_is_soft_on_the_edge_and_hard_elsewhere() -> None:
    cov, guide, _ = _scene(256, 144, 256, 144)
    out = refine_edges(cov, guide, 3, 1e-3)
    band = boundary_band(cov >= 0.5, 6)
    assert np.array_equal(out[~band], cov[~band])  # the hard decision away from the edge
    assert ((out[band] > 0.02) & (out[band] < 0.98)).mean() > 0.1  # partial values on it


def test_thin_parts_survive_the_upsampling_when_asked() -> None:
    """A 1-px line leaving a disc, on a plate where it has little contrast (a kite line against
    the sea): the filter averages it away below 0.5; keep_thin keeps it, at the same pixels as
    a whole-frame bilinear upsampling of the thin parts, and leaves the rest as it was."""
    h, w, big_h, big_w = 144, 256, 432, 768
    cov = np.zeros((h, w), np.float32)
    cv2.circle(cov, (80, 72), 25, 1.0, -1)
    cv2.line(cov, (105, 72), (230, 20), 1.0, 1)
    rng = np.random.default_rng(3)
    guide = np.clip(0.5 + rng.normal(0, 0.02, (h, w, 3)), 0, 1).astype(np.float32)
    full = np.clip(0.5 + rng.normal(0, 0.02, (big_h, big_w, 3)), 0, 1).astype(np.float32)
    # The plate pixels at the centres of the line's processing pixels (3x: x -> 3x + 1).
    ys, xs = np.nonzero(cv2.line(np.zeros((h, w), np.uint8), (120, 66), (220, 24), 1, 1))
    line_up = np.zeros((big_h, big_w), bool)
    line_up[3 * ys + 1, 3 * xs + 1] = True
    plain = refine_edges(cov, guide, 3, 1e-3, guide_full=full)
    kept = refine_edges(cov, guide, 3, 1e-3, guide_full=full, keep_thin=True)
    assert np.mean(plain[line_up] >= 0.5) < 0.1  # measured 0.0: the line is gone
    assert np.mean(kept[line_up] >= 0.5) > 0.9  # measured 1.0
    thin = (cov >= 0.5) & (cv2.morphologyEx((cov >= 0.5).astype(np.uint8), cv2.MORPH_OPEN,
                                            np.ones((3, 3), np.uint8)) == 0)
    reference = np.maximum(plain, cv2.resize(thin.astype(np.float32), (big_w, big_h),
                                             interpolation=cv2.INTER_LINEAR))
    assert np.abs(kept - reference).max() < 1e-4  # measured 5e-6 (remap against resize)


def test_non_finite_plate_pixels_never_reach_the_coverage() -> None:
    """A raw plate with NaN and inf next to the edge: the coverage stays finite, in [0, 1]."""
    cov, guide, full = _scene(160, 90, 480, 270)
    full[130:140, 288:300] = np.nan  # on the disc's right edge at plate resolution (x = 294)
    full[135, 186] = (np.inf, -np.inf, np.nan)  # and on its left edge
    out = refine_edges(cov, guide, 2, 1e-3, guide_full=full, keep_thin=True)
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
