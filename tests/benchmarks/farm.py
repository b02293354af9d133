"""A farm job split into tasks and run by local `openjd run` workers, against one `track` run.

The shot: 600 frames of the 1080p synthetic plate (speed_memory.synthetic_1080p, sRGB JPEGs), 4
keyframes (the object's true mask on frames 0, 100, 300 and 500), so the job has 4 tasks: the
spans 0-99, 100-299 and 300-499, tracked both ways between their keyframes, and 500-599
tracked forwards only. Runs, one after the other on this machine:
- `mattetrack track` of the whole shot (the alternative: one machine, no farm);
- `openjd run --step Track` of the bundle: one worker running every task;
- the same with the worker held to one CPU (os.sched_setaffinity, as a farm host running one
  worker per core holds it);
- two workers at once, each held to its own CPU, each running half the frames (tasks 0+1 and
  2+3), as two farm workers would.
Every farm run's mattes are checked against `track`'s (equal to the 16-bit PNG step).
From the one-worker run's log (openjd's relative timestamps, each task's `--timings`): the
session's start (the worker process, the engine loaded once), each task's overhead (its wall
time less the frames' own time: process start-up, the worker relay, opening the shot and
reading its keyframes) and each task's frame time. A model of the wall time of a 10,000-frame job
on 1, 10 and 100 workers follows from them (longest-processing-time scheduling of the tasks).

    .venv/bin/python tests/benchmarks/farm.py [--frames 600] [--out DIR]
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed_memory as sm

BIN = Path(sys.executable).parent
OPENJD = BIN / "openjd"
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
WORK = sm.BENCH / "farm"


def keyframe_masks(keys: list[int]) -> dict[int, Path]:
    """{frame: its true mask (PNG)} on the ping-pong plate: frame f shows unique frame
    `_pingpong(f, CHUNK)` of the rendered chunk (rendered again once, masks kept)."""
    folder = WORK / "masks"
    wanted = {k: folder / f"mask{sm._pingpong(k, sm.CHUNK):02d}.png" for k in keys}
    if not all(p.exists() for p in wanted.values()):
        from mattetrack.synthetic import render_shot

        folder.mkdir(parents=True, exist_ok=True)
        shot = render_shot(sm.CHUNK, 1920, 1080, seed=11, motion_blur_samples=3)
        for path in wanted.values():
            cov = shot[int(path.stem.removeprefix("mask"))][1]
            cv2.imwrite(str(path), ((cov >= 0.5) * 255).astype(np.uint8))
    return wanted


def _clean(out: Path) -> None:
    """No earlier mattes or task stores: every run computes every frame."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)


def _affinity(cpu: int | None):
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def openjd_run(job: Path, tasks: list[int] | None = None,
               cpu: int | None = None) -> subprocess.Popen:
    cmd = [str(OPENJD), "run", str(job / "template.yaml"), "--step", "Track",
           "--timestamp-format", "relative"]
    if tasks is not None:
        cmd += ["--tasks", json.dumps([{"Task": t} for t in tasks])]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=ENV, preexec_fn=_affinity(cpu))


def finished(procs: list[subprocess.Popen]) -> list[str]:
    logs = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"openjd run exited {proc.returncode}: {out[-2000:]}")
        logs.append(out)
    return logs


def parse_log(log: str) -> tuple[float, list[dict]]:
    """(seconds the worker's environment took to enter, [{task, wall_s, timings}]) from an
    `openjd run --timestamp-format relative` log."""
    env_s, tasks = 0.0, []
    entering = started = None
    current: dict | None = None
    for line in log.splitlines():
        stamp, _, text = line.partition("\t")
        m = re.fullmatch(r"(\d+):(\d+):([\d.]+)", stamp.strip())
        if not m:
            continue
        t = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
        if "Entering Environment" in text:
            entering = t
        elif "Running Task" in text:
            started, current = t, {"task": None, "timings": {}}
        elif text.startswith("Task(INT) = ") and current is not None:
            current["task"] = int(text.split("=")[1])
        elif text.startswith("mattetrack: timings ") and current is not None:
            current["timings"] = json.loads(text.removeprefix("mattetrack: timings "))
        elif text.startswith("openjd_status: engine") and current is not None:
            current["engine_loaded_at"] = t - started
        elif "exited with code" in text:
            if current is not None and started is not None:
                current["wall_s"] = t - started
                tasks.append(current)
                current = started = None
            elif entering is not None:
                env_s, entering = t - entering, None
    return env_s, tasks


