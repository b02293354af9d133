"""One frame's hole filled from the frames around it.

For each hole pixel of frame t, the frames t+1, t+2, ... and t-1, t-2, ... are looked at in turn
(up to `FillParams.reach` each way), each brought onto t by the background's homography
(`motion.ShotMotion`), and a frame where that place is not in its own hole gives a candidate;
`per_side` candidates are kept each way (more one way near the shot's ends, where the other
way has fewer frames). Each candidate is
- aligned: its homography (composed over many frame pairs, so off by a pixel or two) is
  corrected by the shift that lines it up with frame t on a band around the hole (`_Aligner`,
  ECC at the processing resolution), and sampled bicubic (beside a scene-linear highlight
  kept within the range of the pixels around, `unrung`);
- matched in light to frame t: the ratio of t's values to the warped frame's on the rim around
  the hole is spread into the hole as a smooth gain (a normalised Gaussian convolution,
  `spread` px, carried on by pull-push into the middle of a large hole): a brightness, and a
  colour per channel held within a few % of neutral, so a frame shot a little brighter or
  darker leaves no seam and a different material is not recoloured to fit;
- weighted by its distance in time and by how well it fits on that rim once matched
  (exp(-misfit / `tolerance`)): a frame the homography does not bring into place there (parallax,
  something moving) counts for little.
Where a frame shows the foreground (`foreground_of`: the mattes of what moves in front of the
background and stays, an actor beside the removed rig), it is no view of the background: the
background's candidates skip it, as they skip that frame's own hole, and match their light on
the rim beside it only.
The nearest frames (`moving_reach`) are also brought on by the motion of what moves beside the
hole (`motion`'s moving layers: the shot's own object, a wave), so what moves through the hole
comes back too; such a candidate counts where it fits the rim better than every background one
(a step a code or so soft), `moving_weight` times a background one's weight.
A smooth fill of the hole (pull-push: `smooth_fill`) is one more candidate of a small fixed
weight: where every frame fits the rim badly, it counts. What no frame saw is the smooth fill
alone, mixed with the frame before's result where the background's motion brings it (so the
invented part stays put from frame to frame instead of flickering). All arrays are in the
plate's own values (float32).
Measured: docs/tuning.md, "Removal".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from mattetrack import _native
from mattetrack.removal.motion import processing_scale

# motion(t, s): (3, 3) homography taking position t's px to position s's, None where unknown.
Motion = Callable[[int, int], "np.ndarray | None"]


@dataclass(frozen=True)
class FillParams:
    reach: int = 60  # frames looked at each way, at most
    # Candidates kept each way; where one way has fewer frames than this (the shot's first and
    # last frames), the other way keeps as many more.
    per_side: int = 4
    rim: int = 7  # kernel (px) of the dilation whose ring the light is matched on (3 px)
    spread: float = 7.5  # px of the light's smoothing
    tolerance: float = 10.0 / 255.0  # rim misfit (plate units) at which a candidate's weight is 1/e
    valid: float = 0.99  # a warped source pixel counts when at least this much of it is seen
    smooth_weight: float = 0.02  # the smooth fill as a candidate of this fixed weight
    moving_reach: int = 16  # frames each way brought on by the moving layers' motion
    moving_weight: float = 3.0  # a moving-layer candidate's weight over a background one's
    carry: float = 0.5  # share of the previous frame's invented fill kept (temporal smoothing)
    align_band: int = 9  # processing px around the hole each candidate is aligned on (ECC)
    align_max: float = 4.0  # processing px: a larger correction is a failed one, not applied
    align_steps: int = 5  # ECC iterations (started from the frame before's shift)
    # ECC on the images as they are, not smoothed by a 3x3 Gaussian first (OpenCV's
    # gaussFiltSize 1, not 3): the candidates are already resampled once, and the smoothing cost
    # the shifts their precision (+0.06 dB in the holes, docs/tuning.md, session 25).
    align_smooth: bool = False
    # How a candidate is sampled: bicubic, not bilinear (a bilinear sample at a fractional
    # position is a blur, and the fill averages many: +0.06 dB in the holes, docs/tuning.md).
    interpolation: int = cv2.INTER_CUBIC


# Plate units added to both images before their ratio on the rim: a near-black rim's ratio is
# noise, not light. The gain is a brightness (the channels' sums' ratio) kept within
# GAIN_RANGE times a colour part per channel kept within COLOUR_RANGE of 1: light changes by a
# factor (a cloud, an exposure) and changes colour little, so a candidate that needs more is
# a different scene, and its misfit must say so. A gain per channel free in 0.5-2 recoloured
# the shot's own subject (a kite-surfer's skin, a red kite) into the sea and the sky it hid
# and counted it as fitting (docs/tuning.md, session 20).
LIGHT_FLOOR = 0.02
GAIN_RANGE = (0.5, 2.0)
COLOUR_RANGE = 1.1
ALIGN_MIN_PX = 200  # band pixels (processing px) an alignment needs
ECC_EPS = 1e-4  # ECC stops when its correlation changes by less than this
# Plate units: a moving candidate's weight is a logistic of (best background misfit - its
# misfit) over this (1 code: +5.22 dB; 2 codes +5.21; 5 codes +5.10; a hard step +5.17).
GATE_SOFTNESS = 1.0 / 255.0


def hole_box(hole: np.ndarray, margin: int) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1): the (h, w) bool `hole`'s bounding box grown by `margin` px, clipped
    to the frame; None for an empty hole."""
    ys, xs = np.nonzero(hole)
    if ys.size == 0:
        return None
    h, w = hole.shape
    return (max(0, ys.min() - margin), min(h, ys.max() + margin + 1),
            max(0, xs.min() - margin), min(w, xs.max() + margin + 1))


