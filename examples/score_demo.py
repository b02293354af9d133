"""Mean IoU of the demo's mattes against the true coverage (both thresholded at 0.5).

python examples/score_demo.py DEMO_DIR [--mattes PATTERN] [--channel object.A]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio


def read_channel(path: Path, channel: str) -> np.ndarray:
    """(H, W) float32 of one channel over the display window (zero outside the data window)."""
    buf = oiio.ImageBuf(str(path))
    spec = buf.spec()
    if channel not in spec.channelnames:
        raise SystemExit(f"{path}: no channel {channel!r} (has {', '.join(spec.channelnames)})")
    index = spec.channelnames.index(channel)
    full = oiio.ImageBufAlgo.channels(buf, (index,))
    roi = oiio.ROI(
        spec.full_x,
        spec.full_x + spec.full_width,
        spec.full_y,
        spec.full_y + spec.full_height,
        0,
        1,
        0,
        1,
    )
    return full.get_pixels(oiio.FLOAT, roi)[..., 0]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a >= 0.5, b >= 0.5
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demo", type=Path)
    parser.add_argument("--mattes", default="mattes/mattes.{frame:04d}.exr")
    parser.add_argument("--channel", default="object.A")
    args = parser.parse_args()
    scores = []
    for truth_path in sorted((args.demo / "truth").glob("truth.*.exr")):
        frame = int(truth_path.suffixes[-2].lstrip("."))
        truth = read_channel(truth_path, "A")
        matte = read_channel(args.demo / args.mattes.format(frame=frame), args.channel)
        scores.append(iou(matte, truth))
    if not scores:
        raise SystemExit(f"{args.demo}: no truth frames; run examples/make_demo_shot.py first")
    mean = float(np.mean(scores))
    print(
        f"demo: mean IoU {mean:.3f} over {len(scores)} frames (worst {min(scores):.3f}); "
        f"target >= 0.90: {'met' if mean >= 0.9 else 'NOT met'}"
    )
    return 0 if mean >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
