"""The 0.5 iso-line of a coverage matte as closed sub-pixel polylines: pieces and their holes.

The matte is upsampled (bilinear, x4) inside each object's box and traced with OpenCV's border
following, whose two-level hierarchy gives every outer boundary with its holes. On the upsampled
grid the traced boundary runs through the sub-pixels just inside the iso-line, so coordinates are
good to about 1/8 px, and topology (what touches what) is OpenCV's, not ours to get wrong.
Coordinates are continuous pixels of the matte: origin at the image's top-left corner, x right,
y down (docs/ARCHITECTURE.md); pixel (row i, column j) covers [j, j + 1] x [i, i + 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

UPSAMPLE = 4


@dataclass
class Piece:
    """One connected part of a matte: its outer boundary and its holes, (n, 2) float64 closed
    polylines (first point not repeated), outer counter-clockwise on screen (positive shoelace
    area with y down is clockwise, so outer areas are negative), holes the other way round."""

    outer: np.ndarray
    holes: list[np.ndarray] = field(default_factory=list)

    @property
    def area(self) -> float:
        return abs(signed_area(self.outer)) - sum(abs(signed_area(h)) for h in self.holes)


def signed_area(poly: np.ndarray) -> float:
    """Shoelace area of a closed (n, 2) polyline (positive: clockwise on screen, y down)."""
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _oriented(poly: np.ndarray, clockwise: bool) -> np.ndarray:
    return poly if (signed_area(poly) > 0) == clockwise else poly[::-1].copy()


def pieces(coverage: np.ndarray, min_area: float = 4.0) -> list[Piece]:
    """The pieces of `coverage` (h, w) float in [0, 1] at the 0.5 level, largest first.

    Pieces and holes smaller than `min_area` square pixels are dropped (noise an artist would not
    draw a shape for). Outer boundaries run counter-clockwise on screen, holes clockwise.
    """
    cov = np.asarray(coverage, np.float32)
    hard = cov >= 0.5
    if not hard.any():
        return []
    ys, xs = np.nonzero(hard)
    h, w = cov.shape
    # One pixel of margin so boundaries at the box edge close in the upsampled grid.
    y0, y1 = max(int(ys.min()) - 1, 0), min(int(ys.max()) + 2, h)
    x0, x1 = max(int(xs.min()) - 1, 0), min(int(xs.max()) + 2, w)
    crop = np.pad(cov[y0:y1, x0:x1], 1)  # 0 outside the image: shapes close at its border
    big = cv2.resize(crop, (crop.shape[1] * UPSAMPLE, crop.shape[0] * UPSAMPLE),
                     interpolation=cv2.INTER_LINEAR)
    found, hierarchy = cv2.findContours((big >= 0.5).astype(np.uint8), cv2.RETR_CCOMP,
                                        cv2.CHAIN_APPROX_NONE)
    if hierarchy is None:
        return []
    hierarchy = hierarchy[0]
    # Upsampled pixel centre (u + 0.5) / UPSAMPLE is a position in crop pixels; the pad and the
    # crop origin take it back to the image.
    offset = np.array([x0 - 1, y0 - 1], np.float64)

    def to_image(c: np.ndarray) -> np.ndarray:
        return (c[:, 0, :].astype(np.float64) + 0.5) / UPSAMPLE + offset

    out: list[Piece] = []
    for i, (_, _, child, parent) in enumerate(hierarchy):
        if parent != -1:
            continue  # a hole: collected with its outer boundary below
        outer = to_image(found[i])
        if len(outer) < 3 or abs(signed_area(outer)) < min_area:
            continue
        holes = []
        j = child
        while j != -1:
            hole = to_image(found[j])
            if len(hole) >= 3 and abs(signed_area(hole)) >= min_area:
                holes.append(_oriented(hole, clockwise=True))
            j = hierarchy[j][0]
        out.append(Piece(_oriented(outer, clockwise=False), holes))
    out.sort(key=lambda p: -p.area)
    return out


def resample(poly: np.ndarray, spacing: float) -> np.ndarray:
    """A closed polyline (n, 2) resampled at equal arc-length steps of about `spacing` px."""
    closed = np.vstack([poly, poly[:1]])
    seg = np.hypot(*np.diff(closed, axis=0).T)
    length = float(seg.sum())
    n = max(int(round(length / spacing)), 8)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, length, n, endpoint=False)
    return np.stack([np.interp(t, s, closed[:, 0]), np.interp(t, s, closed[:, 1])], axis=1)
