"""Object removal (`mattetrack remove`, removal/): the video-inpainting protocol on the dev DAVIS
shots, against OpenCV's per-frame inpainting (Telea) in the same run.

Each dev shot at 432x240 gets the moving masks of the next shot (sorted by name, the last the
first's), each dilated by 4 px, as its holes; the original frames are the truth. The holes are
painted grey before anything looks at them. Reported per shot and on average:
- PSNR and SSIM over the whole frame and inside the holes (mean over frames; RGB, 8-bit; the
  holes' SSIM: the SSIM map over the hole's pixels, each a window centred there);
- PSNR inside the holes where the truth shows background (not the shot's own object, which no
  background fill brings back: a share of every hole under this protocol);
- flicker: mean absolute difference of the filled region between consecutive frames after
  motion compensation (DIS flow of the truth), over the truth's own;
- frames/s of the fill (frames in memory; the CLI's own speed is `--cli`).
Published anchors (DAVIS, 432x240, whole-frame PSNR): FGVC 30.8 dB, E2FGVI 33.0, ProPainter
34.4 (trained). Targets (issue 24): >= 31 dB whole-frame, >= 6 dB above Telea inside the holes,
flicker within 1.5x the truth's, >= 5 frames/s at 432x240.

    .venv/bin/python tests/benchmarks/removal.py [--shots dog,car-shadow] [--cli 30] [--memory]
                                                 [--farm 40] [--classes] [--foreground]

--cli N: `mattetrack remove` itself on N frames of kite-surf at 1920x1080 written as half EXR
(motocross-jump's masks grown 16 px as the mattes), with the plate cache's default budget and
with 12 frames kept: frames/s and plate reads per frame written.
--memory: the peak memory of `mattetrack remove` (its own process) on dog at 1920x1080 (half EXR,
car-shadow's masks grown 16 px) played forwards then backwards for 120 frames, after 30, 60, 90
and 120 frames written, with the default budget and with --cache-mib 256: what bounds it is
the setting, not the shot's length (it stops growing once the plate cache is full).
--classes: where the fill's error is, per shot: the in-hole gain over Telea as is and with each
class of hole pixels replaced by the truth (the shot's own object, background no frame saw,
background some frame saw), with each class's share of the hole and its mean squared error.
--foreground: the shot's own subject given as the foreground (`remove --foreground`: what moves
in front of the background and stays; DAVIS's truth grown by 4 px standing in for its tracked
matte): the holes' PSNR where the truth is background, and over all their pixels, without and
with it (the protocol's holes cut over the subject too, and there the smeared subject was the
nearest thing to it).
--farm N: N frames of breakdance at 960x540 (half EXR, car-shadow's masks grown 8 px: half of
each hole no frame saw) removed by `mattetrack remove` in one run and by its `--job` bundle run
through `openjd run` (its tasks one after another on this machine, the last first, so no task
finds the frame before its own written), with 10 frames a task: the work each takes, what
chunking costs (each task fills 14 frames before its own and 6 after, unwritten, and starts a
process), the longest task (the wall time with a worker per task) and how far the two runs'
files differ.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

from mattetrack.geometry import Box2i
from mattetrack.removal.run import RemovalSettings, removed

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "davis2016-dev"
SIZE = (432, 240)
GROW = 4


def frames_of(shot: str) -> list[np.ndarray]:
    files = sorted((DATA / "JPEGImages" / "480p" / shot).glob("*.jpg"))
    return [cv2.resize(cv2.imread(str(f))[:, :, ::-1], SIZE, interpolation=cv2.INTER_AREA)
            for f in files]


def masks_of(shot: str, grow: int = GROW) -> list[np.ndarray]:
    files = sorted((DATA / "Annotations" / "480p" / shot).glob("*.png"))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    out = []
    for f in files:
        m = cv2.resize(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE), SIZE,
                       interpolation=cv2.INTER_NEAREST) > 0
        out.append(cv2.dilate(m.astype(np.uint8), kernel) > 0 if grow else m)
    return out


class MemoryShot:
    """The `Shot` methods removal uses, over frames in memory (8-bit RGB)."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self._frames = [f.astype(np.float32) / 255 for f in frames]
        self.height, self.width = frames[0].shape[:2]
        self.frames = list(range(len(frames)))

    def image(self, frame: int) -> np.ndarray:
        return self._frames[frame]

    def decoded(self, frame: int):
        box = Box2i.from_size(self.width, self.height)
        return SimpleNamespace(rgb=self._frames[frame], data_window=box, display_window=box,
                               is_float=False)


