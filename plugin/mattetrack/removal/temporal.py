"""The filled frames made consistent through time: each hole pixel averaged with where the optical
flow between the filled frames puts it on the frames around it.

The fill (`fill.py`) fills each frame on its own, from a handful of candidates chosen for that
frame; the next frame's choice differs a little, and the difference is noise that the viewer
sees as flicker and the truth does not have. Once the neighbours are filled too, the filled
frames themselves say how the hole's content moves: DIS optical flow from filled frame t to
filled frame s (`reach` frames each way, at the motion's processing resolution) lines up what
the fill put there, a moving subject's limbs as well as the background. Each hole pixel of t is
then the weighted mean of its own value and of frame s's along that flow:
- s's plate where s saw that place (`seen_weight`), s's fill where it did not
  (`filled_weight`); nothing where s shows the foreground and t's pixel is not it
  (`foreground_of`: the actor given as in front is no view of the background behind him, in
  the plate or in s's fill that brought him back);
- over the distance in time to the power `distance_power`;
- times exp(-difference / `tolerance`), the difference from t's own value averaged over a
  `patch` px box: a flow that slipped brings something else and counts for little;
- within `bleed` processing px of the foreground given (at t or s), where the flow back from s
  does not return to the pixel (`consistency` processing px: the actor's motion bled into the
  still background beside him), the tolerance is `inconsistent_tolerance`: only what agrees
  closely with t's own value counts. Elsewhere the flows are not checked: on footage with no
  foreground given, the check left out more of the neighbours' fills than it kept out slips
  (-0.07 dB in the holes, docs/tuning.md, session 23).
`passes` such passes, each on the frames the one before made (with the first pass's flows),
reach `passes x reach` frames each way.

It is a stream: `settled` consumes the filled frames in order and yields each once the frames
`reach` after it have come (a pass holds 2 x reach + 1 frames), so memory is bounded by the
settings, not by the shot. Measured: docs/tuning.md, "Removal", sessions 21-23.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

import cv2
import numpy as np

from mattetrack.engines.classic.flow import dis_flow
from mattetrack.removal.fill import brightness_of, channel_mean, hole_box, unrung

Box = tuple[int, int, int, int]  # y0, y1, x0, x1


@dataclass(frozen=True)
class TemporalParams:
    reach: int = 3  # frames each way a pass looks at (0: off)
    passes: int = 3  # passes, each on the frames the one before made
    own_weight: float = 1.0  # a pixel's own filled value
    seen_weight: float = 2.0  # another frame's plate, where that frame saw the place
    filled_weight: float = 1.5  # another frame's fill, where it did not
    distance_power: float = 1.5  # weights over |s - t| to this power
    tolerance: float = 40.0 / 255.0  # plate units of disagreement at which a weight is 1/e
    patch: int = 5  # px: the box the disagreement is averaged over
    consistency: float = 2.0  # processing px: a flow back further off is inconsistent
    bleed: float = 16.0  # processing px from the foreground given within which it is checked
    inconsistent_tolerance: float = 4.0 / 255.0  # `tolerance` where it is
    # How s's pixels are sampled along the flow (bicubic: a bilinear sample is a blur, and
    # two passes average five each: +0.09 dB in the holes, docs/tuning.md).
    interpolation: int = cv2.INTER_CUBIC

    @property
    def span(self) -> int:
        """Frames each way a settled frame depends on."""
        return self.reach * self.passes if self.reach > 0 else 0


class Filled(Protocol):
    """A filled frame: `pixels` (H, W, 3) float32 plate values, `hole` (H, W) bool."""

    pixels: np.ndarray
    hole: np.ndarray


F = TypeVar("F", bound=Filled)


def settled(frames: Iterable[tuple[int, F]], scale: float,
            params: TemporalParams = TemporalParams(),
            foreground_of: Callable[[int], np.ndarray] | None = None
            ) -> Iterator[tuple[int, F]]:
    """(position, frame) of consecutive positions in, the same out, in order, each frame's
    hole settled (`dataclasses.replace` of its `pixels`). scale: processing px per plate px;
    foreground_of(s) -> (H, W) bool: what moves in front of the background at s."""
    stream: Iterable[tuple[int, F]] = frames
    if params.reach > 0:
        flows = _Flows(scale, params)
        for k in range(params.passes):
            stream = _one_pass(stream, flows, params, k == params.passes - 1, foreground_of)
    return iter(stream)


class _Flows:
    """DIS flows (processing px) from frame t to its neighbours over t's hole's box grown by
    MARGIN processing px, made from the first pass's frames and used by every pass (made again
    from each pass's own frames they scored the same, for twice the flows)."""

    # A quarter of the processing long side: DIS needs the context (32 px: -0.05 dB).
    MARGIN = 128

    def __init__(self, scale: float, params: TemporalParams) -> None:
        self.scale, self.params = scale, params
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._made: dict[tuple[int, int], tuple[np.ndarray, Box]] = {}
        self._greys: dict[int, np.ndarray] = {}
        self._boxes: dict[int, Box | None] = {}

    def box(self, t: int, hole: np.ndarray) -> Box | None:
        """Frame t's hole's box (plate px; `fill.hole_box`), None for no hole."""
        if t not in self._boxes:
            self._boxes[t] = hole_box(hole, 0)
        return self._boxes[t]

    def add(self, t: int, pixels: np.ndarray) -> None:
        """Frame t's grey, for the flows to and from it (from the first pass's frames)."""
        if t not in self._greys:
            self._greys[t] = _small_grey(pixels, self.scale)

    def between(self, t: int, s: int, box: Box, shape: tuple[int, int]
                ) -> tuple[np.ndarray, Box, float, float]:
        """(flow (h, w, 2) float32 from t to s over a crop, in processing px; the crop (y0, y1,
        x0, x1) in processing px; processing px per plate px down and across) for t's hole's
        `box` (plate px) in a frame of `shape` (H, W)."""
        grey = self._greys[t]
        fy, fx = grey.shape[0] / shape[0], grey.shape[1] / shape[1]
        if (t, s) not in self._made:
            y0, y1, x0, x1 = box
            m = self.MARGIN
            crop = (max(0, int(y0 * fy) - m), min(grey.shape[0], int(np.ceil(y1 * fy)) + m),
                    max(0, int(x0 * fx) - m), min(grey.shape[1], int(np.ceil(x1 * fx)) + m))
            a, b = (np.ascontiguousarray(g[crop[0]:crop[1], crop[2]:crop[3]])
                    for g in (grey, self._greys[s]))
            self._made[t, s] = (dis_flow(self._dis, a, b), crop)
        flow, crop = self._made[t, s]
        return flow, crop, fy, fx

    def done(self, t: int) -> None:
        """Frame t is settled by the last pass: the flows and greys no later frame needs go
        (the frames after it need the flows both ways within `reach` of themselves)."""
        for key in [k for k in self._made if min(k) <= t - self.params.reach]:
            del self._made[key]
        for old in [p for p in self._greys if p < t - 2 * self.params.reach]:
            del self._greys[old]
            self._boxes.pop(old, None)


