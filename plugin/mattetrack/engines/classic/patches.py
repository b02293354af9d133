"""Appearance of an object against its surroundings: local patch descriptors, vector-quantised.

A pixel's colour alone cannot tell a white dog from dry grass in the sun, a car's grey flank from
the road, or a rider's shirt from a graffiti wall; the texture and colours *around* it often can.
Each pixel gets a small descriptor of its neighbourhood (colour at three scales, edge strength,
local contrast); the keyframes' object band and surrounding ring are sampled, the samples are
clustered into a few hundred visual words (k-means), and each word keeps the share of object
samples that fell into it. A pixel's posterior is its nearest word's share: a histogram, like a
colour histogram, but over bins that the keyframe's own appearance chose.

Words have no edge: a look never seen in the keyframe still has a nearest word, which may be the
object's. The object is a closed set, its surroundings an open one (an occluder can come into
view), so a pixel whose *colour* the keyframe never showed on the object is at most UNSEEN_COLOUR
likely to be the object, whatever its nearest word says (a thin blurred pole crossing an orange
object). Measured against colour histograms and the alternatives tried: docs/tuning.md,
"Classic engine: appearance".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np
from threadpoolctl import ThreadpoolController

from mattetrack.engines.classic.appearance import NBINS, band_width, colour_index, inner_outer
from mattetrack.engines.classic.imaging import bounding_box, to_u8

# Descriptor length: Lab at 0, 2 and 5 px blur (9), edge strength (1), local contrast (1).
DIMS = 11


@dataclass(frozen=True)
class PatchParams:
    """The appearance model's visual words."""

    # Visual words per object: enough for a few distinct materials on each side of the boundary.
    words: int = 256
    # Samples per side (object / surroundings) and per keyframe used to learn the words.
    samples: int = 3000
    # P(object) at most, for a colour never seen on the object in the keyframe (see above).
    unseen_colour: float = 0.1


def patch_features(rgb: np.ndarray) -> np.ndarray:
    """(h, w, DIMS) float32 descriptors of a (h, w, 3) float32 display-referred RGB image.

    Lab scaled so a just-visible colour step and a unit of every other component weigh about the
    same (L / 100, a and b / 60); blurred copies describe the neighbourhood's colours; the
    gradient magnitude and standard deviation of L (both blurred) its texture.
    """
    lab = cv2.cvtColor(np.clip(rgb, 0.0, 1.0).astype(np.float32, copy=False), cv2.COLOR_RGB2Lab)
    lab *= np.array([1 / 100, 1 / 60, 1 / 60], np.float32)
    lum = np.ascontiguousarray(lab[..., 0])
    gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3)
    edge = cv2.GaussianBlur(cv2.magnitude(gx, gy), (0, 0), 2.0)
    mean = cv2.GaussianBlur(lum, (0, 0), 3.0)
    contrast = np.sqrt(np.maximum(cv2.GaussianBlur(lum * lum, (0, 0), 3.0) - mean * mean, 0.0))
    out = np.empty(lab.shape[:2] + (DIMS,), np.float32)
    out[..., 0:3] = lab
    out[..., 3:6] = cv2.GaussianBlur(lab, (0, 0), 2.0)
    out[..., 6:9] = cv2.GaussianBlur(lab, (0, 0), 5.0)
    out[..., 9] = 2.0 * edge
    out[..., 10] = 4.0 * contrast
    return out


