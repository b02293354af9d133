"""Shapes back to mattes: for measuring fidelity (IoU against the mattes they came from).

Coverage is each pixel's covered area, estimated on a 4 x 4 subpixel grid (OpenCV's polygon
fill includes the pixels its edges pass through, which fattens thin shapes by a pixel; on the
fine grid that bias is a quarter of a subpixel). Compared with a matte at its 0.5 level.
"""

from __future__ import annotations

import cv2
import numpy as np

from mattetrack.shapes.bezier import flatten
from mattetrack.shapes.document import ShapeObject

SUPERSAMPLE = 4
# cv2.fillPoly takes fixed-point vertices: 4 fractional bits are 1/16 subpixel.
_SHIFT = 4


def _fill(mask: np.ndarray, poly: np.ndarray, value: int) -> None:
    # Subpixel (i, j) has its centre at ((j + 0.5) / S, (i + 0.5) / S) in image pixels.
    pts = np.round((poly * SUPERSAMPLE - 0.5) * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [pts], value, lineType=cv2.LINE_8, shift=_SHIFT)


def coverage(obj: ShapeObject, frame: int, width: int, height: int,
             samples: int = 16) -> np.ndarray:
    """(height, width) float32 in [0, 1]: the area of each pixel inside the object's shapes on
    `frame`, holes cutting the nearest non-hole shape listed before them."""
    fine = np.zeros((height * SUPERSAMPLE, width * SUPERSAMPLE), np.uint8)
    current: np.ndarray | None = None
    for shape in obj.shapes:
        rows = shape.frames.get(frame)
        if not shape.hole:
            if current is not None:
                fine |= current
            current = np.zeros_like(fine)
            if rows is not None:
                _fill(current, flatten(rows, samples), 1)
        elif rows is not None and current is not None:
            _fill(current, flatten(rows, samples), 0)
    if current is not None:
        fine |= current
    return cv2.resize(fine.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)


def rasterise(obj: ShapeObject, frame: int, width: int, height: int,
              samples: int = 16) -> np.ndarray:
    """(height, width) bool: pixels at least half inside the object's shapes on `frame`."""
    return coverage(obj, frame, width, height, samples) >= 0.5
