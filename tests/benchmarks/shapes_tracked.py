"""Roto shapes an artist keeps, on tracked mattes: the dev shots tracked by `mattetrack track`
(classic engine, the first frame's ground-truth mask), then fitted by `mattetrack shapes`.

Tracked mattes are what artists fit shapes to, and unlike the ground truth they carry specks,
pinholes and pieces that flicker in and out for a frame or two. Per shot:
- IoU: the shapes rasterised (pixel at least half inside) against the matte at 0.5, mean over
  the frames where either has anything;
- shapes/frame: the shapes present on a frame (pieces and holes), mean over frames: what an
  artist scrolls through on each frame; shapes: how many the shot has in all;
- points per shape (mean over shape-frames); wobble (px: points sliding along the outline,
  `shapes_fidelity.slip`);
- fit ms/frame: `shapes_from_mattes` on mattes already read, and the same fit with one Bezier
  segment solved at a time (`bezier.fit_segment`, what the fitter did before it was batched),
  side by side in one run.

    .venv/bin/python tests/benchmarks/shapes_tracked.py [--quick] [--min-area PX] [shot ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from mattetrack.shapes import ShapeParams, bezier, shapes_from_mattes, temporal
from mattetrack.shapes.raster import rasterise
from mattetrack.shapes.source import open_mattes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shapes_fidelity import slip

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "davis2016-dev"
MATTETRACK = Path(sys.executable).with_name("mattetrack")


def track(shot: str, out: Path) -> None:
    """`mattetrack track` of one dev shot from its first frame's mask, EXR mattes in `out`."""
    frames = DATA / "JPEGImages" / "480p" / shot / "%05d.jpg"
    mask = DATA / "Annotations" / "480p" / shot / "00000.png"
    subprocess.run([str(MATTETRACK), "track", str(frames), "--mask", f"0:{mask}", "-q",
                    "-o", str(out / "%05d.exr")], check=True)


def segment_at_a_time(poly: np.ndarray, knots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`bezier.fit_distances` solving one segment at a time with `bezier.fit_segment`."""
    n, k = len(poly), len(knots)
    t_in, t_out = bezier.knot_tangents(poly, knots)
    rows = np.zeros((k, 6))
    rows[:, :2] = poly[knots]
    dist = np.zeros(n)
    for i in range(k):
        a, b = int(knots[i]), int(knots[(i + 1) % k])
        idx = np.arange(a, b + 1) if b > a else np.r_[np.arange(a, n), np.arange(0, b + 1)]
        ctrl, d = bezier.fit_segment(poly[idx], t_out[i], t_in[(i + 1) % k])
        rows[i, 4:6], rows[(i + 1) % k, 2:4] = ctrl[1], ctrl[2]
        dist[idx] = np.maximum(dist[idx], d)
    return rows, dist


@contextmanager
def one_segment_at_a_time():
    saved = bezier.fit_distances
    bezier.fit_distances = segment_at_a_time
    temporal.fit_distances = segment_at_a_time
    try:
        yield
    finally:
        bezier.fit_distances = saved
        temporal.fit_distances = saved


def measure(shot: str, mattes_dir: Path, params: ShapeParams, reference: bool) -> dict:
    mattes = open_mattes(str(mattes_dir / "%05d.exr"))
    frames = list(mattes)
    names = {name: name for name in mattes.objects}
    w, h = mattes.width, mattes.height
    started = time.perf_counter()
    doc = shapes_from_mattes(iter(frames), names, w, h, params)
    seconds = time.perf_counter() - started
    ref_seconds = float("nan")
    if reference:
        with one_segment_at_a_time():
            started = time.perf_counter()
            shapes_from_mattes(iter(frames), names, w, h, params)
            ref_seconds = time.perf_counter() - started
    obj = doc.objects[0]
    key = next(iter(names))
    ious, present = [], []
    for frame, planes in frames:
        r, g = rasterise(obj, frame, w, h), planes[key] >= 0.5
        union = (r | g).sum()
        if union:
            ious.append(float((r & g).sum() / union))
        present.append(sum(frame in s.frames for s in obj.shapes))
    per = [s.point_count for s in obj.shapes for _ in s.frames]
    wobble = [t for s in obj.shapes for t in slip(s)[0]]
    return {"shot": shot, "frames": len(frames), "iou": float(np.mean(ious)),
            "iou_min": float(np.min(ious)), "per_frame": float(np.mean(present)),
            "shapes": len(obj.shapes), "points": float(np.mean(per)) if per else 0.0,
            "wobble": float(np.mean(wobble)) if wobble else 0.0,
            "ms": 1000 * seconds / len(frames), "ref_ms": 1000 * ref_seconds / len(frames)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two shots")
    parser.add_argument("--min-area", type=float, default=None,
                        help="square px (default: the fitter's, 1/6400 of the frame)")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the one-segment-at-a-time fit")
    parser.add_argument("shots", nargs="*")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    shots = args.shots or sorted(p.name for p in (DATA / "Annotations" / "480p").iterdir())
    if args.quick and not args.shots:
        shots = shots[:2]
    params = ShapeParams(min_area=args.min_area)
    # The fitter before specks, pinholes and flicker were ruled on: 16 px2, no flicker rule.
    before = ShapeParams(min_area=16.0, min_frames=1)
    print(f"Roto shapes on tracked mattes (classic engine, first-frame mask), tolerance "
          f"{params.tolerance} px, min area {params.area_limit(854, 480):.0f} px2 at 854x480, "
          f"bridge {params.bridge}, flicker: under {params.min_frames} frames and "
          f"{params.flicker_share:.0%} of the object")
    print(f"{'shot':<16}{'IoU':>7}{'min':>7}{'shapes/fr':>10}{'shapes':>7}{'pts/shape':>10}"
          f"{'wobble':>8}{'ms/frame':>9}{'1-seg ms':>9}{'speed-up':>9}   before: IoU shapes/fr")
    rows, old = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for shot in shots:
            out = Path(tmp) / shot
            out.mkdir()
            track(shot, out)
            r = measure(shot, out, params, not args.no_reference)
            b = measure(shot, out, before, False)
            rows.append(r)
            old.append(b)
            print(f"{shot:<16}{r['iou']:7.4f}{r['iou_min']:7.3f}{r['per_frame']:10.2f}"
                  f"{r['shapes']:7d}{r['points']:10.1f}{r['wobble']:8.3f}{r['ms']:9.1f}"
                  f"{r['ref_ms']:9.1f}{r['ref_ms'] / r['ms']:8.1f}x"
                  f"{b['iou']:14.4f}{b['per_frame']:10.2f}", flush=True)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "shot"}
    total = sum(r["ms"] * r["frames"] for r in rows)
    ref_total = sum(r["ref_ms"] * r["frames"] for r in rows)
    print(f"{'mean':<16}{mean['iou']:7.4f}{'':7}{mean['per_frame']:10.2f}{'':7}"
          f"{mean['points']:10.1f}{mean['wobble']:8.3f}{mean['ms']:9.1f}{mean['ref_ms']:9.1f}"
          f"{ref_total / total:8.1f}x"
          f"{np.mean([b['iou'] for b in old]):14.4f}"
          f"{np.mean([b['per_frame'] for b in old]):10.2f}")
    print("targets: IoU >= 0.97, shapes/frame <= 3, fitting >= 5x faster than one segment at a "
          "time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
