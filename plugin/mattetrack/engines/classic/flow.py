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

from mattetrack.flowcodec import quantize_flow
from mattetrack.stagetimes import timed

PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


class DenseFlow:
    """DIS optical flow on 8-bit grey images. One instance per propagation (not thread-safe).

    At the processing resolution (long side ~512 px) DIS "medium" costs ~15 ms per flow on two
    cores and warps masks about as well as "fast" at twice the resolution (one-step warp IoU
    measured on DAVIS shots).
    """

    def __init__(self, preset: str = "medium") -> None:
        self._dis = cv2.DISOpticalFlow_create(PRESETS[preset])

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow a -> b. a, b: (h, w) uint8. Returns (h, w, 2) float32 pixels, on the kept grid
        (`flowcodec.quantize_flow`: a result store can remember it exactly)."""
        with timed("flow"):
            return quantize_flow(dis_flow(self._dis, a, b))


# DIS refuses images under 12 px a side (and its patches need more): smaller ones (a 1x1 test
# frame, a 4000x12 strip's processing image) are padded by their edge pixels to this.
MIN_FLOW_SIDE = 16


def dis_flow(dis: cv2.DISOpticalFlow, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(h, w, 2) float32 DIS flow a -> b of (h, w) uint8 images of any size."""
    h, w = a.shape[:2]
    if h >= MIN_FLOW_SIDE and w >= MIN_FLOW_SIDE:
        return dis.calc(a, b, None)
    pad = (0, max(0, MIN_FLOW_SIDE - h), 0, max(0, MIN_FLOW_SIDE - w))
    big = [cv2.copyMakeBorder(x, *pad, cv2.BORDER_REPLICATE) for x in (a, b)]
    return np.ascontiguousarray(dis.calc(big[0], big[1], None)[:h, :w])


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return gx, gy


def warp(values: np.ndarray, flow: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Pull `values` (h, w[, c]) from x + flow(x); outside the frame reads as 0 (not the object)."""
    gx, gy = _grid(*flow.shape[:2])
    return cv2.remap(values, gx + flow[..., 0], gy + flow[..., 1], interpolation,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)


@dataclass
class FlowPair:
    """The flow from a frame `cur` to its neighbour `prev` in a sweep's direction.

    to_prev: (h, w, 2) float32 flow cur -> prev (warps prev's coverage into cur);
    unreliable: (h, w) bool on cur's pixels whose motion fails the colour check or leaves the
    frame (occluded, disoccluded, or the flow is wrong there).

    One flow per frame pair, not a forward-backward pair: the flow is most of the engine's time,
    and the colour check after warping catches most of what a forward-backward check would
    (occlusions show up as a colour change).
    """

    to_prev: np.ndarray
    unreliable: np.ndarray

    # DIS sees only grey, and over weakly textured areas next to fast motion its flow bleeds from
    # one surface into another; comparing colours after warping catches that. 0.15 in sRGB units
    # is well above noise and motion-blur differences, well below object/background contrast.
    COLOUR_TOL = 0.15

    @classmethod
    def from_flow(
        cls,
        to_prev: np.ndarray,
        cur_rgb: np.ndarray,
        prev_rgb: np.ndarray,
        to_cur: np.ndarray | None = None,
    ) -> FlowPair:
        """to_prev: (h, w, 2) flow cur -> prev; cur_rgb, prev_rgb: (h, w, 3) float32 [0, 1];
        to_cur: the (h, w, 2) flow prev -> cur when known, for a forward-backward check too."""
        with timed("confidence"):
            return cls._checked(np.asarray(to_prev, np.float32), cur_rgb, prev_rgb, to_cur)

    @classmethod
    def _checked(cls, to_prev: np.ndarray, cur_rgb: np.ndarray, prev_rgb: np.ndarray,
                 to_cur: np.ndarray | None) -> FlowPair:
        h, w = to_prev.shape[:2]
        gx, gy = _grid(h, w)
        mx, my = gx + to_prev[..., 0], gy + to_prev[..., 1]
        pulled = cv2.remap(prev_rgb, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        d = cur_rgb - pulled
        # Explicit channel sums: numpy's reduction over a length-3 last axis is slow.
        mismatch = d[..., 0] ** 2 + d[..., 1] ** 2 + d[..., 2] ** 2 > cls.COLOUR_TOL**2
        outside = (mx < 0) | (mx > w - 1) | (my < 0) | (my > h - 1)
        unreliable = mismatch | outside
        if to_cur is not None:
            unreliable |= fb_unreliable(to_prev, np.asarray(to_cur, np.float32))
        return cls(to_prev=to_prev, unreliable=unreliable)


def fb_unreliable(f_cp: np.ndarray, f_pc: np.ndarray) -> np.ndarray:
    """(h, w) bool: forward-backward inconsistent (occluded, disoccluded, or wrong flow).

    f_cp: flow cur -> prev; f_pc: flow prev -> cur, both (h, w, 2). Following f_cp and then f_pc
    should come back to the start. The tolerance grows with the motion (Sundaram, Brox &
    Keutzer, 2010): |f_cp + f_pc(x + f_cp)|^2 > 0.01 (|f_cp|^2 + |f_pc(x + f_cp)|^2) + 0.5.
    """
    h, w = f_cp.shape[:2]
    gx, gy = _grid(h, w)
    back = cv2.remap(f_pc, gx + f_cp[..., 0], gy + f_cp[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
    fx, fy, bx, by = f_cp[..., 0], f_cp[..., 1], back[..., 0], back[..., 1]
    err = (fx + bx) ** 2 + (fy + by) ** 2
    tol = 0.01 * (fx * fx + fy * fy + bx * bx + by * by) + 0.5
    return err > tol


def fit_motion(
    cur_hard: np.ndarray, pair: FlowPair, max_points: int = 2000
) -> tuple[np.ndarray | None, float]:
    """Robust affine motion (2, 3) float64 of an object from prev to cur (or None), and the
    fraction of the object's pixels whose flow agrees with it.

    cur_hard: (h, w) bool, the object in cur as the flow warps it. RANSAC on the object's reliable
    flow vectors (cur -> prev), inverted: dense flow bleeds across boundaries where an occluder or
    the background moves fast, but as long as most of the object moves with it the fit recovers
    its overall motion.
    """
    ys, xs = np.nonzero(cur_hard & ~pair.unreliable)
    if len(xs) < 20:
        return None, 0.0
    step = max(1, len(xs) // max_points)
    ys, xs = ys[::step], xs[::step]
    src = np.stack([xs, ys], 1).astype(np.float32)
    dst = src + pair.to_prev[ys, xs]
    m, inliers = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.5)
    if m is None or inliers is None or abs(np.linalg.det(m[:, :2])) < 1e-3:
        return None, 0.0
    agree = float(inliers.mean()) * len(xs) * step / max(int(np.count_nonzero(cur_hard)), 1)
    return cv2.invertAffineTransform(m), min(agree, 1.0)
