"""Binary graph cut on the pixel grid (Boykov & Jolly, 2001) with histogram data terms.

The energy is the usual one of interactive segmentation: per-pixel data costs (the negative log
likelihood of the pixel's colour, or visual word, under object and background models, plus priors),
and a contrast-sensitive Potts smoothness term on the 8-connected grid, so the cut prefers to run
along image edges. It is minimised exactly with the Boykov-Kolmogorov max-flow (PyMaxflow).
"""

from __future__ import annotations

import maxflow
import numpy as np

from mattetrack.engines.classic.appearance import BITS

# The same colour quantisation as appearance.colour_index: 16 levels per RGB channel.
BINS = 1 << BITS
HARD = 1e9  # a data cost that no smoothness saving can pay for


def colour_model(index: np.ndarray, weights: np.ndarray, prior: np.ndarray | None = None):
    """(BINS**3,) float32 log probabilities of a weighted, smoothed colour histogram.

    index: (h, w) from appearance.colour_index; weights: (h, w) sample weights. The histogram is
    smoothed by a [1, 2, 1] kernel along each colour axis (neighbouring bins are similar colours)
    and mixed with 2% of `prior` (a histogram of the whole image) so that no colour is impossible.
    """
    hist = np.bincount(index.ravel(), weights.ravel(), BINS**3).reshape(BINS, BINS, BINS)
    for axis in range(3):
        pad = np.pad(hist, [(1, 1) if a == axis else (0, 0) for a in range(3)], mode="edge")
        sl = [slice(None)] * 3
        lo, mid, hi = list(sl), list(sl), list(sl)
        lo[axis], mid[axis], hi[axis] = slice(0, -2), slice(1, -1), slice(2, None)
        hist = 0.25 * pad[tuple(lo)] + 0.5 * pad[tuple(mid)] + 0.25 * pad[tuple(hi)]
    p = hist.ravel() / max(hist.sum(), 1e-9)
    if prior is not None:
        p = 0.98 * p + 0.02 * prior
    return np.log(np.maximum(p, 1e-8)).astype(np.float32)


def word_model(words: np.ndarray, weights: np.ndarray, n_words: int,
               prior: np.ndarray | None = None) -> np.ndarray:
    """(n_words,) float32 log probabilities of a weighted histogram of visual words.

    words: (h, w) int from patches.image_words; weights: (h, w). Words have no neighbourhood
    order to smooth along; mixing in 2% of `prior` (the image's own word histogram) keeps any
    word possible.
    """
    p = np.bincount(words.ravel(), weights.ravel(), n_words)
    p = p / max(p.sum(), 1e-9)
    if prior is not None:
        p = 0.98 * p + 0.02 * prior
    return np.log(np.maximum(p, 1e-8)).astype(np.float32)


def image_histogram(index: np.ndarray, n_bins: int = BINS**3) -> np.ndarray:
    """(n_bins,) float32 normalised histogram of all pixels' bins (colours by default)."""
    h = np.bincount(index.ravel(), minlength=n_bins).astype(np.float32)
    return h / max(h.sum(), 1.0)


def contrast_weights(lab: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Smoothness weights exp(-|dI|^2 / (2 <|dI|^2>)) / length for the 4 forward neighbours.

    lab: (h, w, 3) float32. Returns (structure (3, 3), weights (h, w)) pairs for add_grid_edges;
    the weight at a pixel is that of the edge to its neighbour (0 where it has none).
    """
    h, w = lab.shape[:2]
    offsets = [(0, 1, 1.0), (1, 0, 1.0), (1, 1, np.sqrt(2.0)), (1, -1, np.sqrt(2.0))]
    diffs = []
    for dy, dx, _ in offsets:
        # Pixel (y, x) and its neighbour (y + dy, x + dx), over the pixels that have one.
        xs = slice(max(-dx, 0), w - max(dx, 0))
        xn = slice(max(dx, 0), w - max(-dx, 0))
        d = np.zeros((h, w), np.float32)
        diff = lab[: h - dy, xs] - lab[dy:, xn]
        # Explicit channel sums: numpy's reduction over a length-3 last axis is slow.
        d[: h - dy, xs] = diff[..., 0] ** 2 + diff[..., 1] ** 2 + diff[..., 2] ** 2
        diffs.append(d)
    beta = 1.0 / (2.0 * max(float(np.mean(np.concatenate([x.ravel() for x in diffs]))), 1e-6))
    out = []
    for (dy, dx, length), d in zip(offsets, diffs, strict=True):
        wgt = np.exp(-beta * d) / length
        # No edge beyond the frame.
        if dy:
            wgt[-dy:, :] = 0
        if dx > 0:
            wgt[:, -dx:] = 0
        if dx < 0:
            wgt[:, :-dx] = 0
        structure = np.zeros((3, 3))
        structure[1 + dy, 1 + dx] = 1
        out.append((structure, wgt.astype(np.float32)))
    return out


def graph_cut(
    cost_fg: np.ndarray, cost_bg: np.ndarray, smooth: list[tuple[np.ndarray, np.ndarray]],
    gamma: float,
) -> np.ndarray:
    """(h, w) bool object mask minimising sum(data costs) + gamma * sum(cut smoothness weights).

    cost_fg / cost_bg: (h, w) float32 cost of labelling each pixel object / background.
    """
    g = maxflow.Graph[float]()
    nodes = g.add_grid_nodes(cost_fg.shape)
    for structure, wgt in smooth:
        g.add_grid_edges(nodes, weights=gamma * wgt, structure=structure, symmetric=True)
    # Source = object: a pixel left on the sink side pays its source capacity, cost_bg.
    m = np.minimum(cost_fg, cost_bg)
    g.add_grid_tedges(nodes, cost_bg - m, cost_fg - m)
    g.maxflow()
    return ~g.get_grid_segments(nodes)
