"""Shapes through a shot: pieces followed from frame to frame, one point count per shape.

1. Every frame's matte becomes pieces (outer boundary + holes, `contour.pieces`); pieces smaller
   than the smallest area (`ShapeParams.min_area`) are dropped and holes smaller than it filled.
2. Pieces are followed through consecutive frames by overlap (a piece that overlaps none of the
   last frame's starts a new shape; one that is no longer found ends its shape; on a split the
   larger overlap continues the shape), and so are each piece's holes.
   Flicker, the documented rule: a piece or hole that is gone for at most `bridge` frames and
   comes back where it was keeps its shape, which stays on the frames it was gone (points
   interpolated); one seen on fewer than `min_frames` frames that is under `flicker_share` of
   the object's area on each is dropped.
3. Knots are spread along each outline by a smooth density (denser where it bends,
   `bezier.knot_density`), so where they sit changes smoothly with the outline. Each shape gets
   one point count: the most that any of its frames needs to fit within the tolerance. From
   frame to frame only the phase of the knots along the outline is chosen, the one that puts
   them nearest to where the last frame's knots move with the outline (its centroid and scale),
   so point k on one frame is point k on the next and a host's interpolation between keys does
   not swim. Then the handles are fitted on each frame.

Allowed distance: the tolerance, but never more than a quarter of the local half-thickness of
the part or of the gap next to it (a 1-px kite line, the slit between two legs), so thin parts
keep their shape.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np

from mattetrack.framerange import consecutive_runs
from mattetrack.shapes.bezier import (
    density_knots,
    density_knots_many,
    distinct_in_order,
    fit_distances,
    knot_density,
    needed_count,
)
from mattetrack.shapes.contour import pieces, resample, signed_area
from mattetrack.shapes.document import Shape, ShapeDocument, ShapeObject

# Allowed distance on thin parts, as a share of their half-thickness (see _allowed).
THIN_SHARE = 0.25
# Default smallest piece or hole, as a share of the frame's area (see ShapeParams.min_area).
FRAME_SHARE = 1 / 6400
# Frames over which knot spacing is smoothed (Gaussian sigma; see _smooth_in_time).
TIME_SIGMA = 2.0


@dataclass
class ShapeParams:
    """The one tolerance that matters, and the knobs around it."""

    # Distance, px, within which a shape follows the matte's 0.5 iso-line (on 90% of the outline;
    # less on thin parts). DAVIS dev (all shapes and frames): 0.75 -> IoU 0.974 at 27 points per
    # shape; 0.5 -> 0.981 at 37.
    tolerance: float = 0.75
    # Pieces smaller than this (square px) get no shape and holes smaller than it are filled
    # (specks and pinholes). None: FRAME_SHARE of the frame's area, 64 px2 at 854x480 and 324 at
    # 1920x1080, so a plate's size does not change what counts as a speck (docs/tuning.md, "Roto
    # shapes": tracked dev shots, 3.15 -> 2.10 shapes per frame with the flicker rule below).
    min_area: float | None = None
    # Outline sampling, px of arc length.
    spacing: float = 0.5
    # Points per shape at most.
    max_points: int = 256
    # A piece or hole missing for at most this many frames (a hole that closes for a frame, a
    # piece hidden behind a branch) keeps its shape when it comes back where it was, instead of
    # starting a new one, and the shape is kept on the missing frames (its points interpolated
    # between the frames either side), so it does not blink. A gap in the input frames still
    # ends every shape.
    bridge: int = 2
    # A piece or hole seen on fewer frames than this that is small (under `flicker_share` of
    # the object's area on every frame it is seen) is matte noise flickering in and out: no
    # shape. A short-lived large piece (a hand crossing the frame edge) keeps its shape.
    min_frames: int = 3
    flicker_share: float = 0.01

    def area_limit(self, width: int, height: int) -> float:
        """`min_area` for a (width x height) frame, square px."""
        return self.min_area if self.min_area is not None else FRAME_SHARE * width * height


@dataclass
class _Track:
    hole: bool
    polys: dict[int, np.ndarray] = field(default_factory=dict)
    allowed: dict[int, np.ndarray] = field(default_factory=dict)  # px per polyline point
    holes: list[_Track] = field(default_factory=list)  # outer tracks only
    last: int = -1


def _box(poly: np.ndarray) -> tuple[int, int, int, int]:
    x0, y0 = np.floor(poly.min(axis=0)).astype(int)
    x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 1
    return int(x0), int(y0), int(x1), int(y1)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap (IoU) of the regions inside two closed polylines, at 1 px."""
    ax0, ay0, ax1, ay1 = _box(a)
    bx0, by0, bx1, by1 = _box(b)
    x0, y0, x1, y1 = min(ax0, bx0), min(ay0, by0), max(ax1, bx1), max(ay1, by1)
    if min(ax1, bx1) <= max(ax0, bx0) or min(ay1, by1) <= max(ay0, by0):
        return 0.0
    masks = []
    for poly in (a, b):
        m = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(m, [np.round((poly - [x0, y0]) * 16).astype(np.int32)], 1, shift=4)
        masks.append(m.astype(bool))
    union = np.count_nonzero(masks[0] | masks[1])
    return np.count_nonzero(masks[0] & masks[1]) / union if union else 0.0


