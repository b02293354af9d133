"""Motion relative to the camera, for selecting an object from one click on a video frame.

A single image cannot tell a rider from the wall behind him when their colours mix, but the
frames around it can: the camera's motion moves the whole background coherently (a homography
fitted to the dense flow, RANSAC), and an object that moves by itself departs from it. Each
pixel gets its residual motion (flow less the camera's) to the neighbouring frames; where that
residual changes abruptly (an object's outline against what moves otherwise) the selection's
geodesic distances pay as they pay for crossing a colour edge (`select.py`), so a click's
region stops at the object's motion boundary too. Where everything moves alike there is no
motion edge and nothing changes. Measured on the DAVIS dev first frames: docs/tuning.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from mattetrack.engines.classic.flow import dis_flow
from mattetrack.engines.classic.imaging import WorkImage

_GRID = 8  # px between flow samples for the camera fit


def _camera_residual(flow: np.ndarray) -> np.ndarray | None:
    """(h, w, 2) flow less the homography that explains most of it (the camera), or None when
    no homography fits."""
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[_GRID // 2:h:_GRID, _GRID // 2:w:_GRID]
    ys, xs = ys.ravel(), xs.ravel()
    src = np.stack([xs, ys], 1).astype(np.float32)
    dst = src + flow[ys, xs]
    if len(src) < 8:
        return None
    hom, _ = cv2.findHomography(src, dst, cv2.RANSAC, 1.0)
    if hom is None:
        return None
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    den = hom[2, 0] * gx + hom[2, 1] * gy + hom[2, 2]
    den = np.where(np.abs(den) < 1e-6, 1e-6, den)
    cam_x = (hom[0, 0] * gx + hom[0, 1] * gy + hom[0, 2]) / den - gx
    cam_y = (hom[1, 0] * gx + hom[1, 1] * gy + hom[1, 2]) / den - gy
    return flow - np.stack([cam_x, cam_y], -1)


def residual_motion(work: WorkImage, neighbours: Sequence[tuple[int, WorkImage]]
                    ) -> np.ndarray | None:
    """(h, w, 2) float32 motion relative to the camera per frame step, averaged over the
    neighbours ((frame offset, image) pairs, e.g. -2 and +2), or None without any.

    DIS flow (medium) from the frame to each neighbour, less the camera's homography, divided
    by the offset (so a previous frame's motion points the same way as a next frame's).
    """
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    total, count = None, 0
    for offset, other in neighbours:
        if other.grey.shape != work.grey.shape or offset == 0:
            continue
        res = _camera_residual(dis_flow(dis, work.grey, other.grey))
        if res is None:
            continue
        res /= float(offset)
        total = res if total is None else total + res
        count += 1
    return None if total is None else (total / count).astype(np.float32)


def motion_edges(residual: np.ndarray) -> np.ndarray:
    """(h, w) float32 gradient magnitude of the residual motion, normalised by its mean (1.0 on
    average; 0 everywhere when the motion is flat)."""
    gx = cv2.Sobel(residual, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(residual, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    grad = np.sqrt((gx * gx + gy * gy).sum(-1))
    mean = float(grad.mean())
    return grad / mean if mean > 1e-6 else np.zeros_like(grad)