class MemoryMattes:
    def __init__(self, holes: list[np.ndarray], foreground: list[np.ndarray] | None = None
                 ) -> None:
        self._holes, self._foreground = holes, foreground

    def read(self, frame: int) -> dict[str, np.ndarray]:
        mattes = {"hole": self._holes[frame].astype(np.float32)}
        if self._foreground is not None:
            mattes["subject"] = self._foreground[frame].astype(np.float32)
        return mattes


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    d = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    mse = d[where].mean() if where is not None else d.mean()
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-10))


def ssim(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    """SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5), mean over RGB; the SSIM map
    averaged over the frame, or over `where` ((h, w) bool: the windows centred in the hole)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    out = []
    for c in range(3):
        x, y = a[..., c].astype(np.float64), b[..., c].astype(np.float64)
        blur = lambda z: cv2.GaussianBlur(z, (11, 11), 1.5)  # noqa: E731
        mx, my = blur(x), blur(y)
        sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
        local = (((2 * mx * my + c1) * (2 * sxy + c2))
                 / ((mx * mx + my * my + c1) * (sxx + syy + c2)))
        out.append(local[where].mean() if where is not None else local.mean())
    return float(np.mean(out))


def flicker(result: list[np.ndarray], truth: list[np.ndarray], holes: list[np.ndarray]) -> float:
    """Mean |result_t - result_{t+1} warped to t| over t's hole, motion from the truth."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    h, w = holes[0].shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    diffs = []
    for t in range(len(result) - 1):
        if not holes[t].any():
            continue
        g0, g1 = (cv2.cvtColor(truth[k], cv2.COLOR_RGB2GRAY) for k in (t, t + 1))
        flow = dis.calc(g0, g1, None)
        nxt = cv2.remap(result[t + 1].astype(np.float32), gx + flow[..., 0], gy + flow[..., 1],
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        diffs.append(np.abs(result[t].astype(np.float32) - nxt)[holes[t]].mean())
    return float(np.mean(diffs)) if diffs else 0.0


def telea(frames, holes):
    return [cv2.inpaint(np.where(h[..., None], 128, f).astype(np.uint8), h.astype(np.uint8), 5,
                        cv2.INPAINT_TELEA) for f, h in zip(frames, holes, strict=True)]


def ours(frames, holes, unseen: list | None = None,
         foreground: list[np.ndarray] | None = None):
    """The frames filled (8-bit); each frame's part no frame saw appended to `unseen`;
    `foreground`: per frame, the mattes given as `RemovalSettings.foreground`."""
    painted = [np.where(h[..., None], 128, f).astype(np.uint8) for f, h in
               zip(frames, holes, strict=True)]
    shot = MemoryShot(painted)
    settings = RemovalSettings(("hole",), grow=0,
                               foreground=("subject",) if foreground is not None else ())
    out = []
    for r in removed(shot, MemoryMattes(holes, foreground), shot.frames, shot.frames,
                     settings):
        out.append(np.clip(r.pixels * 255 + 0.5, 0, 255).astype(np.uint8))
        if unseen is not None:
            unseen.append(r.unseen)
    return out


def _hole_gain(result, base, frames, holes) -> float:
    """Mean over the frames with a hole of `result`'s PSNR in the hole minus `base`'s (dB)."""
    return float(np.mean([psnr(r, f, h) - psnr(b, f, h) for r, b, f, h in
                          zip(result, base, frames, holes, strict=True) if h.any()]))


def error_classes(chosen: list[str], shots: list[str]) -> None:
    """Where the fill's error is, per shot: the in-hole gain over Telea as is and with each
    class of hole pixels replaced by the truth (the shot's own object; background no frame
    saw; background some frame saw), each class's share of the hole pixels and its mean
    squared error (8-bit codes², over the channels)."""
    print("| shot | as is | the shot's own object perfect (share, MSE) | background no frame "
          "saw perfect (share, MSE) | background some frame saw perfect (share, MSE) |")
    print("| --- | --- | --- | --- | --- |")
    for shot in chosen:
        other = shots[(shots.index(shot) + 1) % len(shots)]
        frames, holes, own = frames_of(shot), masks_of(other), masks_of(shot, 0)
        n = min(len(frames), len(holes))
        frames, holes, own = frames[:n], holes[:n], own[:n]
        unseen: list[np.ndarray] = []
        out, base = ours(frames, holes, unseen), telea(frames, holes)
        cells = [f"{_hole_gain(out, base, frames, holes):+.2f}"]
        total = sum(int(h.sum()) for h in holes)
        for cls in ([h & o for h, o in zip(holes, own, strict=True)],
                    [h & ~o & u for h, o, u in zip(holes, own, unseen, strict=True)],
                    [h & ~o & ~u for h, o, u in zip(holes, own, unseen, strict=True)]):
            fixed = [np.where(c[..., None], f, r) for c, f, r in zip(cls, frames, out,
                                                                       strict=True)]
            count = sum(int(c.sum()) for c in cls)
            error = sum(float(((r.astype(np.float64) - f) ** 2)[c].sum())
                        for c, f, r in zip(cls, frames, out, strict=True))
            cells.append(f"{_hole_gain(fixed, base, frames, holes):+.2f} ({count / total:.0%}, "
                         f"{error / max(count, 1) / 3:.0f})")
        print(f"| {shot} | " + " | ".join(cells) + " |", flush=True)


def foreground_gain(chosen: list[str], shots: list[str]) -> None:
    """The shot's own subject given as the foreground (`remove --foreground`; DAVIS's truth,
    grown by GROW px, standing in for its tracked matte): the holes' PSNR over the background
    (where the truth is not the subject) and over all their pixels, without and with it."""
    print("| shot | holes, background only: as is / with the subject as foreground | holes, "
          "all pixels: as is / with it |")
    print("| --- | --- | --- |")
    sums = np.zeros(4)
    for shot in chosen:
        other = shots[(shots.index(shot) + 1) % len(shots)]
        frames, holes, own = frames_of(shot), masks_of(other), masks_of(shot, 0)
        n = min(len(frames), len(holes), len(own))
        frames, holes, own = frames[:n], holes[:n], own[:n]
        grown = masks_of(shot)[:n]
        shown = [k for k in range(n) if (holes[k] & ~own[k]).any()]
        cells = []
        for result in (ours(frames, holes), ours(frames, holes, foreground=grown)):
            cells.append((np.mean([psnr(result[k], frames[k], holes[k] & ~own[k])
                                   for k in shown]),
                          np.mean([psnr(result[k], frames[k], holes[k]) for k in shown])))
        (b0, a0), (b1, a1) = cells
        sums += (b0, b1, a0, a1)
        print(f"| {shot} | {b0:.2f} / {b1:.2f} ({b1 - b0:+.2f}) | {a0:.2f} / {a1:.2f} "
              f"({a1 - a0:+.2f}) |", flush=True)
    b0, b1, a0, a1 = sums / len(chosen)
    print(f"| **mean** | {b0:.2f} / {b1:.2f} ({b1 - b0:+.2f}) | {a0:.2f} / {a1:.2f} "
          f"({a1 - a0:+.2f}) |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", help="comma-separated dev shots (default: all 8)")
    parser.add_argument("--cli", type=int, metavar="N",
                        help="only time the CLI on N frames of a 1080p EXR sequence")
    parser.add_argument("--memory", action="store_true",
                        help="only the CLI's peak memory by shot length and --cache-mib")
    parser.add_argument("--classes", action="store_true",
                        help="only where the error is: each class of hole pixels made perfect")
    parser.add_argument("--farm", type=int, metavar="N",
                        help="only a farm bundle's cost against one run, on N frames (40 at most)")
    parser.add_argument("--foreground", action="store_true",
                        help="only the background behind the holes with the shot's own "
                        "subject given as the foreground, against without")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    if args.cli:
        cli_reads(args.cli)
        return 0
    if args.memory:
        cli_memory()
        return 0
    if args.farm:
        farm_cost(args.farm)
        return 0
    shots = sorted(p.name for p in (DATA / "JPEGImages" / "480p").iterdir())
    chosen = args.shots.split(",") if args.shots else shots
    if args.classes:
        error_classes(chosen, shots)
        return 0
    if args.foreground:
        foreground_gain(chosen, shots)
        return 0
    rows = []
    for shot in chosen:
        other = shots[(shots.index(shot) + 1) % len(shots)]
        frames, holes = frames_of(shot), masks_of(other)
        own = masks_of(shot, 0)
        n = min(len(frames), len(holes))
        frames, holes, own = frames[:n], holes[:n], own[:n]
        row = {"shot": shot, "holes": other, "share": float(np.mean([h.mean() for h in holes]))}
        for name, method in (("telea", telea), ("ours", ours)):
            started = time.perf_counter()
            result = method(frames, holes)
            seconds = time.perf_counter() - started
            shown = [k for k in range(n) if holes[k].any()]
            background = [holes[k] & ~own[k] for k in range(n)]
            row[name] = {
                "psnr": np.mean([psnr(result[k], frames[k]) for k in range(n)]),
                "ssim": np.mean([ssim(result[k], frames[k]) for k in range(n)]),
                "hole": np.mean([psnr(result[k], frames[k], holes[k]) for k in shown]),
                "ssim_hole": np.mean([ssim(result[k], frames[k], holes[k]) for k in shown]),
                "bg": np.mean([psnr(result[k], frames[k], background[k]) for k in shown
                               if background[k].any()]),
                "flicker": flicker(result, frames, holes),
                "fps": n / seconds}
        row["truth_flicker"] = flicker(frames, frames, holes)
        rows.append(row)
        print(f"{shot}: ours {row['ours']['psnr']:.2f} dB / holes {row['ours']['hole']:.2f}, "
              f"Telea {row['telea']['psnr']:.2f} / {row['telea']['hole']:.2f}", flush=True)
    print(f"Removal: {len(rows)} dev shots at 432x240, holes: the next shot's masks + {GROW} px")
    print("| shot | PSNR frame ours / Telea | SSIM ours / Telea | PSNR holes ours / Telea | "
          "SSIM holes ours / Telea | holes, background only | flicker ours / Telea / truth | "
          "frames/s ours / Telea |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")

    def line(label, get):
        o, t = get("ours"), get("telea")
        print(f"| {label} | {o['psnr']:.2f} / {t['psnr']:.2f} | {o['ssim']:.4f} / "
              f"{t['ssim']:.4f} | {o['hole']:.2f} / {t['hole']:.2f} | {o['ssim_hole']:.4f} / "
              f"{t['ssim_hole']:.4f} | {o['bg']:.2f} / "
              f"{t['bg']:.2f} | {o['flicker']:.2f} / {t['flicker']:.2f} / "
              f"{get('truth_flicker'):.2f} | {o['fps']:.1f} / {t['fps']:.1f} |")

    for row in rows:
        line(row["shot"], row.get)
    mean = {"truth_flicker": float(np.mean([r["truth_flicker"] for r in rows]))}
    for name in ("ours", "telea"):
        mean[name] = {k: float(np.mean([r[name][k] for r in rows])) for k in rows[0][name]}
    line("**mean**", mean.get)
    o, t = mean["ours"], mean["telea"]
    print(f"inside the holes: {o['hole'] - t['hole']:+.2f} dB over Telea "
          f"({o['bg'] - t['bg']:+.2f} dB where the truth is background); flicker "
          f"{o['flicker'] / mean['truth_flicker']:.2f}x the truth's")
    print("targets: >= 31 dB frame PSNR, >= +6 dB over Telea in the holes, flicker <= 1.5x "
          "the truth's, >= 5 frames/s at 432x240")
    if not args.shots:
        hd_speed()
    return 0


def hd_speed(count: int = 20) -> None:
    """Frames/s at 1920x1080: dog's first frames scaled up, car-shadow's masks as holes."""
    global SIZE
    SIZE = (1920, 1080)
    frames, holes = frames_of("dog")[:count], masks_of("car-shadow", GROW * 4)[:count]
    SIZE = (432, 240)
    rates = {}
    for name, method in (("telea", telea), ("ours", ours)):
        started = time.perf_counter()
        method(frames, holes)
        rates[name] = count / (time.perf_counter() - started)
    print(f"1920x1080, {count} frames of dog, car-shadow's holes (+{GROW * 4} px): ours "
          f"{rates['ours']:.2f} frames/s, Telea {rates['telea']:.2f}")


def cli_reads(count: int) -> None:
    """`mattetrack remove` on `count` frames of a 1080p half EXR sequence: the plate cache's
    default budget against 12 frames kept (an LRU smaller than what the fill reads re-reads)."""
    import shutil
    import tempfile

    from mattetrack.cli import main as cli
    from mattetrack.removal import run
    from mattetrack.shot import Shot

    global SIZE
    SIZE = (1920, 1080)
    frames, holes = frames_of("kite-surf")[:count], masks_of("motocross-jump", GROW * 4)[:count]
    SIZE = (432, 240)
    folder = Path(tempfile.mkdtemp(prefix="mattetrack-removal-"))
    reads = [0]
    decoded = Shot.decoded

    def counted(self, frame):
        reads[0] += 1
        return decoded(self, frame)

    try:
        write_sequence(folder, frames, holes)
        Shot.decoded = counted
        for label, mib in (("default budget", run.CACHE_MIB), ("12 frames kept", 0)):
            shutil.rmtree(folder / "out", ignore_errors=True)
            (folder / "out").mkdir()
            reads[0] = 0
            started = time.perf_counter()
            assert cli(["remove", str(folder / "plate.####.exr"), str(folder / "m.####.exr"),
                        "--object", "rig", "-o", str(folder / "out" / "clean.####.exr"), "-q",
                        "--cache-mib", str(mib)]) == 0
            seconds = time.perf_counter() - started
            print(f"mattetrack remove, {count} frames 1920x1080 half EXR, {label}: "
                  f"{count / seconds:.2f} frames/s, {reads[0] / count:.1f} plate reads per "
                  "frame written", flush=True)
    finally:
        Shot.decoded = decoded
        shutil.rmtree(folder, ignore_errors=True)


def write_sequence(folder: Path, frames: list[np.ndarray], holes: list[np.ndarray]) -> None:
    """`folder`/plate.####.exr (half RGB, the 8-bit frames made linear) and m.####.exr (the
    holes as the matte of `rig`)."""
    import OpenImageIO as oiio

    def write(path: Path, pixels: np.ndarray, names: tuple[str, ...]) -> None:
        out = oiio.ImageOutput.create(str(path))
        spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], len(names), "half")
        spec.channelnames = names
        out.open(str(path), spec)
        out.write_image(pixels)
        out.close()

    for t, (frame, hole) in enumerate(zip(frames, holes, strict=True)):
        write(folder / f"plate.{t:04d}.exr", (frame / 255.0) ** 2.2, ("R", "G", "B"))
        write(folder / f"m.{t:04d}.exr", hole.astype(np.float32)[..., None], ("rig.A",))


