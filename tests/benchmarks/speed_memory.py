"""Whole-run speed and peak memory of the real `mattetrack track` command line.

- 854x480: DAVIS dev shots (JPEG), first-frame mask; frames/s of the whole run per shot.
- 1920x1080: a synthetic shot (`mattetrack.synthetic.render_shot`), written once under
  build/bench/ as a JPEG sequence (and a half-float EXR sequence for the colour path) and reused.
  Only one chunk of frames is ever rendered in memory: the sequence plays that chunk forwards and
  backwards (ping-pong, so motion stays continuous and there is no cut), each file a hard link.
- Peak RSS of the CLI process (os.wait4's rusage) for 100 and for 1000 frames of 1080p: memory
  must not grow with shot length.

Every run passes `--timings`, so the stage seconds (decode, colour, engine, write) are reported.

    .venv/bin/python tests/benchmarks/speed_memory.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "build" / "bench"
DAVIS = ROOT.parent / "shared" / "data" / "davis2016-dev"
MATTETRACK = Path(sys.executable).with_name("mattetrack")


def mattetrack_cmd() -> list[str]:
    """The command line: the venv's console script, else `python -m mattetrack` (the package on
    PYTHONPATH, not installed: gpu_check.sh on a GPU machine without a package registry)."""
    return [str(MATTETRACK)] if MATTETRACK.exists() else [sys.executable, "-m", "mattetrack"]
CHUNK = 48  # frames rendered in memory at once (about 1.5 GB at 1080p)


@dataclass
class Run:
    """One CLI run: frames, wall seconds, peak RSS (MiB) and the CLI's --timings numbers."""

    label: str
    frames: int
    seconds: float
    peak_rss_mib: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds


# Runs `argv[1:]` and reports the child's peak RSS on stderr. Linux's ru_maxrss of a child
# counts the memory of the process it was forked from (exec keeps the pre-exec high-water mark):
# a child forked straight from this process would report this process's peak (1.3 GB after the
# other benchmarks in run_all.py). Forked from this small interpreter, it starts near 10 MB.
_LAUNCHER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[1:])\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "print(f'launcher: maxrss_kib {usage.ru_maxrss}', file=sys.stderr)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_measured(label: str, cmd: list[str]) -> tuple[str, str, float, float]:
    """(stdout, stderr, wall seconds, peak RSS MiB) of `cmd`, run through `_LAUNCHER`."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", _LAUNCHER, *cmd],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{label}: exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    kib = [line for line in proc.stderr.splitlines() if line.startswith("launcher: maxrss_kib ")]
    return proc.stdout, proc.stderr, seconds, int(kib[-1].split()[-1]) / 1024


def run_cli(label: str, args: list[str]) -> Run:
    """Run `mattetrack track ARGS --timings -q`; wall time and this child's own peak RSS."""
    cmd = [*mattetrack_cmd(), "track", *args, "--timings", "-q"]
    _, err, seconds, rss = run_measured(label, cmd)
    timings: dict[str, float] = {}
    for line in err.splitlines():
        if line.startswith("mattetrack: timings "):
            timings = json.loads(line.removeprefix("mattetrack: timings "))
    return Run(label, int(timings.get("frames", 0)), seconds, rss, timings)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        dst.write_bytes(src.read_bytes())


def linked_sequence(unique: Path, pattern: Path, frames: int, count: int, kind: str) -> None:
    """Files pattern % 0 .. frames - 1 linked to the `count` rendered ones (unique/00000.<kind>
    ...) played forwards and backwards (no cut), where not there yet."""
    for i in range(frames):
        dst = Path(str(pattern) % i)
        if not dst.exists():
            _link_or_copy(unique / f"{_pingpong(i, count):05d}.{kind}", dst)


def _pingpong(i: int, n: int) -> int:
    """Frame i of an endless forwards-backwards playback of n frames."""
    period = 2 * (n - 1)
    k = i % period
    return k if k < n else period - k


