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

Gradual transitions (dissolves, fades) change too little between neighbouring frames for that
rule; `GradualWindow` finds them over a few frames instead: the frames at both ends of a window
are on opposite sides of a cut by the rule above, and every frame between is a mix of the two
ends (a least-squares mix of a 32x18 colour thumbnail, carried in the signature), its share of
the later end rising without a jump. Motion within a shot fails the mix (the frames between are
not a double exposure of the ends); a hard cut fails the "without a jump". Tuned on
tests/benchmarks/cuts.py: docs/tuning.md, "Shot boundaries".
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

import cv2
import numpy as np

_THUMB = (128, 72)  # analysis size (w, h): 16:9, fine enough for gradients
_SMALL = (64, 36)  # compared maps (w, h)
_SHIFT = (10, 6)  # searched shift (x, y) in _SMALL pixels
_H_BINS, _S_BINS = 12, 4
_HIST = _H_BINS * _S_BINS
_MAP = _SMALL[0] * _SMALL[1]
_MIX = (32, 18)  # the thumbnail a gradual transition is fitted on (w, h)
_MIX_LEN = _MIX[0] * _MIX[1] * 3
SIGNATURE_LEN = _HIST + 2 * _MAP + _MIX_LEN

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
        """A (SIGNATURE_LEN,) float32 signature of an (h, w, 3) RGB image, float in [0, 1] or
        uint8: colour histogram, the two compared maps, the mix thumbnail (RGB in [0, 1])."""
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
        mix = cv2.resize(thumb, _MIX, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        return np.concatenate(
            [hist, _standardise(magnitude).ravel(), _standardise(contrast).ravel(), mix.ravel()]
        ).astype(np.float32)

    def cues(self, a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
        """(structure match, local-contrast match, colour distance) of two signatures."""
        w, h = _SMALL
        maps_a = a[_HIST:_HIST + 2 * _MAP].reshape(2, h, w)
        maps_b = b[_HIST:_HIST + 2 * _MAP].reshape(2, h, w)
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


@dataclass(frozen=True)
class GradualParams:
    """The gradual-transition rule (docs/tuning.md, "Shot boundaries"): windows of `spans`
    frames; every frame between the ends a mix of them within `residual` (RMS of what the mix
    leaves, over the RMS difference of the ends), its share of the later end rising by under
    `step` from one frame to the next (and falling by under `backstep`)."""

    spans: tuple[int, ...] = (6, 10, 16, 24)
    residual: float = 0.45
    step: float = 0.4
    backstep: float = 0.1


class GradualWindow:
    """A streaming test for a gradual transition (dissolve, fade) ending at the newest frame.

    `push` each frame's signature in order (either direction: the test is symmetric). A window
    of `params.spans` frames ending at the newest frame passes when its ends are on opposite
    sides of a cut and the frames between mix them (`_mixes`); a transition needs windows of two
    lengths or more passing, overlapping: fast motion within a shot can pass one length (the
    start of motocross-jump passes 6-frame windows alone), a dissolve passes several. `push`
    answers the first frame of the transition so far, or None; `began` says whether this push
    is the first to know it. Holds max(spans) + 1 signatures. `reset` forgets them (after a hard
    cut, or a gap in the frames)."""

    def __init__(self, detector: CutDetector, params: GradualParams | None = None) -> None:
        self.detector = detector
        self.params = params or GradualParams()
        self._history: deque[tuple[int, np.ndarray]] = deque(maxlen=max(self.params.spans) + 1)
        self._passed: list[tuple[int, int, int]] = []  # (first, last position, span) of windows
        self._count = 0  # positions pushed, so frames may run either way
        self._inside = False  # the previous push answered a transition
        self.began = False

    def reset(self) -> None:
        self._history.clear()
        self._passed.clear()
        self._inside = self.began = False

    def push(self, frame: int, signature: np.ndarray) -> int | None:
        start = self._push(frame, signature)
        self.began = start is not None and not self._inside
        self._inside = start is not None
        return start

    def _push(self, frame: int, signature: np.ndarray) -> int | None:
        self._history.append((frame, signature))
        self._count += 1
        now = self._count
        for span in sorted(self.params.spans):
            if span >= len(self._history):
                break
            if self._mixes(span) and self.detector.is_cut(self._history[-1 - span][1], signature):
                self._passed.append((now - span, now, span))
        # Windows that no longer overlap one ending now are forgotten.
        reach = max(self.params.spans)
        self._passed = [w for w in self._passed if w[1] >= now - reach]
        if not self._passed or self._passed[-1][1] != now:
            return None
        first = min(w[0] for w in self._passed)
        if len({w[2] for w in self._passed if w[1] >= first}) < 2:
            return None
        return self._history[-1 - (now - first)][0] if now - first < len(self._history) \
            else self._history[0][0]

    def _mixes(self, span: int) -> bool:
        """Are the `span - 1` frames before the newest a rising mix of the window's ends?"""
        window = np.stack([sig[-_MIX_LEN:] for _, sig in list(self._history)[-1 - span:]])
        a, b = window[0], window[-1]
        d = b - a
        dd = float(d @ d)
        if dd < 1e-6 * _MIX_LEN:  # the ends alike: no transition
            return False
        x = window[1:-1] - a  # (span - 1, _MIX_LEN)
        share = x @ d / dd  # least-squares share of b in each frame between
        rest = x - share[:, None] * d
        residual = np.sqrt((rest * rest).sum(axis=1).max() / dd)
        steps = np.diff(np.concatenate([[0.0], share, [1.0]]))
        p = self.params
        return bool(residual < p.residual and steps.max() < p.step and steps.min() > -p.backstep)
