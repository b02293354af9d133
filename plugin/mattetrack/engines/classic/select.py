"""Selection on one frame from an artist's prompts: mask, box and/or points -> coverage.

- A mask is the artist's word and is returned as coverage (clipped to [0, 1]).
- A box alone initialises GrabCut (Rother, Kolmogorov & Blake, 2004): outside is background, inside
  probably object (negative clicks: small definite background discs).
- Positive clicks (with or without a box, whose outside is then definite background): a graph cut
  on the pixel grid (graphcut.py) whose data terms combine
  * colour models (histograms) of object and background, alternated with the cut GrabCut-style,
    but seeded from what the clicks say: the object model from pixels geodesically close to
    positive clicks, the background model from pixels geodesically nearer a negative click or
    the frame border. (GrabCut seeded by clicks trains its background model on every
    unclicked pixel, the rest of the object included, and the cut collapses onto the clicks.)
  * a geodesic prior (Bai & Sapiro, 2007; Criminisi et al., 2008): a pixel reached more cheaply
    (across fewer and weaker edges) from a positive click than from a negative click or the frame
    border leans to the object, and the other way round, so a corrective click mostly acts on
    the region it lands in instead of flipping the whole cut.
  * hard constraints: small discs at clicks; the result keeps only components holding a positive
    click. The smoothness term is the contrast-sensitive Potts model (the cut follows edges).
- The hard result gets soft, edge-following coverage from the guided filter (refine.py), which also
  upsamples it from the bounded processing resolution to the plate's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mattetrack.engines.classic.geodesic import geodesic_distance
from mattetrack.engines.classic.graphcut import (
    HARD,
    colour_index,
    colour_model,
    contrast_weights,
    graph_cut,
    image_histogram,
)
from mattetrack.engines.classic.imaging import WorkImage, processing_size, resize_to
from mattetrack.engines.classic.refine import refine_edges
from mattetrack.prompts import FramePrompts


@dataclass
class SelectParams:
    """Tunables of selection; lengths are fractions of the processing long side.

    long_side / geo_long_side: processing resolution (px) of the click graph cut / of its
    geodesic distances; iterations: colour-model / cut alternations; gamma: smoothness weight
    (data costs are in nats); prior: weight (nats) of the geodesic prior; edge_cost: pixels of
    travel that crossing an edge of the image's mean contrast costs; seed_frac: geodesic radius of
    a click's neighbourhood that trains the object model; bg_floor: weight in later
    background models of background pixels nearer the positive clicks; disc_frac: radius of the
    definite discs at clicks. box_long_side / box_iterations: GrabCut's for box prompts.
    gf_radius_frac / gf_eps: the guided filter's radius (fraction) and eps.
    """

    long_side: int = 480
    geo_long_side: int = 256
    iterations: int = 2
    gamma: float = 20.0
    prior: float = 4.0
    edge_cost: float = 4.0
    seed_frac: float = 0.04
    bg_floor: float = 0.2
    disc_frac: float = 0.006
    box_long_side: int = 960
    box_iterations: int = 5
    gf_radius_frac: float = 1 / 200
    gf_eps: float = 1e-3


def _geodesic_terms(
    lab: np.ndarray,
    pos: np.ndarray,
    neg: np.ndarray,
    outside: np.ndarray | None,
    params: SelectParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Geodesic distances (h, w) float32 at the cut's resolution, in processing pixels.

    Returns (d_pos, d_neg, d_clicks): from the positive seeds, from the negative seeds and the
    frame border (the far field; outside the box instead when there is one), and from the
    negative seeds alone (None when there are none).
    Computed at geo_long_side and upsampled.
    """
    h, w = lab.shape[:2]
    gw, gh = processing_size(w, h, params.geo_long_side)
    scale = w / gw
    small = resize_to(lab, (gw, gh))
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    grad = np.sqrt(np.sum(gx * gx + gy * gy, -1))
    cost = 1.0 + params.edge_cost * grad / max(float(grad.mean()), 1e-6)

    def seeds(mask: np.ndarray) -> np.ndarray:
        return cv2.resize(mask.astype(np.uint8), (gw, gh), interpolation=cv2.INTER_NEAREST) > 0

    d_pos = geodesic_distance(cost, seeds(pos))
    neg_seeds = seeds(neg)
    d_clicks = geodesic_distance(cost, neg_seeds) if neg_seeds.any() else None
    if outside is None:
        neg_seeds[0, :] = neg_seeds[-1, :] = neg_seeds[:, 0] = neg_seeds[:, -1] = True
    else:
        neg_seeds |= seeds(outside)
    d_neg = geodesic_distance(cost, neg_seeds)

    def up(d: np.ndarray | None) -> np.ndarray | None:
        if d is None:
            return None
        return cv2.resize(np.minimum(d, 1e6), (w, h), interpolation=cv2.INTER_LINEAR) * scale

    return up(d_pos), up(d_neg), up(d_clicks)


