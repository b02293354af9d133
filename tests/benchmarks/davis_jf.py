"""DAVIS-2016 J&F of `mattetrack track` on the dev shots, through the real command line.

Runs `mattetrack track <shot>/%05d.jpg --mask 0:<first mask> -o <out>/%05d.png` on every shot in
../shared/data/davis2016-dev, then scores the mattes thresholded at 0.5 with the PyPI
`vos-benchmark` evaluator (region J and boundary F, first and last frame skipped).

    .venv/bin/python tests/benchmarks/davis_jf.py [--shots dog,car-shadow] [--every N]

`--every N` also gives the ground-truth mask on every N-th frame (an artist's corrections).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "davis2016-dev"
MATTETRACK = Path(sys.executable).with_name("mattetrack")


def run_shot(shot: str, out: Path, every: int | None) -> tuple[float, int]:
    """Track one shot; returns (seconds, frames)."""
    frames_dir = DATA / "JPEGImages" / "480p" / shot
    masks = sorted((DATA / "Annotations" / "480p" / shot).glob("*.png"))
    n = len(list(frames_dir.glob("*.jpg")))
    keys = [0] if not every else list(range(0, n, every))
    cmd = [str(MATTETRACK), "track", str(frames_dir / "%05d.jpg"), "-q"]
    cmd += ["-o", str(out / "%05d.png")]
    for k in keys:
        cmd += ["--mask", f"{k}:{masks[k]}"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start, n


def score_shot(shot: str, out: Path) -> tuple[float, float]:
    """Mean J and F (percent) of one shot, first and last frame skipped."""
    from vos_benchmark.evaluator import Evaluator

    gt_dir = DATA / "Annotations" / "480p" / shot
    evaluator = Evaluator(name=shot)
    for gt_path in sorted(gt_dir.glob("*.png"))[1:-1]:
        gt = (np.asarray(Image.open(gt_path)) > 127).astype(np.uint8)
        matte = np.asarray(Image.open(out / gt_path.name))
        evaluator.feed_frame((matte >= 128).astype(np.uint8), gt)
    iou, boundary = evaluator.conclude()
    return float(np.mean(list(iou.values()))), float(np.mean(list(boundary.values())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", help="comma-separated shot names (default: all)")
    parser.add_argument("--every", type=int, help="also give the true mask every N frames")
    parser.add_argument("--out", default=str(ROOT / "build" / "bench" / "davis"))
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (the DAVIS dev shots live in ../shared/data)")
        return 0
    shots = args.shots.split(",") if args.shots else sorted(
        p.name for p in (DATA / "JPEGImages" / "480p").iterdir()
    )
    mode = "first-frame mask" if not args.every else f"true mask every {args.every} frames"
    print(f"DAVIS-2016 dev shots, {mode}, classic engine, {os.cpu_count()} cores")
    print(f"{'shot':<16}{'J&F':>7}{'J':>7}{'F':>7}{'frames':>8}{'fps':>7}")
    rows = []
    for shot in shots:
        out = Path(args.out) / ("first" if not args.every else f"every{args.every}") / shot
        out.mkdir(parents=True, exist_ok=True)
        seconds, n = run_shot(shot, out, args.every)
        j, f = score_shot(shot, out)
        rows.append((j, f, n, seconds))
        print(f"{shot:<16}{(j + f) / 2:7.1f}{j:7.1f}{f:7.1f}{n:8d}{n / seconds:7.1f}")
    j = np.mean([r[0] for r in rows])
    f = np.mean([r[1] for r in rows])
    fps = sum(r[2] for r in rows) / sum(r[3] for r in rows)
    print(f"{'mean':<16}{(j + f) / 2:7.1f}{j:7.1f}{f:7.1f}{'':8}{fps:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
