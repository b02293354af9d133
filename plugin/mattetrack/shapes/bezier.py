"""Closed piecewise cubic Beziers fitted to a closed polyline.

A shape is a list of knots on the polyline; each segment between two knots is a cubic whose end
points are the knots and whose handles point along the polyline's own tangent there (so the
shape is smooth through every knot, G1, except at corners, where the incoming and outgoing
tangents are kept apart). Only the handle lengths are free: two unknowns per segment, solved by
linear least squares on the polyline's points with chord-length parameters refined by Newton
steps (Schneider, "An algorithm for automatically fitting digitized curves", Graphics Gems 1990).

Knots are spread by a smooth density along the outline (denser where it bends, `knot_density`),
so the same count on the next frame puts them in corresponding places; `needed_count` finds the
fewest knots that fit within the allowed distances. `fit_segment` is one segment in NumPy (the
reference); `fit_distances` fits all of a shape's segments at once in the native module.

Coordinates: (x, y) pixels, y down. A fitted frame of a shape is (n, 6) float64 rows
(x, y, lx, ly, rx, ry): knot, incoming handle, outgoing handle, all absolute (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import numpy as np

from mattetrack import _native

# A knot is a corner when its incoming and outgoing directions differ by more than this.
CORNER_DEGREES = 40.0
# Polyline points (at the contour spacing) on each side used for a knot's tangent.
TANGENT_WINDOW = 4


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def knot_tangents(poly: np.ndarray, knots: np.ndarray,
                  window: int = TANGENT_WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """(incoming, outgoing) unit directions (k, 2) at polyline indices `knots` of closed `poly`."""
    n = len(poly)
    w = max(1, min(window, n // 4))
    before = poly[(knots - w) % n]
    after = poly[(knots + w) % n]
    here = poly[knots]
    t_in, t_out = _unit(here - before), _unit(after - here)
    smooth = np.sum(t_in * t_out, axis=1) >= np.cos(np.radians(CORNER_DEGREES))
    both = _unit(after - before)
    t_in = np.where(smooth[:, None], both, t_in)
    t_out = np.where(smooth[:, None], both, t_out)
    return t_in, t_out


def _bernstein(u: np.ndarray) -> np.ndarray:
    v = 1.0 - u
    return np.stack([v**3, 3 * v * v * u, 3 * v * u * u, u**3], axis=1)


def _evaluate(ctrl: np.ndarray, u: np.ndarray) -> np.ndarray:
    return _bernstein(u) @ ctrl


def fit_segment(pts: np.ndarray, t0: np.ndarray, t3: np.ndarray,
                newton: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Cubic (4, 2) control points from pts[0] to pts[-1] leaving along t0 and arriving along t3
    (unit directions of travel), and each of `pts` (m, 2)'s distance from the curve at its
    parameter (px; at least the true distance)."""
    p0, p3 = pts[0], pts[-1]
    chord = float(np.linalg.norm(p3 - p0))
    d = np.hypot(*np.diff(pts, axis=0).T)
    total = float(d.sum())
    if len(pts) < 3 or total < 1e-9:
        ctrl = np.array([p0, p0 + t0 * chord / 3, p3 - t3 * chord / 3, p3])
        return ctrl, np.zeros(len(pts))
    u = np.concatenate([[0.0], np.cumsum(d)]) / total
    ctrl = _solve(pts, u, t0, t3, chord)
    for _ in range(newton):
        u = _reparameterise(ctrl, pts, u)
        ctrl = _solve(pts, u, t0, t3, chord)
    return ctrl, np.hypot(*(_evaluate(ctrl, u) - pts).T)


def _solve(pts: np.ndarray, u: np.ndarray, t0: np.ndarray, t3: np.ndarray,
           chord: float) -> np.ndarray:
    p0, p3 = pts[0], pts[-1]
    b = _bernstein(u)
    rhs = pts - np.outer(b[:, 0] + b[:, 1], p0) - np.outer(b[:, 2] + b[:, 3], p3)
    a = np.stack([(b[:, 1:2] * t0).ravel(), (-b[:, 2:3] * t3).ravel()], axis=1)
    sol, *_ = np.linalg.lstsq(a, rhs.ravel(), rcond=None)
    alpha, beta = float(sol[0]), float(sol[1])
    # Handles backwards or absurdly long mean the tangents cannot fit these points: fall back to
    # the classic third of the chord, which keeps the shape well-formed.
    if not (1e-6 * chord < alpha < 3 * chord) or not (1e-6 * chord < beta < 3 * chord):
        alpha = beta = chord / 3
    return np.array([p0, p0 + alpha * t0, p3 - beta * t3, p3])