def _assign(tracks: list[_Track], polys: list[np.ndarray], prev_frame: int,
            since: int | None = None) -> list[int | None]:
    """For each of `polys`, the index of the track it continues, or None: tracks alive on
    `prev_frame` or, when `since` is given, last seen on a frame from `since` on (bridging a
    short absence; a track seen more recently wins a tie)."""
    since = prev_frame if since is None else since
    alive = [i for i, t in enumerate(tracks) if since <= t.last <= prev_frame]
    pairs = []
    for i in alive:
        last = tracks[i].last
        for j, poly in enumerate(polys):
            score = _iou(tracks[i].polys[last], poly)
            if score > 0:
                pairs.append((score, last, i, j))
    out: list[int | None] = [None] * len(polys)
    used: set[int] = set()
    for _, _, i, j in sorted(pairs, reverse=True):
        if i not in used and out[j] is None:
            out[j] = i
            used.add(i)
    return out


_Outline = tuple[np.ndarray, np.ndarray]  # (n, 2) polyline and (n,) allowed distances, px


def _follow_pieces(frames: list[tuple[int, list[tuple[_Outline, list[_Outline]]]]],
                   bridge: int = 0) -> list[_Track]:
    tracks: list[_Track] = []
    prev = None
    start = 0  # first frame of the current run of consecutive input frames
    for frame, found in frames:
        if prev is not None and frame != prev + 1:
            prev = None  # a gap in the frames ends every shape
        if prev is None:
            start = frame
        since = max(start, frame - 1 - bridge)
        outers = [outer for (outer, _), _ in found]
        owner = _assign(tracks, outers, prev, since) if prev is not None else [None] * len(found)
        for ((outer, allowed), holes), index in zip(found, owner, strict=True):
            if index is None:
                tracks.append(_Track(hole=False))
                index = len(tracks) - 1
            track = tracks[index]
            track.polys[frame], track.allowed[frame], track.last = outer, allowed, frame
            polys = [h for h, _ in holes]
            hole_owner = (_assign(track.holes, polys, prev, since) if prev is not None
                          else [None] * len(holes))
            for (hole, hole_allowed), h_index in zip(holes, hole_owner, strict=True):
                if h_index is None:
                    track.holes.append(_Track(hole=True))
                    h_index = len(track.holes) - 1
                h_track = track.holes[h_index]
                h_track.polys[frame], h_track.allowed[frame] = hole, hole_allowed
                h_track.last = frame
        prev = frame
    return tracks


def _phase(poly: np.ndarray, cum: np.ndarray, count: int, predicted: np.ndarray) -> float:
    """The phase of `count` density-placed knots on `poly` that puts them nearest `predicted`
    (count, 2): a coarse search round the whole outline, then a finer one around the best."""
    def best(phases: np.ndarray) -> float:
        knots = density_knots_many(cum, count, phases)  # (p, count)
        cost = ((poly[knots] - predicted) ** 2).sum(axis=(1, 2))
        return float(phases[np.argmin(cost)])

    coarse = best(np.arange(4 * count) / (4 * count))
    return best((coarse + np.linspace(-1, 1, 9) / (4 * count)) % 1.0)


def _fit_track(track: _Track, params: ShapeParams) -> Shape:
    frames = sorted(track.polys)
    cums = {f: knot_density(track.polys[f], params.spacing) for f in frames}
    # One count for the whole shape: the median of what its frames need. The largest need is
    # often one frame's noise (a ragged edge, a blur), and the frames needing more than the
    # median still fit closely (DAVIS dev: IoU 0.974 at 27 points per shape on average, against
    # 0.976 at 40 with the largest).
    needs: list[int] = []
    for f in frames:
        needs.append(needed_count(track.polys[f], cums[f], track.allowed[f], params.max_points,
                                  needs[-1] if needs else None))
    count = int(np.ceil(np.median(needs)))
    placed = [density_knots(cums[frames[0]], count, 0.0)]
    for before, f in zip(frames, frames[1:], strict=False):
        poly, prev = track.polys[f], track.polys[before]
        scale = np.sqrt(abs(signed_area(poly)) / max(abs(signed_area(prev)), 1e-9))
        predicted = poly.mean(axis=0) + (prev[placed[-1]] - prev.mean(axis=0)) * scale
        placed.append(density_knots(cums[f], count, _phase(poly, cums[f], count, predicted)))
    placed = _smooth_in_time(placed, [len(track.polys[f]) for f in frames])
    shape = Shape(hole=track.hole)
    for f, knots in zip(frames, placed, strict=True):
        shape.frames[f] = fit_distances(track.polys[f], knots)[0]
    # Bridged absences (frames between two of the shape's, at most `bridge` of them: a gap in the
    # input frames ends a track) get the points in between.
    for a, b in zip(frames, frames[1:], strict=False):
        for f in range(a + 1, b):
            t = (f - a) / (b - a)
            shape.frames[f] = (1 - t) * shape.frames[a] + t * shape.frames[b]
    shape.frames = dict(sorted(shape.frames.items()))
    return shape


