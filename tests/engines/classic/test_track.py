"""track.py's distances near the object: on the object's grown box, the same as over the frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mattetrack.engines.classic.track import _near_distances


def _full(inside: np.ndarray, anything: np.ndarray):
    m = inside.astype(np.uint8)
    return (cv2.distanceTransform(m, cv2.DIST_L2, 3),
            cv2.distanceTransform(1 - m, cv2.DIST_L2, 3),
            cv2.distanceTransform((~anything).astype(np.uint8), cv2.DIST_L2, 3))


@pytest.mark.parametrize("seed", range(6))
def test_the_same_distances_as_the_whole_frame_within_reach(seed: int) -> None:
    rng = np.random.default_rng(seed)
    h, w = 288, 512
    inside = np.zeros((h, w), np.uint8)
    # Blobs of any size, some touching the frame's edges, some with holes.
    for _ in range(rng.integers(1, 4)):
        cx, cy = int(rng.integers(-20, w + 20)), int(rng.integers(-20, h + 20))
        cv2.ellipse(inside, (cx, cy), (int(rng.integers(3, 90)), int(rng.integers(3, 60))),
                    float(rng.uniform(0, 180)), 0, 360, 1, -1)
    cv2.circle(inside, (w // 2, h // 2), int(rng.integers(2, 8)), 0, -1)
    inside = inside > 0
    if not inside.any():
        inside[h // 2, w // 2] = True
    anything = inside | (np.roll(inside, int(rng.integers(1, 15)), axis=1))
    reach = float(rng.uniform(2, 30))
    got = _near_distances(inside, anything, reach)
    want = _full(inside, anything)
    # Where a comparison against reach (or less) is made, the answers are the same; the values
    # within reach to a float's last bit (OpenCV's vector loop ends elsewhere on a narrower row).
    for g, x in zip(got, want, strict=True):
        for limit in [v for v in (reach / 2, reach, 4.0, 8.0) if v <= reach]:
            np.testing.assert_array_equal(g <= limit, x <= limit)
        close = x <= reach
        np.testing.assert_allclose(g[close], x[close], rtol=1e-6, atol=0)
