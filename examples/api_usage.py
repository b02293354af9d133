"""Use MatteTrack from Python: open a shot, click an object, propagate, write EXR mattes.

    python examples/api_usage.py PLATE_PATTERN X Y OUT_PATTERN
    e.g. python examples/api_usage.py build/demo/plate.####.exr 480 270 build/api/m.####.exr
"""

from __future__ import annotations

import os
import sys

from mattetrack.engines import get_engine
from mattetrack.export.exr import write_matte_exr
from mattetrack.framepattern import FramePattern
from mattetrack.session import Session
from mattetrack.shot import Shot


def main(plate: str, x: float, y: float, out: str) -> None:
    shot = Shot.open(plate)
    session = Session(shot, get_engine("classic"))
    hero = session.add_object("hero")
    first = shot.frames[0]
    session.add_point(hero, first, x, y)
    preview = session.select(hero, first)
    print(f"selection on frame {first}: {int((preview >= 0.5).sum())} pixels")

    pattern = FramePattern.parse(out)
    os.makedirs(os.path.dirname(pattern.path(first)) or ".", exist_ok=True)
    for frame, mattes in session.propagate():
        write_matte_exr(
            pattern.path(frame),
            {"hero.A": mattes[hero]},
            display_window=shot.display_window,
            data_window=shot.data_window(frame),
        )
    print(f"wrote {len(shot.frames)} frames to {out}")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
