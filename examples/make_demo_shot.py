"""Write the demo shot: a textured object moving over a textured background, partly occluded,
with motion blur, as a scene-linear half-float EXR sequence (frames 1001...) with its true coverage.

    python examples/make_demo_shot.py OUT_DIR [--frames 48] [--size 960x540] [--seed 7]

Writes OUT_DIR/plate.####.exr (RGB, half, ZIP), OUT_DIR/truth/truth.####.exr (channel A, the
object's true visible coverage) and OUT_DIR/clicks.txt: the clicks an artist would give
(`--point F:X,Y`), at the interior point farthest from the object's edge on a few frames.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from mattetrack.synthetic import click_point, render_shot

FIRST_FRAME = 1001


def write_exr(path: Path, pixels: np.ndarray, channels: list[str]) -> None:
    """Write (H, W, C) float32 pixels as a half-float ZIP EXR."""
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], len(channels), "half")
    spec.channelnames = tuple(channels)
    spec.attribute("compression", "zip")
    out = oiio.ImageOutput.create(str(path))
    if out is None or not out.open(str(path), spec):
        raise OSError(f"{path}: {oiio.geterror()}")
    out.write_image(np.ascontiguousarray(pixels, np.float32))
    out.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", default="960x540", help="WIDTHxHEIGHT")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keyframes", type=int, default=2, help="frames an artist clicks on")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    shot = render_shot(n_frames=args.frames, width=width, height=height, seed=args.seed)
    (args.out / "truth").mkdir(parents=True, exist_ok=True)
    for i, (rgb, coverage) in enumerate(shot):
        frame = FIRST_FRAME + i
        write_exr(args.out / f"plate.{frame:04d}.exr", rgb, ["R", "G", "B"])
        write_exr(args.out / "truth" / f"truth.{frame:04d}.exr", coverage[..., None], ["A"])

    # An artist clicks the object's middle on the first frame and on a few later ones.
    keys = np.linspace(0, args.frames - 1, max(args.keyframes, 1)).round().astype(int)
    clicks = []
    for i in sorted(set(keys.tolist())):
        x, y = click_point(shot[i][1])
        clicks.append(f"--point {FIRST_FRAME + i}:{x:g},{y:g}")
    (args.out / "clicks.txt").write_text(" ".join(clicks) + "\n")
    print(f"demo shot: {args.frames} frames of {width}x{height} in {args.out}")
    print(f"artist's clicks: {' '.join(clicks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