def _flickers(track: _Track, object_area: Mapping[int, float], run: Mapping[int, int],
              params: ShapeParams) -> bool:
    """Whether `track` is matte noise: seen on fewer than `min_frames` frames, fewer than the run
    of consecutive input frames it is in has (on a single frame, or frames shorter than the
    rule, nothing can be seen to come and go), and, on each, under `flicker_share` of the
    object's area."""
    seen = len(track.polys)
    if seen >= params.min_frames or seen >= run[min(track.polys)]:
        return False
    return all(abs(signed_area(poly)) < params.flicker_share * object_area[f]
               for f, poly in track.polys.items())


def _object_areas(frames: list[tuple[int, FrameOutlines]]) -> dict[int, float]:
    """{frame: the object's area, px (its outlines' pieces less their holes)}."""
    return {f: sum(abs(signed_area(outer)) - sum(abs(signed_area(h)) for h, _ in holes)
                   for (outer, _), holes in found)
            for f, found in frames}


def _smooth_in_time(placed: list[np.ndarray], sizes: list[int]) -> list[np.ndarray]:
    """Knots (one index array per consecutive frame) with their spacing along the outline
    smoothed over time: each knot's share of the outline after knot 0 is averaged over nearby
    frames (Gaussian, TIME_SIGMA frames), which removes the frame-to-frame jitter that outline
    noise gives the density, and keeps where knot 0 is."""
    if len(placed) < 3 or TIME_SIGMA <= 0:
        return placed
    shares = np.array([((k - k[0]) % m) / m for k, m in zip(placed, sizes, strict=True)])
    radius = int(np.ceil(2 * TIME_SIGMA))
    weights = np.exp(-0.5 * (np.arange(-radius, radius + 1) / TIME_SIGMA) ** 2)
    t = len(placed)
    smoothed = np.empty_like(shares)
    for i in range(t):
        lo, hi = max(0, i - radius), min(t, i + radius + 1)
        w = weights[lo - i + radius: hi - i + radius]
        smoothed[i] = (shares[lo:hi] * w[:, None]).sum(axis=0) / w.sum()
    out = []
    for knots, share, m in zip(placed, smoothed, sizes, strict=True):
        rel = distinct_in_order(np.floor(share * m).astype(int), m)
        out.append((rel + knots[0]) % m)
    return out


