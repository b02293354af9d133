"""What `--cryptomatte` costs: a whole `track` run with it against mattes alone, and at the
writer, the rank layers the objects need against the fixed three layers written before.

1. `mattetrack track` of a 100-frame 1080p half-EXR synthetic plate (speed_memory's), one object
   (its first-frame mask), EXR mattes: without and with `--cryptomatte`, alternated, best of
   `--repeats` each; wall seconds, frames/s and bytes written.
2. The writer alone (`write_matte_exr`, the native module) on the mattes of that run: one
   object's Cryptomatte as one rank layer (what `--cryptomatte` writes now) against three
   (six ranks, as before), same frames; seconds and bytes.

    .venv/bin/python tests/benchmarks/cryptomatte_cost.py [--frames 100] [--repeats 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed_memory as sm

WORK = sm.BENCH / "cryptomatte_cost"


def _bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*.exr"))


def run_track(plate: str, mask: str, frames: int, crypto: bool) -> tuple[float, int]:
    """(wall seconds, bytes written) of one `track` run."""
    out = WORK / ("crypto" if crypto else "mattes")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [*sm.mattetrack_cmd(), "track", plate, "--range", f"0-{frames - 1}", "--mask",
           f"0:{mask}", "-o", str(out / "m.%05d.exr"), "-q"] + (["--cryptomatte"] if crypto
                                                                else [])
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - started, _bytes(out)


def writer_only(ranks: int, frames: int) -> tuple[float, int]:
    """(seconds, bytes) of writing the run's mattes again with a `ranks`-rank Cryptomatte."""
    import OpenImageIO as oiio

    from mattetrack.export.cryptomatte import Cryptomatte
    from mattetrack.export.exr import write_matte_exr
    from mattetrack.geometry import Box2i

    files = sorted((WORK / "mattes").glob("*.exr"))[:frames]
    mattes = []
    for path in files:
        buf = oiio.ImageBuf(str(path))
        assert buf.spec().nchannels == 1, path  # the one object's matte
        mattes.append(buf.get_pixels(oiio.FLOAT)[:, :, 0])
    h, w = mattes[0].shape
    box = Box2i(0, 0, w - 1, h - 1)
    out = WORK / f"ranks{ranks}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    crypto = Cryptomatte(["object"], ranks=ranks)
    started = time.perf_counter()
    for i, matte in enumerate(mattes):
        write_matte_exr(out / f"m.{i:05d}.exr", {"object": matte}, box, box, cryptomatte=crypto)
    return time.perf_counter() - started, _bytes(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    plate, mask = sm.synthetic_1080p(args.frames, exr=True)
    runs: dict[bool, list[tuple[float, int]]] = {False: [], True: []}
    for _ in range(args.repeats):
        for crypto in (False, True):
            runs[crypto].append(run_track(plate, mask, args.frames, crypto))
    best = {k: min(v) for k, v in runs.items()}
    print(f"--cryptomatte: {args.frames} frames of 1080p half EXR, one object, best of "
          f"{args.repeats}")
    print("| Run | Wall s | Frames/s | MB written | x mattes alone |")
    print("| --- | --- | --- | --- | --- |")
    for crypto, label in ((False, "mattes alone"), (True, "--cryptomatte (1 rank layer)")):
        s, size = best[crypto]
        print(f"| {label} | {s:.1f} | {args.frames / s:.1f} | {size / 1e6:.1f} | "
              f"{s / best[False][0]:.2f} (files {size / best[False][1]:.2f}x) |")
    print("Writer alone, the same mattes with a one-object Cryptomatte:")
    print("| Rank layers | Seconds | MB |")
    print("| --- | --- | --- |")
    results = {ranks: writer_only(ranks, args.frames) for ranks in (2, 6)}
    for ranks, (s, size) in results.items():
        print(f"| {ranks // 2} ({ranks} ranks) | {s:.2f} | {size / 1e6:.1f} |")
    one, three = results[2], results[6]
    print(f"Three layers against one: {three[0] / one[0]:.2f}x the time, "
          f"{three[1] / one[1]:.2f}x the bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
