"""Shot-cut detection between consecutive frames, so that propagation never crosses a cut.

A streaming detector: each frame gets a small signature once, and two neighbouring frames'
signatures say whether a cut lies between them. Engines call it inside their sweeps, so it costs
no extra pass over the plate (about 1 ms per frame for the signature, less for a comparison).

Three cues, each chosen to ignore one kind of change that is not a cut:
- structure: gradient magnitude of a 64x36 thumbnail, compared by normalised correlation at the
  best shift within +-10 x +-6 thumbnail pixels (about 15% of the frame), so pans and fast motion
  still match; gradients blur but stay put under motion blur, and normalisation removes gain;
- local contrast: the thumbnail's luminance over its local mean and deviation, same comparison;
  flashes and lighting changes scale it away;
- colour: a hue/saturation histogram (Bhattacharyya distance), blind to brightness.
A cut is declared when the structure and local contrast both fail to match and the colours
differ, or when structure and local contrast are completely unrelated (two takes of one set with
the same palette). Tuned on within-shot pairs (frame skips, flashes, gamma changes, motion blur)
and on cuts made by joining different shots: docs/tuning.md, "Cut detection";
tests/test_cuts.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

_THUMB = (128, 72)  # analysis size (w, h): 16:9, fine enough for gradients
_SMALL = (64, 36)  # compared maps (w, h)
_SHIFT = (10, 6)  # searched shift (x, y) in _SMALL pixels
_H_BINS, _S_BINS = 12, 4
_HIST = _H_BINS * _S_BINS
_MAP = _SMALL[0] * _SMALL[1]



@dataclass(frozen=True)
class CutParams:
    """The cut rule, in the cues' own units (correlations in [-1, 1], Bhattacharyya distance in
    [0, 1]); why these values: docs/tuning.md, "Cut detection"."""

    # A cut where structure, contrast and colour all say so: (structure <, contrast <, colour >).
    colour_cut: tuple[float, float, float] = (0.40, 0.33, 0.30)
    # ... or where structure and contrast are completely unrelated: (structure <, contrast <).
    structure_cut: tuple[float, float] = (0.24, 0.17)
    # `distance` above which two frames are on opposite sides of a cut; 0.5 is the rule itself,
    # higher finds fewer cuts.
    threshold: float = 0.5


def _standardise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-6)


def _best_match(a: np.ndarray, b: np.ndarray) -> float:
    """Best normalised correlation of the centre of one map anywhere within the shift range of
    the other, both ways round (max), in [-1, 1]."""
    sx, sy = _SHIFT
    ab = cv2.matchTemplate(b, a[sy:-sy, sx:-sx], cv2.TM_CCOEFF_NORMED)
    ba = cv2.matchTemplate(a, b[sy:-sy, sx:-sx], cv2.TM_CCOEFF_NORMED)
    return float(max(ab.max(), ba.max()))


class CutDetector:
    """Hard-cut detector from structure, local contrast and colour (see the module docstring),
    with the rule of `params` (threshold: a shorthand for params' threshold)."""

    def __init__(self, params: CutParams | None = None, *,
                 threshold: float | None = None) -> None:
        params = params or CutParams()
        self.params = params if threshold is None else replace(params, threshold=threshold)

    def signature(self, image: np.ndarray) -> np.ndarray:
        """A (4656,) float32 signature of an (h, w, 3) RGB image, float in [0, 1] or uint8."""
        if image.dtype != np.uint8:
            image = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        thumb = cv2.resize(image, _THUMB, interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(thumb, cv2.COLOR_RGB2HSV)
        # Colour of pixels that are neither blown out nor near black: a flash that clips the
        # highlights takes their hue away, which is not a change of scene.
        lit = cv2.inRange(hsv[:, :, 2], 16, 239)
        hist = cv2.calcHist([hsv], [0, 1], lit, [_H_BINS, _S_BINS], [0, 180, 0, 256]).ravel()
        hist /= max(float(hist.sum()), 1.0)
        grey = cv2.cvtColor(thumb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0)
        gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1)
        magnitude = cv2.resize(np.sqrt(gx * gx + gy * gy), _SMALL, interpolation=cv2.INTER_AREA)
        mean = cv2.GaussianBlur(grey, (0, 0), 4)
        spread = np.sqrt(cv2.GaussianBlur((grey - mean) ** 2, (0, 0), 4))
        contrast = np.abs(grey - mean) / (spread + 0.02)
        contrast = cv2.resize(contrast, _SMALL, interpolation=cv2.INTER_AREA)
        return np.concatenate(
            [hist, _standardise(magnitude).ravel(), _standardise(contrast).ravel()]
        ).astype(np.float32)

    def cues(self, a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
        """(structure match, local-contrast match, colour distance) of two signatures."""
        w, h = _SMALL
        maps_a = a[_HIST:].reshape(2, h, w)
        maps_b = b[_HIST:].reshape(2, h, w)
        colour = float(cv2.compareHist(a[:_HIST], b[:_HIST], cv2.HISTCMP_BHATTACHARYYA))
        return _best_match(maps_a[0], maps_b[0]), _best_match(maps_a[1], maps_b[1]), colour

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        """Distance in (0, 1] between two signatures; above 0.5 the tuned rule sees a cut.

        The cues are measured in units of the rule's thresholds (s < 1: past every threshold of
        one clause), and mapped to 1 / (1 + s).
        """
        structure, contrast, colour = self.cues(a, b)
        s_colour, c_colour, h_colour = self.params.colour_cut
        s_struct, c_struct = self.params.structure_cut
        by_colour = max(structure / s_colour, contrast / c_colour, h_colour / max(colour, 1e-6))
        by_structure = max(structure / s_struct, contrast / c_struct)
        return 1.0 / (1.0 + max(min(by_colour, by_structure), 0.0))

    def is_cut(self, a: np.ndarray, b: np.ndarray) -> bool:
        """True when the frames with signatures a and b are on opposite sides of a cut."""
        return self.distance(a, b) > self.params.threshold
