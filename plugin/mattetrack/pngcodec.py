"""The 16-bit PNGs MatteTrack keeps for itself (the result store, the memo of tracks and flows,
the propagation spill): coverage in [0, 1] at 1/65535 steps, optical flow at 1/FLOW_STEPS px,
and how they are written.

zlib level 1 and no PNG row filter: mattes are mostly flat, so level 1 already shrinks them ~50x,
and libpng's per-row filter search is most of the encoding time. Measured on an 854x480 DAVIS
matte (2 cores): 8.8 ms and 57 KB with the filter search, 2.7 ms and 60 KB without.
"""

from __future__ import annotations

import cv2
import numpy as np

# OpenCV builds without the filter flag (before 4.11) keep libpng's default search.
PNG16_PARAMS: list[int] = [cv2.IMWRITE_PNG_COMPRESSION, 1] + (
    [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE]
    if hasattr(cv2, "IMWRITE_PNG_FILTER") else [])


def to_u16(coverage: np.ndarray) -> np.ndarray:
    """(h, w) coverage in [0, 1] as the uint16 the PNGs hold (nearest 1/65535 step)."""
    return (np.clip(coverage, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)


def from_u16(q: np.ndarray) -> np.ndarray:
    """(h, w) uint16 from a PNG as float32 coverage in [0, 1]."""
    return q.astype(np.float32) / 65535.0


def quantize16(coverage: np.ndarray) -> np.ndarray:
    """(h, w) float32 coverage on the 1/65535 grid: exactly what its PNG reads back as (so a
    value computed now and one read back later are the same)."""
    return from_u16(to_u16(coverage))


# Flows are used on a grid of 1/FLOW_STEPS px within +-FLOW_LIMIT px, so that one remembered as
# 16-bit values is the flow computed. Far finer than DIS resolves: on the DAVIS dev shots grids of
# 1/16 to 1/128 px move the mean J&F as much as any change of the flows does (docs/tuning.md).
FLOW_STEPS = 64
FLOW_LIMIT = 511.0
# A flow field is noisy at that grid: the row filter pays for itself there (512x288, level 1:
# 255 KB in 12 ms unfiltered, 185 KB in 10 ms with "sub").
FLOW_PNG_PARAMS: list[int] = [cv2.IMWRITE_PNG_COMPRESSION, 1] + (
    [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]
    if hasattr(cv2, "IMWRITE_PNG_FILTER") else [])


def quantize_flow(flow: np.ndarray) -> np.ndarray:
    """(h, w, 2) flow (px) on the kept grid, float32."""
    return (np.round(np.clip(flow, -FLOW_LIMIT, FLOW_LIMIT) * FLOW_STEPS)
            * (1.0 / FLOW_STEPS)).astype(np.float32)


def flow_to_u16(flow: np.ndarray) -> np.ndarray:
    """(h, w, 2) flow on the grid as an (h, w, 3) uint16 image (value * FLOW_STEPS + 32768 in
    the first two channels, 0 in the third: PNG has no 2-channel colour type)."""
    q = np.zeros((*flow.shape[:2], 3), np.uint16)
    q[..., :2] = np.clip(np.round(flow * FLOW_STEPS) + 32768.0, 0, 65535)
    return q


def flow_from_u16(q: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint16 from a PNG as the (h, w, 2) float32 flow (px)."""
    return (q[..., :2].astype(np.float32) - 32768.0) * (1.0 / FLOW_STEPS)
