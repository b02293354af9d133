"""Geodesic distance (native raster scans) against Dijkstra on the same 8-connected grid."""

import heapq

import numpy as np
import pytest

from mattetrack.engines.classic.geodesic import geodesic_distance


def dijkstra(cost: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Exact shortest paths: a step costs the mean of its pixels' costs times its length."""
    h, w = cost.shape
    dist = np.full((h, w), np.inf)
    heap = [(0.0, int(y), int(x)) for y, x in np.argwhere(seeds)]
    for _, y, x in heap:
        dist[y, x] = 0.0
    heapq.heapify(heap)
    while heap:
        d, y, x = heapq.heappop(heap)
        if d > dist[y, x]:
            continue
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                ny, nx = y + dy, x + dx
                if (dy or dx) and 0 <= ny < h and 0 <= nx < w:
                    nd = d + np.hypot(dy, dx) * 0.5 * (cost[y, x] + cost[ny, nx])
                    if nd < dist[ny, nx]:
                        dist[ny, nx] = nd
                        heapq.heappush(heap, (nd, ny, nx))
    return dist


@pytest.mark.parametrize("shape", [(23, 31), (1, 17), (17, 1), (40, 9)])
def test_matches_dijkstra_on_random_costs(shape):
    rng = np.random.default_rng(sum(shape))
    cost = (rng.random(shape) * 10 + 0.05).astype(np.float32)  # walls and valleys
    seeds = np.zeros(shape, bool)
    seeds.flat[rng.choice(seeds.size, 2, replace=False)] = True
    got = geodesic_distance(cost, seeds, passes=6)
    want = dijkstra(cost.astype(np.float64), seeds)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    # The default two passes already settle paths that turn a few times: within 2%.
    assert np.all(geodesic_distance(cost, seeds) <= want * 1.02 + 1e-4)


def test_no_seed_is_everywhere_unreachable_and_bad_costs_are_refused():
    cost = np.ones((5, 6), np.float32)
    assert np.isinf(geodesic_distance(cost, np.zeros((5, 6), bool))).all()
    seeds = np.zeros((5, 6), bool)
    seeds[2, 3] = True
    for bad in (0.0, -1.0, np.nan, np.inf):
        c = cost.copy()
        c[0, 0] = bad
        with pytest.raises(ValueError, match="finite and > 0"):
            geodesic_distance(c, seeds)
    with pytest.raises(ValueError, match="one shape"):
        geodesic_distance(cost, seeds[:4])
