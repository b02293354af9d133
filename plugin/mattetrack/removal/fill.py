"""One frame's hole filled from the frames around it.

For each hole pixel of frame t, the frames t+1, t+2, ... and t-1, t-2, ... are looked at in turn
(up to `FillParams.reach` each way), each brought onto t by the background's homography
(`motion.ShotMotion`), and a frame where that place is not in its own hole gives a candidate;
`per_side` candidates are kept each way. Each candidate is
- matched in light to frame t: the difference between t and the warped frame on the rim around
  the hole (`rim` px wide) is spread into the hole as a smooth offset (a normalised Gaussian
  convolution, `spread` px), so a frame shot a little brighter or darker leaves no seam;
- weighted by its distance in time and by how well it fits on that rim once matched
  (exp(-misfit / `tolerance`)): a frame the homography does not bring into place there (parallax,
  something moving) counts for little.
OpenCV's Telea inpainting of the hole is one more candidate of a small fixed weight: where every
frame fits the rim badly (the shot's own object beside the hole, water) the smooth fill counts.
What no frame saw is filled by Telea alone, mixed with the frame before's result where the
background's motion brings it (so the invented part stays put from frame to frame instead of
flickering). All arrays are in the plate's own values (float32).
Measured: docs/tuning.md, "Removal".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class FillParams:
    reach: int = 60  # frames looked at each way, at most
    per_side: int = 4  # candidates kept each way
    rim: int = 7  # px of the rim the light is matched on
    spread: float = 10.0  # px of the offset's smoothing
    tolerance: float = 10.0 / 255.0  # rim misfit (plate units) at which a candidate's weight is 1/e
    valid: float = 0.99  # a warped source pixel counts when at least this much of it is seen
    telea_weight: float = 0.02  # Telea as a candidate of this fixed weight (fill_frame)
    carry: float = 0.5  # share of the previous frame's invented fill kept (temporal smoothing)


def _box(hole: np.ndarray, margin: int) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(hole)
    if ys.size == 0:
        return None
    h, w = hole.shape
    return (max(0, ys.min() - margin), min(h, ys.max() + margin + 1),
            max(0, xs.min() - margin), min(w, xs.max() + margin + 1))


def _warp(image: np.ndarray, homography: np.ndarray, box, interpolation=cv2.INTER_LINEAR):
    """`image` (a frame s) sampled on frame t's `box` (y0, y1, x0, x1), `homography` taking
    t's px to s's."""
    y0, y1, x0, x1 = box
    shift = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])
    return cv2.warpPerspective(image, homography @ shift, (x1 - x0, y1 - y0),
                               flags=interpolation | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of `x` ((h, w) or (h, w, c) float32) by `sigma` px, made at a quarter of
    the size or less when sigma allows (the fields blurred are smooth: the same within 1e-3 of
    their range, several times faster on a 1080p hole)."""
    factor = max(1, int(sigma // 2.5))
    h, w = x.shape[:2]
    if factor == 1 or min(h, w) < 4 * factor:
        return cv2.GaussianBlur(x, (0, 0), sigma)
    small = cv2.resize(x, (max(1, w // factor), max(1, h // factor)),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _matched(target: np.ndarray, warped: np.ndarray, hole: np.ndarray, valid: np.ndarray,
             params: FillParams) -> tuple[np.ndarray, np.ndarray]:
    """(warped with its light matched to target around the hole, (h, w) misfit on the rim
    spread over the box); all on the box."""
    rim = cv2.dilate(hole.astype(np.uint8), np.ones((params.rim, params.rim), np.uint8)) > 0
    rim = (rim & ~hole & valid).astype(np.float32)
    diff = (target - warped) * rim[..., None]
    weight = _smooth(rim, params.spread)
    near = weight > 1e-3
    safe = np.where(near, weight, 1.0)
    offset = _smooth(diff, params.spread) / safe[..., None]
    offset[~near] = 0.0
    misfit = np.abs(diff - offset * rim[..., None]).mean(axis=2) * rim
    spread = _smooth(misfit, params.spread) / safe
    spread[~near] = np.inf
    return warped + offset, spread


def fill_frame(t: int, count: int, target: np.ndarray, hole: np.ndarray,
               frame: Callable[[int], tuple[np.ndarray, np.ndarray]],
               homography: Callable[[int, int], np.ndarray],
               previous: tuple[np.ndarray, np.ndarray] | None,
               params: FillParams = FillParams()) -> tuple[np.ndarray, np.ndarray]:
    """(filled (h, w, 3) float32, (h, w) bool: the part no frame saw) of position t of `count`.

    target: (h, w, 3) float32 frame t; hole: (h, w) bool. frame(s) -> (pixels, hole) of
    position s; homography(t, s): (3, 3) t's px -> s's. previous: (result, homography t -> the
    previous position) of the frame filled before, for what no frame saw.
    """
    out = target.copy()
    box = _box(hole, int(3 * params.spread) + params.rim)
    if box is None:
        return out, np.zeros_like(hole)
    y0, y1, x0, x1 = box
    in_hole = hole[y0:y1, x0:x1]
    here = target[y0:y1, x0:x1]
    total = np.zeros(here.shape, np.float32)
    weights = np.zeros(in_hole.shape, np.float32)
    for direction in (1, -1):
        kept = np.zeros(in_hole.shape, np.int32)
        s = t
        while (in_hole & (kept < params.per_side)).any():
            s += direction
            if not 0 <= s < count or abs(s - t) > params.reach:
                break
            pixels, other_hole = frame(s)
            h_ts = homography(t, s)
            seen = _warp((~other_hole).astype(np.float32), h_ts, box) >= params.valid
            take = in_hole & seen & (kept < params.per_side)
            if not take.any():
                continue
            warped, misfit = _matched(here, _warp(pixels, h_ts, box), in_hole, seen, params)
            weight = np.exp(-misfit / params.tolerance) / abs(s - t) * take
            total += warped * weight[..., None]
            weights += weight
            kept += take
    if params.telea_weight > 0 and (weights > 1e-12).any():
        # Telea as one more candidate of fixed weight: where every frame fits the rim badly
        # (the shot's own object beside the hole, a texture that never repeats), it counts.
        smooth = _telea(here, in_hole)
        w = params.telea_weight * in_hole * (weights > 1e-12)
        total += smooth * w[..., None]
        weights += w
    filled = in_hole & (weights > 1e-12)
    region = out[y0:y1, x0:x1]
    region[filled] = total[filled] / weights[filled][:, None]
    unseen = np.zeros_like(hole)
    unseen[y0:y1, x0:x1] = in_hole & ~filled
    if unseen.any():
        out = _invent(out, unseen, previous, box, params.carry)
    return out, unseen


# Side (px) the spatial fill works at, at most: what it invents is smooth, and Telea's cost grows
# with the hole's area (93 ms a channel on a 1080p car before).
TELEA_SIDE = 480


def _telea(region: np.ndarray, todo: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32: `region` with `todo` filled by Telea inpainting, per channel in float,
    made at TELEA_SIDE px at most and scaled back."""
    h, w = todo.shape
    factor = max(1.0, max(h, w) / TELEA_SIDE)
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    small = cv2.resize(region, size, interpolation=cv2.INTER_AREA) if factor > 1 else region
    mask = todo.astype(np.uint8)
    if factor > 1:
        mask = (cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8)
    # OpenCV's float Telea goes unstable on values in [0, 1] (measured: -1.0 to 2.0 filling a
    # smooth 0.4-0.6 image), and is right on 8-bit-sized ones: scaled there and back.
    known = small[mask == 0]
    scale = 255.0 / max(1.0, float(np.abs(known).max(initial=1.0)))
    out = np.empty_like(small)
    for c in range(small.shape[2]):
        channel = np.ascontiguousarray(small[:, :, c]) * np.float32(scale)
        out[:, :, c] = cv2.inpaint(channel, mask, 5, cv2.INPAINT_TELEA) / scale
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR) if factor > 1 else out


def _invent(out: np.ndarray, unseen: np.ndarray, previous, box,
            carry: float) -> np.ndarray:
    """What no frame saw: Telea inpainting (per channel, float), mixed with the previous
    result carried by the background's motion where it reaches (`carry` of it), so that the
    invented part changes slowly from frame to frame."""
    y0, y1, x0, x1 = box
    todo = unseen[y0:y1, x0:x1]
    region = out[y0:y1, x0:x1]
    region[todo] = _telea(region, todo)[todo]
    if previous is not None and carry > 0:
        result, h_tp = previous
        carried = _warp(result, h_tp, box)
        inside = _warp(np.ones(result.shape[:2], np.float32), h_tp, box) >= 0.99
        take = todo & inside
        region[take] = carry * carried[take] + (1.0 - carry) * region[take]
    return out
