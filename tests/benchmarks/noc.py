"""Selection from clicks: NoC@85 / NoC@90 of the classic engine on DAVIS-2016 first frames.

The standard interactive-segmentation protocol (as in Xu et al. 2016 and the RITM / SimpleClick
evaluations): the first click is the object's interior point farthest from its boundary; every next
click goes to the error pixel farthest from its error's boundary (the distance-transform maximum
over the missed and the wrongly included pixels, the frame border counting as boundary: the
centre of the largest error region as RITM's clicker measures it), positive when it is missed
object and negative when it is wrongly included background. Each `select` call gets all clicks so
far. The score is the number of clicks needed to reach IoU 0.85 / 0.90 (coverage >= 0.5), capped at
`max_clicks` (a shot that never reaches it counts as the cap). Also the IoU of one stroke
(default width) along the longest path of the object's skeleton, as an artist paints down the
middle of an object.

    .venv/bin/python tests/benchmarks/noc.py [--shots dog,car-shadow] [--max-clicks 20]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from mattetrack.evaluation import simulate_clicks

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "davis2016-dev"


def _image(data_root: Path, shot: str, frame: int) -> np.ndarray:
    image = np.asarray(Image.open(data_root / "JPEGImages" / "480p" / shot / f"{frame:05d}.jpg"))
    return image[..., :3].astype(np.float32) / 255.0


def load_first_frame(data_root: Path, shot: str) -> tuple[np.ndarray, np.ndarray]:
    """(image (H, W, 3) float32 sRGB in [0, 1], truth (H, W) bool) of a shot's first frame."""
    truth = np.asarray(Image.open(data_root / "Annotations" / "480p" / shot / "00000.png"))
    if truth.ndim == 3:
        truth = truth[..., 0]
    return _image(data_root, shot, 0), truth > 127


def run_clicks(engine, image: np.ndarray, truth: np.ndarray, max_clicks: int = 20,
               context=()) -> dict:
    """Simulate up to max_clicks clicks on one image; returns IoU after each click and timings."""
    ious, ms = simulate_clicks(engine, image, truth, max_clicks, context)
    return {"ious": ious, "ms": ms}


def skeleton_stroke(truth: np.ndarray, spacing: int = 6) -> np.ndarray:
    """(N, 2) points (pixel centres) along the longest path of the object's skeleton, every
    `spacing` px: the stroke an artist paints down the middle of the object."""
    from collections import deque

    from skimage.morphology import skeletonize

    skel = skeletonize(truth)
    ys, xs = np.nonzero(skel)
    index = {(y, x): i for i, (y, x) in enumerate(zip(ys, xs, strict=True))}

    def far(start: int) -> tuple[int, list[int]]:
        prev = {start: -1}
        queue = deque([start])
        last = start
        while queue:
            i = queue.popleft()
            last = i
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    j = index.get((ys[i] + dy, xs[i] + dx))
                    if j is not None and j not in prev:
                        prev[j] = i
                        queue.append(j)
        path = [last]
        while prev[path[-1]] != -1:
            path.append(prev[path[-1]])
        return last, path

    end, _ = far(0)
    _, path = far(end)
    pts = np.array([[xs[i] + 0.5, ys[i] + 0.5] for i in path[::spacing] + [path[-1]]],
                   np.float32)
    return pts


def stroke_iou(engine, image: np.ndarray, truth: np.ndarray, context=()) -> float:
    """IoU of one stroke (default width) along the object's skeleton."""
    from mattetrack.evaluation import iou
    from mattetrack.prompts import FramePrompts, Stroke

    prompts = FramePrompts(strokes=[Stroke(skeleton_stroke(truth))])
    return iou(engine.select(image, prompts, context) >= 0.5, truth)


def clicks_to(ious: list[float], target: float, cap: int) -> int:
    """Number of clicks (1-based) after which IoU first reaches target; cap when never."""
    for i, v in enumerate(ious[:cap]):
        if v >= target:
            return i + 1
    return cap


def measure_noc(
    data_root: Path, shots: list[str] | None = None, engine=None, max_clicks: int = 20,
    still: bool = False,
) -> list[dict]:
    """Per shot: {"shot", "noc85", "noc90", "ious" (after each click), "ms" (per select call)}.

    data_root: the davis2016-dev folder; shots: default all in JPEGImages/480p; engine: default
    the classic engine with its default parameters; still: the first frame alone, without the
    next one (the engine cannot see motion).
    """
    if engine is None:
        from mattetrack.engines.classic import ClassicEngine

        engine = ClassicEngine()
    if shots is None:
        shots = sorted(p.name for p in (data_root / "JPEGImages" / "480p").iterdir())
    rows = []
    for shot in shots:
        image, truth = load_first_frame(data_root, shot)
        # The next frame, as a session passes it: what moves tells the object apart.
        context = [(1, _image(data_root, shot, 1))] if still is False else []
        run = run_clicks(engine, image, truth, max_clicks, context)
        rows.append(
            {
                "shot": shot,
                "stroke": stroke_iou(engine, image, truth, context),
                "noc85": clicks_to(run["ious"], 0.85, max_clicks),
                "noc90": clicks_to(run["ious"], 0.90, max_clicks),
                **run,
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", help="comma-separated shot names (default: all)")
    parser.add_argument("--max-clicks", type=int, default=20)
    parser.add_argument("--still", action="store_true",
                        help="the first frame alone (no motion from the next frame)")
    parser.add_argument("--data", default=str(DATA), help="the davis2016-dev folder")
    args = parser.parse_args()
    data = Path(args.data)
    if not (data / "JPEGImages" / "480p").is_dir():
        print(f"skipped: {data} is absent (the DAVIS dev shots live in ../shared/data)")
        return 0
    shots = args.shots.split(",") if args.shots else None
    what = "first frames alone" if args.still else "first frames with the next frame's motion"
    print(f"NoC on DAVIS-2016 dev {what}, classic engine, {os.cpu_count()} cores")
    rows = measure_noc(data, shots, max_clicks=args.max_clicks, still=args.still)
    print(f"{'shot':<16}{'NoC@85':>7}{'NoC@90':>7}{'IoU@1':>7}{'IoU@3':>7}{'IoU@5':>7}{'ms':>7}"
          f"{'stroke':>8}")
    for r in rows:
        i = r["ious"]
        print(
            f"{r['shot']:<16}{r['noc85']:7d}{r['noc90']:7d}{i[0]:7.3f}{i[2]:7.3f}{i[4]:7.3f}"
            f"{np.mean(r['ms']):7.0f}{r['stroke']:8.3f}"
        )
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("noc85", "noc90")}
    i1, i3, i5 = (float(np.mean([r["ious"][k] for r in rows])) for k in (0, 2, 4))
    ms = float(np.mean([m for r in rows for m in r["ms"]]))
    stroke = float(np.mean([r["stroke"] for r in rows]))
    print(
        f"{'mean':<16}{mean['noc85']:7.2f}{mean['noc90']:7.2f}{i1:7.3f}{i3:7.3f}{i5:7.3f}{ms:7.0f}"
        f"{stroke:8.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
