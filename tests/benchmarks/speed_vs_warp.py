"""`mattetrack track` against bare optical-flow mask warping, start-up, stages, 1080p and 4K.

- 854x480, the DAVIS dev shots, first-frame mask, PNG mattes: the real command line (default
  engine) against bare DIS (medium preset) mask warping of the same frames (read, grey, flow
  from each frame to the one before at the plate's size, the previous mask pulled along it,
  thresholded, written as PNG), each a process of its own, one after the other, in this run.
  Reported per shot and in all: wall seconds and their ratio, and per frame (wall minus
  start-up, over the frames).
- Start-up: process start (the OS's record) to the first frame decoded with the engine
  running (`--timings`' ready_s), the warp's to its first frame decoded; and a whole 2-frame run.
- Stages, ms a frame over the 480p runs: decode, colour (on the read-ahead threads), flow,
  confidence (each step's flow reliability), edges (full-resolution refinement, on its own
  threads), the rest of the engine, write (on the writer thread).
- 1920x1080 and 3840x2160 scene-linear half EXR plates (zip), 100 frames, made here once under
  build/bench/ from a synthetic shot (`synthetic.render_shot`, ping-pong over the frames
  rendered): frames/s end to end and peak RSS after 50 and after 100 frames (flat memory).

Targets (issue 26): <= 2.0x bare warping per run at 480p; start-up <= 0.5 s; 1080p half EXR
>= 12 frames/s and 4K >= 4 frames/s.

    .venv/bin/python tests/benchmarks/speed_vs_warp.py [--quick] [--only dev|exr]
    .venv/bin/python tests/benchmarks/speed_vs_warp.py --warp PLATE MASK OUT   (one bare run)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import speed_memory as sm

ENGINE_STAGES = ("flow", "confidence", "edges")


def bare_warp(plate: str, mask: str, out: str) -> int:
    """Bare DIS mask warping of the plate's frames (printf patterns), from the first frame's
    mask. Prints 'ready <s>': process start to the first frame decoded."""
    import cv2

    from mattetrack.stagetimes import since_process_start

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    prev = cv2.cvtColor(cv2.imread(plate % 0), cv2.COLOR_BGR2GRAY)
    print(f"ready {since_process_start(time.perf_counter())}", flush=True)
    current = (cv2.imread(mask, cv2.IMREAD_GRAYSCALE) > 127).astype(np.float32)
    h, w = prev.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    cv2.imwrite(out % 0, (current * 255).astype(np.uint8))
    k = 1
    while Path(plate % k).exists():
        grey = cv2.cvtColor(cv2.imread(plate % k), cv2.COLOR_BGR2GRAY)
        to_prev = dis.calc(grey, prev, None)
        pulled = cv2.remap(current, gx + to_prev[..., 0], gy + to_prev[..., 1],
                           cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        current = (pulled >= 0.5).astype(np.float32)
        cv2.imwrite(out % k, (current * 255).astype(np.uint8))
        prev, k = grey, k + 1
    print(f"frames {k}")
    return 0


def run_warp(shot: str) -> tuple[int, float, float]:
    """(frames, wall seconds, start-up seconds) of a bare warp process on a dev shot."""
    root = sm.DAVIS / "JPEGImages" / "480p" / shot
    mask = sm.DAVIS / "Annotations" / "480p" / shot / "00000.png"
    out = sm.BENCH / "warp480" / shot
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--warp", str(root / "%05d.jpg"), str(mask),
           str(out / "%05d.png")]
    stdout, _, seconds, _ = sm.run_measured(f"warp {shot}", cmd)
    values = dict(line.split() for line in stdout.splitlines())
    return int(values["frames"]), seconds, float(values["ready"])


def per_frame_ms(seconds: float, ready: float, frames: int) -> float:
    return (seconds - ready) / max(frames, 1) * 1000


def stage_ms(runs: list[sm.Run]) -> dict[str, float]:
    """ms a frame per stage over `runs`."""
    frames = max(sum(r.frames for r in runs), 1)
    total = {k: sum(r.timings.get(f"{k}_s", 0.0) for r in runs)
             for k in ("decode", "colour", "read_wait", "engine", "write", *ENGINE_STAGES)}
    # The engine's own time, less what it waited for frames and the stages timed inside it
    # (edges run on their own threads, so they are not inside engine_s).
    total["engine, rest"] = total["engine"] - total["read_wait"] - total["flow"] \
        - total["confidence"]
    order = ("decode", "colour", "flow", "confidence", "edges", "engine, rest", "write")
    return {k: total[k] / frames * 1000 for k in order}


def dev_shots(quick: bool) -> None:
    root = sm.DAVIS / "JPEGImages" / "480p"
    shots = ["dog", "bmx-trees"] if quick else sorted(p.name for p in root.iterdir())
    print("| shot | frames | track s | bare warp s | ratio | ms/frame track / warp "
          "(after start-up) | start-up track / warp s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    tracks, warps = [], []
    for shot in shots:
        track = sm.davis_480p([shot])[0]
        frames, warp_s, warp_ready = run_warp(shot)
        tracks.append(track)
        warps.append((frames, warp_s, warp_ready))
        ready = track.timings.get("ready_s", -1.0)
        print(f"| {shot} | {track.frames} | {track.seconds:.2f} | {warp_s:.2f} | "
              f"{track.seconds / warp_s:.2f}x | "
              f"{per_frame_ms(track.seconds, ready, track.frames):.1f} / "
              f"{per_frame_ms(warp_s, warp_ready, frames):.1f} | {ready:.2f} / "
              f"{warp_ready:.2f} |", flush=True)
    t_s = sum(r.seconds for r in tracks)
    w_s = sum(w[1] for w in warps)
    t_ready = sum(r.timings.get("ready_s", 0.0) for r in tracks)
    w_ready = sum(w[2] for w in warps)
    frames = sum(r.frames for r in tracks)
    print(f"| **all** | {frames} | {t_s:.2f} | {w_s:.2f} | **{t_s / w_s:.2f}x** | "
          f"{per_frame_ms(t_s, t_ready, frames):.1f} / {per_frame_ms(w_s, w_ready, frames):.1f}"
          f" ({(t_s - t_ready) / (w_s - w_ready):.2f}x) | "
          f"{statistics.median(r.timings.get('ready_s', -1.0) for r in tracks):.2f} / "
          f"{statistics.median(w[2] for w in warps):.2f} (medians) |")
    stages = stage_ms(tracks)
    print("480p stages, ms a frame: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    two = sm.run_cli("2 frames", [str(root / "dog" / "%05d.jpg"), "--range", "0-1", "--mask",
                                  f"0:{sm.DAVIS / 'Annotations' / '480p' / 'dog' / '00000.png'}",
                                  "-o", str(sm.BENCH / "two" / "%05d.png")])
    print(f"start-up: a 2-frame run of dog takes {two.seconds:.2f} s in all; ready after "
          f"{two.timings.get('ready_s', -1.0):.2f} s")


UNIQUE_4K = 24  # frames rendered at 4K (about 100 MB each in memory)


def synthetic_exr(width: int, height: int, frames: int) -> tuple[str, str]:
    """(plate pattern, first-frame mask) of a `frames`-long half EXR shot at width x height,
    made once under build/bench/ (1080p reuses speed_memory's)."""
    if (width, height) == (1920, 1080):
        return sm.synthetic_1080p(frames, exr=True)
    import cv2

    folder = sm.BENCH / f"synth{width}x{height}-exr"
    unique = folder / "unique"
    mask = unique / "mask0.png"
    if not (unique / "done").exists():
        from mattetrack.synthetic import render_shot

        unique.mkdir(parents=True, exist_ok=True)
        shot = render_shot(UNIQUE_4K, width, height, seed=11, motion_blur_samples=2)
        for i, (linear, coverage) in enumerate(shot):
            sm._write_half_exr(unique / f"{i:05d}.exr", linear)
            if i == 0:
                cv2.imwrite(str(mask), ((coverage >= 0.5) * 255).astype(np.uint8))
        del shot
        (unique / "done").touch()
    pattern = folder / "plate.%05d.exr"
    sm.linked_sequence(unique, pattern, frames, UNIQUE_4K, "exr")
    return str(pattern), str(mask)


def exr_plates(quick: bool) -> None:
    print("| plate | frames | frames/s | peak RSS MiB | ms a frame: decode, colour, flow, "
          "confidence, edges, engine rest, write | ready s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for width, height in ((1920, 1080), (3840, 2160)):
        plate, mask = synthetic_exr(width, height, 100)
        for frames in (50, 100):
            out = sm.BENCH / f"out{width}x{height}-{frames}" / "%05d.png"
            run = sm.run_cli(f"{height}p x{frames}", [plate, "--range", f"0-{frames - 1}",
                                                      "--mask", f"0:{mask}", "-o", str(out)])
            stages = stage_ms([run])
            print(f"| {width}x{height} half EXR | {frames} | {run.fps:.1f} | "
                  f"{run.peak_rss_mib:.0f} | "
                  + ", ".join(f"{v:.0f}" for v in stages.values())
                  + f" | {run.timings.get('ready_s', -1.0):.2f} |", flush=True)
            if quick:
                break


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 dev shots; 50 frames of EXR")
    parser.add_argument("--only", choices=("dev", "exr"), help="one part of the benchmark")
    parser.add_argument("--warp", nargs=3, metavar=("PLATE", "MASK", "OUT"),
                        help="one bare warp run (printf patterns)")
    args = parser.parse_args()
    if args.warp:
        return bare_warp(*args.warp)
    print("mattetrack track (default engine) against bare DIS mask warping, "
          f"{sm.os.cpu_count()} cores")
    if args.only != "exr":
        if sm.DAVIS.is_dir():
            dev_shots(args.quick)
        else:
            print(f"480p skipped: {sm.DAVIS} is absent")
    if args.only != "dev":
        exr_plates(args.quick)
    print("targets: <= 2.0x bare warping per run at 480p; start-up <= 0.5 s; 1080p half EXR "
          ">= 12 frames/s, 4K >= 4 frames/s, flat memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