class FrameFeatures:
    """One frame's patch descriptors, computed only over the boxes that are asked about.

    rgb: (h, w, 3) float32 at processing resolution. Small objects need descriptors in a small
    box around their boundary; re-detection asks for the whole frame, which is then kept.
    """

    # OpenCV's float Gaussian kernels reach 4 sigma; the widest blur is sigma 5: a box computed
    # with this margin matches the whole-frame computation inside it.
    MARGIN = 20

    def __init__(self, rgb: np.ndarray) -> None:
        self.rgb = rgb
        self._full: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.rgb.shape[0], self.rgb.shape[1]

    def full(self) -> np.ndarray:
        """(h, w, DIMS) float32 descriptors of the whole frame."""
        if self._full is None:
            self._full = patch_features(self.rgb)
        return self._full

    def box(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """(y1 - y0, x1 - x0, DIMS) float32 descriptors of rows y0:y1, columns x0:x1."""
        if self._full is not None:
            return self._full[y0:y1, x0:x1]
        h, w = self.shape
        m = self.MARGIN
        ya, yb, xa, xb = max(y0 - m, 0), min(y1 + m, h), max(x0 - m, 0), min(x1 + m, w)
        return patch_features(self.rgb[ya:yb, xa:xb])[y0 - ya:y1 - ya, x0 - xa:x1 - xa]

    def colours(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """(y1 - y0, x1 - x0) int32 quantised colour (appearance.colour_index) of a box."""
        return colour_index(to_u8(self.rgb[y0:y1, x0:x1]))


class KeyframeView(NamedTuple):
    """What a keyframe shows of an object: descriptors sampled from its boundary band (a, DIMS)
    and from the ring around it (b, DIMS), float32, and which quantised colours occur on the
    object's band, (NBINS,) bool."""

    inside: np.ndarray
    outside: np.ndarray
    colours: np.ndarray


def sample_view(
    feats: FrameFeatures, cov: np.ndarray, rng: np.random.Generator, n: int = PatchParams.samples
) -> KeyframeView:
    """Sample a keyframe: up to n object pixels near the boundary and n surrounding pixels (the
    band and ring of `inner_outer`). feats: the frame's descriptors; cov: (h, w) float32."""
    hard = cov >= 0.5
    inner, outer = inner_outer(hard, band_width(hard))
    box = bounding_box(inner | outer)
    if box is None:
        empty = np.zeros((0, DIMS), np.float32)
        return KeyframeView(empty, empty, np.zeros(NBINS, bool))
    y0, y1, x0, x1 = box
    flat = feats.box(y0, y1, x0, x1).reshape(-1, DIMS)
    inner, outer = inner[y0:y1, x0:x1], outer[y0:y1, x0:x1]
    sides = []
    for side in (inner, outer):
        idx = np.flatnonzero(side.ravel())
        if len(idx) > n:
            idx = rng.choice(idx, n, replace=False)
        sides.append(flat[idx])
    colours = np.zeros(NBINS, bool)
    colours[feats.colours(y0, y1, x0, x1)[inner]] = True
    return KeyframeView(sides[0], sides[1], colours)


def _kmeans(x: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """k-means++ words of samples x (n, DIMS) float32: (labels (n,), centres (k, DIMS))."""
    cv2.setRNGSeed(seed)  # k-means++ seeding: the same words for the same samples
    criteria = (cv2.TERM_CRITERIA_MAX_ITER | cv2.TERM_CRITERIA_EPS, 10, 1e-3)
    _, labels, centres = cv2.kmeans(x, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    return labels.ravel(), centres.astype(np.float32)


def _nearest(q: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(n,) int64 index of the nearest of centres (k, DIMS) for each of q (n, DIMS).

    |q - c|^2 = |q|^2 - 2 q.c + |c|^2 and |q|^2 is the same for every word: one matrix product
    of [q, 1] with [-2 c; |c|^2] per chunk (a single BLAS call, ~9x faster than subtracting
    afterwards), in chunks of 8192 rows to bound scratch memory. The BLAS runs single-threaded
    (_one_blas_thread): for these shapes a second thread gains ~10%, and OpenBLAS leaves its
    worker threads spinning on sched_yield after each threaded call, which took most of a core
    from the flow and the reader and writer threads.
    """
    affine = np.concatenate([-2.0 * centres.T, np.sum(centres * centres, 1)[None]], 0)
    affine = affine.astype(np.float32)
    out = np.empty(len(q), np.int64)
    with _one_blas_thread():
        for s in range(0, len(q), 8192):
            chunk = np.empty((min(8192, len(q) - s), q.shape[1] + 1), np.float32)
            chunk[:, :-1] = q[s:s + 8192]
            chunk[:, -1] = 1.0
            out[s:s + 8192] = np.argmin(chunk @ affine, 1)
    return out


_BLAS: ThreadpoolController | None = None


def _one_blas_thread():
    """Context in which the process's BLAS libraries run on one thread (threadpoolctl; the
    libraries are looked up once, on first use)."""
    global _BLAS
    if _BLAS is None:
        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def image_words(rgb: np.ndarray, words: int = PatchParams.words,
                samples: int = 2 * PatchParams.samples, seed: int = 0) -> np.ndarray:
    """(h, w) int64 visual word of every pixel of a (h, w, 3) float32 image, with words learned
    from `samples` random pixels of the image itself: a texture-aware quantisation to build
    histograms on (selection uses it beside quantised colour)."""
    feat = patch_features(rgb).reshape(-1, DIMS)
    if len(feat) < 16:  # a few pixels (a tiny frame): one word, k-means needs more to learn
        return np.zeros(rgb.shape[:2], np.int64)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(feat), min(samples, len(feat)), replace=False)
    _, centres = _kmeans(feat[pick], int(min(words, max(len(pick) // 4, 1))), seed)
    return _nearest(feat, centres).reshape(rgb.shape[:2])


class PatchModel:
    """Visual words (k, DIMS) float32, each word's P(object) (k,) float32, the quantised
    colours seen on the object (NBINS,) bool, and P(object) at most for a colour never seen on
    it (`PatchParams.unseen_colour`)."""

    def __init__(
        self, centres: np.ndarray, p_object: np.ndarray, object_colours: np.ndarray,
        unseen_colour: float = PatchParams.unseen_colour,
    ) -> None:
        self.centres = centres
        self.p_object = p_object
        self.object_colours = object_colours
        self.unseen_colour = unseen_colour

    @classmethod
    def learn(cls, views: Sequence[KeyframeView], seed: int = 0,
              params: PatchParams | None = None) -> PatchModel:
        """From one or more keyframes' samples.

        Each side's share within a word is normalised by that side's sample count (equal priors,
        as a pair of histograms would be), plus half a sample of smoothing so a word seen once
        is not certain.
        """
        params = params or PatchParams()
        fg = np.concatenate([v.inside for v in views] + [np.zeros((0, DIMS), np.float32)])
        bg = np.concatenate([v.outside for v in views] + [np.zeros((0, DIMS), np.float32)])
        seen = np.zeros(NBINS, bool)
        for v in views:
            seen |= v.colours
        x = np.concatenate([fg, bg]).astype(np.float32)
        if len(x) < 8 or len(fg) == 0 or len(bg) == 0:  # nothing to tell apart: no opinion
            return cls(np.zeros((1, DIMS), np.float32), np.full(1, 0.5, np.float32),
                       np.ones(NBINS, bool), params.unseen_colour)
        k = int(min(params.words, len(x) // 4))
        labels, centres = _kmeans(x, k, seed)
        nf = np.bincount(labels[: len(fg)], minlength=k) / len(fg)
        nb = np.bincount(labels[len(fg):], minlength=k) / len(bg)
        a = 0.5 / len(x)
        p_object = ((nf + a) / (nf + nb + 2 * a)).astype(np.float32)
        return cls(centres, p_object, seen, params.unseen_colour)

    def words_in(
        self, feats: FrameFeatures, where: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The nearest word of each pixel of a frame at the (h, w) bool `where` pixels (default:
        all): (h, w) int64 word index (-1 elsewhere) and (h, w) bool whose quantised colour the
        keyframe never showed on the object. Descriptors are computed only over where's bounding
        box: only the pixels asked about cost time."""
        h, w = feats.shape
        words = np.full((h, w), -1, np.int64)
        unseen = np.zeros((h, w), bool)
        box = (0, h, 0, w) if where is None else bounding_box(where)
        if box is None:
            return words, unseen
        y0, y1, x0, x1 = box
        feat = feats.full() if where is None else feats.box(y0, y1, x0, x1)
        idx = (np.arange((y1 - y0) * (x1 - x0)) if where is None
               else np.flatnonzero(where[y0:y1, x0:x1].ravel()))
        sub = np.full((y1 - y0) * (x1 - x0), -1, np.int64)
        sub[idx] = _nearest(feat.reshape(-1, DIMS)[idx], self.centres)
        never = np.zeros(len(sub), bool)
        never[idx] = ~self.object_colours[feats.colours(y0, y1, x0, x1).ravel()[idx]]
        words[y0:y1, x0:x1] = sub.reshape(y1 - y0, x1 - x0)
        unseen[y0:y1, x0:x1] = never.reshape(y1 - y0, x1 - x0)
        return words, unseen

    def posterior_of(self, words: np.ndarray, unseen: np.ndarray) -> np.ndarray:
        """(h, w) float32 P(object) from words_in's (words, unseen); 0.5 (no opinion) where no
        word was asked for."""
        out = np.where(words >= 0, self.p_object[np.maximum(words, 0)], 0.5).astype(np.float32)
        return np.where(unseen, np.minimum(out, self.unseen_colour), out).astype(np.float32)

    def posterior_in(self, feats: FrameFeatures, where: np.ndarray | None = None) -> np.ndarray:
        """(h, w) float32 P(object) of a frame at the (h, w) bool `where` pixels (default: all),
        0.5 elsewhere (see words_in)."""
        return self.posterior_of(*self.words_in(feats, where))