def frame_seconds(task: dict) -> float:
    """A task's own frame time: its track run less the run's setup (shot, keyframes)."""
    t = task["timings"]
    return t["total_s"] - t["setup_s"]


def makespan(costs: list[float], workers: int) -> float:
    """Longest-processing-time-first schedule of task `costs` (s) on `workers`: the last end."""
    loads = [0.0] * workers
    for c in sorted(costs, reverse=True):
        heapq.heapreplace(loads, loads[0] + c)
    return max(loads)


def max_diff(a: Path, b: Path) -> float:
    files = sorted(p.name for p in a.glob("*.png"))
    assert files and files == sorted(p.name for p in b.glob("*.png")), (a, b)
    worst = 0
    for name in files:
        x = cv2.imread(str(a / name), cv2.IMREAD_UNCHANGED).astype(np.int64)
        y = cv2.imread(str(b / name), cv2.IMREAD_UNCHANGED).astype(np.int64)
        worst = max(worst, int(np.abs(x - y).max()))
    return worst / 65535


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--out", type=Path, help="also write farm.json here")
    args = parser.parse_args()
    n = args.frames
    keys = [0, n // 6, n // 2, n * 5 // 6]
    plate, _ = sm.synthetic_1080p(n)
    masks = keyframe_masks(keys)
    prompts = [a for k in keys for a in ("--mask", f"{k}:{masks[k]}")]
    common = [plate, "--range", f"0-{n - 1}", *prompts]

    track_out = WORK / "track"
    _clean(track_out)
    started = time.perf_counter()
    subprocess.run([*sm.mattetrack_cmd(), "track", *common, "-o", str(track_out / "m.%05d.png"),
                    "-q"], check=True, env=ENV)
    track_s = time.perf_counter() - started

    out, job = WORK / "out", WORK / "job"
    _clean(out)
    started = time.perf_counter()
    subprocess.run([*sm.mattetrack_cmd(), "farm", *common, "-o", str(out / "m.%05d.png"),
                    "--job", str(job), "-q"], check=True, env=ENV)
    bundle_s = time.perf_counter() - started  # the cuts found: every frame read once
    n_tasks = len(json.loads((job / "job.json").read_text())["tasks"])
    assert n_tasks == 4, n_tasks

    runs: dict[str, dict] = {}
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    plans = {"1 worker": [(None, None)],
             "1 worker, 1 CPU": [(None, cpus[0] if cpus else None)],
             "2 workers, 1 CPU each": [([0, 1], cpus[0] if cpus else None),
                                       ([2, 3], cpus[1] if len(cpus) > 1 else None)]}
    for name, plan in plans.items():
        _clean(out)
        started = time.perf_counter()
        logs = finished([openjd_run(job, tasks, cpu) for tasks, cpu in plan])
        seconds = time.perf_counter() - started
        runs[name] = {"seconds": seconds, "max_diff": max_diff(track_out, out),
                      "logs": [parse_log(log) for log in logs]}

    env_s, tasks = runs["1 worker"]["logs"][0]
    assert len(tasks) == n_tasks, tasks
    for t in tasks:
        t["frames"] = t["timings"]["frames"]
        t["frame_s"] = frame_seconds(t)
        t["overhead_s"] = t["wall_s"] - t["frame_s"]
    engine_s = tasks[0].get("engine_loaded_at", 0.0)
    overhead = float(np.median([t["overhead_s"] for t in tasks]))
    # Per frame of a span tracked both ways (tasks 1 and 2), and of forward-only tracking.
    both = sum(t["frame_s"] for t in tasks if t["task"] in (1, 2)) / sum(
        t["frames"] for t in tasks if t["task"] in (1, 2))
    forward = [t for t in tasks if t["task"] == 3][0]
    step = forward["frame_s"] / forward["frames"]
    task100 = overhead + 100 * both

    # The model: 10,000 frames, keyframes as dense as here (one per n/4 frames): spans tracked
    # both ways, each a task; and with 4 keyframes only, cut into chunks of 100 frames (a chunk
    # sweeps from its span's keyframes: forwards from the first to its end, backwards from the
    # next to its start).
    total = 10_000
    spacing = n / 4
    spans = [min(spacing, total - i * spacing) for i in range(math.ceil(total / spacing))]
    dense = [overhead + s * both for s in spans]
    span4 = total / 4
    chunks = [overhead + ((a + 100) + (span4 - a)) * step
              for _ in range(4) for a in range(0, int(span4), 100)]
    one_machine = env_s + overhead + total * both
    model = {}
    for label, costs in ((f"keyframes every {spacing:.0f} frames", dense),
                         ("4 keyframes, chunks of 100", chunks)):
        model[label] = {w: env_s + makespan(costs, w) for w in (1, 10, 100)}

    print(f"Farm: {n} frames of 1080p, 4 keyframes, {n_tasks} tasks, {os.cpu_count()} CPUs")
    print("| Run | Wall s | x track | x one worker | Max diff vs track |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| track (one process) | {track_s:.1f} | 1.00 | | |")
    one = runs["1 worker"]["seconds"]
    one_cpu = runs["1 worker, 1 CPU"]["seconds"]
    for name, run in runs.items():
        base = one_cpu if "1 CPU" in name else one
        print(f"| openjd run, {name} | {run['seconds']:.1f} | {track_s / run['seconds']:.2f} | "
              f"{base / run['seconds']:.2f} | {run['max_diff']:.1e} |")
    two = runs["2 workers, 1 CPU each"]["seconds"]
    print(f"2 workers (1 CPU each) against 1 worker on 1 CPU: {one_cpu / two:.2f}x; "
          f"against 1 worker on all {len(cpus)} CPUs: {one / two:.2f}x")
    print(f"Bundle made in {bundle_s:.1f} s ({1000 * bundle_s / n:.0f} ms/frame: the engine's "
          "cut search reads every frame)")
    print(f"Session start (worker + engine): {env_s:.2f} s (engine loaded "
          f"{engine_s:.2f} s into the first task)")
    print("| Task | Frames | Wall s | Frames' own s | Overhead s |")
    print("| --- | --- | --- | --- | --- |")
    for t in tasks:
        print(f"| {t['task']} | {t['frames']} | {t['wall_s']:.2f} | {t['frame_s']:.2f} | "
              f"{t['overhead_s']:.2f} |")
    print(f"Per-task overhead (median) {overhead:.2f} s = {100 * overhead / task100:.1f}% of a "
          f"100-frame span task ({task100:.1f} s: {both * 1000:.0f} ms/frame tracked both ways, "
          f"{step * 1000:.0f} ms/frame forwards only)")
    print(f"Model, {total} frames (one machine: {one_machine:.0f} s):")
    print("| Job | 1 worker | 10 workers | 100 workers | 100 workers / one machine |")
    print("| --- | --- | --- | --- | --- |")
    for label, times in model.items():
        print(f"| {label} | {times[1]:.0f} s | {times[10]:.0f} s | {times[100]:.0f} s | "
              f"{100 * times[100] / one_machine:.2f}% |")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        doc = {"frames": n, "track_s": track_s, "bundle_s": bundle_s,
               "runs": {k: {"seconds": v["seconds"], "max_diff": v["max_diff"]}
                        for k, v in runs.items()},
               "session_s": env_s, "tasks": tasks, "overhead_s": overhead,
               "both_ways_s_per_frame": both, "forward_s_per_frame": step,
               "model": model, "one_machine_s": one_machine}
        (args.out / "farm.json").write_text(json.dumps(doc, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
