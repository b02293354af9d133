"""Coverage in [0, 1] on the 1/65535 grid MatteTrack keeps it on (the files themselves:
`covcodec`; an earlier version's 16-bit PNGs are still read), and how PNGs are encoded.

zlib level 1 and one row filter for every row: mattes are mostly flat, so level 1 already
shrinks them ~50x, and libpng's per-row filter search is most of the encoding time. Measured on
an 854x480 DAVIS matte (2 cores), as a 16-bit PNG: 8.8 ms and 57 KB with the filter search,
2.7 ms and 60 KB without. The grey output PNGs (`export.png`) take their parameters from
`png_params`.
"""

from __future__ import annotations

import cv2
import numpy as np


def png_params(row_filter: str) -> list[int]:
    """cv2.imencode parameters: zlib level 1 and one PNG row filter for every row ("NONE",
    "SUB", ...), not libpng's per-row search. OpenCV builds without the filter flag (before
    4.11) keep libpng's search."""
    if not hasattr(cv2, "IMWRITE_PNG_FILTER"):
        return [cv2.IMWRITE_PNG_COMPRESSION, 1]
    return [cv2.IMWRITE_PNG_COMPRESSION, 1,
            cv2.IMWRITE_PNG_FILTER, getattr(cv2, f"IMWRITE_PNG_FILTER_{row_filter}")]


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
