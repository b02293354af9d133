"""The artist's loop, simulated on the DAVIS-2016 dev shots through the real command line.

Round 0: one click at the object's interior-most point on the first frame, `mattetrack track
... --store S --report R`. Each next round picks a frame
- `oracle`: the frame with the worst true IoU not yet corrected;
- `suggested`: the first of the tool's suggestions (the report's `suggested`) not yet corrected
  (when it suggests none left: the least confident frame not yet corrected),
adds up to 3 clicks there, at the interior-most points of the 3 largest error regions (positive
where the object was missed, negative where background was taken; regions under 20 px ignored),
and reruns `mattetrack track` with every prompt so far and the same store. Mode `perfect` (not
run by default) is the engine's ceiling for the protocol: the true mask of the first frame,
then each round the true mask of the oracle's frame, as if every correction were perfect.

Printed per round (0-4) and mode: J&F (vos-benchmark, first and last frame skipped; mattes >=
0.5), clicks so far, seconds per round, frames recomputed (`--timings`' frames_computed), track
steps remembered (its tracks_remembered: taken from the store instead of tracked again), output
files kept (its kept: already holding their mattes, not written again), and
for the correction rounds the seconds of a full run of the same command (the alternative:
recomputing the whole shot, from a copy of the store that keeps only the mattes the
corrections were made on). Also the Spearman correlation between the report's
confidence and the true IoU over every non-keyframe frame (round 0, all shots pooled).

    .venv/bin/python tests/benchmarks/interactive.py [--shots dog,car-shadow] [--rounds 4]
        [--modes oracle,suggested[,perfect]] [--no-full]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "davis2016-dev"
MATTETRACK = Path(sys.executable).with_name("mattetrack")
MIN_REGION = 20  # px: smaller error regions get no click


def dev_shots(names: str | None) -> list[str] | None:
    """The shots to run: `--shots` names, or every dev shot; None (after saying so) when the
    DAVIS dev shots are absent."""
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (the DAVIS dev shots live in ../shared/data)")
        return None
    return names.split(",") if names else sorted(
        p.name for p in (DATA / "JPEGImages" / "480p").iterdir())


def interior_point(region: np.ndarray) -> tuple[float, float]:
    """(x, y) pixel centre of the point of `region` (H, W) bool farthest from its boundary
    (the frame border counting as boundary)."""
    padded = np.pad(region.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(x) + 0.5, float(y) + 0.5


def correction_clicks(pred: np.ndarray, truth: np.ndarray,
                      count: int = 3) -> list[tuple[float, float, bool]]:
    """Up to `count` (x, y, positive) clicks at the interior-most points of the largest error
    regions of pred against truth (both (H, W) bool); regions under MIN_REGION px ignored."""
    regions = []
    for positive, error in ((True, truth & ~pred), (False, pred & ~truth)):
        n, labels, stats, _ = cv2.connectedComponentsWithStats(error.astype(np.uint8), 8)
        for i in range(1, n):
            area = int(stats[i, cv2.CC_STAT_AREA])
            if area >= MIN_REGION:
                regions.append((area, positive, i, labels))
    regions.sort(key=lambda r: -r[0])
    out = []
    for _, positive, i, labels in regions[:count]:
        x, y = interior_point(labels == i)
        out.append((x, y, positive))
    return out


def truth_file(shot: str, frame: int) -> Path:
    return DATA / "Annotations" / "480p" / shot / f"{frame:05d}.png"


def load_truth(shot: str) -> dict[int, np.ndarray]:
    gt_dir = DATA / "Annotations" / "480p" / shot
    out = {}
    for p in sorted(gt_dir.glob("*.png")):
        gt = np.asarray(Image.open(p))
        out[int(p.stem)] = (gt[..., 0] if gt.ndim == 3 else gt) > 127
    return out


def read_mattes(out: Path, frames: list[int]) -> dict[int, np.ndarray]:
    return {f: np.asarray(Image.open(out / f"{f:05d}.png")) >= 128 for f in frames}


def jf(mattes: dict[int, np.ndarray], truth: dict[int, np.ndarray]) -> float:
    """DAVIS J&F (percent) with vos-benchmark, first and last frame skipped."""
    from vos_benchmark.evaluator import Evaluator

    evaluator = Evaluator(name="loop")
    for f in sorted(truth)[1:-1]:
        evaluator.feed_frame(mattes[f].astype(np.uint8), truth[f].astype(np.uint8))
    j, b = evaluator.conclude()
    return (float(np.mean(list(j.values()))) + float(np.mean(list(b.values())))) / 2


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    def ranks(v: list[float]) -> np.ndarray:
        a = np.asarray(v, np.float64)
        order = np.argsort(a, kind="stable")
        r = np.empty(len(a))
        r[order] = np.arange(len(a))
        for value in np.unique(a):  # ties share their mean rank
            tie = a == value
            r[tie] = r[tie].mean()
        return r
    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


@dataclass
class Round:
    jf: float
    clicks: int
    seconds: float
    computed: int
    remembered: int  # track steps taken from the store's memo
    kept: int  # output files left alone (already up to date)
    full_seconds: float | None = None


@dataclass
class ShotLoop:
    rounds: list[Round] = field(default_factory=list)
    pairs: list[tuple[float, float]] = field(default_factory=list)  # (confidence, IoU)


def track(frames_dir: Path, prompts: list[str], out: Path, store: Path | None,
          report: Path | None) -> tuple[float, dict]:
    """Run `mattetrack track`; (seconds, its --timings)."""
    cmd = [str(MATTETRACK), "track", str(frames_dir / "%05d.jpg"), "-o", str(out / "%05d.png"),
           "--timings", *prompts]
    if store is not None:
        cmd += ["--store", str(store)]
    if report is not None:
        cmd += ["--report", str(report)]
    start = time.perf_counter()
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    line = next(ln for ln in done.stderr.splitlines() if ln.startswith("mattetrack: timings "))
    return seconds, json.loads(line.split(" ", 2)[2])


def run_loop(shot: str, mode: str, rounds: int, work: Path, full: bool) -> ShotLoop:
    frames_dir = DATA / "JPEGImages" / "480p" / shot
    truth = load_truth(shot)
    frames = sorted(truth)
    shutil.rmtree(work, ignore_errors=True)
    out, store, scratch = work / "out", work / "store", work / "full"
    out.mkdir(parents=True)
    scratch.mkdir()
    report = work / "report.json"
    x, y = interior_point(truth[frames[0]])
    prompts = ["--point", f"{frames[0]}:{x:g},{y:g}"]
    if mode == "perfect":
        prompts = ["--mask", f"{frames[0]}:{truth_file(shot, frames[0])}"]
    corrected = {frames[0]}
    loop = ShotLoop()
    for r in range(rounds + 1):
        seconds, timings = track(frames_dir, prompts, out, store, report)
        full_s = None
        if r and full:
            # The same round computed from scratch: a copy of the store with only the bases
            # (the mattes the corrections were made on: inputs, not results) left in it.
            fresh = work / "fresh"
            shutil.rmtree(fresh, ignore_errors=True)
            shutil.copytree(store, fresh)
            shutil.rmtree(fresh / "selections", ignore_errors=True)
            shutil.rmtree(fresh / "tracks", ignore_errors=True)  # remembered tracks too
            (fresh / "outputs.json").unlink(missing_ok=True)  # and what its outputs hold
            for result in fresh.glob("o*/[0-9-]*_*.cov"):
                result.unlink()
            full_s, _ = track(frames_dir, prompts, scratch, fresh, None)
        mattes = read_mattes(out, frames)
        loop.rounds.append(Round(jf(mattes, truth), len(prompts) // 2, seconds,
                                 timings["frames_computed"],
                                 timings.get("tracks_remembered", 0), timings.get("kept", 0),
                                 full_s))
        rep = json.loads(report.read_text())["objects"][0]
        conf = {int(f): c for f, c in rep["confidence"].items()}
        if r == 0:
            loop.pairs = [(conf[f], iou(mattes[f], truth[f])) for f in frames[1:]]
        if r == rounds:
            break
        if mode in ("oracle", "perfect"):
            ious = {f: iou(mattes[f], truth[f]) for f in frames if f not in corrected}
            frame = min(ious, key=ious.__getitem__)
        else:
            left = [f for f in rep["suggested"] if f not in corrected]
            frame = left[0] if left else min(
                (f for f in frames if f not in corrected), key=lambda f: conf.get(f, 1.0))
        corrected.add(frame)
        if mode == "perfect":
            prompts += ["--mask", f"{frame}:{truth_file(shot, frame)}"]
            continue
        for cx, cy, positive in correction_clicks(mattes[frame], truth[frame]):
            prompts += ["--point" if positive else "--negative", f"{frame}:{cx:g},{cy:g}"]
    return loop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", help="comma-separated shot names (default: all)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--modes", default="oracle,suggested")
    parser.add_argument("--no-full", action="store_true",
                        help="skip the full runs without a store (the time comparison)")
    parser.add_argument("--out", default=str(ROOT / "build" / "bench" / "interactive"))
    args = parser.parse_args()
    shots = dev_shots(args.shots)
    if shots is None:
        return 0
    print(f"The artist's loop on {len(shots)} DAVIS dev shots, classic engine, "
          f"{os.cpu_count()} cores")
    pairs: list[tuple[float, float]] = []
    summary = {}
    for mode in args.modes.split(","):
        loops = {}
        for shot in shots:
            loops[shot] = loop = run_loop(shot, mode, args.rounds, Path(args.out) / mode / shot,
                                          not args.no_full and mode == "suggested")
            cells = " ".join(f"{rd.jf:5.1f}" for rd in loop.rounds)
            print(f"  {mode:<9} {shot:<16} J&F by round: {cells}", flush=True)
            if mode == next(m for m in args.modes.split(",") + [""] if m != "perfect"):
                pairs += loop.pairs
        print(f"{mode}: round  J&F  clicks  seconds  recomputed  remembered  kept  full-run s"
              "  round/full")
        for r in range(args.rounds + 1):
            rows = [loop.rounds[r] for loop in loops.values()]
            mean_jf = float(np.mean([x.jf for x in rows]))
            fulls = [x.full_seconds for x in rows if x.full_seconds]
            ratio = (float(np.mean([x.seconds / x.full_seconds for x in rows]))
                     if len(fulls) == len(rows) else None)
            print(f"{'':>9}{r:>3}{mean_jf:7.1f}{np.mean([x.clicks for x in rows]):7.1f}"
                  f"{np.mean([x.seconds for x in rows]):9.2f}"
                  f"{np.mean([x.computed for x in rows]):11.1f}"
                  f"{np.mean([x.remembered for x in rows]):12.1f}"
                  f"{np.mean([x.kept for x in rows]):6.1f}"
                  + (f"{np.mean(fulls):11.2f}{ratio:12.3f}" if ratio is not None else ""))
            summary.setdefault(mode, []).append(mean_jf)
        ratios = [x.seconds / x.full_seconds for loop in loops.values()
                  for x in loop.rounds[1:] if x.full_seconds]
        if ratios:
            print(f"{'':>9}correction round / full run, mean over rounds 1-{args.rounds}: "
                  f"{np.mean(ratios):.3f}")
    if pairs:
        rho = spearman([c for c, _ in pairs], [i for _, i in pairs])
        print(f"confidence vs true IoU, Spearman over {len(pairs)} frames (round 0): {rho:.3f}")
    if {"oracle", "suggested"} <= set(summary):
        print(f"round {args.rounds}: suggested - oracle = "
              f"{summary['suggested'][-1] - summary['oracle'][-1]:+.1f} J&F")
    return 0


if __name__ == "__main__":
    sys.exit(main())
