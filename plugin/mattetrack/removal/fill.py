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
The nearest frames (`moving_reach`) are also brought on by the motion of what moves beside the
hole (`motion`'s moving layer: the shot's own object, a wave), so what moves through the hole
comes back too; such a candidate counts only where it fits the rim better than every background
one, `moving_weight` times a background one's weight.
A smooth fill of the hole (pull-push: `smooth_fill`) is one more candidate of a small fixed
weight: where every frame fits the rim badly, it counts. What no frame saw is the smooth fill
alone, mixed with the frame before's result where the background's motion brings it (so the
invented part stays put from frame to frame instead of flickering). All arrays are in the
plate's own values (float32).
Measured: docs/tuning.md, "Removal".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

# motion(t, s): (3, 3) homography taking position t's px to position s's, None where unknown.
Motion = Callable[[int, int], "np.ndarray | None"]


@dataclass(frozen=True)
class FillParams:
    reach: int = 60  # frames looked at each way, at most
    per_side: int = 4  # candidates kept each way
    rim: int = 7  # px of the rim the light is matched on
    spread: float = 10.0  # px of the offset's smoothing
    tolerance: float = 10.0 / 255.0  # rim misfit (plate units) at which a candidate's weight is 1/e
    valid: float = 0.99  # a warped source pixel counts when at least this much of it is seen
    smooth_weight: float = 0.02  # the smooth fill as a candidate of this fixed weight
    moving_reach: int = 8  # frames each way brought on by the moving layer's motion
    moving_weight: float = 2.0  # a moving-layer candidate's weight over a background one's
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


def _ring(hole: np.ndarray, params: FillParams) -> np.ndarray:
    """(h, w) bool: the `rim` px around the hole, where a candidate's light is matched."""
    grown = cv2.dilate(hole.astype(np.uint8), np.ones((params.rim, params.rim), np.uint8)) > 0
    return grown & ~hole


def _matched(target: np.ndarray, warped: np.ndarray, ring: np.ndarray, valid: np.ndarray,
             params: FillParams) -> tuple[np.ndarray, np.ndarray]:
    """(warped with its light matched to target around the hole, (h, w) misfit on the rim
    spread over the box); all on the box. Per-pixel work is done on the rim's pixels only
    (a few % of a large hole's box)."""
    rim = ring & valid
    ys, xs = np.nonzero(rim)
    diff_px = target[ys, xs] - warped[ys, xs]
    diff = np.zeros_like(warped)
    diff[ys, xs] = diff_px
    weight = _smooth(rim.astype(np.float32), params.spread)
    near = weight > 1e-3
    safe = np.where(near, weight, np.float32(1.0))
    offset = _smooth(diff, params.spread)
    offset /= safe[..., None]
    offset[~near] = 0.0
    misfit = np.zeros(rim.shape, np.float32)
    misfit[ys, xs] = np.abs(diff_px - offset[ys, xs]).mean(axis=1)
    spread = _smooth(misfit, params.spread) / safe
    spread[~near] = np.inf
    offset += warped
    return offset, spread


def fill_frame(t: int, count: int, target: np.ndarray, hole: np.ndarray,
               frame: Callable[[int], tuple[np.ndarray, np.ndarray]],
               motion: Callable[[int, int], np.ndarray],
               previous: tuple[np.ndarray, np.ndarray] | None,
               params: FillParams = FillParams(),
               moving: Motion | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(filled (h, w, 3) float32, (h, w) bool: the part no frame saw) of position t of `count`.

    target: (h, w, 3) float32 frame t; hole: (h, w) bool. frame(s) -> (pixels, hole) of
    position s; motion(t, s): (3, 3) homography of the background, t's px -> s's; moving(t, s):
    the same for what moves beside t's hole, None where there is none. previous: (result,
    homography t -> the previous position) of the frame filled before, for what no frame saw.
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
    best = np.full(in_hole.shape, np.inf, np.float32)  # the best background fit on the rim
    for warped, misfit, take, distance in _candidates(
            t, count, here, in_hole, box, frame, motion, params.reach, in_hole, params):
        weight = np.exp(-misfit / params.tolerance) / distance * take
        total += warped * weight[..., None]
        weights += weight
        best = np.where(take, np.minimum(best, misfit), best)
    if moving is not None and params.moving_reach > 0:
        # Only where some frame saw the background: alone, a moving layer fitted to a few
        # samples beside the hole invents more than it brings back (breakdance: -0.5 dB).
        seen = weights > 1e-12
        for warped, misfit, take, distance in _candidates(
                t, count, here, in_hole, box, frame, moving, params.moving_reach, seen, params):
            weight = (params.moving_weight * np.exp(-misfit / params.tolerance) / distance
                      * (take & (misfit < best)))
            total += warped * weight[..., None]
            weights += weight
    if params.smooth_weight > 0 and (weights > 1e-12).any():
        # The smooth fill as one more candidate of fixed weight: where every frame fits the rim
        # badly (the shot's own object beside the hole, a texture that never repeats), it counts.
        w = params.smooth_weight * in_hole * (weights > 1e-12)
        total += smooth_fill(here, in_hole) * w[..., None]
        weights += w
    filled = in_hole & (weights > 1e-12)
    region = out[y0:y1, x0:x1]
    region[filled] = total[filled] / weights[filled][:, None]
    unseen = np.zeros_like(hole)
    unseen[y0:y1, x0:x1] = in_hole & ~filled
    if unseen.any():
        out = _invent(out, unseen, previous, box, params.carry)
    return out, unseen


