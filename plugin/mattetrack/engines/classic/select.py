"""Selection on one frame from an artist's prompts: mask, box and/or points -> coverage.

- A mask is the artist's word and is returned as coverage (clipped to [0, 1]).
- A box alone initialises GrabCut (Rother, Kolmogorov & Blake, 2004): outside is background, inside
  probably object (negative clicks: small definite background discs).
- Positive clicks (with or without a box, whose outside is then definite background): a graph cut
  on the pixel grid (graphcut.py) whose data terms combine
  * colour models (histograms) of object and background, and the same over visual words of
    local patch descriptors (patches.py: texture tells apart what colour cannot), alternated
    with the cut
    GrabCut-style, but seeded from what the clicks say: the object model from pixels
    geodesically close to positive clicks, the background model from pixels geodesically nearer
    a negative click or the frame border. (GrabCut seeded by clicks trains its background
    model on every unclicked pixel, the rest of the object included, and the cut collapses
    onto the clicks.)
  * a geodesic prior (Bai & Sapiro, 2007; Criminisi et al., 2008): a pixel reached more cheaply
    (across fewer and weaker edges) from a positive click than from a negative click or the frame
    border leans to the object, and the other way round, so a corrective click mostly acts on
    the region it lands in instead of flipping the whole cut.
  * hard constraints: small discs at clicks; the result keeps only components holding a positive
    click. The smoothness term is the contrast-sensitive Potts model (the cut follows edges).
  Optionally (params.first_limit), the first positive click also tries a bounded-reach
  hypothesis (the object at most first_limit of the frame from the click) and keeps it when
  image edges support its outline clearly better: a small object on a large uniform surface (a
  car on a track) otherwise takes the surface too. Every later click is a local correction of
  the selection before it: the cut also pays for changing labels farther from the click than
  the error it corrects is large, so a click fixes its own region and does not swing the whole
  cut (_segment_clicks).
  Selections after each click prefix are memoised (SelectCache, one per engine), so adding a
  click costs one cut, not one per click.
- The hard result gets soft, edge-following coverage from the guided filter (refine.py), which also
  upsamples it from the bounded processing resolution to the plate's.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from mattetrack.engines.classic.appearance import colour_index
from mattetrack.engines.classic.geodesic import geodesic_distance
from mattetrack.engines.classic.graphcut import (
    HARD,
    colour_model,
    contrast_weights,
    graph_cut,
    image_histogram,
    word_model,
)
from mattetrack.engines.classic.imaging import WorkImage, processing_size, resize_to
from mattetrack.engines.classic.motion import motion_edges, residual_motion
from mattetrack.engines.classic.patches import PatchParams, image_words
from mattetrack.engines.classic.refine import refine_edges
from mattetrack.lru import LRUCache
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
    local_corrections: clicks after the first are local corrections (_segment_clicks); reach:
    how far (in units of the correction's own size) a click changes labels freely before the
    anchor (nats) on previous labels sets in; first_limit (fraction of the long side; 0: off) /
    first_ratio: the first click's bounded-reach hypothesis and how much better its outline
    must be supported by edges to win (off by default). texture: data terms average the colour
    models' log likelihood ratio with that of visual-word models. motion_edges: with the
    neighbouring frames given, crossing an edge of the motion relative to the camera (mean 1)
    costs the geodesic distances this many times an edge of mean image contrast (0: off).
    correction_edge: a correction click also tries the reading "the error ends at the nearest
    strong image edge" (Lab gradient over this many times the mean; 0: off), its change held
    within hard_reach times its reach, and keeps it when image edges support its new outline
    better than the free reading's.
    start_from_base: a positive correction's colour models start from the matte it corrects
    (what it left out stays background unless it looks like the click's region; a negative
    click's start from the split between the clicks, as its region has the object's colours).
    patches: the image's visual
    words (`words`; learned from 2 x `samples` pixels). gf_radius_frac / gf_eps: the guided
    filter's radius (fraction) and eps. Why these defaults: docs/tuning.md, "Classic engine:
    selection".
    """

    long_side: int = 480
    geo_long_side: int = 256
    iterations: int = 2
    gamma: float = 20.0
    prior: float = 4.0
    edge_cost: float = 4.0
    seed_frac: float = 0.02
    bg_floor: float = 0.2
    disc_frac: float = 0.006
    box_long_side: int = 960
    box_iterations: int = 5
    local_corrections: bool = True
    reach: float = 1.0
    anchor: float = 3.0
    first_limit: float = 0.0
    first_ratio: float = 0.8
    texture: bool = True
    motion_edges: float = 1.0
    correction_edge: float = 2.0
    hard_reach: float = 4.0
    start_from_base: bool = True
    patches: PatchParams = field(default_factory=PatchParams)
    gf_radius_frac: float = 1 / 200
    gf_eps: float = 1e-3


