"""Roto shapes on the DAVIS-2016 dev shots: fidelity, point counts and point wobble.

The mattes are each shot's ground-truth masks (the cleanest mattes there are, and the hardest:
their pixel staircases and 1-px kite lines are what a smooth shape cannot copy). For every shot:
- IoU of the shapes, rasterised (pixel at least half inside), against the mattes at 0.5;
- points per shape (the mean over shapes and frames: what an artist edits), number of shapes;
- wobble: for consecutive frames of a shape, the best affine map of its points from one frame
  to the next is the outline's own motion; what is left of each point's motion, along the
  outline's tangent, is the point sliding along the outline (swimming). Mean px per point and
  frame. For comparison, the same count of points placed on each frame on its own (knot 0 at
  the contour tracer's start, no phase carried over) gives the "independent" figure.

    .venv/bin/python tests/benchmarks/shapes_fidelity.py [--tolerance PX] [--bridge N] [shot ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mattetrack.shapes import ShapeParams, shapes_from_mattes
from mattetrack.shapes.bezier import density_knots, fit_distances, knot_density
from mattetrack.shapes.contour import pieces, resample
from mattetrack.shapes.document import Shape
from mattetrack.shapes.raster import rasterise

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "davis2016-dev"


@dataclass
class Row:
    shot: str
    frames: int
    iou: float
    iou_min: float
    points: float  # per shape, mean over shape-frames
    shapes: int
    wobble: float  # px, tangential slip after the affine motion
    deform: float  # px, normal residual (the outline changing shape), for scale
    seconds: float


def slip(shape: Shape) -> tuple[list[float], list[float]]:
    """Per point and consecutive frame pair: (tangential, normal) residual after the affine map."""
    tangential, normal = [], []
    frames = sorted(shape.frames)
    for a, b in zip(frames, frames[1:], strict=False):
        if b != a + 1:
            continue
        p, q = shape.frames[a][:, :2], shape.frames[b][:, :2]
        if len(p) < 4:
            continue
        design = np.hstack([p, np.ones((len(p), 1))])
        affine, *_ = np.linalg.lstsq(design, q, rcond=None)
        residual = q - design @ affine
        tangent = shape.frames[b][:, 4:6] - shape.frames[b][:, 2:4]
        tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
        along = np.abs(np.sum(residual * tangent, axis=1))
        across = np.abs(residual[:, 0] * tangent[:, 1] - residual[:, 1] * tangent[:, 0])
        tangential.extend(along.tolist())
        normal.extend(across.tolist())
    return tangential, normal


def independent_wobble(masks: list[np.ndarray], count: int, params: ShapeParams) -> float:
    """Wobble of the largest piece fitted frame by frame on its own: `count` density-placed
    knots from the contour tracer's start point (phase 0), no phase carried from frame to frame."""
    shape = Shape()
    for f, m in enumerate(masks):
        found = pieces(m, params.area_limit(m.shape[1], m.shape[0]))
        if not found:
            continue
        poly = resample(found[0].outer, params.spacing)
        knots = density_knots(knot_density(poly, params.spacing), count, 0.0)
        shape.frames[f] = fit_distances(poly, knots)[0]
    tangential, _ = slip(shape)
    return float(np.mean(tangential)) if tangential else float("nan")


def measure_shot(shot: str, params: ShapeParams) -> tuple[Row, float]:
    files = sorted((DATA / "Annotations" / "480p" / shot).glob("*.png"))
    masks = [(np.asarray(Image.open(f)) > 127).astype(np.float32) for f in files]
    h, w = masks[0].shape
    started = time.perf_counter()
    doc = shapes_from_mattes(((i, {1: m}) for i, m in enumerate(masks)), {1: shot}, w, h, params)
    seconds = time.perf_counter() - started
    obj = doc.objects[0]
    ious = []
    for i, m in enumerate(masks):
        r, g = rasterise(obj, i, w, h), m >= 0.5
        ious.append(float((r & g).sum() / max((r | g).sum(), 1)))
    per = [s.point_count for s in obj.shapes for _ in s.frames]
    tangential, normal = [], []
    for s in obj.shapes:
        t, n = slip(s)
        tangential += t
        normal += n
    row = Row(shot, len(masks), float(np.mean(ious)), float(np.min(ious)), float(np.mean(per)),
              len(obj.shapes), float(np.mean(tangential)), float(np.mean(normal)), seconds)
    main_shape = next(s for s in obj.shapes if not s.hole)
    return row, independent_wobble(masks, main_shape.point_count, params)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance", type=float, default=ShapeParams().tolerance)
    parser.add_argument("--bridge", type=int, default=ShapeParams().bridge,
                        help="frames a piece may be missing and keep its shape")
    parser.add_argument("shots", nargs="*")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    shots = args.shots or sorted(p.name for p in (DATA / "Annotations" / "480p").iterdir())
    params = ShapeParams(tolerance=args.tolerance, bridge=args.bridge)
    print(f"Roto shapes on DAVIS-2016 dev ground truth, tolerance {params.tolerance} px")
    print(f"{'shot':<16}{'IoU':>7}{'min':>7}{'pts/shape':>10}{'shapes':>7}{'wobble':>8}"
          f"{'indep.':>8}{'deform':>8}{'ms/frame':>9}")
    rows = []
    for shot in shots:
        row, indep = measure_shot(shot, params)
        rows.append((row, indep))
        print(f"{row.shot:<16}{row.iou:7.4f}{row.iou_min:7.3f}{row.points:10.1f}{row.shapes:7d}"
              f"{row.wobble:8.3f}{indep:8.3f}{row.deform:8.3f}"
              f"{1000 * row.seconds / row.frames:9.0f}", flush=True)
    mean = lambda key: float(np.mean([getattr(r, key) for r, _ in rows]))  # noqa: E731
    print(f"{'mean':<16}{mean('iou'):7.4f}{'':7}{mean('points'):10.1f}{'':7}"
          f"{mean('wobble'):8.3f}{np.nanmean([i for _, i in rows]):8.3f}{mean('deform'):8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
