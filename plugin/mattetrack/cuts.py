"""Shot-cut detection between consecutive frames, so that propagation never crosses a cut.

A streaming detector: each frame gets a small signature once, and two neighbouring frames'
signatures say whether a cut lies between them. Engines call it inside their sweeps, so it costs
no extra pass over the plate.
"""

from __future__ import annotations

import cv2
import numpy as np


class CutDetector:
    """Hard-cut detector from colour histograms and a thumbnail difference.

    threshold: the histogram distance (Bhattacharyya, 0 = identical .. 1 = disjoint) above which
    two frames belong to different shots.
    """

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def signature(self, image: np.ndarray) -> np.ndarray:
        """A (bins,) float32 signature of an (h, w, 3) RGB image, float in [0, 1] or uint8."""
        if image.dtype != np.uint8:
            image = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        small = cv2.resize(image, (64, 36), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256])
        return cv2.normalize(hist, None).ravel().astype(np.float32)

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        """Distance in [0, 1] between two signatures."""
        return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))

    def is_cut(self, a: np.ndarray, b: np.ndarray) -> bool:
        """True when the frames with signatures a and b are on opposite sides of a cut."""
        return self.distance(a, b) > self.threshold
