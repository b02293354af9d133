"""Geodesic distance on an image: the cheapest path from seed pixels, where crossing edges costs.

Raster scans (Toivanen, 1996) over rows, each row updated from its neighbour row and then swept
along itself with a running minimum (d[x] = C[x] + min over k <= x of (d[k] - C[k]), C the
cumulative step cost), so the only Python loop is over rows; four sweeps (down, up, and the same on
the transposed image) are repeated until paths that turn several times have settled.
"""

from __future__ import annotations

import numpy as np

SQRT2 = float(np.sqrt(2.0))


def _sweep_rows(d: np.ndarray, cost: np.ndarray, reverse: bool) -> None:
    """One top-to-bottom (or bottom-to-top) sweep over rows of d (h, w), in place."""
    h = d.shape[0]
    rows = range(h - 2, -1, -1) if reverse else range(1, h)
    step = 1 if not reverse else -1
    # Horizontal step costs between x-1 and x, the mean of the two pixels' costs.
    hstep = 0.5 * (cost[:, 1:] + cost[:, :-1])
    hcum = np.concatenate([np.zeros((h, 1), d.dtype), np.cumsum(hstep, 1)], 1)
    hcum_r = hcum[:, -1:] - hcum
    for y in rows:
        prev, cur = d[y - step], d[y]
        c = cost[y]
        cp = cost[y - step]
        vert = prev + 0.5 * (c + cp)
        np.minimum(cur, vert, out=cur)
        diag_cost = SQRT2 * 0.5 * (c[1:] + cp[:-1])
        np.minimum(cur[1:], prev[:-1] + diag_cost, out=cur[1:])
        diag_cost = SQRT2 * 0.5 * (c[:-1] + cp[1:])
        np.minimum(cur[:-1], prev[1:] + diag_cost, out=cur[:-1])
        # Left to right, then right to left, along the row.
        cum = hcum[y]
        np.minimum(cur, np.minimum.accumulate(cur - cum) + cum, out=cur)
        cum = hcum_r[y]
        np.minimum(cur, np.minimum.accumulate((cur - cum)[::-1])[::-1] + cum, out=cur)


def geodesic_distance(cost: np.ndarray, seeds: np.ndarray, passes: int = 2) -> np.ndarray:
    """(h, w) float32 geodesic distance from the True pixels of seeds (h, w) bool.

    cost: (h, w) float32 > 0, the price of travelling one pixel through each pixel (a step
    between two pixels costs the mean of their costs times the step length). inf where no seed.
    """
    cost = np.ascontiguousarray(cost, np.float32)
    d = np.where(seeds, 0.0, np.inf).astype(np.float32)
    if not seeds.any():
        return d
    # Row sweeps first along the image, then along its transpose (as a contiguous copy).
    for _ in range(passes):
        _sweep_rows(d, cost, False)
        _sweep_rows(d, cost, True)
        dt, ct = np.ascontiguousarray(d.T), np.ascontiguousarray(cost.T)
        _sweep_rows(dt, ct, False)
        _sweep_rows(dt, ct, True)
        d = np.ascontiguousarray(dt.T)
    return d