def _warp(image: np.ndarray, homography: np.ndarray, box, interpolation=cv2.INTER_LINEAR):
    """`image` (a frame s) sampled on frame t's `box` (y0, y1, x0, x1), `homography` taking
    t's px to s's."""
    y0, y1, x0, x1 = box
    shift = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])
    return _sampled(image, homography @ shift, (x1 - x0, y1 - y0), interpolation)


def _sampled(image: np.ndarray, inverse: np.ndarray, size: tuple[int, int],
             interpolation=cv2.INTER_LINEAR) -> np.ndarray:
    """cv2.warpPerspective of `image` to `size` (w, h) with `inverse` taking the output's px to
    the image's (0 outside), made on the part of the image the output samples only: a float16
    image (the plate cache keeps half plates so: twice the frames in its budget) or a bool mask
    is made float32 there (OpenCV's warps take no float16 and no bool; a mask made float32
    whole is 8 MB at 1080p, for each frame looked at), and a bicubic sample beside a highlight is
    kept within the range of the 3x3 px around it (`unrung`)."""
    w, h = size
    if image.dtype == np.float32 and interpolation != cv2.INTER_CUBIC:
        return cv2.warpPerspective(image, inverse, size,
                                   flags=interpolation | cv2.WARP_INVERSE_MAP,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    corners = inverse @ np.array([[0.0, w, 0.0, w], [0.0, 0.0, h, h], [1.0, 1.0, 1.0, 1.0]])
    height, width = image.shape[:2]
    if (corners[2] > 1e-6).all():  # the output's edges map to the quad's (a projective map)
        xs, ys = corners[0] / corners[2], corners[1] / corners[2]
        cx0, cy0 = (int(np.clip(np.floor(v.min()) - 3, 0, n)) for v, n in ((xs, width),
                                                                          (ys, height)))
        cx1, cy1 = (int(np.clip(np.ceil(v.max()) + 4, 0, n)) for v, n in ((xs, width),
                                                                         (ys, height)))
    else:
        cx0, cy0, cx1, cy1 = 0, 0, width, height
    if cx1 <= cx0 or cy1 <= cy0:
        return np.zeros((h, w, *image.shape[2:]), np.float32)
    crop = image[cy0:cy1, cx0:cx1].astype(np.float32, copy=False)
    moved = np.array([[1.0, 0.0, -cx0], [0.0, 1.0, -cy0], [0.0, 0.0, 1.0]]) @ inverse

    def warped(values: np.ndarray, how: int) -> np.ndarray:
        return cv2.warpPerspective(values, moved, size, flags=how | cv2.WARP_INVERSE_MAP,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    out = warped(crop, interpolation)
    if interpolation == cv2.INTER_CUBIC:
        out = unrung(out, crop, lambda bound: warped(bound, cv2.INTER_LINEAR))
    return out


_AROUND = np.ones((3, 3), np.uint8)
# Plate values above which a bicubic sample is kept within the range around it: in a
# display-referred plate (0-1) a bicubic ring is a tenth of an edge's step at most, as any
# bicubic resize's, and clipping it cost 12% of the fill's time; beside a scene-linear
# highlight it is many times the scene's grey, and below zero.
HIGHLIGHT = 1.0


def unrung(sample: np.ndarray, source: np.ndarray,
           warp: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`sample` (bicubic, of `source`) clipped to the bilinear samples (`warp`) of `source`'s
    3x3 px minimum and maximum where `source` has values over HIGHLIGHT (else as it is): a
    bicubic kernel's negative lobes overshoot an edge by up to a tenth of its step, and beside
    a scene-linear highlight (20.0 on 0.1) that is a dark ring below zero; the clip keeps the
    sharpness and drops the ring (as a renderer's temporal filter clamps its bicubic
    history)."""
    if source.max() <= HIGHLIGHT:
        return sample
    # (erode's and dilate's default borders leave what is off the crop out of the bounds;
    # numpy's clip took 6x as long as its maximum and minimum)
    low = warp(cv2.erode(source, _AROUND))
    high = warp(cv2.dilate(source, _AROUND))
    return np.minimum(np.maximum(sample, low, out=sample), high, out=sample)


def brightness_of(x: np.ndarray) -> np.ndarray:
    """(h, w) float32 brightness of plate values (h, w, 3), compressed (x / (1 + x)) so that a
    scene-linear plate's highlights do not rule an alignment."""
    y = np.clip(channel_mean(x), 0.0, None)
    return (y / (1.0 + y)).astype(np.float32)


def channel_mean(x: np.ndarray) -> np.ndarray:
    """(h, w) float32: the mean of (h, w, 3) values over their channels."""
    # cv2.transform: 50x faster than numpy's mean over the last axis.
    return cv2.transform(x.astype(np.float32, copy=False), _THIRDS)


_THIRDS = np.full((1, 3), 1.0 / 3.0, np.float32)


class _Aligner:
    """Corrects a candidate's homography by the shift (ECC, Evangelidis & Psarakis 2008) that
    best lines it up with frame t on a band around the hole, at the processing resolution:
    homographies composed over many frames drift by a pixel or two, and a misaligned candidate
    blurs the fill. `_native.ecc_shift` runs OpenCV's ECC on the band's pixels only (its
    findTransformECCWithMask took the band's whole box, a third of the fill's time).
    Measured: docs/tuning.md, "Removal"."""

    def __init__(self, here: np.ndarray, in_hole: np.ndarray, box, scale: float,
                 params: FillParams) -> None:
        self.params = params
        h, w = in_hole.shape
        self.size = (max(8, round(w * scale)), max(8, round(h * scale)))
        # small px per box px, each way exactly as resized (the rounding would bias the shift)
        self.fx, self.fy = self.size[0] / w, self.size[1] / h
        hole = cv2.resize(in_hole.astype(np.uint8), self.size, interpolation=cv2.INTER_NEAREST)
        k = 2 * params.align_band + 1
        band = (cv2.dilate(hole, np.ones((k, k), np.uint8)) > 0) & (hole == 0)
        # The band's own box, not the fill's wider one: the candidate's brightness is warped on it.
        ys, xs = np.nonzero(band)
        if ys.size == 0:
            ys = xs = np.zeros(1, int)
        self.crop = (slice(max(0, ys.min() - 2), ys.max() + 3),
                     slice(max(0, xs.min() - 2), xs.max() + 3))
        self.band = band[self.crop]
        small = brightness_of(cv2.resize(here, self.size, interpolation=cv2.INTER_AREA))
        self.here = np.ascontiguousarray(small[self.crop])
        y0, _, x0, _ = box
        # A small pixel's centre is at (u + 0.5) / f - 0.5 box px (as INTER_AREA made `here`).
        cx, cy = self.crop[1].start, self.crop[0].start
        self._to_box = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]]) @ np.array(
            [[1.0 / self.fx, 0.0, (cx + 0.5) / self.fx - 0.5],
             [0.0, 1.0 / self.fy, (cy + 0.5) / self.fy - 0.5], [0.0, 0.0, 1.0]])

    def __call__(self, pixels: np.ndarray, seen_full: np.ndarray,
                 homography: np.ndarray, hint: list[float] | None = None) -> np.ndarray:
        """`homography` (t's px -> s's) corrected by a shift in t's px; unchanged where the
        band shows too little or the alignment fails. hint: [dx, dy] (processing px), the
        shift found for the frame before on the same way, ECC's start; updated."""
        seen = np.ascontiguousarray(cv2.resize(seen_full.astype(np.uint8), self.size,
                                               interpolation=cv2.INTER_NEAREST)[self.crop])
        template_mask = (self.band & (seen > 0)).astype(np.uint8)
        if int(template_mask.sum()) < ALIGN_MIN_PX:
            return homography
        size = (self.here.shape[1], self.here.shape[0])
        warped = brightness_of(_sampled(pixels, homography @ self._to_box, size))
        start = (0.0, 0.0) if hint is None else hint
        shift = _native.ecc_shift(self.here, warped, template_mask, seen, start[0], start[1],
                                  self.params.align_smooth, self.params.align_steps, ECC_EPS)
        if shift is None:  # no convergence (a flat band): keep the homography
            return homography
        dx, dy = shift
        if max(abs(dx), abs(dy)) > self.params.align_max:
            return homography
        if hint is not None:
            hint[:] = dx, dy
        return homography @ np.array([[1.0, 0.0, dx / self.fx], [0.0, 1.0, dy / self.fy],
                                      [0.0, 0.0, 1.0]])


