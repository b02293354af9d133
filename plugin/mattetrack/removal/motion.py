"""The motion through a shot: per pair of neighbouring frames, a homography of the background
and similarity motions (shift, turn, scale) of what moves beside the holes (the moving layers).

Fitted to DIS optical flow (the engines' `dis_flow`, medium preset) at a processing resolution
(long side `LONG_SIDE`), sampled every 4 px outside the holes of both frames, with RANSAC: the
holes are where the removed objects move, and the flow there is theirs, not the background's.
A homography is what a camera that turns (or a far background) makes; it carries a background
pixel across many frames without resampling it on the way, where chained flows blur and drift
(docs/tuning.md, "Removal"). The moving layer is fitted to the flow the background's homography
leaves out (over MOVING_PX off it) near frame a's hole: the shot's own object passing behind the
removed one, which the background's motion cannot bring back; up to MOVING_LAYERS of them, each
fitted to what the ones before left out (two people, a rider and the bike's wheel).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import cv2
import numpy as np

from mattetrack.engines.classic.flow import dis_flow

LONG_SIDE = 512  # processing resolution of the motion, px (long side)
SAMPLE = 4  # flow sampled every SAMPLE px
RANSAC_PX = 1.5  # inlier distance, processing px


def processing_scale(width: int, height: int) -> float:
    """Processing px per plate px (at most 1)."""
    return min(1.0, LONG_SIDE / max(width, height))


MOVING_PX = 2.0  # processing px off the background's homography for a sample to be moving
MOVING_NEAR = 0.15  # moving samples kept within this share of the long side of a's hole
MOVING_MIN = 24  # moving samples (and inliers) needed to fit a moving layer
MOVING_LAYERS = 2  # moving layers fitted in turn (docs/tuning.md: 1 / 2 layers +4.96 / +5.00 dB)


class PairMotion(NamedTuple):
    """Frame a's points -> frame b's: `background` (3, 3) homography; `moving` one (3, 3)
    similarity per moving layer near a's hole (the largest first), None where nothing does."""

    background: np.ndarray
    moving: tuple[np.ndarray | None, ...]


def pair_motion(a: np.ndarray, b: np.ndarray, hole_a: np.ndarray, hole_b: np.ndarray,
                dis: cv2.DISOpticalFlow) -> PairMotion:
    """The motion from (h, w) uint8 grey image a to b, given their (h, w) bool holes, all at
    the processing resolution; the background's is the identity when too little of it shows
    to fit one."""
    flow = dis_flow(dis, a, b)
    h, w = a.shape
    ys, xs = np.mgrid[SAMPLE // 2:h:SAMPLE, SAMPLE // 2:w:SAMPLE]
    keep = ~hole_a[ys, xs]
    src = np.stack([xs[keep], ys[keep]], 1).astype(np.float32)
    dst = src + flow[ys[keep], xs[keep]]
    inside = (dst[:, 0] >= 0) & (dst[:, 0] <= w - 1) & (dst[:, 1] >= 0) & (dst[:, 1] <= h - 1)
    src, dst = src[inside], dst[inside]
    seen = ~hole_b[np.rint(dst[:, 1]).astype(int), np.rint(dst[:, 0]).astype(int)]
    src, dst = src[seen], dst[seen]
    nothing = (None,) * MOVING_LAYERS
    if len(src) < 16:
        return PairMotion(np.eye(3), nothing)
    found, _ = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_PX)
    if found is None:
        return PairMotion(np.eye(3), nothing)
    return PairMotion(found, _moving(src, dst, found, hole_a))


def _moving(src: np.ndarray, dst: np.ndarray, background: np.ndarray,
            hole_a: np.ndarray) -> tuple[np.ndarray | None, ...]:
    """MOVING_LAYERS (3, 3) similarities (shift, turn, scale), each fitted (RANSAC) to the (n, 2)
    flow samples src -> dst near `hole_a` that `background` and the layers before leave out;
    None for a layer with too few."""
    layers: list[np.ndarray | None] = [None] * MOVING_LAYERS
    projected = cv2.perspectiveTransform(src[:, None], background)[:, 0]
    off = np.linalg.norm(projected - dst, axis=1) > MOVING_PX
    size = max(1, int(MOVING_NEAR * max(hole_a.shape)))
    near = cv2.dilate(hole_a.astype(np.uint8), np.ones((2 * size + 1, 2 * size + 1), np.uint8)) > 0
    xi, yi = np.rint(src[:, 0]).astype(int), np.rint(src[:, 1]).astype(int)
    left = np.nonzero(off & near[yi, xi])[0]
    for k in range(MOVING_LAYERS):
        if len(left) < MOVING_MIN:
            break
        found, inliers = cv2.estimateAffinePartial2D(src[left], dst[left], method=cv2.RANSAC,
                                                     ransacReprojThreshold=RANSAC_PX)
        if found is None or inliers.sum() < MOVING_MIN:
            break
        layers[k] = np.vstack([found, [0.0, 0.0, 1.0]])
        left = left[inliers[:, 0] == 0]
    return tuple(layers)


class ShotMotion:
    """The motion between any two frames of a shot, composed from neighbouring pairs fitted
    on demand (`pair(i)`: frame i -> i + 1 of the positions given), in plate pixels. Holds the
    pairs (two 3x3 each), never the frames."""

    def __init__(self, count: int, pair: Callable[[int], PairMotion], scale: float) -> None:
        self._count = count
        self._pair = pair
        s = np.diag([scale, scale, 1.0])
        self._to_proc, self._from_proc = s, np.linalg.inv(s)
        self._pairs: dict[int, PairMotion] = {}

    def step(self, i: int) -> PairMotion:
        """Plate px of position i -> position i + 1."""
        if i not in self._pairs:
            background, moving = self._pair(i)
            plate = lambda m: None if m is None else self._from_proc @ m @ self._to_proc  # noqa: E731
            self._pairs[i] = PairMotion(plate(background), tuple(plate(m) for m in moving))
        return self._pairs[i]

    def moving(self, layer: int) -> Callable[[int, int], np.ndarray | None]:
        """motion(t, s): (3, 3) taking position t's plate px to position s's by moving layer
        `layer`'s motion; None when a pair between has none."""
        return lambda t, s: self._composed(t, s, lambda pair: pair.moving[layer])

    def between(self, t: int, s: int) -> np.ndarray:
        """(3, 3) taking position t's plate px to position s's by the background's motion."""
        return self._composed(t, s, lambda pair: pair.background)

    def _composed(self, t: int, s: int,
                  layer: Callable[[PairMotion], np.ndarray | None]) -> np.ndarray | None:
        out = np.eye(3)
        forward = s > t
        for i in (range(t, s) if forward else range(t - 1, s - 1, -1)):
            m = layer(self.step(i))
            if m is None:
                return None
            out = (m if forward else np.linalg.inv(m)) @ out
        return out
