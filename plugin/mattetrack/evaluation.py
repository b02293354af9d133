"""Measuring selection quality: IoU and the standard simulated-click protocol.

The protocol (used by interactive-segmentation papers and by our NoC benchmark): the first click
goes to the object's interior point farthest from its boundary, each next click to the centre of
the largest error region, positive when that region is missed object, negative when it is wrongly
included background.
"""

from __future__ import annotations

import time

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

    pred, truth: (H, W) bool. The click is at the pixel of the largest 8-connected component of
    pred XOR truth farthest from that component's boundary (the frame border counts as
    boundary), at the pixel's centre; with an empty pred this is the protocol's first click.
    """
    error = (pred ^ truth).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(error, connectivity=8)
    if n <= 1:
        return None
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    region = np.pad((labels == k).astype(np.uint8), 1)
    dist = cv2.distanceTransform(region, cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(x) + 0.5, float(y) + 0.5, bool(truth[y, x])


def simulate_clicks(
    engine: Engine, image: np.ndarray, truth: np.ndarray, clicks: int
) -> tuple[list[float], list[float]]:
    """IoU after each of `clicks` protocol clicks, and milliseconds per `select` call.

    image: (H, W, 3) float32 display-referred RGB; truth: (H, W) bool. Every call gets all
    clicks so far, as a session would pass them.
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
        coverage = engine.select(image, prompts)
        ms.append(1000.0 * (time.perf_counter() - start))
        pred = coverage >= 0.5
        ious.append(iou(pred, truth))
    return ious, ms
