"""The compositing arithmetic, in a linear working space, and the object's own colours in its
soft edge.

A plate pixel in the object's soft edge is I = a F + (1 - a) A: the object's colour F and the
old background A, mixed by the matte a. Putting the plate over a new background B as it is
(a I + (1 - a) B) keeps a (1 - a) A of the old background: a fringe of its colour. The object's
colour F is estimated instead where 0 < a < 1 (`object_colour`: pymatting's multilevel
foreground estimation, Germer et al. 2020), and the composite is a F + (1 - a) B.
"""

from __future__ import annotations

import numpy as np

# Matte values within this of 0 or 1 are taken as outside or inside: a 16-bit or half matte's
# last bits are not an edge.
SOLID = 1.0 / 1024.0
# Pixels around the soft edge given to the estimate: it carries colours into the edge from the
# object's solid pixels and the background's nearby (pymatting's own examples work on whole
# images; 24 px of context gave the same edge colours as the whole frame on the benchmark's
# plates, docs/tuning.md "Composite").
CONTEXT = 24
# pymatting's smoothness weight on the estimated colours, and its passes at the finer levels:
# fewer smoothing, more passes followed the object's colours into a motion-blurred edge best
# (tests/benchmarks/composite.py, docs/tuning.md "Composite": edge error 0.0122 with pymatting's
# defaults 1.0 / 2, 0.0105 with these, 15 -> 24 ms a 480p frame).
GRADIENT_WEIGHT = 0.3
BIG_ITERATIONS = 4


def soft_box(alpha: np.ndarray, margin: int = CONTEXT) -> tuple[slice, slice] | None:
    """[y, x] slices of the box around every soft pixel of `alpha` ((h, w) in [0, 1]), grown by
    `margin` and kept inside the image; None when the matte has no soft pixel."""
    soft = (alpha > SOLID) & (alpha < 1.0 - SOLID)
    rows = np.flatnonzero(soft.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(soft[rows[0]:rows[-1] + 1].any(axis=0))
    h, w = alpha.shape
    return (slice(max(0, rows[0] - margin), min(h, rows[-1] + margin + 1)),
            slice(max(0, cols[0] - margin), min(w, cols[-1] + margin + 1)))


def object_colour(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The object's own colour F: (h, w, 3) float32, `rgb` ((h, w, 3) linear float32) where the
    matte is solid, and the pymatting estimate (`estimate_foreground_ml`) in the soft edge.

    Only the box around the soft pixels is estimated (`soft_box`). Values are linear light and
    may exceed 1 (scene-linear highlights), which the estimate keeps; negative values (outside
    the working space's gamut) come out as 0 in the soft edge.
    """
    out = np.array(rgb, dtype=np.float32, copy=True)
    box = soft_box(alpha)
    if box is None:
        return out
    from pymatting import estimate_foreground_ml  # numba: compiled once, cached on disk

    a = np.clip(alpha[box], 0.0, 1.0).astype(np.float32)
    # pymatting clips its estimate to [0, 1]: a scene-linear crop is scaled into that range
    # and back (the estimate scales with the image).
    scale = max(1.0, float(out[box].max()))
    estimate = estimate_foreground_ml(out[box] / scale, a, gradient_weight=GRADIENT_WEIGHT,
                                      n_big_iterations=BIG_ITERATIONS) * scale
    soft = (a > SOLID) & (a < 1.0 - SOLID)
    out[box][soft] = estimate[soft]
    return out


def over(colour: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """colour over background by the matte: (h, w, 3) float32 a F + (1 - a) B."""
    a = np.clip(alpha, 0.0, 1.0)[:, :, None].astype(np.float32)
    return colour * a + background * (1.0 - a)


def premultiplied(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(h, w, 4) float32 RGBA: colour times the matte, and the matte."""
    a = np.clip(alpha, 0.0, 1.0).astype(np.float32)
    return np.concatenate([colour * a[:, :, None], a[:, :, None]], axis=2)
