"""Measuring selection quality: IoU and the standard simulated-click protocol.

The protocol (used by interactive-segmentation papers and by our NoC benchmark): the first click
goes to the object's interior point farthest from its boundary, each next click to the centre of
the largest error region, positive when that region is missed object, negative when it is wrongly
included background. "Largest" as the benchmarks' code measures it: the error whose centre is
deepest (farthest from the error's boundary), not the error of most pixels (see next_click).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import cv2
import numpy as np

from mattetrack.engines.base import Engine
from mattetrack.prompts import FramePrompts


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two (H, W) mattes or masks, each thresholded at 0.5 (1.0 when both are empty)."""
    a, b = np.asarray(a) >= 0.5, np.asarray(b) >= 0.5
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


def next_click(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float, bool] | None:
    """(x, y, positive) of the next simulated click, or None when there is no error left.

    pred, truth: (H, W) bool. The standard protocol as the interactive segmentation benchmarks
    run it (Xu et al., 2016; the RITM / f-BRS / SimpleClick evaluation code): the false negatives
    and the false positives each get an exact Euclidean distance transform in which the frame
    border counts as boundary; the click goes to the error pixel farthest from the boundary of
    its error, positive when that is a false negative (the first such pixel in raster order,
    negative on a tie), at the pixel's centre. With an empty pred this is the protocol's first
    click: the object's interior point farthest from its boundary.
    """
    best: tuple[float, int, int, bool] | None = None
    for positive, error in ((True, truth & ~pred), (False, pred & ~truth)):
        if not error.any():
            continue
        padded = np.pad(error.astype(np.uint8), 1)
        dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
        k = int(np.argmax(dist))
        if best is None or dist.flat[k] > best[0]:
            y, x = np.unravel_index(k, dist.shape)
            best = (float(dist.flat[k]), int(x), int(y), positive)
    if best is None:
        return None
    _, x, y, positive = best
    return float(x) + 0.5, float(y) + 0.5, positive


def simulate_clicks(
    engine: Engine, image: np.ndarray, truth: np.ndarray, clicks: int,
    context: Sequence[tuple[int, np.ndarray]] = (),
) -> tuple[list[float], list[float]]:
    """IoU after each of `clicks` protocol clicks, and milliseconds per `select` call.

    image: (H, W, 3) float32 display-referred RGB; truth: (H, W) bool; context: (frame offset,
    image) of the frames next to it, as a session passes them (none: a still). Every call gets
    all clicks so far, as a session would pass them.
    """
    prompts, pred = FramePrompts(), np.zeros_like(truth)
    ious: list[float] = []
    ms: list[float] = []
    for _ in range(clicks):
        click = next_click(pred, truth)
        if click is None:
            ious.append(1.0)
            continue
        x, y, positive = click
        prompts.add_point(x, y, positive)
        start = time.perf_counter()
        coverage = engine.select(image, prompts, context)
        ms.append(1000.0 * (time.perf_counter() - start))
        pred = coverage >= 0.5
        ious.append(iou(pred, truth))
    return ious, ms