def _ring(hole: np.ndarray, params: FillParams) -> np.ndarray:
    """(h, w) bool: the `rim` px around the hole, where a candidate's light is matched."""
    grown = cv2.dilate(hole.astype(np.uint8), np.ones((params.rim, params.rim), np.uint8)) > 0
    return grown & ~hole


def _grid(shape: tuple[int, int], sigma: float) -> int:
    """Box px per cell of the grid the light's fields are spread on (they are smooth): sigma /
    2.5 (3 at the default 7.5 px), where the box is large enough."""
    factor = max(1, int(sigma // 2.5))
    return factor if factor > 1 and min(shape) >= 4 * factor else 1


def _matched(target: np.ndarray, warped: np.ndarray, ring: np.ndarray, valid: np.ndarray,
             params: FillParams, light_ring: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """(warped (h, w, 3) with its light matched to target around the hole, (h, w) misfit on the
    rim spread over the box); all on the box. The light is a gain: the ratio of the two
    images' values on the rim (`light_ring`'s part of it, where it has any), spread into the
    hole by a normalised Gaussian of `spread` px and past its reach by pull-push (the middle of
    a large hole gets what its nearest rims say), a brightness within GAIN_RANGE times a colour
    per channel within COLOUR_RANGE of 1 (an exposure or a cloud changes light by a factor, and
    so does a scene-linear plate's every value). `_native.match_light`: as NumPy and OpenCV
    calls it was a fifth of the fill's time, a dozen box-sized temporaries a candidate."""
    factor = _grid(ring.shape, params.spread)
    return _native.match_light(target, warped, ring, valid, light_ring, factor,
                               params.spread / factor, LIGHT_FLOOR, GAIN_RANGE, COLOUR_RANGE)


class FillResult(NamedTuple):
    """One frame filled: `pixels` (h, w, 3) float32; `unseen` (h, w) bool, the part no frame
    saw."""

    pixels: np.ndarray
    unseen: np.ndarray


def fill_frame(t: int, count: int, target: np.ndarray, hole: np.ndarray,
               frame: Callable[[int], np.ndarray], hole_of: Callable[[int], np.ndarray],
               motion: Callable[[int, int], np.ndarray],
               previous: tuple[np.ndarray, np.ndarray] | None,
               params: FillParams = FillParams(),
               moving: Sequence[Motion] = (),
               foreground_of: Callable[[int], np.ndarray] | None = None,
               ) -> FillResult:
    """Position t of `count` filled (`FillResult`).

    target: (h, w, 3) float32 frame t; hole: (h, w) bool. frame(s) -> pixels of position s
    (float32, or float16 where that holds them exactly),
    hole_of(s) -> its hole (asked first: a frame whose view of the hole is all in its own hole
    is never read); motion(t, s): (3, 3) homography of the background, t's px -> s's; moving: one
    such motion per moving layer (what moves beside t's hole; None where there is none).
    previous: (result, homography t -> the previous position) of the frame filled before, for
    what no frame saw. foreground_of(s) -> (h, w) bool: what moves in front of the background
    at s (the shot's own subjects, tracked): no view of the background there, so the
    background's candidates skip it (the moving layers still bring it where it passes behind).
    frame, hole_of, motion, moving and foreground_of are called from two threads at once.
    """
    out = target.copy()
    box = hole_box(hole, int(3 * params.spread) + params.rim)
    if box is None:
        return FillResult(out, np.zeros_like(hole))
    y0, y1, x0, x1 = box
    in_hole = hole[y0:y1, x0:x1]
    here = target[y0:y1, x0:x1]
    align = _Aligner(here, in_hole, box, processing_scale(target.shape[1], target.shape[0]),
                     params)
    ring = _ring(in_hole, params)
    light_ring = None
    if foreground_of is not None:
        # The foreground beside the hole is no view of the background: the background's
        # candidates take their light from the rest of the rim (matched to the actor, their
        # gain recoloured the background: docs/tuning.md, session 21). Their misfit still
        # counts it: where the actor meets the hole, he goes on behind it, and the moving
        # layers that bring him back are let in where they fit better.
        light_ring = ring & ~foreground_of(t)[y0:y1, x0:x1]

    pool = ThreadPoolExecutor(2, thread_name_prefix="mattetrack-fill")

    def gathered(layer: Motion, reach: int, where: np.ndarray, factor: float,
                 gate: np.ndarray | None, hidden: Callable[[int], np.ndarray] | None = None,
                 light: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Both ways at once (two threads: OpenCV and numpy's large operations let go of the
        GIL), each summing its own candidates."""
        def one_way(direction: int):
            return _summed(_candidates(t, direction, count, here, in_hole, box, frame,
                                       hidden or hole_of, layer, reach, where, params, align,
                                       ring, light),
                           in_hole.shape, factor, gate, params)
        (t1, w1, b1), (t2, w2, b2) = pool.map(one_way, (1, -1))
        return t1 + t2, w1 + w2, np.minimum(b1, b2)

    with pool:
        background_hidden = None
        if foreground_of is not None:
            def background_hidden(s: int) -> np.ndarray:
                return hole_of(s) | foreground_of(s)
        total, weights, best = gathered(motion, params.reach, in_hole, 1.0, None,
                                        background_hidden, light_ring)
        if foreground_of is not None:
            # Where every frame that sees the place shows the foreground there (an actor who
            # stands behind the rig all shot long), the foreground is what was there: those
            # frames, as they are.
            only = in_hole & (weights <= 1e-12)
            if only.any():
                more, more_weights, more_best = gathered(motion, params.reach, only, 1.0, None)
                total += more
                weights += more_weights
                best = np.minimum(best, more_best)
        if params.moving_reach > 0:
            # Only where some frame saw the background: alone, a moving layer fitted to a few
            # samples beside the hole invents more than it brings back (breakdance: -0.5 dB).
            # A moving candidate counts only where it fits the rim better than every
            # background one (`best`).
            seen = weights > 1e-12
            for layer in moving:
                more, more_weights, _ = gathered(layer, params.moving_reach, seen,
                                                 params.moving_weight, best)
                total += more
                weights += more_weights
    if params.smooth_weight > 0 and (weights > 1e-12).any():
        # The smooth fill as one more candidate of fixed weight: where every frame fits the rim
        # badly (the shot's own object beside the hole, a texture that never repeats), it counts.
        w = params.smooth_weight * in_hole * (weights > 1e-12)
        total += smooth_fill(here, in_hole) * w[..., None]
        weights += w
    filled = in_hole & (weights > 1e-12)
    region = out[y0:y1, x0:x1]
    region[filled] = total[filled] / weights[filled][:, None]
    unseen = np.zeros_like(hole)
    unseen[y0:y1, x0:x1] = in_hole & ~filled
    if unseen.any():
        out = _invent(out, unseen, previous, box, params.carry)
    return FillResult(out, unseen)


def _summed(candidates, shape: tuple[int, int], factor: float, gate: np.ndarray | None,
            params: FillParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sum of weight x candidate (h, w, 3), sum of weights (h, w), the best rim misfit (h, w)
    of the candidates taken) over `candidates`, on a box of `shape` (h, w); a candidate's
    weight is `factor` x exp(-misfit / tolerance) / its distance in time; with a `gate`, also
    times a logistic step (GATE_SOFTNESS wide) from 1 where its misfit is below the gate to 0
    where above."""
    total = np.zeros((*shape, 3), np.float32)
    weights = np.zeros(shape, np.float32)
    best = np.full(shape, np.inf, np.float32)
    for warped, misfit, take, distance in candidates:
        weight = factor * np.exp(-misfit / params.tolerance) / distance * take
        if gate is not None:
            # Soft: one that fits about as well as the best background candidate counts half,
            # not all or nothing (docs/tuning.md: +5.17 -> +5.22 dB, a little less flicker).
            with np.errstate(invalid="ignore"):  # inf - inf: no rim either way, not counted
                over = np.nan_to_num(np.clip(misfit - gate, -1.0, 1.0), nan=1.0)
            weight *= 0.5 * (1.0 - np.tanh(over / (2.0 * GATE_SOFTNESS)))
        total += warped * weight[..., None]
        weights += weight
        best = np.where(take, np.minimum(best, misfit), best)
    return total, weights, best


def _candidates(t: int, direction: int, count: int, here: np.ndarray, in_hole: np.ndarray,
                box, frame: Callable[[int], np.ndarray],
                hole_of: Callable[[int], np.ndarray], motion: Motion,
                reach: int, where: np.ndarray, params: FillParams, align: _Aligner,
                ring: np.ndarray, light_ring: np.ndarray | None = None):
    """(warped (h, w, 3), rim misfit (h, w), taken (h, w) bool, |s - t|) for the frames s
    brought onto t's box by motion(t, s) (corrected by `align`), nearest first one way
    (`direction` +1 or -1), until each pixel of `where` has `per_side` (and as many more as
    the other way has frames fewer than that), or `reach` frames were looked at, or the motion
    ends."""
    kept = np.zeros(in_hole.shape, np.int32)
    # The shot's first and last frames have few candidates one way: the other way makes up.
    quota = params.per_side + max(0, params.per_side - (t if direction > 0 else count - 1 - t))
    hint = [0.0, 0.0]
    wanting = where.copy()  # the pixels of `where` with fewer than `quota` candidates
    s = t
    while wanting.any():
        s += direction
        if not 0 <= s < count or abs(s - t) > reach:
            break
        h_ts = motion(t, s)
        if h_ts is None:
            break
        visible = ~hole_of(s)  # made float on the part the box samples only (`_sampled`)
        seen = _warp(visible, h_ts, box) >= params.valid
        if not (wanting & seen).any():
            continue
        # Read only now: a frame that sees none of what is still wanted gives nothing.
        pixels = frame(s)
        aligned = align(pixels, seen, h_ts, hint)
        if aligned is not h_ts:  # shifted: what it sees moved too
            h_ts = aligned
            seen = _warp(visible, h_ts, box) >= params.valid
        take = wanting & seen
        if not take.any():
            continue
        warped, misfit = _matched(here, _warp(pixels, h_ts, box, params.interpolation), ring,
                                  seen, params,
                                  light_ring)
        kept += take
        wanting &= kept < quota
        yield warped, misfit, take, abs(s - t)


# A known pixel's share of a pyramid level's cell at which the cell keeps its own value in
# the push (below it, blended with the coarser level's): 1/8 scored best (docs/tuning.md).
PUSH_SHARPNESS = 8.0


def smooth_fill(region: np.ndarray, todo: np.ndarray) -> np.ndarray:
    """(h, w, c) float32: `region` ((h, w, c) float32) with `todo` ((h, w) bool) filled by
    pull-push (Gortler et al. 1996, `_native.pull_push`): known pixels averaged down an area
    pyramid until every cell holds some, then pushed back up, each level keeping what it knows.
    Smooth, in any range of values, and a few ms on a 1080p hole's box (Telea took 93 ms a
    channel)."""
    return _native.pull_push(region, todo, PUSH_SHARPNESS)


def _invent(out: np.ndarray, unseen: np.ndarray, previous, box,
            carry: float) -> np.ndarray:
    """What no frame saw: the smooth fill, mixed with the previous result carried by the
    background's motion where it reaches (`carry` of it), so that the invented part changes
    slowly from frame to frame."""
    y0, y1, x0, x1 = box
    todo = unseen[y0:y1, x0:x1]
    region = out[y0:y1, x0:x1]
    region[todo] = smooth_fill(region, todo)[todo]
    if previous is not None and carry > 0:
        result, h_tp = previous
        carried = _warp(result, h_tp, box)
        inside = _warp(np.ones(result.shape[:2], np.float32), h_tp, box) >= 0.99
        take = todo & inside
        region[take] = carry * carried[take] + (1.0 - carry) * region[take]
    return out
