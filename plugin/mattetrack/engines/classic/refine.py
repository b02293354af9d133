"""Edge-aware refinement: the guided filter (He, Sun & Tang, 2010) built on cv2.boxFilter.

Tracking and selection decide *which* pixels belong to an object as a hard mask; the guided filter
turns that decision into a soft coverage that follows the image's own edges (and its motion blur),
and doubles as an edge-aware upsampler from the processing resolution to the plate's resolution.
It only runs in a narrow band around the boundary: elsewhere the hard decision is the answer.
"""

from __future__ import annotations

import cv2
import numpy as np

from mattetrack import _native
from mattetrack.engines.classic.imaging import bounding_box


def _box(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window; any channel count, float32."""
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def _dot3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel dot product of two (h, w, 3) arrays (numpy's sum over a length-3 last axis is
    several times slower than three explicit products)."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def guided_coefficients(
    guide: np.ndarray, src: np.ndarray, radius: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Colour guided-filter coefficients, already box-averaged.

    guide: (h, w, 3) float32 in [0, 1]; src: (h, w) float32. Returns a (h, w, 3), b (h, w) such that
    the filtered output is sum(a * guide, -1) + b. `eps` is the variance (in guide units squared)
    below which an edge is treated as noise and smoothed over.

    The box means are OpenCV's; the per-pixel arithmetic between them (the guide's products,
    then the 3 x 3 solve by cofactors) is the native module's (`native/src/guided.cpp`), the
    same float32 operations NumPy did, without the GIL: on two cores the edge threads spent most
    of their time queueing for it behind the tracking (docs/tuning.md, "The artist's loop").
    """
    g = np.ascontiguousarray(guide, np.float32)
    p = np.ascontiguousarray(src, np.float32)
    gp, lo, hi = _native.guided_products(g, p)
    a, b = _native.guided_solve(_box(g, radius), _box(p, radius), _box(gp, radius),
                                _box(lo, radius), _box(hi, radius), eps)
    return _box(a, radius), _box(b, radius)


def boundary_band(hard: np.ndarray, width: float) -> np.ndarray:
    """(h, w) bool: pixels within `width` pixels of the boundary of the (h, w) bool mask `hard`."""
    m = hard.astype(np.uint8)
    d_in = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    d_out = cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)
    return (d_in <= width) & (d_out <= width) if m.any() and not m.all() else np.zeros_like(hard)


def _plate_grid(
    box: tuple[int, int, int, int], cov_shape: tuple[int, int], out_shape: tuple[int, int]
) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]:
    """The plate pixels a processing-resolution box (y0, y1, x0, x1) can influence under a
    bilinear upsampling from cov_shape (h, w) to out_shape (H, W), as (fy0, fy1, fx0, fx1), and
    the processing coordinates they sample (map_x, map_y: (fy1 - fy0, fx1 - fx0) float32), on
    cv2.resize's grid: plate pixel X samples processing x = (X + 0.5) / sx - 0.5."""
    y0, y1, x0, x1 = box
    height, width = out_shape
    sy, sx = height / cov_shape[0], width / cov_shape[1]
    fy0, fy1 = max(int(np.floor((y0 - 1) * sy)), 0), min(int(np.ceil((y1 + 1) * sy)), height)
    fx0, fx1 = max(int(np.floor((x0 - 1) * sx)), 0), min(int(np.ceil((x1 + 1) * sx)), width)
    map_x = (np.arange(fx0, fx1, dtype=np.float32) + 0.5) / np.float32(sx) - 0.5
    map_y = (np.arange(fy0, fy1, dtype=np.float32) + 0.5) / np.float32(sy) - 0.5
    map_x, map_y = np.meshgrid(map_x, map_y)
    return (fy0, fy1, fx0, fx1), map_x, map_y


def thin_parts(hard: np.ndarray) -> np.ndarray:
    """(h, w) uint8 1 on the thin parts of a (h, w) bool mask: what a 3 x 3 opening removes."""
    m = hard.astype(np.uint8)
    return m & (1 - cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)))