def _one_pass(frames: Iterable[tuple[int, F]], flows: _Flows, params: TemporalParams,
              last: bool, foreground_of: Callable[[int], np.ndarray] | None
              ) -> Iterator[tuple[int, F]]:
    window: dict[int, F] = {}
    waiting: list[int] = []

    def settle(t: int) -> tuple[int, F]:
        out = t, _settle(t, window, flows, params, foreground_of)
        if last:
            flows.done(t)
        return out

    for t, frame in frames:
        if waiting and t != waiting[-1] + 1:
            raise ValueError(f"positions must be consecutive: {waiting[-1]} then {t}")
        window[t] = frame
        flows.add(t, frame.pixels)
        waiting.append(t)
        while waiting and waiting[0] + params.reach <= t:
            yield settle(waiting.pop(0))
            for old in [p for p in window if p < (waiting[0] if waiting else t) - params.reach]:
                del window[old]
    for p in waiting:
        yield settle(p)


def _small_grey(pixels: np.ndarray, scale: float) -> np.ndarray:
    """(h, w) uint8 for DIS: the brightness at the processing resolution, compressed as
    `fill.brightness_of` (x / (1 + x)) and doubled, so that a display-referred plate's 0-1
    takes the whole 8 bits."""
    h, w = pixels.shape[:2]
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    small = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA) if size != (w, h) else pixels
    return np.clip(brightness_of(small) * 510.0 + 0.5, 0.0, 255.0).astype(np.uint8)


def _settle(t: int, window: dict[int, F], flows: _Flows, params: TemporalParams,
            foreground_of: Callable[[int], np.ndarray] | None) -> F:
    """Frame t with its hole's pixels the weighted mean described above."""
    frame = window[t]
    box = flows.box(t, frame.hole)
    if box is None:
        return frame
    y0, y1, x0, x1 = box
    shape = frame.hole.shape
    own = frame.pixels[y0:y1, x0:x1].astype(np.float32)
    total = own * np.float32(params.own_weight)
    weights = np.full(own.shape[:2], params.own_weight, np.float32)
    xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32),
                         np.arange(y0, y1, dtype=np.float32))
    # t's own pixels that are not the foreground: what s shows of the foreground is no view of
    # them (where t's are the foreground too, s's view of it is what they show).
    background = None if foreground_of is None else ~foreground_of(t)[y0:y1, x0:x1]
    bleed = int(np.ceil(params.bleed / flows.scale))  # plate px
    near_t = (None if foreground_of is None or params.consistency <= 0
              else _near(foreground_of(t), box, bleed))
    for s in range(t - params.reach, t + params.reach + 1):
        if s == t or s not in window:
            continue
        other = window[s]
        moved, fy, fx = _flow_at(flows, t, s, box, shape, xs, ys)
        mx, my = xs + moved[..., 0] / fx, ys + moved[..., 1] / fy
        sample = _remapped(other.pixels, mx, my, params.interpolation)
        seen = _sampled(other.hole, mx, my, 1.0) < 0.01
        inside = (mx >= 0) & (mx <= shape[1] - 1) & (my >= 0) & (my <= shape[0] - 1)
        weight = np.where(seen, params.seen_weight, params.filled_weight) * inside
        if foreground_of is not None:
            weight[background & (_sampled(foreground_of(s), mx, my, 0.0) >= 0.01)] = 0.0
        weight = weight.astype(np.float32) / np.float32(abs(s - t) ** params.distance_power)
        tolerance = np.full(weight.shape, params.tolerance, np.float32)
        if near_t is not None:
            near = near_t | _near(foreground_of(s), box, bleed)
            if near.any():
                back, _, _ = _flow_at(flows, s, t, flows.box(s, other.hole) or box, shape,
                                      mx, my)
                apart = np.hypot(moved[..., 0] + back[..., 0], moved[..., 1] + back[..., 1])
                tolerance[near & (apart > params.consistency)] = params.inconsistent_tolerance
        # (numpy's mean over the channels was a sixth of the pass at 1080p)
        differ = cv2.blur(channel_mean(np.abs(sample - own)), (params.patch, params.patch))
        weight *= np.exp(-differ / tolerance)
        total += sample * weight[..., None]
        weights += weight
    in_box = frame.hole[y0:y1, x0:x1]
    pixels = frame.pixels.copy()
    region = pixels[y0:y1, x0:x1]
    region[in_box] = total[in_box] / weights[in_box][:, None]
    return replace(frame, pixels=pixels)