def _reparameterise(ctrl: np.ndarray, pts: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One Newton step per point towards the curve parameter nearest to it."""
    v = 1.0 - u
    d1 = 3 * np.diff(ctrl, axis=0)  # (3, 2) derivative's control points
    d2 = 2 * np.diff(d1, axis=0)  # (2, 2)
    c = _evaluate(ctrl, u) - pts
    c1 = (v * v)[:, None] * d1[0] + (2 * v * u)[:, None] * d1[1] + (u * u)[:, None] * d1[2]
    c2 = v[:, None] * d2[0] + u[:, None] * d2[1]
    num = np.sum(c * c1, axis=1)
    den = np.sum(c1 * c1, axis=1) + np.sum(c * c2, axis=1)
    step = np.where(np.abs(den) > 1e-12, num / np.where(den == 0, 1, den), 0.0)
    out = np.clip(u - step, 0.0, 1.0)
    out[0], out[-1] = 0.0, 1.0
    return np.maximum.accumulate(out)  # parameters stay in order along the segment


def flatten(rows: np.ndarray, samples: int = 12) -> np.ndarray:
    """A closed shape frame (k, 6) as a polyline ((k * samples, 2)) for drawing or measuring."""
    k = len(rows)
    u = np.linspace(0.0, 1.0, samples, endpoint=False)
    b = _bernstein(u)
    out = []
    for i in range(k):
        j = (i + 1) % k
        ctrl = np.array([rows[i, :2], rows[i, 4:6], rows[j, 2:4], rows[j, :2]])
        out.append(b @ ctrl)
    return np.concatenate(out)


def knot_density(poly: np.ndarray, spacing: float, smooth_px: float = 3.0,
                 straight: float = 1.0 / 40.0) -> np.ndarray:
    """Cumulative knot density (n,) in [0, 1) along closed `poly` sampled every `spacing` px.

    Knots are spread in proportion to sqrt(|curvature| + straight): denser where the outline
    bends (a cubic's error grows with curvature over its length), never absent on straight runs.
    Curvature is smoothed over `smooth_px` so pixel noise in the outline does not move knots.
    """
    n = len(poly)
    w = max(1, int(round(smooth_px / spacing / 2)))
    idx = np.arange(n)
    a, b = poly[(idx - w) % n] - poly, poly[(idx + w) % n] - poly
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    dot = np.sum(a * b, axis=1)
    turn = np.pi - np.abs(np.arctan2(cross, dot))  # 0 on a straight run
    curvature = turn / (2 * w * spacing)
    k = max(1, int(round(smooth_px / spacing)))
    kernel = np.exp(-0.5 * (np.arange(-2 * k, 2 * k + 1) / k) ** 2)
    padded = np.concatenate([curvature[-2 * k:], curvature, curvature[: 2 * k]])
    curvature = np.convolve(padded, kernel / kernel.sum(), mode="valid")
    density = np.sqrt(curvature + straight)
    cum = np.concatenate([[0.0], np.cumsum(density)[:-1]])
    return cum / (cum[-1] + density[-1])


def density_knots(cum: np.ndarray, count: int, phase: float) -> np.ndarray:
    """`count` knot indices where the cumulative density crosses (k + phase) / count, k = 0..;
    knot 0 first (so knot k keeps its number from frame to frame), distinct, in cyclic order."""
    return density_knots_many(cum, count, np.array([phase]))[0]


def density_knots_many(cum: np.ndarray, count: int, phases: np.ndarray) -> np.ndarray:
    """`density_knots` for each of `phases` (p,): (p, count) knot indices."""
    n = len(cum)
    targets = (np.arange(count)[None, :] + phases[:, None]) / count % 1.0
    idx = np.searchsorted(cum, targets, side="left") % n
    return (distinct_in_order((idx - idx[:, :1]) % n, n) + idx[:, :1]) % n


def distinct_in_order(rel: np.ndarray, n: int) -> np.ndarray:
    """Offsets (..., count) from knot 0 along a closed polyline of n points made strictly
    increasing (each at least one past the one before: rel[k] = max(rel[k], rel[k-1] + 1), as a
    running maximum of rel[k] - k) and kept below n."""
    count = rel.shape[-1]
    steps = np.arange(count)
    rel = np.maximum.accumulate(rel - steps, axis=-1) + steps
    return np.minimum(rel, n - count + steps)


# A fit is good when this share of the outline's points lie within their allowed distance: the
# rest are pixel noise of the matte (fur, a jagged annotation) that an artist's shape smooths over.
WITHIN_SHARE = 0.9


def fit_distances(poly: np.ndarray, knots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((k, 6) rows, (n,) each polyline point's distance from its segment, px).

    `fit_segment` on every segment, in the native module in one call (the Python loop over
    segments was most of the fitting time; docs/tuning.md, "Roto shapes").
    """
    knots = np.asarray(knots, np.int64)
    t_in, t_out = knot_tangents(poly, knots)
    return _native.fit_bezier_segments(poly, knots, t_out, t_in)


def fits(poly: np.ndarray, knots: np.ndarray, allowed: np.ndarray) -> tuple[bool, np.ndarray]:
    """(whether WITHIN_SHARE of the points are within `allowed` (n,) px, the (k, 6) rows)."""
    rows, dist = fit_distances(poly, knots)
    return bool(np.mean(dist <= allowed) >= WITHIN_SHARE), rows


def needed_count(poly: np.ndarray, cum: np.ndarray, allowed: np.ndarray,
                 max_points: int = 256, guess: int | None = None) -> int:
    """The fewest density-placed knots (at least 4) that fit `poly` within `allowed` (n,) px.

    The search gallops out from `guess` (the count the same shape needed on the frame before:
    neighbouring frames need about the same, so two or three trial fits settle it instead of
    the eight to ten of a search from 4), then bisects.
    """
    def good(count: int) -> bool:
        return fits(poly, density_knots(cum, count, 0.0), allowed)[0]

    g = min(max(guess or 4, 4), max_points)
    step = 1
    if good(g):
        hi = g
        while True:  # downwards until a count fails
            if hi == 4:
                return 4
            c = max(hi - step, 4)
            if not good(c):
                lo = c + 1
                break
            hi, step = c, step * 2
    else:
        lo = g + 1
        while True:  # upwards until a count fits
            if lo > max_points:
                return max_points
            c = min(g + step, max_points)
            if good(c):
                hi = c
                break
            if c == max_points:
                return max_points
            lo, step = c + 1, step * 2
    while lo < hi:  # smallest count that fits in [lo, hi]
        mid = (lo + hi) // 2
        if good(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi
