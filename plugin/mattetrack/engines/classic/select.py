"""Selection on one frame from an artist's prompts: mask, box and/or points -> coverage.

- A mask is the artist's word and is returned as coverage (clipped to [0, 1]).
- A box initialises GrabCut (Rother, Kolmogorov & Blake, 2004): outside is background, inside
  probably object.
- Points seed GrabCut's label mask: small definite discs at clicks (object at positive, background
  at negative clicks), and a "probably object" region grown from each positive click through
  similar colours (a flood fill with a tolerance taken from the click's neighbourhood); everything
  else, the frame border included, is "probably background".
The hard GrabCut result is then given soft, edge-following coverage by the guided filter, which
also upsamples it from the processing resolution to the plate's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mattetrack.engines.classic.imaging import WorkImage, processing_size
from mattetrack.engines.classic.refine import refine_edges
from mattetrack.prompts import FramePrompts


@dataclass
class SelectParams:
    """Processing long side (px), GrabCut iterations, click disc radius and region cap
    (fractions of the processing long side), and the guided filter's radius fraction and eps."""

    long_side: int = 960
    iterations: int = 5
    disc_frac: float = 0.008
    # A flood fill that grows beyond this fraction of the frame has leaked into the background;
    # it is then limited to a disc around the click.
    max_region_frac: float = 0.35
    region_disc_frac: float = 0.08
    gf_radius_frac: float = 1 / 200
    gf_eps: float = 1e-3


def _click_region(lab: np.ndarray, x: int, y: int, params: SelectParams) -> np.ndarray:
    """(h, w) bool: pixels connected to (x, y) through colours close to the click's own.

    lab: (h, w, 3) uint8 smoothed Lab. The tolerance is 2.5 local standard deviations (at least
    6 levels), so a textured object grows through its texture but stops at a colour edge.
    """
    h, w = lab.shape[:2]
    long_side = max(h, w)
    # A patch of 3% of the frame: small enough to stay on the object, large enough to sample its
    # texture (a 1% patch saw one flat spot, the fill stopped at the first texel and GrabCut then
    # learned the object from a few pixels: one-click IoU on DAVIS first frames 0.27 -> 0.52).
    r = max(3, int(0.03 * long_side))
    patch = lab[max(y - r, 0) : y + r + 1, max(x - r, 0) : x + r + 1].reshape(-1, 3)
    tol = np.maximum(2.5 * patch.std(0), 6.0)
    seed = np.median(patch, 0)
    # floodFill compares to the seed pixel's value in FIXED_RANGE mode; give it the patch median.
    img = lab.copy()
    img[y, x] = seed.astype(np.uint8)
    mask = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    lo = tuple(float(t) for t in tol)
    cv2.floodFill(img, mask, (x, y), 0, lo, lo, flags)
    region = mask[1:-1, 1:-1] > 0
    if region.mean() > params.max_region_frac:
        disc = np.zeros((h, w), np.uint8)
        cv2.circle(disc, (x, y), max(3, int(params.region_disc_frac * long_side)), 1, -1)
        region &= disc > 0
    return region


def _keep_components(fg: np.ndarray, seeds: list[tuple[int, int]]) -> np.ndarray:
    """Keep components of fg (h, w) bool containing a seed (x, y), or if none given (or none hit)
    those at least 10% the size of the largest: GrabCut leaves stray specks of object colour."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
    if n <= 2:
        return fg
    keep = np.zeros(n, bool)
    for x, y in seeds:
        keep[labels[y, x]] = True
    keep[0] = False
    if not keep.any():
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep[1:] = areas >= 0.1 * areas.max()
    return keep[labels]


def _grabcut(bgr: np.ndarray, gc: np.ndarray, iterations: int) -> np.ndarray:
    """GrabCut on a copy of the label mask gc (h, w) uint8; returns the new labels."""
    out = gc.copy()
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(bgr, out, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    return out


def _collapsed(result: np.ndarray, seeds: np.ndarray) -> bool:
    """True when GrabCut kept little more than the definite click discs of `seeds`.

    With clicks only, every unclicked pixel (the rest of the object too) trains GrabCut's
    background model; when the object's outer colours land there, the cut shrinks to the discs.
    """
    definite = np.count_nonzero(seeds == cv2.GC_FGD)
    kept = np.count_nonzero((result == cv2.GC_FGD) | (result == cv2.GC_PR_FGD))
    return kept <= 2 * definite


def _windowed(gc: np.ndarray, seeded: np.ndarray) -> np.ndarray:
    """gc with everything outside a window around the seeded region made definite background.

    The window is the seeded region's bounding box grown by 1.5 times its size on every side:
    objects are rarely more than 4x the region a click grows, and the background model then
    learns from the object's surroundings instead of from the whole frame (object included).
    """
    ys, xs = np.nonzero(seeded)
    h, w = gc.shape
    bw, bh = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    x0, x1 = max(int(xs.min() - 1.5 * bw), 0), min(int(xs.max() + 1.5 * bw) + 1, w)
    y0, y1 = max(int(ys.min() - 1.5 * bh), 0), min(int(ys.max() + 1.5 * bh) + 1, h)
    out = np.full_like(gc, cv2.GC_BGD)
    out[y0:y1, x0:x1] = gc[y0:y1, x0:x1]
    return out


def select_coverage(image: np.ndarray, prompts: FramePrompts, params: SelectParams) -> np.ndarray:
    """Coverage (H, W) float32 in [0, 1] of the prompted object.

    image: (H, W, 3) float32 display-referred RGB in [0, 1]; prompts in display-window pixels.
    """
    height, width = image.shape[:2]
    if prompts.mask is not None:
        return np.clip(np.nan_to_num(np.asarray(prompts.mask, np.float32)), 0.0, 1.0)
    if prompts.empty:
        return np.zeros((height, width), np.float32)
    size = processing_size(width, height, params.long_side)
    work = WorkImage.from_image(image, size)
    w, h = size
    sx, sy = w / width, h / height
    long_side = max(w, h)

    gc = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    if prompts.box is not None:
        x0, y0, x1, y1 = prompts.box
        bx0 = int(np.clip(np.floor(x0 * sx), 0, w - 1))
        by0 = int(np.clip(np.floor(y0 * sy), 0, h - 1))
        bx1 = int(np.clip(np.ceil(x1 * sx), bx0 + 1, w))
        by1 = int(np.clip(np.ceil(y1 * sy), by0 + 1, h))
        gc[:] = cv2.GC_BGD
        # A box says "the object is in here" (GrabCut's own initialisation); clicks inside it then
        # pin parts of it down as definite object or background.
        gc[by0:by1, bx0:bx1] = cv2.GC_PR_FGD
        inside = gc != cv2.GC_BGD
    else:
        inside = np.ones((h, w), bool)

    clicks = [
        (min(int(px * sx), w - 1), min(int(py * sy), h - 1), int(lab))
        for (px, py), lab in zip(prompts.points, prompts.labels, strict=True)
    ]
    positives = [(x, y) for x, y, lab in clicks if lab == 1]
    if positives:
        lab_img = cv2.cvtColor(cv2.GaussianBlur(work.u8, (0, 0), 1.0), cv2.COLOR_RGB2LAB)
        for x, y in positives:
            gc[_click_region(lab_img, x, y, params) & inside] = cv2.GC_PR_FGD
    disc = max(2, int(round(params.disc_frac * long_side)))
    for x, y, lab in clicks:
        cv2.circle(gc, (x, y), disc, cv2.GC_FGD if lab == 1 else cv2.GC_BGD, -1)

    seeded = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    if seeded.any():
        bgr = cv2.cvtColor(work.u8, cv2.COLOR_RGB2BGR)
        result = _grabcut(bgr, gc, params.iterations)
        if prompts.box is None and _collapsed(result, gc):
            result = _grabcut(bgr, _windowed(gc, seeded), params.iterations)
            if _collapsed(result, gc):
                # GrabCut could not separate the object: the colour region the clicks grew is
                # the best evidence left, and far better than an empty matte.
                result = np.where(seeded, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
        gc = result
    fg = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    fg = _keep_components(fg, positives)

    radius = max(2, int(round(long_side * params.gf_radius_frac)))
    full = None if size == (width, height) else np.clip(np.asarray(image, np.float32), 0, 1)
    return refine_edges(fg.astype(np.float32), work.rgb, radius, params.gf_eps, guide_full=full)