def cli_memory(count: int = 120, checkpoints: tuple[int, ...] = (30, 60, 90),
               budgets: tuple[int, ...] = (1024, 256)) -> None:
    """Peak resident memory of `mattetrack remove` (a process of its own, so the figure is
    its alone) as the shot goes on: its high-water mark once `checkpoints` frames are written
    and at the end, for each --cache-mib, with its frames/s. Bounded memory is a peak that
    stops growing once the plate cache is full (41 frames at 1080p with the default budget)."""
    import os
    import shutil
    import subprocess
    import tempfile

    global SIZE
    SIZE = (1920, 1080)
    frames, holes = frames_of("dog"), masks_of("car-shadow", GROW * 4)
    SIZE = (432, 240)

    def played(items: list, count: int) -> list:
        """`items` forwards, backwards, forwards ... for `count` frames."""
        cycle = items + items[-2:0:-1]
        return [cycle[i % len(cycle)] for i in range(count)]

    def high_water(pid: int) -> int:
        """The process's peak resident memory so far, KiB (0 once it has gone)."""
        try:
            with open(f"/proc/{pid}/status") as status:
                return next(int(line.split()[1]) for line in status
                            if line.startswith("VmHWM"))
        except (OSError, StopIteration):
            return 0

    folder = Path(tempfile.mkdtemp(prefix="mattetrack-removal-"))
    try:
        write_sequence(folder, played(frames, count), played(holes, count))
        for mib in budgets:
            out = folder / f"out{mib}"
            out.mkdir()
            started = time.perf_counter()
            child = subprocess.Popen(
                [sys.executable, "-m", "mattetrack", "remove", str(folder / "plate.####.exr"),
                 str(folder / "m.####.exr"), "--object", "rig", "-q", "--cache-mib", str(mib),
                 "-o", str(out / "clean.####.exr")])
            peaks: dict[int, int] = {}
            waiting = list(checkpoints)
            while True:
                # WNOHANG: reaped here once it ends, with its own rusage (its whole peak).
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                if pid:
                    break
                written = sum(1 for p in out.iterdir() if p.suffix == ".exr")
                while waiting and written >= waiting[0]:
                    peaks[waiting.pop(0)] = high_water(child.pid)
                time.sleep(0.5)
            seconds = time.perf_counter() - started
            child.returncode = os.waitstatus_to_exitcode(status)
            assert child.returncode == 0, child.returncode
            shown = ", ".join(f"{n} frames {kib / 1024:.0f}" for n, kib in peaks.items())
            print(f"mattetrack remove, {count} frames 1920x1080 half EXR, --cache-mib {mib}: "
                  f"peak MiB after {shown}, all {count} {usage.ru_maxrss / 1024:.0f}; "
                  f"{count / seconds:.2f} frames/s", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)



