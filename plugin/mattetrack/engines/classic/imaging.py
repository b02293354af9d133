"""Image plumbing shared by selection and tracking: processing resolution and 8-bit views.

Everything the classic engine decides is decided at a bounded processing resolution (long side
at most a few hundred to ~1000 pixels), so 1080p and 4K plates cost about as much as 480p ones;
only the final edge refinement touches full-resolution pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def processing_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(w, h) of the processing resolution: the plate scaled so its long side <= long_side."""
    s = min(1.0, long_side / max(width, height))
    return max(int(round(width * s)), 1), max(int(round(height * s)), 1)


def resize_to(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize (h, w[, c]) to size (w, h): area averaging down, bilinear up; no-op when equal."""
    if (x.shape[1], x.shape[0]) == tuple(size):
        return x
    down = size[0] < x.shape[1]
    return cv2.resize(x, size, interpolation=cv2.INTER_AREA if down else cv2.INTER_LINEAR)


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) half-open bounds of the True pixels of a (h, w) bool mask, or None."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if len(rows) == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def to_u8(image: np.ndarray) -> np.ndarray:
    """(h, w, c) float from `work_rgb` (finite, in [0, 1]) -> uint8, rounding. No clip or NaN
    pass: work_rgb has done both, and this runs on every frame a sweep reads."""
    return (image * 255.0 + 0.5).astype(np.uint8)


def work_rgb(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w, 3) float32 in [0, 1] at processing size (w, h) of an (H, W, 3) display-referred
    image; NaN and -inf read as 0, +inf as 1 (after the resize's clip)."""
    image = np.asarray(image, np.float32)
    if not np.isfinite(image).all():  # a scan is ~13x cheaper than nan_to_num's pass
        image = np.nan_to_num(image)
    return np.clip(resize_to(image, size), 0.0, 1.0)


@dataclass
class WorkImage:
    """One frame at processing resolution, in the forms the engine needs.

    rgb: (h, w, 3) float32 display-referred in [0, 1] (guide for the guided filter);
    u8: (h, w, 3) uint8 of the same; grey: (h, w) uint8 luma for optical flow.
    """

    rgb: np.ndarray
    u8: np.ndarray
    grey: np.ndarray

    @classmethod
    def from_image(cls, image: np.ndarray, size: tuple[int, int]) -> WorkImage:
        """image: (H, W, 3) float32 display-referred RGB in [0, 1]; size: processing (w, h)."""
        return cls.from_rgb(work_rgb(image, size))

    @classmethod
    def from_rgb(cls, rgb: np.ndarray) -> WorkImage:
        """rgb: (h, w, 3) float32 at processing resolution, from `work_rgb`."""
        u8 = to_u8(rgb)
        grey = cv2.cvtColor(u8, cv2.COLOR_RGB2GRAY)
        return cls(rgb=rgb, u8=u8, grey=grey)
