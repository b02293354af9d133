"""Reading camera movies: PyAV (what `Shot` uses, shot/movie.py) against OpenCV's ffmpeg capture
(what it used before), side by side in one run, and memory that does not grow with length.

A 1080p movie of a moving synthetic frame is made once under build/bench/ per codec: ProRes 422
HQ 10-bit and H.264 4:2:0 8-bit. For each:
- frames/s reading every frame in order: `Shot.image` (PyAV, its read-ahead on, colour
  converted to the engines' float image) and bare `MovieReader.read`, against `cv2.VideoCapture`
  (8-bit BGR only: it cannot give a 10-bit source's other bits);
- frames/s reading 40 frames in a shuffled order (every read a seek), PyAV against OpenCV, and
  whether each frame is the one asked for (blocks along the top say which);
- peak RSS of a process reading 100 frames and one reading all the frames through `Shot`.

    .venv/bin/python tests/benchmarks/movie_read.py [--frames 300] [--size 3840x2160]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "build" / "bench" / "movie_read"
W, H = 1920, 1080
CODECS = {"prores_422hq_10bit.mov": ("prores_ks", "yuv422p10le", {"profile": "3"}),
          "h264_420.mp4": ("libx264", "yuv420p", {"crf": "18", "g": "48"})}


BITS = 12  # the frame number, in 64 px blocks along the top edge (robust to any codec)


def make(path: Path, codec: str, pix: str, options: dict, frames: int) -> None:
    ys, xs = np.mgrid[0:H, 0:W]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=24)
        stream.width, stream.height, stream.pix_fmt = W, H, pix
        stream.options = options
        stream.codec_context.colorspace, stream.codec_context.color_range = 1, 1
        for i in range(frames):
            img = np.empty((H, W, 3), np.uint16)
            img[..., 0] = 20000
            img[..., 1] = ((xs + 7 * i) % W * 30).astype(np.uint16)
            img[..., 2] = ((ys + 3 * i) % H * 50).astype(np.uint16)
            for b in range(BITS):
                img[:64, 64 * b:64 * b + 64] = 60000 if (i >> b) & 1 else 2000
            frame = av.VideoFrame.from_ndarray(img, format="rgb48le").reformat(
                format=pix, dst_colorspace="ITU709", dst_color_range=1)
            frame.pts, frame.time_base = i, Fraction(1, 24)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def which(rgb: np.ndarray, top: float) -> int:
    """The frame number a decoded (H, W, 3) frame carries in its top blocks."""
    return sum(1 << b for b in range(BITS) if rgb[32, 64 * b + 32, 0] > top / 2)


def pyav_rates(path: Path, frames: int) -> dict:
    from mattetrack.shot import Shot
    from mattetrack.shot.movie import MovieReader

    reader = MovieReader(str(path))
    started = time.perf_counter()
    for i in range(frames):
        reader.read(i)
    bare = frames / (time.perf_counter() - started)
    order = random.Random(3).sample(range(frames), 40)
    right = 0
    started = time.perf_counter()
    for i in order:
        right += which(reader.read(i), reader.max_value) == i
    shuffled = len(order) / (time.perf_counter() - started)
    reader.close()
    with Shot.open(str(path), prefetch=4, cache_size=8) as shot:
        started = time.perf_counter()
        for f in shot.frames[:frames]:
            shot.image(f)
        through_shot = frames / (time.perf_counter() - started)
    return {"bare": bare, "shot": through_shot, "shuffled": shuffled, "exact": right / 40}


def opencv_rates(path: Path, frames: int) -> dict:
    import cv2

    cap = cv2.VideoCapture(str(path))
    started = time.perf_counter()
    for _ in range(frames):
        ok, _ = cap.read()
        assert ok
    bare = frames / (time.perf_counter() - started)
    order = random.Random(3).sample(range(frames), 40)
    right = 0
    started = time.perf_counter()
    for i in order:
        cap.set(cv2.CAP_PROP_POS_FRAMES, i)
        ok, bgr = cap.read()
        right += ok and which(bgr[:, :, ::-1], 255.0) == i
    shuffled = len(order) / (time.perf_counter() - started)
    cap.release()
    return {"bare": bare, "shuffled": shuffled, "exact": right / 40}


PEAK = """
import resource, sys
from mattetrack.shot import Shot
with Shot.open(sys.argv[1], prefetch=4, cache_size=8) as shot:
    for f in shot.frames[:int(sys.argv[2])]:
        shot.image(f)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_mib(path: Path, frames: int) -> float:
    out = subprocess.run([sys.executable, "-c", PEAK, str(path), str(frames)],
                         capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1]) / 1024


def main() -> int:
    global W, H
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default=f"{W}x{H}", help="WxH (default 1920x1080)")
    args = parser.parse_args()
    W, H = (int(v) for v in args.size.lower().split("x"))
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"Movies, {W}x{H}, {args.frames} frames, 2 CPUs")
    print("| movie | PyAV in order | through Shot | OpenCV in order | PyAV shuffled (exact) "
          "| OpenCV shuffled (exact) | peak RSS 100 / all frames |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    results = {}
    for name, (codec, pix, options) in CODECS.items():
        path = WORK / f"{W}x{H}_{args.frames}_{name}"
        if not path.exists():
            make(path, codec, pix, options, args.frames)
        ours, theirs = pyav_rates(path, args.frames), opencv_rates(path, args.frames)
        peaks = (peak_mib(path, 100), peak_mib(path, args.frames))
        results[name] = {"pyav": ours, "opencv": theirs, "peak_mib": peaks}
        print(f"| {name} | {ours['bare']:.1f} f/s | {ours['shot']:.1f} f/s | "
              f"{theirs['bare']:.1f} f/s | {ours['shuffled']:.1f} f/s ({ours['exact']:.0%}) | "
              f"{theirs['shuffled']:.1f} f/s ({theirs['exact']:.0%}) | "
              f"{peaks[0]:.0f} / {peaks[1]:.0f} MiB |", flush=True)
    (WORK / f"results_{W}x{H}.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
