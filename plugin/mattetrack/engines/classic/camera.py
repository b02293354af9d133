"""Motion evidence against an object: pixels that move with the background are not the object.

A track leaks when flow carries its label onto background it slid over (road the car uncovered,
ground under a dog, a wall behind a rider) and, once there, the flow keeps it there. But the leak
moves like the background, not like the object: the background's motion (the camera's, over a
mostly distant or planar set) is a homography fitted robustly to the flow away from the object,
the object's is its own affine motion. Where the two predictions differ by more than their noise,
a pixel whose flow matches the background's better is evidence for "background".

Only that direction is used. Shadows and reflections move *with* the object, so "moves like the
object" is no evidence that a pixel is the object (docs/tuning.md, "Camera motion": the
two-sided version grows a swan into its reflection).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mattetrack.engines.classic.flow import FlowPair
from mattetrack.engines.classic.imaging import bounding_box


@dataclass(frozen=True)
class CameraParams:
    """How the background's motion is estimated and compared."""

    # Background flow is sampled on a grid of this step (px): a homography needs few points.
    grid: int = 8
    # Flow noise floor (px^2) added to the measured spreads, so perfectly textured frames do not
    # make sub-pixel differences decisive.
    noise_floor: float = 1.0


def background_homography(
    pair: FlowPair, away: np.ndarray, grid: int = CameraParams.grid
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(3, 3) homography mapping cur pixels to prev for the background, with the grid samples it
    was fitted on (xs, ys: (n,) int), or None.

    away: (h, w) bool, pixels far enough from the object to be background. RANSAC on the reliable
    flow vectors sampled there (1 px threshold: the set's motion, not the noise of water or trees).
    """
    sub = away[::grid, ::grid] & ~pair.unreliable[::grid, ::grid]
    ys, xs = np.nonzero(sub)
    if len(xs) < 30:
        return None
    ys, xs = ys * grid, xs * grid
    src = np.stack([xs, ys], 1).astype(np.float32)
    dst = src + pair.to_prev[ys, xs]
    hom, _ = cv2.findHomography(src, dst, cv2.RANSAC, 1.0)
    return None if hom is None else (hom, xs, ys)


def _homography_flow(hom: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> tuple[np.ndarray, ...]:
    """Flow (dx, dy) that the homography predicts at pixel coordinates gx, gy (same shapes)."""
    den = hom[2, 0] * gx + hom[2, 1] * gy + hom[2, 2]
    den = np.where(np.abs(den) < 1e-6, 1e-6, den)
    return ((hom[0, 0] * gx + hom[0, 1] * gy + hom[0, 2]) / den - gx,
            (hom[1, 0] * gx + hom[1, 1] * gy + hom[1, 2]) / den - gy)


def _affine_flow(m: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> tuple[np.ndarray, ...]:
    """Flow (dx, dy) that the (2, 3) affine m predicts at pixel coordinates gx, gy."""
    return (m[0, 0] * gx + m[0, 1] * gy + m[0, 2] - gx, m[1, 0] * gx + m[1, 1] * gy + m[1, 2] - gy)


def background_evidence(
    pair: FlowPair,
    obj: np.ndarray,
    object_motion: np.ndarray,
    away: np.ndarray,
    clamp: float,
    within: np.ndarray | None = None,
    params: CameraParams | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Log-odds (<= 0) that each pixel is background because it moves like the background.

    pair: flows of the current frame; obj: (h, w) bool the object as predicted in cur;
    object_motion: (2, 3) affine prev -> cur of the object; away: (h, w) bool background pixels
    to fit the background motion on; clamp: largest magnitude of the log-odds; within: (h, w)
    bool where the evidence is wanted (default everywhere; only its bounding box costs time);
    params: the grid and noise floor.
    Returns ((h, w) float32 log-odds in [-clamp, 0], (h, w) bool where the two motions are
    separable: they differ by more than twice the larger noise), or None when the background's
    motion cannot be fitted.
    """
    params = params or CameraParams()
    fit = background_homography(pair, away, params.grid)
    if fit is None:
        return None
    hom, xs, ys = fit
    inv = cv2.invertAffineTransform(object_motion)  # cur -> prev, like the flow
    f = pair.to_prev
    # Each model's noise is the median squared residual of its own pixels: water or foliage
    # make the background's flow noisy, articulation the object's, and the evidence weakens.
    # Medians over samples: the background's grid, every other object pixel.
    bx, by = _homography_flow(hom, xs.astype(np.float32), ys.astype(np.float32))
    floor = params.noise_floor
    v_bg = float(np.median((f[ys, xs, 0] - bx) ** 2 + (f[ys, xs, 1] - by) ** 2)) + floor
    oys, oxs = np.nonzero((obj & ~pair.unreliable)[::2, ::2])
    if len(oxs) == 0:
        return None
    oys, oxs = oys * 2, oxs * 2
    ox, oy = _affine_flow(inv, oxs.astype(np.float32), oys.astype(np.float32))
    v_obj = float(np.median((f[oys, oxs, 0] - ox) ** 2 + (f[oys, oxs, 1] - oy) ** 2)) + floor

    h, w = obj.shape
    llr_full = np.zeros((h, w), np.float32)
    separable_full = np.zeros((h, w), bool)
    box = (0, h, 0, w) if within is None else bounding_box(within)
    if box is None:
        return llr_full, separable_full
    y0, y1, x0, x1 = box
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
    bx, by = _homography_flow(hom, gx, gy)
    ox, oy = _affine_flow(inv, gx, gy)
    fx, fy = f[y0:y1, x0:x1, 0], f[y0:y1, x0:x1, 1]
    d_obj = (fx - ox) ** 2 + (fy - oy) ** 2
    d_bg = (fx - bx) ** 2 + (fy - by) ** 2
    # Log-likelihood ratio of two isotropic 2-D Gaussians, object over background.
    llr = d_bg / (2 * v_bg) - d_obj / (2 * v_obj) + np.log(v_bg / v_obj)
    llr = np.clip(llr, -clamp, 0.0).astype(np.float32)
    llr[pair.unreliable[y0:y1, x0:x1]] = 0.0  # the flow there says nothing about anything
    llr_full[y0:y1, x0:x1] = llr
    separable_full[y0:y1, x0:x1] = (ox - bx) ** 2 + (oy - by) ** 2 > 4 * max(v_bg, v_obj)
    return cv2.GaussianBlur(llr_full, (0, 0), 1.5), separable_full
