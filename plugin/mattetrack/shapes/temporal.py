"""Shapes through a shot: pieces followed from frame to frame, one point count per shape.

1. Every frame's matte becomes pieces (outer boundary + holes, `contour.pieces`).
2. Pieces are followed through consecutive frames by overlap (a piece that overlaps none of the
   last frame's starts a new shape; one that is no longer found ends its shape; on a split the
   larger overlap continues the shape), and so are each piece's holes.
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

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np

from mattetrack.shapes.bezier import density_knots, fit_distances, knot_density, needed_count
from mattetrack.shapes.contour import pieces, resample, signed_area
from mattetrack.shapes.document import Shape, ShapeDocument, ShapeObject

# Allowed distance on thin parts, as a share of their half-thickness (see _allowed).
THIN_SHARE = 0.25
# Frames over which knot spacing is smoothed (Gaussian sigma; see _smooth_in_time).
TIME_SIGMA = 2.0


@dataclass
class ShapeParams:
    """The one tolerance that matters, and the knobs around it."""

    # Distance, px, within which a shape follows the matte's 0.5 iso-line (on 90% of the outline;
    # less on thin parts). DAVIS dev (all shapes and frames): 0.75 -> IoU 0.974 at 27 points per
    # shape; 0.5 -> 0.981 at 37.
    tolerance: float = 0.75
    # Pieces and holes smaller than this (square px) get no shape.
    min_area: float = 16.0
    # Outline sampling, px of arc length.
    spacing: float = 0.5
    # Points per shape at most.
    max_points: int = 256
    # A piece or hole missing for at most this many frames (a hole that closes for a frame, a
    # piece hidden behind a branch) keeps its shape when it comes back where it was, instead of
    # starting a new one. A gap in the input frames still ends every shape.
    bridge: int = 2


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
    def cost(phase: float) -> float:
        return float(((poly[density_knots(cum, count, phase)] - predicted) ** 2).sum())

    grid = np.arange(4 * count) / (4 * count)
    best = float(grid[np.argmin([cost(p) for p in grid])])
    fine = best + np.linspace(-1, 1, 9) / (4 * count)
    return float(fine[np.argmin([cost(p % 1.0) for p in fine])] % 1.0)


def _fit_track(track: _Track, params: ShapeParams) -> Shape:
    frames = sorted(track.polys)
    cums = {f: knot_density(track.polys[f], params.spacing) for f in frames}
    # One count for the whole shape: the median of what its frames need. The largest need is
    # often one frame's noise (a ragged edge, a blur), and the frames needing more than the
    # median still fit closely (DAVIS dev: IoU 0.974 at 27 points per shape on average, against
    # 0.976 at 40 with the largest).
    needs = [needed_count(track.polys[f], cums[f], track.allowed[f], params.max_points)
             for f in frames]
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
    return shape


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
        rel = np.floor(share * m).astype(int)
        for k in range(1, len(rel)):  # distinct and in order
            rel[k] = max(rel[k], rel[k - 1] + 1)
        rel = np.minimum(rel, m - len(rel) + np.arange(len(rel)))
        out.append((rel + knots[0]) % m)
    return out


def _allowed(hard: np.ndarray, poly: np.ndarray, tolerance: float) -> np.ndarray:
    """Allowed distance (n,) px at each point of `poly`: `tolerance`, but at most THIN_SHARE of
    the part's or the neighbouring gap's half-thickness there (its distance transform's peak),
    and at least 1/4 px."""
    # Far enough to see a part thick enough for the whole tolerance.
    radius = int(np.ceil(tolerance / THIN_SHARE)) + 1
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    inside = cv2.dilate(cv2.distanceTransform(hard.astype(np.uint8), cv2.DIST_L2, 3), kernel)
    outside = cv2.dilate(cv2.distanceTransform((~hard).astype(np.uint8), cv2.DIST_L2, 3), kernel)
    h, w = hard.shape
    xs = np.clip(poly[:, 0].astype(int), 0, w - 1)
    ys = np.clip(poly[:, 1].astype(int), 0, h - 1)
    thickness = np.minimum(inside[ys, xs], outside[ys, xs])
    return np.clip(THIN_SHARE * thickness, 0.25, tolerance)


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
        hard = np.asarray(matte) >= 0.5
        for piece in pieces(matte, params.min_area):
            lines = [resample(p, params.spacing) for p in (piece.outer, *piece.holes)]
            outlines = [(p, _allowed(hard, p, params.tolerance)) for p in lines]
            found.append((outlines[0], outlines[1:]))
    return found


def fit_outlines(per_object: Mapping[Hashable, list[tuple[int, FrameOutlines]]],
                 names: Mapping[Hashable, str], width: int, height: int,
                 params: ShapeParams | None = None) -> ShapeDocument:
    """Shapes from every frame's outlines ({object key: [(frame, outlines)] in ascending frame
    order}); objects in the order of `names`."""
    params = params or ShapeParams()
    doc = ShapeDocument(width, height)
    for key, name in names.items():
        obj = ShapeObject(name)
        for track in _follow_pieces(per_object.get(key, []), params.bridge):
            obj.shapes.append(_fit_track(track, params))
            obj.shapes.extend(_fit_track(h, params) for h in track.holes)
        doc.objects.append(obj)
    return doc


def shapes_from_mattes(
    frames: Iterable[tuple[int, Mapping[Hashable, np.ndarray]]],
    names: Mapping[Hashable, str],
    width: int,
    height: int,
    params: ShapeParams | None = None,
) -> ShapeDocument:
    """Fit shapes to a shot's mattes.

    frames: (frame, {object key: (height, width) float coverage}) in ascending frame order (a
    session's `propagate()` output, or mattes read from files); names: {object key: name}.
    Frames that are not consecutive end every shape (a piece is only followed from one frame to
    the next). Returns the document, objects in the order of `names`.
    """
    params = params or ShapeParams()
    per_object: dict[Hashable, list] = {k: [] for k in names}
    for frame, mattes in frames:
        for key in names:
            per_object[key].append((frame, frame_outlines(mattes.get(key), params)))
    return fit_outlines(per_object, names, width, height, params)


def shapes_from_session(session, frames=None, params: ShapeParams | None = None
                        ) -> ShapeDocument:
    """Propagate `session` (mattetrack.session.Session) over `frames` (default: the whole shot)
    and fit shapes to the results as they stream by; objects keep the session's names."""
    names = {o.id: o.name for o in session.objects}
    shot = session.shot
    return shapes_from_mattes(session.propagate(frames), names, shot.width, shot.height, params)