def _near(mask: np.ndarray, box: Box, distance: int) -> np.ndarray:
    """(h, w) bool over `box` (plate px) of the (H, W) bool `mask`: within `distance` plate px
    of it (a square's reach; made on the box grown by that much only)."""
    y0, y1, x0, x1 = box
    height, width = mask.shape
    g0, g1 = max(0, y0 - distance), min(height, y1 + distance)
    h0, h1 = max(0, x0 - distance), min(width, x1 + distance)
    grown = cv2.dilate(mask[g0:g1, h0:h1].astype(np.uint8),
                       np.ones((2 * distance + 1, 2 * distance + 1), np.uint8))
    return grown[y0 - g0:y1 - g0, x0 - h0:x1 - h0] > 0


def _flow_at(flows: _Flows, t: int, s: int, box: Box, shape: tuple[int, int],
             xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(the flow t -> s (processing px) at plate px (xs, ys) of frame t, processing px per
    plate px down and across); box: t's hole's (the flow's crop is made around it)."""
    flow, (cy0, _, cx0, _), fy, fx = flows.between(t, s, box, shape)
    # A small px's centre is at (u + 0.5) / f - 0.5 plate px, as INTER_AREA made the grey.
    return cv2.remap(flow, (xs + 0.5) * fx - 0.5 - cx0, (ys + 0.5) * fy - 0.5 - cy0,
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), fy, fx


def _remapped(pixels: np.ndarray, xs: np.ndarray, ys: np.ndarray, interpolation: int
              ) -> np.ndarray:
    """(h, w, 3) float32: the (H, W, 3) `pixels` at plate px (xs, ys) (the edge's values off
    the frame), made on the part the points fall on; a bicubic sample beside a highlight kept
    within the range of the 3x3 px around it (`fill.unrung`: no dark ring)."""
    height, width = pixels.shape[:2]
    x0, y0 = (int(np.clip(np.floor(np.nanmin(v)) - 3, 0, n - 1)) for v, n in ((xs, width),
                                                                             (ys, height)))
    x1, y1 = (int(np.clip(np.ceil(np.nanmax(v)) + 4, x + 1, n)) for v, n, x in
              ((xs, width, x0), (ys, height, y0)))
    crop = pixels[y0:y1, x0:x1].astype(np.float32, copy=False)
    cx, cy = xs - np.float32(x0), ys - np.float32(y0)

    def sampled(values: np.ndarray, how: int) -> np.ndarray:
        return cv2.remap(values, cx, cy, how, borderMode=cv2.BORDER_REPLICATE)

    out = sampled(crop, interpolation)
    if interpolation == cv2.INTER_CUBIC:
        out = unrung(out, crop, lambda bound: sampled(bound, cv2.INTER_LINEAR))
    return out


def _sampled(mask: np.ndarray, xs: np.ndarray, ys: np.ndarray, outside: float) -> np.ndarray:
    """(h, w) float32: the (H, W) bool `mask`'s share at plate px (xs, ys), `outside` off it.
    Only the part the points fall on is made float (a 1080p frame's whole mask: 8 MB a call)."""
    height, width = mask.shape
    x0, y0 = (int(np.clip(np.floor(np.nanmin(v)) - 1, 0, n)) for v, n in ((xs, width),
                                                                         (ys, height)))
    x1, y1 = (int(np.clip(np.ceil(np.nanmax(v)) + 2, 0, n)) for v, n in ((xs, width),
                                                                        (ys, height)))
    if x1 <= x0 or y1 <= y0:
        return np.full(xs.shape, outside, np.float32)
    return cv2.remap(mask[y0:y1, x0:x1].astype(np.float32), xs - np.float32(x0),
                     ys - np.float32(y0), cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=outside)
