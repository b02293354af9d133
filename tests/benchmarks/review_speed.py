"""How fast `mattetrack review` shows a result: frames/s of the overlay movie (H.264 MP4), the
overlay PNG frames and the contact sheet on DAVIS dev shots at 854x480 (their true mattes as the
mattes), through the real command line (start-up included), side by side with the floor: the
same plate frames decoded and encoded to the same H.264 settings with no mattes at all, in-process
(no start-up). Target: the movie at >= 30 frames/s.

    .venv/bin/python tests/benchmarks/review_speed.py [--shots dog,car-shadow,blackswan]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "davis2016-dev"
MATTETRACK = Path(sys.executable).with_name("mattetrack")


def bare_encode(frames: list[Path], out: Path) -> float:
    """Seconds to decode `frames` and encode them as review's movie does, nothing else."""
    import av

    start = time.perf_counter()
    first = cv2.imread(str(frames[0]))
    h, w = first.shape[:2]
    with av.open(str(out), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(24))
        stream.width, stream.height, stream.pix_fmt = w + w % 2, h + h % 2, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for path in frames:
            img = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            img = cv2.copyMakeBorder(img, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", default="dog,car-shadow,blackswan")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (the DAVIS dev shots live in ../shared/data)")
        return 0
    print(f"mattetrack review at 854x480, {os.cpu_count()} cores (frames/s, start-up included)")
    print(f"{'shot':<14}{'frames':>7}{'movie':>9}{'frames':>9}{'sheet s':>9}"
          f"{'bare enc':>10}{'movie/bare':>12}")
    totals = {"n": 0, "movie": 0.0, "seq": 0.0, "bare": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        for shot in args.shots.split(","):
            plate = DATA / "JPEGImages" / "480p" / shot
            mattes = DATA / "Annotations" / "480p" / shot
            n = len(list(plate.glob("*.jpg")))
            seconds = {}
            for kind, out in (("movie", "o.mp4"), ("seq", "o.%05d.png"), ("sheet", "s.png")):
                start = time.perf_counter()
                subprocess.run([str(MATTETRACK), "review", str(plate / "%05d.jpg"),
                                str(mattes / "%05d.png"), "-o", str(Path(tmp) / out), "-q"],
                               check=True)
                seconds[kind] = time.perf_counter() - start
            bare = bare_encode(sorted(plate.glob("*.jpg")), Path(tmp) / "bare.mp4")
            totals["n"] += n
            totals["movie"] += seconds["movie"]
            totals["seq"] += seconds["seq"]
            totals["bare"] += bare
            print(f"{shot:<14}{n:>7}{n / seconds['movie']:>9.1f}{n / seconds['seq']:>9.1f}"
                  f"{seconds['sheet']:>9.2f}{n / bare:>10.1f}{seconds['movie'] / bare:>12.2f}")
    n = totals["n"]
    print(f"{'all':<14}{n:>7}{n / totals['movie']:>9.1f}{n / totals['seq']:>9.1f}{'':>9}"
          f"{n / totals['bare']:>10.1f}{totals['movie'] / totals['bare']:>12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