def synthetic_1080p(frames: int, exr: bool = False) -> tuple[str, str]:
    """(plate pattern, mask of its first frame) of a `frames`-long 1080p synthetic shot.

    Written once under build/bench/ and reused; `exr` gives scene-linear half EXRs instead of
    sRGB JPEGs.
    """
    import cv2

    kind = "exr" if exr else "jpg"
    folder = BENCH / f"synth1080-{kind}"
    unique = folder / "unique"
    pattern = folder / ("plate.%05d.exr" if exr else "plate.%05d.jpg")
    mask = unique / "mask0.png"
    if not (unique / "done").exists():
        from mattetrack.synthetic import linear_to_srgb, render_shot

        unique.mkdir(parents=True, exist_ok=True)
        shot = render_shot(CHUNK, 1920, 1080, seed=11, motion_blur_samples=3)
        for i, (linear, coverage) in enumerate(shot):
            path = unique / f"{i:05d}.{kind}"
            if exr:
                _write_half_exr(path, linear)
            else:
                srgb = (linear_to_srgb(linear) * 255 + 0.5).astype(np.uint8)
                cv2.imwrite(str(path), srgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
            if i == 0:
                cv2.imwrite(str(mask), ((coverage >= 0.5) * 255).astype(np.uint8))
        del shot
        (unique / "done").touch()
    linked_sequence(unique, pattern, frames, CHUNK, kind)
    return str(pattern), str(mask)


def _write_half_exr(path: Path, linear: np.ndarray) -> None:
    import OpenImageIO as oiio

    h, w, _ = linear.shape
    spec = oiio.ImageSpec(w, h, 3, "half")
    spec.attribute("compression", "zip")
    out = oiio.ImageOutput.create(str(path))
    assert out is not None and out.open(str(path), spec), oiio.geterror()
    assert out.write_image(np.ascontiguousarray(linear, np.float32)), out.geterror()
    out.close()


def davis_480p(shots: list[str] | None = None) -> list[Run]:
    """One run per DAVIS dev shot (first-frame mask), outputs under build/bench/speed480."""
    root = DAVIS / "JPEGImages" / "480p"
    names = shots or sorted(p.name for p in root.iterdir())
    runs = []
    for shot in names:
        mask = DAVIS / "Annotations" / "480p" / shot / "00000.png"
        out = BENCH / "speed480" / shot / "%05d.png"
        runs.append(run_cli(shot, [str(root / shot / "%05d.jpg"), "--mask", f"0:{mask}",
                                   "-o", str(out)]))
    return runs


def run_1080p(frames: int, exr: bool = False) -> Run:
    """Track the first `frames` frames of the synthetic 1080p shot; PNG mattes."""
    plate, mask = synthetic_1080p(frames, exr)
    kind = "exr" if exr else "jpg"
    out = BENCH / f"out1080-{kind}-{frames}" / "%05d.png"
    label = f"1080p {kind} x{frames}"
    return run_cli(label, [plate, "--range", f"0-{frames - 1}", "--mask", f"0:{mask}",
                           "-o", str(out)])


def summed(runs: list[Run]) -> Run:
    """All runs as one: total frames over total seconds, max RSS, summed stage timings."""
    timings: dict[str, float] = {}
    for run in runs:
        for key, value in run.timings.items():
            timings[key] = timings.get(key, 0.0) + value
    return Run("all", sum(r.frames for r in runs), sum(r.seconds for r in runs),
               max(r.peak_rss_mib for r in runs), timings)


STAGES = ("decode_s", "colour_s", "read_wait_s", "engine_s", "write_s", "write_wait_s")


def stage_line(run: Run) -> str:
    """'decode 1.2 s, colour ...' per frame in milliseconds."""
    n = max(run.frames, 1)
    parts = [f"{k.removesuffix('_s')} {run.timings.get(k, 0.0) / n * 1000:.0f}" for k in STAGES]
    return "ms/frame: " + ", ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 DAVIS shots, 1080p: 100 frames")
    args = parser.parse_args()
    print(f"mattetrack speed and memory, classic engine, {os.cpu_count()} cores")
    if DAVIS.is_dir():
        runs = davis_480p(["dog", "bmx-trees"] if args.quick else None)
        for run in runs:
            print(f"480p {run.label:<16} {run.fps:5.1f} frames/s  {stage_line(run)}")
        total = summed(runs)
        print(f"480p all              {total.fps:5.1f} frames/s  {stage_line(total)}")
    else:
        print(f"480p skipped: {DAVIS} is absent")
    for frames, exr in ((100, False), (100, True)) + (() if args.quick else ((1000, False),)):
        run = run_1080p(frames, exr)
        print(f"{run.label:<21} {run.fps:5.1f} frames/s  peak RSS {run.peak_rss_mib:6.0f} MiB  "
              f"{stage_line(run)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