def _discs(shape: tuple[int, int], points: list[tuple[int, int]], radius: int) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    for x, y in points:
        cv2.circle(out, (x, y), radius, 1, -1)
    return out > 0


def _keep_components(fg: np.ndarray, seeds: list[tuple[int, int]]) -> np.ndarray:
    """Components of fg (h, w) bool containing a seed (x, y); all of fg when none is hit."""
    n, labels = cv2.connectedComponents(fg.astype(np.uint8), connectivity=8)
    if n <= 2:
        return fg
    keep = np.zeros(n, bool)
    for x, y in seeds:
        keep[labels[y, x]] = True
    keep[0] = False
    return keep[labels] if keep.any() else fg


def _clicks(prompts: FramePrompts, sx: float, sy: float, w: int, h: int):
    """Positive and negative clicks as lists of (x, y) processing-resolution pixels."""
    clicks = [
        (min(int(px * sx), w - 1), min(int(py * sy), h - 1), int(label))
        for (px, py), label in zip(prompts.points, prompts.labels, strict=True)
    ]
    return [(x, y) for x, y, c in clicks if c == 1], [(x, y) for x, y, c in clicks if c != 1]


def _segment_clicks(work: WorkImage, positives: list[tuple[int, int]],
                    negatives: list[tuple[int, int]], outside: np.ndarray | None,
                    params: SelectParams) -> np.ndarray:
    """(h, w) bool hard selection at processing resolution from clicks (at least one positive).

    outside: (h, w) bool outside of a box (definite background, and the far field instead of the
    frame border), or None.
    """
    h, w = work.u8.shape[:2]
    long_side = max(w, h)
    lab = cv2.cvtColor(cv2.GaussianBlur(work.rgb, (0, 0), 0.7), cv2.COLOR_RGB2Lab)
    index = colour_index(cv2.GaussianBlur(work.u8, (0, 0), 0.7))
    prior_hist = image_histogram(index)
    disc = max(2, int(round(params.disc_frac * long_side)))
    pos = _discs((h, w), positives, disc)
    neg = _discs((h, w), negatives, disc)

    d_pos, d_neg, d_clicks = _geodesic_terms(lab, pos, neg, outside, params)
    # r = 0 on positive seeds, 1 on negative ones and the frame border, 0.5 where equally far.
    r = d_pos / np.maximum(d_pos + d_neg, 1e-6)
    near_pos = np.clip(1.0 - 2.0 * r, 0.0, 1.0)
    near_neg = np.clip(2.0 * r - 1.0, 0.0, 1.0)
    cost_fg_fixed = params.prior * near_neg
    cost_bg_fixed = params.prior * near_pos
    cost_fg_fixed[neg] = HARD
    cost_bg_fixed[pos] = HARD
    if outside is not None:
        cost_fg_fixed[outside] = HARD

    # Colour models, each an equal mixture of what the clicks' own geodesic neighbourhoods show
    # and of a region model: the object's first region is all that is nearer a positive click
    # than anything negative, the background's all that is nearer a negative click or the
    # border; then they alternate with the cut, GrabCut-style. Keeping the click neighbourhoods
    # a fixed half of each model makes a colour that both a positive and a negative click sit on
    # ambiguous (likelihood ratio near 1), so the geodesic prior decides there: the negative
    # click removes its region although that region has the object's colours.
    tau = params.seed_frac * long_side
    at_pos = np.exp(-d_pos / tau)
    at_neg = None if d_clicks is None else np.exp(-d_clicks / tau)

    def model(*weights: np.ndarray | None) -> np.ndarray:
        probs = [np.exp(colour_model(index, wt, prior_hist)) for wt in weights if wt is not None]
        return np.log(np.mean(probs, 0))

    w_fg, w_bg = near_pos, near_neg
    smooth = contrast_weights(lab)
    fg = None
    for _ in range(params.iterations):
        if fg is not None:
            w_fg = fg.astype(np.float32)
            w_bg = (~fg) * (params.bg_floor + near_neg)
        # Log likelihood ratio object : background of each pixel's colour.
        llr = (model(at_pos, w_fg) - model(at_neg, w_bg))[index]
        new = graph_cut(
            np.maximum(-llr, 0.0) + cost_fg_fixed,
            np.maximum(llr, 0.0) + cost_bg_fixed,
            smooth,
            params.gamma,
        )
        new = _keep_components(new, positives)
        if fg is not None and np.array_equal(new, fg):
            break
        fg = new
    return fg


