"""The background's motion through a shot: a homography per pair of neighbouring frames.

Fitted to DIS optical flow (the engines' `dis_flow`, medium preset) at a processing resolution
(long side `LONG_SIDE`), sampled every 4 px outside the holes of both frames, with RANSAC: the
holes are where the removed objects move, and the flow there is theirs, not the background's.
A homography is what a camera that turns (or a far background) makes; it carries a background
pixel across many frames without resampling it on the way, where chained flows blur and drift
(docs/tuning.md, "Removal").
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from mattetrack.engines.classic.flow import dis_flow

LONG_SIDE = 512  # processing resolution of the motion, px (long side)
SAMPLE = 4  # flow sampled every SAMPLE px
RANSAC_PX = 1.5  # inlier distance, processing px


def processing_scale(width: int, height: int) -> float:
    """Processing px per plate px (at most 1)."""
    return min(1.0, LONG_SIDE / max(width, height))


def pair_homography(a: np.ndarray, b: np.ndarray, hole_a: np.ndarray, hole_b: np.ndarray,
                    dis: cv2.DISOpticalFlow) -> np.ndarray:
    """(3, 3) homography taking frame a's points to frame b's, from (h, w) uint8 grey images
    and their (h, w) bool holes at the processing resolution; identity when too little of the
    background shows to fit one."""
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
    if len(src) < 16:
        return np.eye(3)
    found, _ = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_PX)
    return np.eye(3) if found is None else found


class ShotMotion:
    """Homographies between any two frames of a shot, composed from neighbouring pairs fitted
    on demand (`pair(i)`: frame i -> i + 1 of the positions given), in plate pixels. Holds the
    pairs (3x3 each), never the frames."""

    def __init__(self, count: int, pair: Callable[[int], np.ndarray], scale: float) -> None:
        self._count = count
        self._pair = pair
        s = np.diag([scale, scale, 1.0])
        self._to_proc, self._from_proc = s, np.linalg.inv(s)
        self._pairs: dict[int, np.ndarray] = {}

    def step(self, i: int) -> np.ndarray:
        """Plate px of position i -> position i + 1."""
        if i not in self._pairs:
            self._pairs[i] = self._from_proc @ self._pair(i) @ self._to_proc
        return self._pairs[i]

    def between(self, t: int, s: int) -> np.ndarray:
        """(3, 3) taking position t's plate px to position s's."""
        out = np.eye(3)
        if s > t:
            for i in range(t, s):
                out = self.step(i) @ out
        else:
            for i in range(t - 1, s - 1, -1):
                out = np.linalg.inv(self.step(i)) @ out
        return out
