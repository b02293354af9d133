"""Dense optical flow between neighbouring frames (OpenCV DIS) and what it is used for.

Convention: flow from frame a to frame b is (h, w, 2) float32 (dx, dy) in processing pixels such
that a(x) ~ b(x + flow(x)). To carry coverage from `prev` to `cur` we need, for every pixel of
`cur`, where it was in `prev`: that is the flow cur -> prev, used to *pull* values with cv2.remap
(a backward warp: no holes, no splatting).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


class DenseFlow:
    """DIS optical flow on 8-bit grey images. One instance per propagation (not thread-safe)."""

    def __init__(self, preset: str = "medium") -> None:
        self._dis = cv2.DISOpticalFlow_create(PRESETS[preset])

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow a -> b. a, b: (h, w) uint8. Returns (h, w, 2) float32 pixels."""
        return self._dis.calc(a, b, None)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return gx, gy


def warp(values: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Pull `values` (h, w[, c]) from x + flow(x); outside the frame reads as 0 (not the object)."""
    gx, gy = _grid(*flow.shape[:2])
    return cv2.remap(values, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)


@dataclass
class FlowPair:
    """The two flows between a frame `cur` and its neighbour `prev` in a sweep's direction.

    to_prev: (h, w, 2) flow cur -> prev (used to warp prev's coverage into cur);
    to_cur: (h, w, 2) flow prev -> cur (used to fit an object's overall motion);
    unreliable: (h, w) bool on cur's pixels, unreliable_prev: (h, w) bool on prev's pixels: motion
    that fails the forward-backward check or the colour check.
    """

    to_prev: np.ndarray
    to_cur: np.ndarray
    unreliable: np.ndarray
    unreliable_prev: np.ndarray

    # DIS sees only grey, and over weakly textured areas next to fast motion its flow bleeds from
    # one surface into another; comparing colours after warping catches that. 0.15 in sRGB units
    # is well above noise and motion-blur differences, well below object/background contrast.
    COLOUR_TOL = 0.15

    @classmethod
    def compute(cls, flow: DenseFlow, cur: np.ndarray, prev: np.ndarray,
                cur_rgb: np.ndarray, prev_rgb: np.ndarray) -> FlowPair:
        """cur, prev: (h, w) uint8 grey; cur_rgb, prev_rgb: (h, w, 3) float32 [0, 1]."""
        to_prev = flow(cur, prev)
        to_cur = flow(prev, cur)
        return cls(
            to_prev=to_prev,
            to_cur=to_cur,
            unreliable=fb_unreliable(to_prev, to_cur)
            | _colour_mismatch(cur_rgb, prev_rgb, to_prev),
            unreliable_prev=fb_unreliable(to_cur, to_prev)
            | _colour_mismatch(prev_rgb, cur_rgb, to_cur),
        )


def _colour_mismatch(a: np.ndarray, b: np.ndarray, flow_ab: np.ndarray) -> np.ndarray:
    """(h, w) bool: a's colour differs from b's colour at x + flow_ab(x) by > COLOUR_TOL."""
    diff = a - warp(b, flow_ab)
    return np.sum(diff * diff, -1) > FlowPair.COLOUR_TOL**2


def fb_unreliable(f_cp: np.ndarray, f_pc: np.ndarray) -> np.ndarray:
    """(h, w) bool: forward-backward inconsistent or leaving the frame.

    f_cp: flow cur -> prev; f_pc: flow prev -> cur, both (h, w, 2). Following f_cp and then f_pc
    should come back to the start; where it does not, the pixel is occluded/disoccluded or the flow
    is wrong. The tolerance grows with the motion (Sundaram, Brox & Keutzer, 2010):
    |f_cp + f_pc(x + f_cp)|^2 > 0.01 (|f_cp|^2 + |f_pc(x + f_cp)|^2) + 0.5.
    """
    h, w = f_cp.shape[:2]
    gx, gy = _grid(h, w)
    mx, my = gx + f_cp[..., 0], gy + f_cp[..., 1]
    back = cv2.remap(f_pc, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    err = np.sum((f_cp + back) ** 2, -1)
    tol = 0.01 * (np.sum(f_cp**2, -1) + np.sum(back**2, -1)) + 0.5
    outside = (mx < 0) | (mx > w - 1) | (my < 0) | (my > h - 1)
    return (err > tol) | outside


def fit_motion(
    prev_cov: np.ndarray, pair: FlowPair, max_points: int = 2000
) -> tuple[np.ndarray | None, float]:
    """Robust affine motion (2, 3) float64 of an object from prev to cur (or None), and the
    fraction of the object's flow vectors that agree with it.

    prev_cov: (h, w) coverage in prev. RANSAC on the object's reliable
    flow vectors: dense flow bleeds across boundaries where an occluder or the background moves
    fast, but as long as most of the object moves with it the fit recovers its overall motion.
    """
    ys, xs = np.nonzero((prev_cov >= 0.5) & ~pair.unreliable_prev)
    if len(xs) < 20:
        return None, 0.0
    step = max(1, len(xs) // max_points)
    ys, xs = ys[::step], xs[::step]
    src = np.stack([xs, ys], 1).astype(np.float32)
    dst = src + pair.to_cur[ys, xs]
    m, inliers = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.5)
    if m is None or inliers is None:
        return None, 0.0
    return m, float(inliers.mean()) * len(xs) / max(int(np.count_nonzero(prev_cov >= 0.5)), 1)