def _candidates(t: int, count: int, here: np.ndarray, in_hole: np.ndarray, box,
                frame: Callable[[int], tuple[np.ndarray, np.ndarray]], motion: Motion,
                reach: int, where: np.ndarray, params: FillParams):
    """(warped (h, w, 3), rim misfit (h, w), taken (h, w) bool, |s - t|) for the frames s
    brought onto t's box by motion(t, s), nearest first each way, until each pixel of `where`
    has `per_side` each way (or `reach` frames were looked at, or the motion ends)."""
    ring = _ring(in_hole, params)
    for direction in (1, -1):
        kept = np.zeros(in_hole.shape, np.int32)
        s = t
        while (where & (kept < params.per_side)).any():
            s += direction
            if not 0 <= s < count or abs(s - t) > reach:
                break
            h_ts = motion(t, s)
            if h_ts is None:
                break
            pixels, other_hole = frame(s)
            seen = _warp((~other_hole).astype(np.float32), h_ts, box) >= params.valid
            take = where & seen & (kept < params.per_side)
            if not take.any():
                continue
            warped, misfit = _matched(here, _warp(pixels, h_ts, box), ring, seen, params)
            kept += take
            yield warped, misfit, take, abs(s - t)


# A known pixel's share of a pyramid level's cell at which the cell keeps its own value in
# the push (below it, blended with the coarser level's): 1/8 scored best (docs/tuning.md).
PUSH_SHARPNESS = 8.0


def smooth_fill(region: np.ndarray, todo: np.ndarray) -> np.ndarray:
    """(h, w, c) float32: `region` ((h, w, c) float32) with `todo` ((h, w) bool) filled by
    pull-push (Gortler et al. 1996): known pixels averaged down an area pyramid until every
    cell holds some, then pushed back up, each level keeping what it knows. Smooth, in any
    range of values, and a few ms on a 1080p hole's box (Telea took 93 ms a channel)."""
    known = (~todo).astype(np.float32)
    levels = [(region * known[..., None], known)]
    while not (levels[-1][1] > 0).all() and min(levels[-1][1].shape) > 2:
        value, weight = levels[-1]
        size = (max(1, weight.shape[1] // 2), max(1, weight.shape[0] // 2))
        levels.append((cv2.resize(value, size, interpolation=cv2.INTER_AREA).reshape(
                           size[1], size[0], -1),
                       cv2.resize(weight, size, interpolation=cv2.INTER_AREA)))
    value, weight = levels[-1]
    estimate = value / np.maximum(weight, 1e-8)[..., None]
    for value, weight in reversed(levels[:-1]):
        h, w = weight.shape
        up = cv2.resize(estimate, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
        own = np.clip(weight * PUSH_SHARPNESS, 0.0, 1.0)[..., None]
        estimate = own * (value / np.maximum(weight, 1e-8)[..., None]) + (1.0 - own) * up
    return estimate.astype(np.float32)


def _invent(out: np.ndarray, unseen: np.ndarray, previous, box,
            carry: float) -> np.ndarray:
    """What no frame saw: the smooth fill, mixed with the previous result carried by the
    background's motion where it reaches (`carry` of it), so that the invented part changes
    slowly from frame to frame."""
    y0, y1, x0, x1 = box
    todo = unseen[y0:y1, x0:x1]
    region = out[y0:y1, x0:x1]
    region[todo] = smooth_fill(region, todo)[todo]
    if previous is not None and carry > 0:
        result, h_tp = previous
        carried = _warp(result, h_tp, box)
        inside = _warp(np.ones(result.shape[:2], np.float32), h_tp, box) >= 0.99
        take = todo & inside
        region[take] = carry * carried[take] + (1.0 - carry) * region[take]
    return out