def farm_cost(count: int, per_task: int = 10) -> None:
    """`mattetrack remove` on `count` frames (960x540 half EXR) in one run against its `--job`
    bundle run by `openjd run` (tasks in turn here): seconds, the longest task, the files'
    largest and mean difference inside the holes."""
    import os
    import re
    import shutil
    import subprocess
    import tempfile

    import OpenImageIO as oiio

    binary = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{binary}{os.pathsep}{os.environ.get('PATH', '')}"}
    global SIZE
    SIZE = (960, 540)
    frames, holes = frames_of("breakdance")[:count], masks_of("car-shadow", GROW * 2)[:count]
    count = min(count, len(frames), len(holes))
    SIZE = (432, 240)
    folder = Path(tempfile.mkdtemp(prefix="mattetrack-removal-farm-"))

    def remove(out: str, *extra: str) -> list[str]:
        (folder / out).mkdir()
        return [str(binary / "mattetrack"), "remove", str(folder / "plate.####.exr"),
                str(folder / "m.####.exr"), "--object", "rig", "-o",
                str(folder / out / "clean.####.exr"), "-q", *extra]

    def timed(cmd: list[str]) -> tuple[float, str]:
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=folder)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return time.perf_counter() - started, proc.stdout

    try:
        write_sequence(folder, frames, holes)
        whole, _ = timed(remove("whole"))
        timed(remove("farm", "--job", str(folder / "job"), "--frames-per-task", str(per_task)))
        tasks = []
        for a in reversed(range(0, count, per_task)):  # the last first: none leads on
            seconds, _ = timed([str(binary / "openjd"), "run",
                                str(folder / "job" / "template.yaml"), "--step", "Remove",
                                "--task-param", f"Frames={a}-{min(a + per_task, count) - 1}"])
            tasks.append(seconds)
        finish, out = timed([str(binary / "openjd"), "run",
                             str(folder / "job" / "template.yaml"), "--step", "Finish"])
        kept = re.search(r"openjd_status: (\d+) frame\(s\) written", out)
        worst, total, n = 0.0, 0.0, 0
        for t in range(count):
            a, b = (oiio.ImageBuf(str(folder / d / f"clean.{t:04d}.exr")).get_pixels(oiio.FLOAT)
                    for d in ("whole", "farm"))
            diff = np.abs(a - b)[holes[t]]
            if diff.size:
                worst, total, n = max(worst, float(diff.max())), total + float(diff.sum()), \
                    n + diff.size
        print(f"mattetrack remove, {count} frames 960x540 half EXR (breakdance, car-shadow's "
              f"holes): one run {whole:.1f} s; the bundle's {len(tasks)} tasks of {per_task} "
              f"frames run in turn, the last first, {sum(tasks):.1f} s "
              f"({sum(tasks) / whole:.2f}x the work; "
              f"longest task {max(tasks):.1f} s, {whole / (max(tasks) + finish):.1f}x faster "
              f"than one run with a worker per task), Finish {finish:.1f} s "
              f"({kept.group(1) if kept else '?'} frame(s) it wrote); the files inside the "
              f"holes differ by {worst:.5f} at most, {total / max(n, 1):.6f} on average "
              "(linear values)", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
