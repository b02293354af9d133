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


def _numpy_coefficients(guide, src, radius, eps):
    """The textbook colour guided filter (He et al. 2010, eq. 14) in NumPy float32, step by step:
    what the native arithmetic must give bit for bit."""

    def box(x):
        return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1),
                             borderType=cv2.BORDER_REFLECT)

    g, p = guide.astype(np.float32), src.astype(np.float32)
    m, mp = box(g), box(p)
    c = box(g * p[..., None]) - m * mp[..., None]
    lo = box(np.ascontiguousarray(np.stack([g[..., 0] * g[..., 0], g[..., 0] * g[..., 1],
                                            g[..., 0] * g[..., 2]], -1)))
    hi = box(np.ascontiguousarray(np.stack([g[..., 1] * g[..., 1], g[..., 1] * g[..., 2],
                                            g[..., 2] * g[..., 2]], -1)))
    rr = lo[..., 0] - m[..., 0] * m[..., 0] + eps
    rg = lo[..., 1] - m[..., 0] * m[..., 1]
    rb = lo[..., 2] - m[..., 0] * m[..., 2]
    gg = hi[..., 0] - m[..., 1] * m[..., 1] + eps
    gb = hi[..., 1] - m[..., 1] * m[..., 2]
    bb = hi[..., 2] - m[..., 2] * m[..., 2] + eps
    i_rr, i_rg, i_rb = gg * bb - gb * gb, gb * rb - rg * bb, rg * gb - gg * rb
    i_gg, i_gb, i_bb = rr * bb - rb * rb, rb * rg - rr * gb, rr * gg - rg * rg
    det = rr * i_rr + rg * i_rg + rb * i_rb
    c0, c1, c2 = c[..., 0], c[..., 1], c[..., 2]
    a = np.stack([i_rr * c0 + i_rg * c1 + i_rb * c2, i_rg * c0 + i_gg * c1 + i_gb * c2,
                  i_rb * c0 + i_gb * c1 + i_bb * c2], -1) / det[..., None]
    b = mp - _dot3(a, m)
    return box(a.astype(np.float32)), box(b.astype(np.float32))


@pytest.mark.parametrize("radius,eps", [(2, 1e-3), (4, 1e-4), (1, 1e-2)])
def test_native_coefficients_equal_the_numpy_formulation_bit_for_bit(radius, eps) -> None:
    # Bit for bit, so that moving the arithmetic out of NumPy changed no matte anywhere (the
    # loop's J&F and the memo's remembered tracks stay what they were).
    cov, guide, _ = _scene(131, 97, 262, 194, seed=radius)
    soft = cv2.GaussianBlur(cov, (0, 0), 2.0)
    for src in (cov, soft):
        a, b = guided_coefficients(guide, src, radius, eps)
        a_ref, b_ref = _numpy_coefficients(guide, src, radius, eps)
        assert a.dtype == np.float32 and b.dtype == np.float32
        assert np.array_equal(a, a_ref) and np.array_equal(b, b_ref)


def test_native_guided_arithmetic_rejects_bad_arrays_with_a_named_error() -> None:
    from mattetrack import _native

    g = np.zeros((8, 9, 3), np.float32)
    with pytest.raises(ValueError, match="src must be"):
        _native.guided_products(g, np.zeros((8, 8), np.float32))
    with pytest.raises(ValueError, match="guide must be"):
        _native.guided_products(np.zeros((8, 9), np.float32), np.zeros((8, 9), np.float32))
    p = np.zeros((8, 9), np.float32)
    with pytest.raises(ValueError, match="mean_hi must be"):
        _native.guided_solve(g, p, g, g, np.zeros((8, 9, 2), np.float32), 1e-3)
    with pytest.raises(ValueError, match="eps must be > 0"):
        _native.guided_solve(g, p, g, g, g, 0.0)
