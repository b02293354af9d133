"""EXR matte writing: the native module against OpenImageIO's Python API, same job, one run.

The job: 4 objects' mattes (half, ZIP) plus a Cryptomatte (3 rank layers, float32, ZIP, manifest)
for 100 frames of 2048x1152. Each path does all the work a writer has to do per frame from the
float32 mattes a session yields:
- native: `write_matte_exr(..., cryptomatte=...)` (ranking, float to half and the writing in
  C++ on every core, the GIL released);
- OpenImageIO: rank in NumPy (a stable argsort over the objects), interleave the 16 channels,
  and write them through `ImageOutput` with per-channel formats (half mattes, float Cryptomatte),
  ZIP and the same header attributes; OpenImageIO compresses on its own thread pool.

MB/s counts the uncompressed channel data written (4 x 2 + 12 x 4 bytes per pixel). The files of
both paths are read back once and compared, so the comparison is of equal work.

    .venv/bin/python tests/benchmarks/exr_write.py [--frames N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mattetrack.export.cryptomatte import Cryptomatte, cryptomatte_hash
from mattetrack.export.exr import write_matte_exr
from mattetrack.geometry import Box2i

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "bench" / "exr_write"
NAMES = ("hero", "car", "dog", "tree")
WIDTH, HEIGHT = 2048, 1152


@dataclass
class Result:
    label: str
    frames: int
    seconds: float
    payload_mb: float  # uncompressed channel data written, MB (10^6 bytes)
    file_mb: float  # bytes on disk, MB

    @property
    def mb_per_s(self) -> float:
        return self.payload_mb / self.seconds

    @property
    def fps(self) -> float:
        return self.frames / self.seconds


def make_mattes(variant: int) -> list[np.ndarray]:
    """Four soft, overlapping mattes (2048x1152 float32) that move with `variant`."""
    ys, xs = np.mgrid[:HEIGHT, :WIDTH].astype(np.float32)
    out = []
    for i in range(len(NAMES)):
        cx = 400 + 350 * i + 40 * variant
        cy = 576 + 120 * np.sin(i + variant)
        r = 260 + 30 * i
        out.append(np.clip((r - np.hypot(xs - cx, ys - cy)) / 25.0, 0, 1).astype(np.float32))
    return out


def write_native(path: Path, mattes: list[np.ndarray], crypto: Cryptomatte) -> None:
    box = Box2i.from_size(WIDTH, HEIGHT)
    write_matte_exr(path, {f"{n}.A": m for n, m in zip(NAMES, mattes, strict=True)}, box, box,
                    compression="zip", half=True, cryptomatte=crypto)


def oiio_pixels(mattes: list[np.ndarray], crypto: Cryptomatte) -> tuple[list[str], np.ndarray]:
    """The channel names and the interleaved (h, w, 16) float32 pixels, ranked in NumPy."""
    cov = np.stack(mattes)  # (objects, h, w)
    ids = np.array([cryptomatte_hash(n) for n in NAMES], np.uint32).view(np.float32)
    order = np.argsort(-cov, axis=0, kind="stable")[:6]  # ranks, highest first, ties in order
    ranked = np.take_along_axis(cov, order, axis=0)
    rank_ids = np.where(ranked > 0, ids[order], np.float32(0))
    ranked = np.where(ranked > 0, ranked, np.float32(0))
    layers = []
    for r in range(6):
        if r < len(NAMES):
            layers += [rank_ids[r], ranked[r]]
        else:
            layers += [np.zeros_like(cov[0]), np.zeros_like(cov[0])]
    pixels = np.stack([*mattes, *layers], axis=-1)  # interleaved (h, w, 16) float32
    names = [f"{n}.A" for n in NAMES]
    for layer in range(3):
        names += [f"{crypto.type_name}{layer:02d}.{c}" for c in "RGBA"]
    return names, pixels


def write_oiio(path: Path, mattes: list[np.ndarray], crypto: Cryptomatte,
               prepared: tuple[list[str], np.ndarray] | None = None) -> None:
    import OpenImageIO as oiio

    names, pixels = prepared or oiio_pixels(mattes, crypto)
    spec = oiio.ImageSpec(WIDTH, HEIGHT, len(names), oiio.FLOAT)
    spec.channelnames = tuple(names)
    spec.channelformats = tuple([oiio.TypeDesc("half")] * 4 + [oiio.TypeDesc("float")] * 12)
    spec.attribute("compression", "zip")
    for key, value in crypto.attributes().items():
        spec.attribute(key, value)
    tmp = path.with_name(f".{path.name}.tmp")
    out = oiio.ImageOutput.create("exr")  # the temporary name has no .exr extension
    if not out.open(str(tmp), spec) or not out.write_image(pixels):
        raise RuntimeError(out.geterror())
    out.close()
    os.replace(tmp, path)  # atomic, as the native path's writer is


def run(label: str, writer, frames: int, variants: list[list[np.ndarray]]) -> Result:
    folder = OUT / label
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    crypto = Cryptomatte(list(NAMES), ranks=6)  # the OpenImageIO path writes 3 layers
    started = time.perf_counter()
    for f in range(frames):
        writer(folder / f"m.{f:04d}.exr", variants[f % len(variants)], crypto)
    seconds = time.perf_counter() - started
    payload = frames * WIDTH * HEIGHT * (len(NAMES) * 2 + 12 * 4) / 1e6
    size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    return Result(label, frames, seconds, payload, size)


def same_content(a: Path, b: Path) -> bool:
    """Both files hold the same channels with the same values (read with OpenImageIO)."""
    import OpenImageIO as oiio

    def load(path: Path) -> dict[str, np.ndarray]:
        inp = oiio.ImageInput.open(str(path))
        spec = inp.spec()
        px = inp.read_image(oiio.FLOAT)
        inp.close()
        return {n: px[:, :, i] for i, n in enumerate(spec.channelnames)}

    x, y = load(a), load(b)
    return x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)


def measure(frames: int = 100) -> tuple[Result, Result, Result, bool]:
    """(native, OpenImageIO, OpenImageIO writing already ranked pixels, same content)."""
    variants = [make_mattes(v) for v in range(4)]
    native = run("native", write_native, frames, variants)
    oiio_run = run("oiio", write_oiio, frames, variants)
    equal = same_content(OUT / "native" / "m.0001.exr", OUT / "oiio" / "m.0001.exr")
    # For the record: how much of OpenImageIO's time is the writing alone (ranking done before).
    crypto = Cryptomatte(list(NAMES), ranks=6)  # the OpenImageIO path writes 3 layers
    ready = {id(v): oiio_pixels(v, crypto) for v in variants}
    write_only = run("oiio-write-only",
                     lambda p, m, c: write_oiio(p, m, c, ready[id(m)]), frames, variants)
    return native, oiio_run, write_only, equal


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args()
    native, other, write_only, equal = measure(args.frames)
    print(f"EXR write, {args.frames} frames of {WIDTH}x{HEIGHT}, 4 mattes (half) + Cryptomatte "
          f"(float32), ZIP, {os.cpu_count()} cores; same content: {equal}")
    for r in (native, other, write_only):
        print(f"  {r.label:<16}{r.seconds:7.1f} s  {r.fps:6.1f} frames/s  {r.mb_per_s:7.0f} MB/s"
              f"  files {r.file_mb:6.0f} MB")
    print(f"  native vs OpenImageIO: {other.seconds / native.seconds:.2f}x faster "
          f"({write_only.seconds / native.seconds:.2f}x against its writing alone)")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