def _geo_cost(lab: np.ndarray, params: SelectParams,
              edges: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Travel cost (gh, gw) of the geodesic distances and the processing px per geodesic px.
    edges: (h, w) motion edges (mean 1) that also cost `params.motion_edges` each, or None."""
    h, w = lab.shape[:2]
    gw, gh = processing_size(w, h, params.geo_long_side)
    grad = _lab_gradient(resize_to(lab, (gw, gh)))
    cost = 1.0 + params.edge_cost * grad / max(float(grad.mean()), 1e-6)
    if edges is not None and params.motion_edges:
        cost += params.edge_cost * params.motion_edges * resize_to(edges, (gw, gh))
    return cost, w / gw


def _geodesic_terms(
    lab: np.ndarray,
    pos: np.ndarray,
    neg: np.ndarray,
    outside: np.ndarray | None,
    params: SelectParams,
    limit: float | None = None,
    edges: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Geodesic distances (h, w) float32 at the cut's resolution, in processing pixels.

    Returns (d_pos, d_neg, d_clicks): from the positive seeds, from the negative seeds and the
    frame border (the far field; outside the box instead when there is one), and from the
    negative seeds alone (None when there are none). limit: when given, pixels farther than this
    (processing px, geodesically) from every positive seed count as far field too.
    Computed at geo_long_side and upsampled.
    """
    h, w = lab.shape[:2]
    cost, scale = _geo_cost(lab, params, edges)
    gh, gw = cost.shape

    def seeds(mask: np.ndarray) -> np.ndarray:
        return cv2.resize(mask.astype(np.uint8), (gw, gh), interpolation=cv2.INTER_NEAREST) > 0

    d_pos = geodesic_distance(cost, seeds(pos))
    neg_seeds = seeds(neg)
    d_clicks = geodesic_distance(cost, neg_seeds) if neg_seeds.any() else None
    if outside is None:
        neg_seeds[0, :] = neg_seeds[-1, :] = neg_seeds[:, 0] = neg_seeds[:, -1] = True
    else:
        neg_seeds |= seeds(outside)
    if limit is not None:
        neg_seeds |= d_pos * scale > limit
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


def _clicks(prompts: FramePrompts, sx: float, sy: float, w: int, h: int) -> list[Click]:
    """Clicks, then the points of each stroke, as (x, y, label, group) processing-resolution
    pixels, 1 = positive. A stroke's points are about a click disc apart (each is a definite
    disc, so together they paint the line) and share a group."""
    out = [(min(int(px * sx), w - 1), min(int(py * sy), h - 1), int(label), i)
           for i, ((px, py), label) in enumerate(zip(prompts.points, prompts.labels,
                                                     strict=True))]
    for j, stroke in enumerate(prompts.strokes, start=len(out)):
        spacing = max(stroke.width * 0.5 * sx, 2.0)
        for px, py in stroke.samples(spacing / max(sx, 1e-9)):
            out.append((min(int(px * sx), w - 1), min(int(py * sy), h - 1),
                        1 if stroke.positive else 0, j))
    return out


def _cut_clicks(work: WorkImage, positives: list[tuple[int, int]],
                negatives: list[tuple[int, int]], outside: np.ndarray | None,
                params: SelectParams, anchor: tuple[np.ndarray, np.ndarray] | None = None,
                limit: float | None = None, words: np.ndarray | None = None,
                motion: np.ndarray | None = None,
                seeds: list[tuple[int, int]] | None = None,
                start: np.ndarray | None = None) -> np.ndarray:
    """(h, w) bool hard selection at processing resolution from clicks (at least one positive).

    outside: (h, w) bool outside of a box (definite background, and the far field instead of the
    frame border), or None. anchor: extra (cost_fg, cost_bg) data costs (h, w), or None;
    limit: see _geodesic_terms; words: (h, w) visual words of the image (patches.image_words),
    or None for colour models only; motion: (h, w) edges of the motion relative to the camera
    (motion.motion_edges), or None on a still or without neighbouring frames.
    """
    h, w = work.u8.shape[:2]
    long_side = max(w, h)
    lab = cv2.cvtColor(cv2.GaussianBlur(work.rgb, (0, 0), 0.7), cv2.COLOR_RGB2Lab)
    index = colour_index(cv2.GaussianBlur(work.u8, (0, 0), 0.7))
    prior_hist = image_histogram(index)
    disc = max(2, int(round(params.disc_frac * long_side)))
    pos = _discs((h, w), positives, disc)
    neg = _discs((h, w), negatives, disc)
    near = pos if seeds is None else _discs((h, w), seeds, disc)

    d_pos, d_neg, d_clicks = _geodesic_terms(lab, near, neg, outside, params, limit, motion)
    # r = 0 on positive seeds, 1 on negative ones and the frame border, 0.5 where equally far.
    r = d_pos / np.maximum(d_pos + d_neg, 1e-6)
    near_pos = np.clip(1.0 - 2.0 * r, 0.0, 1.0)
    near_neg = np.clip(2.0 * r - 1.0, 0.0, 1.0)
    cost_fg_fixed = params.prior * near_neg
    cost_bg_fixed = params.prior * near_pos
    cost_fg_fixed[neg] = HARD
    cost_bg_fixed[pos] = HARD
    if anchor is not None:
        cost_fg_fixed += anchor[0]
        cost_bg_fixed += anchor[1]
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

    def mixture(log_model, *weights: np.ndarray | None) -> np.ndarray:
        """Log of the equal mixture of the models learned from each of `weights` (None: none)."""
        return np.log(np.mean([np.exp(log_model(wt)) for wt in weights if wt is not None], 0))

    def colours(wt: np.ndarray) -> np.ndarray:
        return colour_model(index, wt, prior_hist)

    if words is not None:
        n_words = int(words.max()) + 1
        prior_words = image_histogram(words, n_words)

        def looks(wt: np.ndarray) -> np.ndarray:
            return word_model(words, wt, n_words, prior_words)


    w_fg, w_bg = near_pos, near_neg
    smooth = contrast_weights(lab)
    # A correction's region models start from the matte it corrects (what it holds and what
    # it leaves out are the artist's word everywhere but where they clicked).
    fg = start
    for _ in range(params.iterations):
        if fg is not None:
            w_fg = fg.astype(np.float32)
            w_bg = (~fg) * (params.bg_floor + near_neg)
        # Log likelihood ratio object : background of each pixel's colour.
        llr = (mixture(colours, at_pos, w_fg) - mixture(colours, at_neg, w_bg))[index]
        if words is not None:
            llr_words = mixture(looks, at_pos, w_fg) - mixture(looks, at_neg, w_bg)
            llr = 0.5 * (llr + llr_words[words])
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



def _click_distance(cost: np.ndarray, scale: float, clicks: list[tuple[int, int]],
                    shape: tuple[int, int]) -> np.ndarray:
    """(h, w) float32 geodesic distance (processing px) from clicks (x, y) (one click, or the
    points of a stroke) at the cut's resolution `shape`; cost at the geodesic one, whose pixels
    are `scale` processing px."""
    h, w = shape
    gh, gw = cost.shape
    seeds = np.zeros((gh, gw), bool)
    for x, y in clicks:
        seeds[min(int(y / scale), gh - 1), min(int(x / scale), gw - 1)] = True
    d = np.minimum(geodesic_distance(cost, seeds), 1e6) * scale
    return cv2.resize(d, (w, h), interpolation=cv2.INTER_LINEAR)


def _edge_weakness(fg: np.ndarray, smooth: list[tuple[np.ndarray, np.ndarray]],
                   before: np.ndarray | None = None) -> float:
    """Mean contrast weight (graphcut.contrast_weights: 1 on flat colour, ~0 across a strong
    edge) over the neighbour pairs that the selection fg (h, w) bool cuts: how weakly its
    outline is supported by image edges. before: (h, w) bool, to count only the pairs with a
    pixel whose label changed from it (the outline a correction drew). 1.0 when nothing is
    cut."""
    changed = None if before is None else fg != before
    total, count = 0.0, 0
    for structure, wgt in smooth:
        dy, dx = (int(v) - 1 for v in np.argwhere(structure)[0])
        shifted = np.roll(fg, (-dy, -dx), (0, 1))
        cut = (fg != shifted) & (wgt > 0)
        if changed is not None:
            cut &= changed | np.roll(changed, (-dy, -dx), (0, 1))
        total += float(wgt[cut].sum())
        count += int(np.count_nonzero(cut))
    return total / count if count else 1.0


State = tuple[np.ndarray, "float | None"]
# (x, y, label, group) at processing resolution: label 1 = positive; the points of one stroke
# share a group (they act as one step), every click has its own.
Click = tuple[int, int, int, int]


def _segment_clicks(work: WorkImage, clicks: list[Click],
                    outside: np.ndarray | None, params: SelectParams,
                    start: State | None = None, done: int = 0,
                    words: np.ndarray | None = None,
                    motion: np.ndarray | None = None) -> list[State]:
    """Hard selections (h, w) bool after each click from the first positive one on.

    clicks: (x, y, label, group) in the order given. The first positive click (with any negatives
    before it) gets a whole graph cut; with params.first_limit set and no box, two: one as it
    is, and one whose object may reach at most first_limit of the long side (geodesically) from
    the click, the rest counting as far field (background evidence); the smaller one is kept when
    image edges support its outline clearly better (mean contrast weight along it below
    params.first_ratio times the other's), which is what a small object amid a large uniform
    surface looks like. That limit then holds for later cuts.
    Every later click is a correction that acts locally: the graph cut with all clicks so far
    also pays params.anchor nats for changing a pixel's previous label, ramping in from
    params.reach times the correction's size (the click sits in the middle of the error it
    corrects, so that size is its geodesic distance to the nearest pixel it does not agree
    with) to twice that, geodesically from the click. So a click changes mostly the region it
    lands in, and cannot swing the whole cut away from what earlier clicks got right.
    start / done: the state (selection, limit) after the first `done` clicks (a cache hit, or
    a matte being corrected after its virtual clicks: _base_clicks); words: the image's visual
    words or None (see _cut_clicks); motion: see _cut_clicks.
    A stroke (clicks of one group) is one step, taken at its last point (its other points get
    None states).
    Returns the states after clicks done + 1 ... len(clicks) (from the first positive on).
    """
    h, w = work.u8.shape[:2]
    disc = max(2, int(round(params.disc_frac * max(w, h))))
    first = next((i for i, c in enumerate(clicks) if c[2] == 1), 0)
    out: list[State] = []
    fg, limit = (None, None) if start is None else start
    lab = cv2.cvtColor(cv2.GaussianBlur(work.rgb, (0, 0), 0.7), cv2.COLOR_RGB2Lab)
    cost = scale = None
    edge_room: np.ndarray | None = None
    smooth: list[tuple[np.ndarray, np.ndarray]] = []
    for k in range(first if start is None else done, len(clicks)):
        if k + 1 < len(clicks) and clicks[k + 1][3] == clicks[k][3]:
            out.append(None)  # inside a stroke: the stroke acts as one step, at its end
            continue
        group = [c for c in clicks[: k + 1] if c[3] == clicks[k][3]]
        pos = [(x, y) for x, y, c, _ in clicks[: k + 1] if c == 1]
        neg = [(x, y) for x, y, c, _ in clicks[: k + 1] if c != 1]
        if fg is None:
            seeds = _representatives(clicks[: k + 1])
            fg = _cut_clicks(work, pos, neg, outside, params, words=words, motion=motion,
                             seeds=seeds)
            if outside is None and params.first_limit:
                small_limit = params.first_limit * max(w, h)
                small = _cut_clicks(work, pos, neg, outside, params, limit=small_limit,
                                    words=words, motion=motion)
                smooth = contrast_weights(lab)
                if _edge_weakness(small, smooth) < params.first_ratio * _edge_weakness(fg, smooth):
                    fg, limit = small, small_limit
        elif not params.local_corrections:
            fg = _cut_clicks(work, pos, neg, outside, params, limit=limit, words=words,
                             motion=motion)
        else:
            label = clicks[k][2]
            if cost is None:
                cost, scale = _geo_cost(lab, params)
            d_c = _click_distance(cost, scale, [(x, y) for x, y, _, _ in group], (h, w))
            wrong = fg if label == 1 else ~fg
            size = float(d_c[wrong].min()) if wrong.any() else float(max(w, h))
            fg_before = fg
            fg = _local_cut(work, pos, neg, outside, params, fg_before, d_c, size, disc, limit,
                            words, motion, label == 1)
            if params.correction_edge:
                if edge_room is None:
                    edge_room = _edge_room(lab, params.correction_edge)
                    smooth = contrast_weights(lab)
                # The click sits in the middle of the error: where the image has an edge
                # nearer than the matte, the error may end there (a thin line over water), and
                # the change is held near the click. Of the two readings, the one whose new
                # outline image edges support better wins.
                room = max(float(edge_room[y, x]) for x, y, _, _ in group)
                if room < size:
                    near = _local_cut(work, pos, neg, outside, params, fg_before, d_c, room,
                                      disc, limit, words, motion, label == 1,
                                      params.hard_reach)
                    if (_edge_weakness(near, smooth, fg_before)
                            < _edge_weakness(fg, smooth, fg_before)):
                        fg = near
        out.append((fg, limit))
    return out


def _local_cut(work: WorkImage, pos, neg, outside, params: SelectParams, fg: np.ndarray,
               d_c: np.ndarray, size: float, disc: int, limit, words, motion,
               positive: bool, hard: float = 0.0) -> np.ndarray:
    """The cut after a correction click whose error is `size` px (geodesic) across: labels of
    `fg` (h, w) bool cost params.anchor nats to change from params.reach x size on (d_c: the
    click's geodesic distance) to twice that, and none change beyond `hard` x that (0: no
    such limit)."""
    reach = params.reach * max(size, 2.0 * disc)
    far = np.clip(d_c / reach - 1.0, 0.0, 1.0) * params.anchor
    new = _cut_clicks(work, pos, neg, outside, params, (far * ~fg, far * fg), limit, words,
                      motion, start=fg if params.start_from_base and positive else None)
    if hard:
        # Beyond this a click changes nothing: the colour models it retrains can find its
        # colour far away (white spray beside a clicked leg); the artist did not point there.
        new = np.where(d_c > hard * reach, fg, new)
    return new


def _lab_gradient(lab: np.ndarray) -> np.ndarray:
    """(h, w) float32 magnitude of the (h, w, 3) Lab image's gradient (Sobel, per pixel)."""
    gx = cv2.Sobel(lab, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(lab, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    sq = gx * gx + gy * gy
    # Explicit channel sums: numpy's reduction over a length-3 last axis is slow.
    return np.sqrt(sq[..., 0] + sq[..., 1] + sq[..., 2])


def _edge_room(lab: np.ndarray, strength: float) -> np.ndarray:
    """(h, w) float32 distance (px) from each pixel to the nearest strong image edge: a Lab
    gradient over `strength` times the image's mean gradient."""
    grad = _lab_gradient(lab)
    flat = (grad <= strength * max(float(grad.mean()), 1e-6)).astype(np.uint8)
    return cv2.distanceTransform(flat, cv2.DIST_L2, 3)


def _representatives(clicks: list[Click]) -> list[tuple[int, int]]:
    """The positive clicks, with each stroke stood for by its middle point: what the
    geodesic prior and the first colour models take as "the object is around here" (a whole
    stroke near the object's edge would make everything beside it as near as the object)."""
    groups: dict[int, list[tuple[int, int]]] = {}
    for x, y, label, g in clicks:
        if label == 1:
            groups.setdefault(g, []).append((x, y))
    return [pts[len(pts) // 2] for pts in groups.values()]


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


class SelectCache:
    """Selections after each prefix of a click sequence, for the last few images.

    A corrective click is applied to the selection of the clicks before it (_segment_clicks),
    which is a pure function of image and prompts; artists (and the NoC protocol) add clicks one
    at a time, so the selection before the newest click is almost always here and a call costs
    one step, not one per click. Bounded (a few processing-size masks), thread-safe, and only a
    memo: a miss recomputes the same result.
    """

    def __init__(self, entries: int = 64, images: int = 4) -> None:
        self.store: LRUCache[tuple, State] = LRUCache(entries)
        # Per image (see image_words); one cache serves one engine, whose parameters are fixed.
        self.words: LRUCache[bytes, np.ndarray] = LRUCache(images)
        self.pending: dict[bytes, threading.Event] = {}  # words being computed
        self.lock = threading.Lock()

    def image_words(self, digest: bytes, work: WorkImage, params: PatchParams) -> np.ndarray:
        """The image's visual words, computed once per image (the last few are kept); a caller
        arriving while another computes them (a click during `prepare`) waits for that one."""
        with self.lock:
            words = self.words.get(digest)
            pending = None if words is not None else self.pending.get(digest)
            mine = words is None and pending is None
            if mine:
                pending = self.pending[digest] = threading.Event()
        if words is not None:
            return words
        if not mine:
            pending.wait()
            with self.lock:
                words = self.words.get(digest)
            return words if words is not None else _words(work, params)
        try:
            words = _words(work, params)
            with self.lock:
                self.words.put(digest, words)
        finally:
            with self.lock:
                self.pending.pop(digest).set()
        return words

    def segment(self, work: WorkImage, clicks, box, outside, params: SelectParams,
                base: np.ndarray | None = None,
                neighbours: Sequence[tuple[int, WorkImage]] = ()) -> np.ndarray:
        """Hard (h, w) selection after all `clicks`; base: (h, w) bool matte they correct;
        neighbours: (frame offset, image) of frames around this one (motion cue)."""
        digest = _digest(work)
        if params.motion_edges and neighbours:
            digest += b"".join(str(o).encode() + _digest(n) for o, n in neighbours)
        box = None if box is None else tuple(float(v) for v in box)
        base_id = None if base is None else hashlib.blake2b(
            np.packbits(base).tobytes(), digest_size=16).digest()
        key0 = (digest, work.u8.shape, box, repr(params), base_id)
        start, done = None, 0
        if base is not None:
            virtual = _base_clicks(base, clicks, params)
            clicks = virtual + list(clicks)
            start, done = (base, None), len(virtual)
            if not any(c[2] == 1 for c in clicks):
                return base.copy()  # nothing selected and nothing added: nothing to remove
        with self.lock:
            for k in range(len(clicks), 0, -1):
                hit = self.store.get((key0, tuple(clicks[:k])))
                if hit is not None:
                    start, done = hit, k
                    break
        if done == len(clicks):
            return start[0].copy()
        words = (self.image_words(_digest(work), work, params.patches) if params.texture
                 else None)
        motion = None
        if params.motion_edges and neighbours:
            residual = residual_motion(work, neighbours)
            motion = None if residual is None else motion_edges(residual)
        steps = _segment_clicks(work, clicks, outside, params, start, done, words, motion)
        with self.lock:
            for k, fg in zip(range(len(clicks) - len(steps) + 1, len(clicks) + 1), steps,
                             strict=True):
                if fg is not None:
                    self.store.put((key0, tuple(clicks[:k])), fg)
        return steps[-1][0].copy()


def _base_clicks(base: np.ndarray, clicks: list[Click], params: SelectParams) -> list[Click]:
    """Virtual positive clicks that say what a matte being corrected holds: one at the
    interior-most point of each of its parts (components of at least 2% of it), away from
    the negative clicks (they say it was wrong there). The correction then proceeds as after
    an artist's first click: the matte is the state, and every real click a local correction
    of it (_segment_clicks). Groups -1, -2, ... (never an artist's)."""
    h, w = base.shape
    disc = max(2, int(round(params.disc_frac * max(w, h))))
    inside = base.astype(np.uint8)
    for x, y, label, _ in clicks:
        if label != 1:
            cv2.circle(inside, (x, y), 4 * disc, 0, -1)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inside, connectivity=8)
    dist = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    total = max(int(inside.sum()), 1)
    out: list[Click] = []
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_AREA] < 0.02 * total:
            continue
        part = np.where(labels == i, dist, -1.0)
        y, x = np.unravel_index(int(np.argmax(part)), part.shape)
        out.append((int(x), int(y), 1, -len(out) - 1))
    return out


def _words(work: WorkImage, params: PatchParams) -> np.ndarray:
    return image_words(work.rgb, params.words, 2 * params.samples)


def _digest(work: WorkImage) -> bytes:
    return hashlib.blake2b(work.u8.tobytes(), digest_size=16).digest()


def _work_image(image: np.ndarray, params: SelectParams, box_only: bool = False) -> WorkImage:
    """The processing-size image the cuts run on (GrabCut from a box alone: a finer one)."""
    height, width = image.shape[:2]
    long_side = params.box_long_side if box_only else params.long_side
    return WorkImage.from_image(image, processing_size(width, height, long_side))


def prepare_select(image: np.ndarray, params: SelectParams, cache: SelectCache) -> None:
    """Compute (into `cache`) the image's visual words, the part of a first click's selection
    that depends on the image alone. image: (H, W, 3) float32 display-referred RGB in [0, 1]."""
    if params.texture:
        work = _work_image(image, params)
        cache.image_words(_digest(work), work, params.patches)


def select_coverage(image: np.ndarray, prompts: FramePrompts, params: SelectParams,
                    cache: SelectCache | None = None,
                    context: Sequence[tuple[int, np.ndarray]] = ()) -> np.ndarray:
    """Coverage (H, W) float32 in [0, 1] of the prompted object.

    image: (H, W, 3) float32 display-referred RGB in [0, 1]; prompts in display-window pixels;
    cache: the engine's memo of earlier selections (None: none kept); context: (frame offset,
    (H, W, 3) image) of frames around this one, for the motion cue (none: a still).
    """
    height, width = image.shape[:2]
    dense = prompts.dense
    if dense is not None:
        dense = np.clip(np.nan_to_num(np.asarray(dense, np.float32)), 0.0, 1.0)
        if not len(prompts.points) and not prompts.strokes:
            return dense
        return _refine_dense(image, dense, prompts, params, cache, context)
    if prompts.empty:
        return np.zeros((height, width), np.float32)
    positives = [p for p, label in zip(prompts.points, prompts.labels, strict=True) if label == 1]
    positives += [s for s in prompts.strokes if s.positive]
    # A box alone is GrabCut's own initialisation, at its finer resolution; clicks (with or
    # without a box) go to the click graph cut.
    box_only = prompts.box is not None and not positives
    work = _work_image(image, params, box_only)
    h, w = work.u8.shape[:2]
    sx, sy = w / width, h / height
    clicks = _clicks(prompts, sx, sy, w, h)
    negatives = [(x, y) for x, y, c, _ in clicks if c != 1]
    outside = None if prompts.box is None else _box_outside(prompts.box, sx, sy, w, h)
    if box_only:
        fg = _segment_box(work, outside, negatives, params)
    elif positives:
        fg = (cache or SelectCache()).segment(work, clicks, prompts.box, outside, params,
                                              neighbours=_neighbours(context, work, params))
    else:
        # Only "not this": nothing is selected.
        return np.zeros((height, width), np.float32)
    return _soft(fg, work, image, params)


def _soft(fg: np.ndarray, work: WorkImage, image: np.ndarray,
          params: SelectParams) -> np.ndarray:
    """Hard (h, w) selection -> (H, W) float32 edge-following coverage (guided filter)."""
    height, width = image.shape[:2]
    h, w = fg.shape
    radius = max(2, int(round(max(w, h) * params.gf_radius_frac)))
    full = None if (w, h) == (width, height) else np.clip(np.asarray(image, np.float32), 0, 1)
    return refine_edges(fg.astype(np.float32), work.rgb, radius, params.gf_eps, guide_full=full)


def _neighbours(context: Sequence[tuple[int, np.ndarray]], work: WorkImage,
                params: SelectParams) -> list[tuple[int, WorkImage]]:
    """The context frames at the processing size of `work` (none when the motion cue is off)."""
    if not params.motion_edges:
        return []
    size = (work.u8.shape[1], work.u8.shape[0])
    return [(offset, WorkImage.from_image(img, size)) for offset, img in context]


def _refine_dense(image: np.ndarray, dense: np.ndarray, prompts: FramePrompts,
                  params: SelectParams, cache: SelectCache | None,
                  context: Sequence[tuple[int, np.ndarray]] = ()) -> np.ndarray:
    """Coverage (H, W) of a matte `dense` (H, W) corrected by the prompts' clicks: each click
    a local correction of it (_segment_clicks), the matte's inside object evidence. Where the
    clicks change nothing the matte's own soft edge is kept."""
    height, width = image.shape[:2]
    work = _work_image(image, params)
    h, w = work.u8.shape[:2]
    base = resize_to(dense, (w, h)) >= 0.5
    clicks = _clicks(prompts, w / width, h / height, w, h)
    fg = (cache or SelectCache()).segment(work, clicks, None, None, params, base,
                                          _neighbours(context, work, params))
    soft = _soft(fg, work, image, params)
    # Keep the given matte's soft values away from what changed (its edge is often finer
    # than a re-cut's): only pixels within a few px of a changed region take the new values.
    changed = cv2.resize((fg != base).astype(np.uint8), (width, height),
                         interpolation=cv2.INTER_NEAREST)
    if not changed.any():
        return dense
    grow = max(3, int(round(max(width, height) * params.gf_radius_frac * 2)))
    near = cv2.dilate(changed, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                         (2 * grow + 1, 2 * grow + 1))) > 0
    return np.where(near, soft, dense).astype(np.float32)