def _thickness(hard: np.ndarray, tolerance: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The local thickness map of a frame's hard matte (h, w) bool, px: at each pixel, the
    smaller of the nearby peaks of the distance transforms inside and outside (half the width
    of the part or of the gap next to it). Only the matte's box, grown by the reach, is
    computed; returns (map, (x0, y0) of its corner)."""
    # Far enough to see a part thick enough for the whole tolerance.
    radius = int(np.ceil(tolerance / THIN_SHARE)) + 1
    ys, xs = np.nonzero(hard)
    h, w = hard.shape
    # The outside distances near the outline need the matte's surroundings up to the reach.
    margin = 3 * radius
    y0, y1 = max(int(ys.min()) - margin, 0), min(int(ys.max()) + margin + 1, h)
    x0, x1 = max(int(xs.min()) - margin, 0), min(int(xs.max()) + margin + 1, w)
    crop = hard[y0:y1, x0:x1].astype(np.uint8)
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    inside = cv2.dilate(cv2.distanceTransform(crop, cv2.DIST_L2, 3), kernel)
    outside = cv2.dilate(cv2.distanceTransform(1 - crop, cv2.DIST_L2, 3), kernel)
    return np.minimum(inside, outside), (x0, y0)


def _allowed(thickness: tuple[np.ndarray, tuple[int, int]], poly: np.ndarray,
             tolerance: float) -> np.ndarray:
    """Allowed distance (n,) px at each point of `poly`: `tolerance`, but at most THIN_SHARE of
    the part's or the neighbouring gap's half-thickness there (`_thickness`), and at least
    1/4 px."""
    local, (x0, y0) = thickness
    h, w = local.shape
    xs = np.clip(poly[:, 0].astype(int) - x0, 0, w - 1)
    ys = np.clip(poly[:, 1].astype(int) - y0, 0, h - 1)
    return np.clip(THIN_SHARE * local[ys, xs], 0.25, tolerance)


# One outline of a piece: (points (n, 2) float along it, allowed distance (n,) px at each).
Outline = tuple[np.ndarray, np.ndarray]
# A frame's pieces of one object: (outer outline, [hole outlines]) each.
FrameOutlines = list[tuple[Outline, list[Outline]]]


def frame_outlines(matte: np.ndarray | None, params: ShapeParams | None = None) -> FrameOutlines:
    """The outlines `shapes_from_mattes` keeps of one frame's (height, width) coverage: all it
    needs of that frame (a farm task saves them, and the job's last step fits the shapes)."""
    params = params or ShapeParams()
    found: FrameOutlines = []
    if matte is not None:
        matte = np.asarray(matte)
        found_pieces = pieces(matte, params.area_limit(matte.shape[1], matte.shape[0]))
        if found_pieces:
            thickness = _thickness(matte >= 0.5, params.tolerance)
        for piece in found_pieces:
            lines = [resample(p, params.spacing) for p in (piece.outer, *piece.holes)]
            outlines = [(p, _allowed(thickness, p, params.tolerance)) for p in lines]
            found.append((outlines[0], outlines[1:]))
    return found


# progress(stage, done, total): "outlines" counts frames, "fitting" the frames of the shapes
# fitted so far (a shape on 40 frames is 40). It may raise to cancel.
Progress = Callable[[str, int, int], None]


def fit_outlines(per_object: Mapping[Hashable, list[tuple[int, FrameOutlines]]],
                 names: Mapping[Hashable, str], width: int, height: int,
                 params: ShapeParams | None = None,
                 progress: Progress | None = None) -> ShapeDocument:
    """Shapes from every frame's outlines ({object key: [(frame, outlines)] in ascending frame
    order}); objects in the order of `names`.

    Pieces and holes that flicker (`_flickers`) get no shape; absences of at most
    `params.bridge` frames are bridged (`_fit_track`).
    """
    params = params or ShapeParams()
    doc = ShapeDocument(width, height)
    kept: list[tuple[ShapeObject, list[_Track]]] = []
    for key, name in names.items():
        frames = per_object.get(key, [])
        areas = _object_areas(frames)
        run = {f: len(r) for r in consecutive_runs(f for f, _ in frames) for f in r}
        tracks = []
        for track in _follow_pieces(frames, params.bridge):
            if not _flickers(track, areas, run, params):
                tracks.append(track)
                tracks.extend(h for h in track.holes if not _flickers(h, areas, run, params))
        obj = ShapeObject(name)
        doc.objects.append(obj)
        kept.append((obj, tracks))
    total = sum(len(t.polys) for _, tracks in kept for t in tracks)
    done = 0
    for obj, tracks in kept:
        for track in tracks:
            obj.shapes.append(_fit_track(track, params))
            done += len(track.polys)
            if progress is not None:
                progress("fitting", done, total)
    return doc


def shapes_from_mattes(
    frames: Iterable[tuple[int, Mapping[Hashable, np.ndarray]]],
    names: Mapping[Hashable, str],
    width: int,
    height: int,
    params: ShapeParams | None = None,
    progress: Progress | None = None,
    count: int | None = None,
) -> ShapeDocument:
    """Fit shapes to a shot's mattes.

    frames: (frame, {object key: (height, width) float coverage}) in ascending frame order (a
    session's `propagate()` output, or mattes read from files); names: {object key: name};
    count: how many frames there are, for `progress` (0 when unknown).
    Frames that are not consecutive end every shape (a piece is only followed from one frame to
    the next). Returns the document, objects in the order of `names`.
    """
    params = params or ShapeParams()
    per_object: dict[Hashable, list] = {k: [] for k in names}
    for done, (frame, mattes) in enumerate(frames, 1):
        for key in names:
            per_object[key].append((frame, frame_outlines(mattes.get(key), params)))
        if progress is not None:
            progress("outlines", done, count or 0)
    return fit_outlines(per_object, names, width, height, params, progress)


def shapes_from_session(session, frames=None, params: ShapeParams | None = None
                        ) -> ShapeDocument:
    """Propagate `session` (mattetrack.session.Session) over `frames` (default: the whole shot)
    and fit shapes to the results as they stream by; objects keep the session's names."""
    names = {o.id: o.name for o in session.objects}
    shot = session.shot
    return shapes_from_mattes(session.propagate(frames), names, shot.width, shot.height, params)
