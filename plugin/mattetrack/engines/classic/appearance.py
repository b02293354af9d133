"""Where an object's appearance is learned and asked about, and quantised colour.

Appearance cannot say where an object is (the background may look like it somewhere in the
frame), but near the boundary the question is local: "is this pixel more like the object's edge
or like what surrounds it?". So appearance models (patches.py) learn from a band inside the
boundary (object) and a ring outside it (background), and tracking consults them in that band.
Quantised colour (4096 bins) indexes the graph cut's histograms in selection and the set of
colours seen on an object.
"""

from __future__ import annotations

import cv2
import numpy as np

BITS = 4  # 16 levels per channel, 4096 bins: coarse enough to generalise from a few thousand px
NBINS = 1 << (3 * BITS)


def colour_index(u8: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB -> (h, w) int32 histogram bin."""
    q = (u8 >> (8 - BITS)).astype(np.int32)
    return (q[..., 0] << (2 * BITS)) | (q[..., 1] << BITS) | q[..., 2]


def band_width(hard: np.ndarray) -> float:
    """Band half-width in pixels for an object mask: 0.15 of its equivalent radius, 4..24 px.

    Big objects move their boundary more pixels per frame and have wider uncertain zones.
    """
    r = np.sqrt(max(int(np.count_nonzero(hard)), 1) / np.pi)
    return float(np.clip(0.15 * r, 4.0, 24.0))


def inner_outer(hard: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """(h, w) bool masks: object pixels within 2*width of the boundary, and the ring outside it."""
    m = hard.astype(np.uint8)
    d_in = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    d_out = cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)
    return (m > 0) & (d_in <= 2 * width), (m == 0) & (d_out <= 2 * width)
