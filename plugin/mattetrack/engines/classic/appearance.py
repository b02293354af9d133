"""Appearance model of one object against its surroundings: colour histograms in a boundary band.

Colour alone cannot say where an object is (the background may share its colours somewhere in the
frame), but near the boundary the question is local: "is this pixel more like the object's edge
or like what surrounds it?". So the model is learned from a band inside the boundary (object) and
a ring outside it (background), and it is only consulted in that band. It starts from the keyframes
(the artist's word) and is updated slowly from confident tracked pixels, so it can follow lighting
changes without learning its own mistakes.
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


class ColourModel:
    """Object / surroundings colour histograms, (NBINS,) float64 densities each."""

    # The object is a closed set (what we have seen of it), the background an open one (anything
    # can come into view: an occluder, a new part of the set). So the background density mixes in
    # a uniform share: colours seen in neither histogram count as background.
    OPEN_WORLD = 0.1
    FG_FLOOR = 0.01 / NBINS  # keeps the posterior defined where both are tiny

    def __init__(self, fg: np.ndarray, bg: np.ndarray) -> None:
        self.fg = fg
        self.bg = bg

    @staticmethod
    def _hist(idx: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Normalised histogram of bins `idx`; `weights` matches idx or is a single 1 (counts)."""
        w = None if weights.size == 1 else weights.ravel()
        h = np.bincount(idx.ravel(), weights=w, minlength=NBINS).astype(np.float64)
        return h / max(h.sum(), 1e-9)

    @classmethod
    def learn(cls, idx: np.ndarray, cov: np.ndarray) -> ColourModel:
        """From a colour index (h, w) int32 and coverage (h, w) float32 at processing resolution."""
        hard = cov >= 0.5
        inner, outer = inner_outer(hard, band_width(hard))
        fg = cls._hist(idx[inner], cov[inner])
        bg = cls._hist(idx[outer], 1.0 - cov[outer])
        return cls(fg, bg)

    @classmethod
    def merge(cls, models: list[ColourModel]) -> ColourModel:
        """Average of several models (e.g. one per keyframe)."""
        return cls(np.mean([m.fg for m in models], 0), np.mean([m.bg for m in models], 0))

    def copy(self) -> ColourModel:
        return ColourModel(self.fg.copy(), self.bg.copy())

    def update(
        self, idx: np.ndarray, fg_mask: np.ndarray, bg_mask: np.ndarray, rate: float
    ) -> None:
        """Blend in histograms of confident object / background pixels at `rate` (0..1)."""
        # Too few pixels make a noisy histogram; then keep the model as it is.
        if np.count_nonzero(fg_mask) > 50:
            self.fg = (1 - rate) * self.fg + rate * self._hist(idx[fg_mask], np.ones(1))
        if np.count_nonzero(bg_mask) > 50:
            self.bg = (1 - rate) * self.bg + rate * self._hist(idx[bg_mask], np.ones(1))

    def posterior(self, idx: np.ndarray) -> np.ndarray:
        """(h, w) float32 P(object | colour), equal priors, from a (h, w) int32 colour index."""
        f = self.fg + self.FG_FLOOR
        b = (1 - self.OPEN_WORLD) * self.bg + self.OPEN_WORLD / NBINS
        lut = (f / (f + b)).astype(np.float32)
        return lut[idx]