def _box_outside(box, sx: float, sy: float, w: int, h: int) -> np.ndarray:
    """(h, w) bool: processing-resolution pixels outside the box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    bx0 = int(np.clip(np.floor(x0 * sx), 0, w - 1))
    by0 = int(np.clip(np.floor(y0 * sy), 0, h - 1))
    bx1 = int(np.clip(np.ceil(x1 * sx), bx0 + 1, w))
    by1 = int(np.clip(np.ceil(y1 * sy), by0 + 1, h))
    outside = np.ones((h, w), bool)
    outside[by0:by1, bx0:bx1] = False
    return outside


def _segment_box(work: WorkImage, outside: np.ndarray, negatives, params: SelectParams):
    """(h, w) bool GrabCut (Rother et al., 2004) from a box: outside is background, inside
    probably object, small discs at negative clicks definite background."""
    h, w = work.u8.shape[:2]
    gc = np.where(outside, cv2.GC_BGD, cv2.GC_PR_FGD).astype(np.uint8)
    disc = max(2, int(round(params.disc_frac * max(w, h))))
    for x, y in negatives:
        cv2.circle(gc, (x, y), disc, cv2.GC_BGD, -1)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(work.u8, cv2.COLOR_RGB2BGR)
    cv2.grabCut(bgr, gc, None, bgd, fgd, params.box_iterations, cv2.GC_INIT_WITH_MASK)
    fg = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    # GrabCut leaves stray specks of object colour: keep components >= 10% of the largest.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
    if n <= 2:
        return fg
    areas = stats[:, cv2.CC_STAT_AREA]
    keep = areas >= 0.1 * areas[1:].max()
    keep[0] = False
    return keep[labels]


def select_coverage(image: np.ndarray, prompts: FramePrompts, params: SelectParams) -> np.ndarray:
    """Coverage (H, W) float32 in [0, 1] of the prompted object.

    image: (H, W, 3) float32 display-referred RGB in [0, 1]; prompts in display-window pixels.
    """
    height, width = image.shape[:2]
    if prompts.mask is not None:
        return np.clip(np.nan_to_num(np.asarray(prompts.mask, np.float32)), 0.0, 1.0)
    if prompts.empty:
        return np.zeros((height, width), np.float32)
    positives = [p for p, label in zip(prompts.points, prompts.labels, strict=True) if label == 1]
    # A box alone is GrabCut's own initialisation, at its finer resolution; clicks (with or
    # without a box) go to the click graph cut.
    box_only = prompts.box is not None and not positives
    size = processing_size(width, height, params.box_long_side if box_only else params.long_side)
    work = WorkImage.from_image(image, size)
    w, h = size
    sx, sy = w / width, h / height
    positives, negatives = _clicks(prompts, sx, sy, w, h)
    outside = None if prompts.box is None else _box_outside(prompts.box, sx, sy, w, h)
    if box_only:
        fg = _segment_box(work, outside, negatives, params)
    elif positives:
        fg = _segment_clicks(work, positives, negatives, outside, params)
    else:
        # Only "not this": nothing is selected.
        return np.zeros((height, width), np.float32)
    radius = max(2, int(round(max(w, h) * params.gf_radius_frac)))
    full = None if size == (width, height) else np.clip(np.asarray(image, np.float32), 0, 1)
    return refine_edges(fg.astype(np.float32), work.rgb, radius, params.gf_eps, guide_full=full)
