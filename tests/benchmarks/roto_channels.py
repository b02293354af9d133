"""Roto channels against matte writing: is putting the shapes into EXR as fast as the mattes?

The job: 4 objects, 2048x1152, N frames (soft moving discs, exr_write.make_mattes). Shapes are
fitted once (timed, for information). Then, per frame, median of the frames:
- mattes: `write_matte_exr` of the 4 mattes (half, ZIP): the matte writing track does;
- rasterise: the 4 objects' roto coverage (native, no feather / 4 px feather);
- roto channels: rasterise + `write_matte_exr` of the 4 roto channels (like for like with the
  mattes row: same channel count, type, codec);
- in place: what `shapes --exr` / `track --roto-channels` do, the matte file rewritten with the
  roto channels added (merge: mattes decoded and re-encoded, 8 channels written).

    .venv/bin/python tests/benchmarks/roto_channels.py [--frames N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import exr_write

from mattetrack.export.exr import write_matte_exr
from mattetrack.geometry import Box2i
from mattetrack.shapes import shapes_from_mattes
from mattetrack.shapes.roto import roto_coverage, roto_frames

OUT = exr_write.ROOT / "build" / "bench" / "roto_channels"
W, H, NAMES = exr_write.WIDTH, exr_write.HEIGHT, exr_write.NAMES


def measure(frames: int) -> dict[str, float]:
    """ms per frame of each step (medians), and the fitting time."""
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    box = Box2i.from_size(W, H)
    mattes = {f: exr_write.make_mattes(f) for f in range(frames)}
    t = time.perf_counter()
    doc = shapes_from_mattes(((f, dict(enumerate(m))) for f, m in mattes.items()),
                             dict(enumerate(NAMES)), W, H)
    fit = (time.perf_counter() - t) / frames
    rows: dict[str, list[float]] = {k: [] for k in
                                    ("mattes", "raster", "raster4", "roto", "inplace")}
    for f, ms in mattes.items():
        t0 = time.perf_counter()
        write_matte_exr(OUT / f"m.{f:04d}.exr",
                        {f"{n}.A": m for n, m in zip(NAMES, ms, strict=True)}, box, box)
        t1 = time.perf_counter()
        for o in doc.objects:
            roto_coverage(o, f, W, H)
        t2 = time.perf_counter()
        for o in doc.objects:
            roto_coverage(o, f, W, H, feather=4.0)
        t3 = time.perf_counter()
        write_matte_exr(OUT / f"r.{f:04d}.exr",
                        {f"{o.name}_roto.A": roto_coverage(o, f, W, H) for o in doc.objects},
                        box, box)
        t4 = time.perf_counter()
        for key, seconds in zip(rows, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=False):
            rows[key].append(seconds)

    def inplace() -> None:
        for _, job in roto_frames(doc, {f: str(OUT / f"m.{f:04d}.exr") for f in mattes},
                                  lambda f: str(OUT / f"m.{f:04d}.exr")):
            job()

    t = time.perf_counter()
    inplace()
    rows["inplace"] = [(time.perf_counter() - t) / frames]
    out = {k: 1000 * statistics.median(v) for k, v in rows.items()}
    out["fit"] = 1000 * fit
    out["points"] = statistics.mean(s.point_count for o in doc.objects for s in o.shapes)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    r = measure(args.frames)
    print(f"roto channels, 4 objects, {W}x{H}, {args.frames} frames (ms per frame, median); "
          f"{r['points']:.0f} points per shape, fitting {r['fit']:.0f} ms/frame")
    print(f"  mattes written (4 channels, half, ZIP)      {r['mattes']:7.1f}")
    print(f"  roto rasterised (4 objects)                 {r['raster']:7.1f}   "
          f"feather 4 px: {r['raster4']:.1f}")
    print(f"  roto channels rasterised + written (4)      {r['roto']:7.1f}   "
          f"= {r['roto'] / r['mattes']:.2f}x the matte writing")
    print(f"  in place: matte file rewritten with roto    {r['inplace']:7.1f}   "
          f"(8 channels; {r['inplace'] / r['mattes']:.2f}x)")


if __name__ == "__main__":
    main()