def refine_edges(
    cov: np.ndarray,
    guide: np.ndarray,
    radius: int,
    eps: float,
    guide_full: np.ndarray | None = None,
    keep_thin: bool = False,
) -> np.ndarray:
    """Soft, edge-following coverage from a (hard or soft) coverage, optionally upsampled.

    cov: (h, w) float32 in [0, 1] at processing resolution; guide: (h, w, 3) float32 image there.
    guide_full: (H, W, 3) float32 image at the output resolution, or None for output at (h, w).
    keep_thin: when upsampling, the thin parts of cov >= 0.5 (lines, spokes: `thin_parts`) keep
    at least their bilinearly upsampled coverage. The filter averages a 1-px line with the
    (2 radius + 1)-px window around it, which takes it below 0.5 unless the plate shows it with
    strong contrast; tracking keeps such lines on purpose (track.py), and the output should too
    (docs/tuning.md, "Thin parts").
    Returns (H, W) or (h, w) float32 in [0, 1]: the guided filter inside a band of 2 * radius
    around the 0.5 boundary, `cov` elsewhere (bilinearly upsampled when guide_full is given).
    """
    cov = cov.astype(np.float32, copy=False)
    hard = cov >= 0.5
    band = boundary_band(hard, 2 * radius)
    out_shape = cov.shape if guide_full is None else guide_full.shape[:2]
    if not band.any():
        if guide_full is None:
            return cov.copy()
        return cv2.resize(cov, out_shape[::-1], interpolation=cv2.INTER_LINEAR)
    # Only the band's bounding box (plus the filter's reach) needs filtering.
    by0, by1, bx0, bx1 = bounding_box(band)
    m = 2 * radius + 1
    y0, y1 = max(by0 - m, 0), min(by1 + m, cov.shape[0])
    x0, x1 = max(bx0 - m, 0), min(bx1 + m, cov.shape[1])
    a_c, b_c = guided_coefficients(guide[y0:y1, x0:x1], cov[y0:y1, x0:x1], radius, eps)
    if guide_full is None:
        q = _dot3(a_c, guide[y0:y1, x0:x1]) + b_c
        out = cov.copy()
        sub = band[y0:y1, x0:x1]
        out[y0:y1, x0:x1][sub] = np.clip(q[sub], 0.0, 1.0)
        return out
    # Upsampling: outside the band the filter is the identity (a = 0, b = cov), so the plate
    # resolution answer is the bilinearly upsampled coverage except near the band, where the
    # coefficients are upsampled (bilinearly, on the same pixel grid as cv2.resize) and applied
    # to the full-resolution guide. Only that box is touched at full resolution: at 1080p the
    # whole-frame version cost ~28 ms per object and frame, most of it away from any edge.
    out = cv2.resize(cov, out_shape[::-1], interpolation=cv2.INTER_LINEAR)
    (fy0, fy1, fx0, fx1), map_x, map_y = _plate_grid((by0, by1, bx0, bx1), cov.shape, out_shape)
    coeff = np.zeros(cov.shape + (4,), np.float32)
    coeff[..., 3] = cov
    sub = band[y0:y1, x0:x1]
    coeff[y0:y1, x0:x1, :3][sub] = a_c[sub]
    coeff[y0:y1, x0:x1, 3][sub] = b_c[sub]
    up = cv2.remap(coeff, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # Only this box of the plate is read: non-finite pixels there (a raw frame handed straight
    # to the engine) read as black rather than turning the coverage into NaN.
    plate = guide_full[fy0:fy1, fx0:fx1]
    if not np.isfinite(plate).all():
        plate = np.nan_to_num(np.clip(plate, 0.0, 1.0))
    q = _dot3(up[..., :3], plate) + up[..., 3]
    out[fy0:fy1, fx0:fx1] = q
    if keep_thin:
        thin = thin_parts(hard)
        if thin.any():
            # Only the thin parts' box, on the same grid as a whole-frame cv2.resize.
            (ty0, ty1, tx0, tx1), gx, gy = _plate_grid(bounding_box(thin > 0), cov.shape,
                                                       out_shape)
            up_thin = cv2.remap(thin.astype(np.float32), gx, gy, cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
            sub = out[ty0:ty1, tx0:tx1]
            np.maximum(sub, up_thin, out=sub)
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)
