"""Shot boundaries (`mattetrack cuts`, `cutlist.find_boundaries`): precision and recall on
programmes made from the dev DAVIS shots.

Four programmes, each the 8 dev shots (480p JPEG) in a shuffled order (fixed seeds), each shot
joined to the next by a hard cut, a dissolve (12 or 24 frames) or a fade through black (12 frames
out, 12 in), chosen in turn; within some shots, disturbances that are not boundaries: a flash (a
frame at 3x brightness), a fast pan (the frame shifted 40 px a frame for 6 frames, then held)
and motion blur (a 15 px horizontal blur for 6 frames). Scoring:
- hard cuts: a boundary found exactly on the cut's first frame is a hit (exact frame);
- dissolves and fades: a boundary found anywhere in the transition (or one frame either side)
  is a hit; one found elsewhere is a false positive.
Targets (issue 23): hard cuts F1 >= 0.97 on the exact frame; dissolves and fades F1 >= 0.85.

    .venv/bin/python tests/benchmarks/cuts.py
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import cv2
import numpy as np

from mattetrack.cutlist import boundaries

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "davis2016-dev"


def load(shot: str) -> list[np.ndarray]:
    files = sorted((DATA / "JPEGImages" / "480p" / shot).glob("*.jpg"))
    return [cv2.imread(str(f))[:, :, ::-1].astype(np.float32) / 255 for f in files]


def disturb(frames: list[np.ndarray], kind: str, at: int) -> None:
    """A within-shot disturbance on frames[at:...] in place."""
    if kind == "flash":
        frames[at] = np.clip(frames[at] * 3.0, 0, 1)
    elif kind == "pan":
        # 40 px a frame for 6 frames, then held: the camera stops where the pan took it (the
        # first version jumped back 240 px in one frame after the pan, which is a cut).
        for k in range(at, len(frames)):
            frames[k] = np.roll(frames[k], 40 * min(k - at + 1, 6), axis=1)
    elif kind == "blur":
        kernel = np.ones((1, 15), np.float32) / 15
        for k in range(6):
            frames[at + k] = cv2.filter2D(frames[at + k], -1, kernel)


def programme(seed: int) -> tuple[list[np.ndarray], list[tuple[str, int, int]]]:
    """(frames, [(kind, first frame, last frame)] of each boundary)."""
    shots = sorted(p.name for p in (DATA / "JPEGImages" / "480p").iterdir())
    random.Random(seed).shuffle(shots)
    joins = ["cut", "dissolve12", "fade", "cut", "dissolve24", "cut", "fade"]
    disturbances = ["flash", "pan", "blur", "flash", "pan", "blur", "flash", "blur"]
    out: list[np.ndarray] = []
    truth = []
    for n, name in enumerate(shots):
        frames = load(name)
        disturb(frames, disturbances[n], len(frames) // 2)
        if n == 0:
            out += frames
            continue
        join = joins[(n - 1 + seed) % len(joins)]
        if join == "cut":
            truth.append(("cut", len(out), len(out)))
            out += frames
        elif join.startswith("dissolve"):
            length = int(join[8:])
            start = len(out) - length
            for k in range(length):
                t = (k + 1) / (length + 1)
                out[start + k] = (1 - t) * out[start + k] + t * frames[k]
            truth.append(("dissolve", start, start + length - 1))
            out += frames[length:]
        else:  # fade out 12, fade in 12
            start = len(out) - 12
            for k in range(12):
                out[start + k] = out[start + k] * (1 - (k + 1) / 12)
            truth.append(("fade", start, len(out) + 11))
            for k in range(12):
                frames[k] = frames[k] * ((k + 1) / 12)
            out += frames
    return out, truth


SEEDS = (4, 1, 2, 3)


def score(found: list[int], truth: list[tuple[str, int, int]]) -> dict:
    used = set()
    missed: list = []
    hits = {"cut": 0, "gradual": 0}
    totals = {"cut": 0, "gradual": 0}
    for kind, first, last in truth:
        group = "cut" if kind == "cut" else "gradual"
        totals[group] += 1
        lo, hi = (first, first) if group == "cut" else (first - 1, last + 1)
        match = next((f for f in found if lo <= f <= hi and f not in used), None)
        if match is not None:
            used.add(match)
            hits[group] += 1
        else:
            missed.append((kind, first, last))
    false = [f for f in found if f not in used]
    out: dict = {"missed": missed}
    for group in ("cut", "gradual"):
        recall = hits[group] / totals[group] if totals[group] else 1.0
        out[group] = {"hits": hits[group], "total": totals[group], "recall": recall}
    out["false"] = false
    return out


def main() -> int:
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    frames, truth, found = 0, [], []
    for seed in SEEDS:
        images, marks = programme(seed)
        # Each programme's frames numbered on from the last, so one score covers them all.
        found += boundaries((frames + n, image) for n, image in enumerate(images))
        truth += [(kind, frames + a, frames + b) for kind, a, b in marks]
        frames += len(images)
    result = score(found, truth)
    print(f"Shot boundaries: {len(SEEDS)} programmes, {frames} frames of the 8 dev shots, "
          f"{len(truth)} boundaries (hard cuts, dissolves of 12 and 24 frames, fades through "
          "black), flashes, fast pans and motion blur within shots")
    print("| boundaries | found / total | recall | precision | F1 |")
    print("| --- | --- | --- | --- | --- |")
    # False positives are charged to hard cuts (one not inside a transition).
    for group, label in (("cut", "hard cuts (exact frame)"), ("gradual", "dissolves and fades")):
        r = result[group]
        false = len(result["false"]) if group == "cut" else 0
        precision = r["hits"] / (r["hits"] + false) if r["hits"] + false else 1.0
        recall = r["recall"]
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(f"| {label} | {r['hits']} / {r['total']} | {recall:.2f} | {precision:.2f} | "
              f"{f1:.2f} |")
    print(f"false boundaries at frames {result['false']}; missed: {result['missed']}")
    print("targets: hard cuts F1 >= 0.97, dissolves and fades F1 >= 0.85")
    return 0


if __name__ == "__main__":
    sys.exit(main())
