"""The motion through a shot: per pair of neighbouring frames, a homography of the background
and similarity motions (shift, turn, scale) of what moves beside the holes (the moving layers).

Fitted to DIS optical flow (the engines' `dis_flow`, medium preset) at a processing resolution
(long side `LONG_SIDE`), sampled every 4 px outside the holes of both frames, with RANSAC: the
holes are where the removed objects move, and the flow there is theirs, not the background's.
A homography is what a camera that turns (or a far background) makes; it carries a background
pixel across many frames without resampling it on the way, where chained flows blur and drift
(docs/tuning.md, "Removal"). A moving layer is the flow samples the background's homography
leaves out (over MOVING_PX off it) near frame a's hole that one similarity moves: the shot's own
object passing behind the removed one, which the background's motion cannot bring back; up to
MOVING_LAYERS of them, each fitted to what the ones before left out (two people, a rider and the
bike's wheel). A layer's motion from frame t to a frame s further away is fitted to its samples
of frame t followed frame by frame along the pairs' flows (`ShotMotion.moving`): the same points
all the way, where composing each pair's own largest layer mixed up subjects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import cv2
import numpy as np

from mattetrack.engines.classic.flow import dis_flow
from mattetrack.lru import LRUCache

LONG_SIDE = 512  # processing resolution of the motion, px (long side)
SAMPLE = 4  # flow sampled every SAMPLE px
RANSAC_PX = 1.5  # inlier distance, processing px


def processing_scale(width: int, height: int) -> float:
    """Processing px per plate px (at most 1)."""
    return min(1.0, LONG_SIDE / max(width, height))


MOVING_PX = 2.0  # processing px off the background's homography for a sample to be moving
MOVING_NEAR = 0.15  # moving samples kept within this share of the long side of a's hole
MOVING_MIN = 24  # moving samples (and inliers) needed to fit a moving layer
MOVING_LAYERS = 2  # moving layers fitted in turn (docs/tuning.md: 1 / 2 / 3: +4.96 / +5.00 / +4.99)


class PairMotion(NamedTuple):
    """Frame a -> frame b, all in processing px: `background` (3, 3) homography; `flow`
    (h, w, 2) float16 DIS flow a -> b (processing px); `layers` per moving layer near a's hole
    (the largest first) the (n, 2) float32 flow samples of frame a (processing px, x y) that it
    moves, None where nothing does."""

    background: np.ndarray
    flow: np.ndarray
    layers: tuple[np.ndarray | None, ...]


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
    found = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_PX)[0] if len(src) >= 16 else None
    if found is None:
        return PairMotion(np.eye(3), flow.astype(np.float16), (None,) * MOVING_LAYERS)
    return PairMotion(found, flow.astype(np.float16), _layers(src, dst, found, hole_a))


def _layers(src: np.ndarray, dst: np.ndarray, background: np.ndarray,
            hole_a: np.ndarray) -> tuple[np.ndarray | None, ...]:
    """MOVING_LAYERS sets of samples (each (n, 2) of `src`): in turn, the inliers of a
    similarity (shift, turn, scale; RANSAC) fitted to the (n, 2) flow samples src -> dst near
    `hole_a` that `background` and the layers before leave out; None for a layer with too
    few."""
    layers: list[np.ndarray | None] = [None] * MOVING_LAYERS
    projected = cv2.perspectiveTransform(src[:, None], background)[:, 0]
    off = np.linalg.norm(projected - dst, axis=1) > MOVING_PX
    size = max(1, int(MOVING_NEAR * max(hole_a.shape)))
    near = cv2.dilate(hole_a.astype(np.uint8), np.ones((2 * size + 1, 2 * size + 1), np.uint8)) > 0
    xi, yi = np.rint(src[:, 0]).astype(int), np.rint(src[:, 1]).astype(int)
    left = np.nonzero(off & near[yi, xi])[0]
    for k in range(MOVING_LAYERS):
        inliers = _similarity(src[left], dst[left])[1]
        if inliers is None:
            break
        layers[k] = src[left[inliers]]
        left = left[~inliers]
    return tuple(layers)


def _similarity(src: np.ndarray, dst: np.ndarray,
                threshold: float = RANSAC_PX) -> tuple[np.ndarray | None, np.ndarray | None]:
    """((3, 3) similarity src -> dst, (n,) bool inliers) fitted by RANSAC to (n, 2) points;
    (None, None) with fewer than MOVING_MIN inliers."""
    if len(src) < MOVING_MIN:
        return None, None
    found, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                                 ransacReprojThreshold=threshold)
    if found is None or inliers.sum() < MOVING_MIN:
        return None, None
    return np.vstack([found, [0.0, 0.0, 1.0]]), inliers[:, 0] > 0


def _sampled(flow: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n, 2) float32: (h, w, 2) `flow` at (n, 2) points (x y), bilinear, clamped to its edge."""
    h, w = flow.shape[:2]
    x = np.clip(points[:, 0], 0.0, w - 1.001)
    y = np.clip(points[:, 1], 0.0, h - 1.001)
    x0, y0 = x.astype(int), y.astype(int)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]

    def at(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        return flow[yy, xx].astype(np.float32)

    return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * (
        (1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1))


# Fixed-point steps inverting a pair's flow to follow points backwards (b -> a): q = p - F(q).
# Against DIS run the other way, the same fill (+5.17 / +5.18 dB), and no second flow a pair.
INVERSE_STEPS = 3
# Inlier distance (processing px) of a layer's fit from t to a frame further away: its points
# drift a little along the chained flows.
FOLLOWED_PX = 2 * RANSAC_PX


class ShotMotion:
    """The motion between any two frames of a shot in plate pixels: the background's composed
    from neighbouring pairs fitted on demand (`pair(i)`: frame i -> i + 1 of the positions
    given, processing px), the moving layers' followed along the pairs' flows. Holds every
    pair's background homography (3x3) and the flows of the `keep` pairs used last, never the
    frames. hole(i): position i's (h, w) bool hole at the processing resolution, where a
    followed point is dropped (the flow there is the removed object's)."""

    def __init__(self, count: int, pair: Callable[[int], PairMotion], scale: float,
                 hole: Callable[[int], np.ndarray] | None = None, keep: int = 40) -> None:
        self._count = count
        self._pair = pair
        self._hole = hole
        s = np.diag([scale, scale, 1.0])
        self._to_proc, self._from_proc = s, np.linalg.inv(s)
        self._backgrounds: dict[int, np.ndarray] = {}
        self._recent: LRUCache[int, PairMotion] = LRUCache(max(1, keep))
        # (t, direction, layer) -> [(positions (n, 2), alive (n,) bool)] frame by frame from t,
        # for the frame being filled only
        self._chains: dict[tuple[int, int, int], list | None] = {}

    def _fitted(self, i: int) -> PairMotion:
        """Position i -> i + 1, processing px (fitted again if its flow was let go)."""
        got = self._recent.get(i)
        if got is None:
            got = self._pair(i)
            self._recent.put(i, got)
            self._backgrounds.setdefault(i, self._from_proc @ got.background @ self._to_proc)
        return got

    def step(self, i: int) -> np.ndarray:
        """(3, 3) background homography, plate px of position i -> position i + 1."""
        if i not in self._backgrounds:
            self._fitted(i)
        return self._backgrounds[i]

    def between(self, t: int, s: int) -> np.ndarray:
        """(3, 3) taking position t's plate px to position s's by the background's motion."""
        out = np.eye(3)
        forward = s > t
        for i in (range(t, s) if forward else range(t - 1, s - 1, -1)):
            m = self.step(i)
            out = (m if forward else np.linalg.inv(m)) @ out
        return out

    def moving(self, layer: int) -> Callable[[int, int], np.ndarray | None]:
        """motion(t, s): (3, 3) taking position t's plate px to position s's by moving layer
        `layer` near t's hole (a similarity fitted to its points of frame t and where the
        pairs' flows take them on frame s); None where too few get there."""
        return lambda t, s: self._followed(t, s, layer)

    def _points(self, t: int, layer: int) -> np.ndarray | None:
        """(n, 2) processing px: moving layer `layer`'s samples on frame t."""
        if t + 1 < self._count:
            return self._fitted(t).layers[layer]
        if t == 0:
            return None
        # the last frame: the layer of the pair before it, carried onto it
        points = self._fitted(t - 1).layers[layer]
        return None if points is None else self._carried(points, t - 1, 1)

    def _followed(self, t: int, s: int, layer: int) -> np.ndarray | None:
        if s == t:
            return np.eye(3)
        direction = 1 if s > t else -1
        key = (t, direction, layer)
        if key not in self._chains:
            for old in [k for k in self._chains if k[0] != t]:
                del self._chains[old]
            points = self._points(t, layer)
            self._chains[key] = None if points is None else [
                (points, np.ones(len(points), bool))]
        chain = self._chains[key]
        if chain is None:
            return None
        while len(chain) <= abs(s - t):
            i = t + direction * (len(chain) - 1)
            if not 0 <= i + direction < self._count:
                return None
            positions, alive = chain[-1]
            moved = self._carried(positions, i, direction)
            chain.append((moved, alive & self._usable(i + direction, moved)))
        positions, alive = chain[abs(s - t)]
        found = _similarity(chain[0][0][alive], positions[alive], FOLLOWED_PX)[0]
        return None if found is None else self._from_proc @ found @ self._to_proc

    def _carried(self, points: np.ndarray, i: int, direction: int) -> np.ndarray:
        """(n, 2) processing px: points of position i where the flow takes them on position
        i + direction (+1 or -1; backwards, the flow of i - 1 -> i inverted at each point)."""
        if direction > 0:
            return points + _sampled(self._fitted(i).flow, points)
        flow = self._fitted(i - 1).flow
        moved = points
        for _ in range(INVERSE_STEPS + 1):  # q = p - F(q), from q = p
            moved = points - _sampled(flow, moved)
        return moved

    def _usable(self, i: int, points: np.ndarray) -> np.ndarray:
        """(n,) bool: points (n, 2) inside position i's frame and not in its hole."""
        if self._hole is None:
            return np.ones(len(points), bool)
        hole = self._hole(i)
        h, w = hole.shape
        x, y = points[:, 0], points[:, 1]
        inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
        xi = np.clip(np.rint(x).astype(int), 0, w - 1)
        yi = np.clip(np.rint(y).astype(int), 0, h - 1)
        return inside & ~hole[yi, xi]
