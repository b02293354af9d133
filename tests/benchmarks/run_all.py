"""`make bench`: every measured run, printed as ONE table.

- DAVIS-2016 dev J&F per shot with the first-frame mask, and with the true mask every 10 frames
  (davis_jf.py, through the real CLI; the first-frame runs also give the 480p frames/s);
- NoC@85 / NoC@90 per shot (noc.py, selection from simulated clicks);
- whole-run frames/s at 854x480 (DAVIS JPEGs) and 1920x1080 (synthetic JPEGs, and half EXRs
  through the colour conversion), with stage timings;
- peak RSS of the CLI for 100 and 1000 frames of 1080p (speed_memory.py);
- EXR writing of 4 mattes + a Cryptomatte, 100 frames of 2048x1152: the native module against
  OpenImageIO's Python API (exr_write.py); roto channels rasterised and written against the
  matte writing (roto_channels.py);
- deep engines: peak RSS and memory bank of `--engine sam2` (tiny checkpoint) for 100 vs 2000
  frames, against transformers' own uncapped session (sam_memory.py; 100 vs 500 with --quick);
  end-to-end frames/s of each SAM model size on a 1080p EXR plate against the model alone
  (sam_throughput.py; only with CUDA, or with --sam on the CPU). Both need transformers (the
  [sam] extra) and are left out without it;
- the local service's responsiveness: click to preview at 854x480 through the hosts' client, and
  the same, job polls and the host's poll while another session propagates
  (service_responsiveness.py); 16 clients for 60 s against one service with a propagation
  always running, a 200-request burst, RSS at start and end (service_load.py);
- the artist's loop: J&F per correction round in the oracle and suggested modes, seconds and
  frames recomputed per round against a full run, confidence against true IoU
  (interactive.py); linear ACEScg EXR plates against their JPEGs (linear_plates.py); review's
  overlay movie, frames and contact sheet against a bare decode and encode (review_speed.py);
  a farm job's tasks run by 1 and 2 local `openjd run` workers against one `track`, per-task
  overhead and a model of 10 and 100 workers (farm.py); `--cryptomatte` against mattes alone,
  and one rank layer against three at the writer (cryptomatte_cost.py); roto shapes on tracked
  mattes: IoU, shapes per frame, points, wobble, fitting ms a frame against one Bezier segment
  at a time, and against the rules before (shapes_tracked.py); 1080p ProRes and H.264 movies
  read through PyAV against OpenCV, in order and shuffled, and peak memory (movie_read.py);
  shot boundaries of a programme of the dev shots: precision and recall of hard cuts, dissolves
  and fades (cuts.py); background replacement's edge error with and without decontamination,
  and frames/s at 1080p (composite.py); object removal on the video-inpainting protocol
  against per-frame Telea, its farm bundle against one run, and the background behind the holes
  with the shot's own subject given as the foreground against without (removal.py); `track` against
  bare DIS mask warping at 480p, start-up, stage ms, and 1080p / 4K half EXR frames/s and peak
  RSS (speed_vs_warp.py).
  Their own tables follow the main one.

    .venv/bin/python tests/benchmarks/run_all.py [--quick] [--sam]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import davis_jf
import exr_write
import roto_channels
import service_load
import service_responsiveness
import speed_memory as sm

try:
    import transformers  # noqa: F401
except ImportError:  # the deep engines' benchmarks need the [sam] extra
    sam_memory = sam_throughput = None
else:
    import sam_memory
    import sam_throughput

EVERY = 10


def _jf(shot: str, out: Path) -> float:
    j, f = davis_jf.score_shot(shot, out)
    return (j + f) / 2


def davis_rows(shots: list[str]) -> tuple[dict[str, dict[str, float]], list[sm.Run]]:
    """{shot: {"jf_first", "jf_every", "frames"}} and the first-frame runs (for speed)."""
    rows: dict[str, dict[str, float]] = {}
    runs = []
    for shot in shots:
        run = sm.davis_480p([shot])[0]  # first-frame mask, with --timings
        runs.append(run)
        first = _jf(shot, sm.BENCH / "speed480" / shot)
        out = sm.BENCH / "davis" / f"every{EVERY}" / shot
        out.mkdir(parents=True, exist_ok=True)
        davis_jf.run_shot(shot, out, EVERY)
        rows[shot] = {"jf_first": first, "jf_every": _jf(shot, out), "frames": run.frames}
    return rows, runs


def noc_rows(shots: list[str]) -> dict[str, dict[str, float]]:
    """{shot: {"noc85", "noc90"}} from noc.py, or {} when it is not there yet."""
    try:
        import noc
    except ImportError:
        return {}
    return {r["shot"]: {"noc85": r["noc85"], "noc90": r["noc90"]}
            for r in noc.measure_noc(davis_jf.DATA, shots)}


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 DAVIS shots and no 1000-frame run (a smoke test of the bench)")
    parser.add_argument("--sam", action="store_true",
                        help="also the SAM model-size throughput on the CPU (slow; it runs by "
                        "default when CUDA is available)")
    args = parser.parse_args()
    started = time.perf_counter()
    rows: dict[str, dict[str, float]] = {}
    noc: dict[str, dict[str, float]] = {}
    speed480: sm.Run | None = None
    if davis_jf.DATA.is_dir():
        shots = sorted(p.name for p in (davis_jf.DATA / "JPEGImages" / "480p").iterdir())
        shots = shots[:2] if args.quick else shots
        rows, runs = davis_rows(shots)
        speed480 = sm.summed(runs)
        noc = noc_rows(shots)
    r100 = sm.run_1080p(100)
    exr100 = sm.run_1080p(100, exr=True)
    r1000 = None if args.quick else sm.run_1080p(1000)
    exr_native, exr_oiio, exr_oiio_write, exr_equal = exr_write.measure(10 if args.quick else 100)
    roto = roto_channels.measure(5 if args.quick else 30)
    service = service_responsiveness.measure(args.quick) if davis_jf.DATA.is_dir() else None
    load = service_load.measure(10 if args.quick else 60)
    sam_mem = sam_tp = None
    if sam_memory is not None:
        sam_mem = sam_memory.measure(quick=args.quick)
        cuda = sam_throughput.pick_device("auto") == "cuda"
        if cuda or args.sam:
            quick_frames = (30 if cuda else 4) if args.quick else None
            sam_tp = sam_throughput.measure(frames=quick_frames)

    cores = os.cpu_count()
    print(f"\nMatteTrack benchmark: classic engine, {cores} cores, "
          f"{time.perf_counter() - started:.0f} s in all")
    header = (f"{'':<24}{'J&F first':>10}{f'J&F /{EVERY}':>10}{'NoC@85':>8}{'NoC@90':>8}"
              f"{'frames':>8}")
    print(header)
    print("-" * len(header))
    for shot, row in rows.items():
        n = noc.get(shot, {})
        print(f"{shot:<24}{row['jf_first']:10.1f}{row['jf_every']:10.1f}"
              f"{_fmt(n.get('noc85'), '8.0f'):>8}{_fmt(n.get('noc90'), '8.0f'):>8}"
              f"{int(row['frames']):8d}")
    if rows:
        mean = {k: sum(r[k] for r in rows.values()) / len(rows) for k in ("jf_first", "jf_every")}
        m85 = sum(n["noc85"] for n in noc.values()) / len(noc) if noc else None
        m90 = sum(n["noc90"] for n in noc.values()) / len(noc) if noc else None
        print(f"{'mean':<24}{mean['jf_first']:10.1f}{mean['jf_every']:10.1f}"
              f"{_fmt(m85, '8.2f'):>8}{_fmt(m90, '8.2f'):>8}")
    print("-" * len(header))
    speed = [("854x480 DAVIS jpg", speed480), ("1920x1080 jpg x100", r100),
             ("1920x1080 half exr x100", exr100), ("1920x1080 jpg x1000", r1000)]
    for label, run in speed:
        if run is None:
            continue
        print(f"{label:<24}{run.fps:7.1f} frames/s  peak RSS {run.peak_rss_mib:5.0f} MiB  "
              f"{sm.stage_line(run)}")
    if r1000 is not None:
        print(f"{'peak RSS 100 vs 1000':<24}{r100.peak_rss_mib:7.0f} vs "
              f"{r1000.peak_rss_mib:.0f} MiB (1080p jpg)")
    print("-" * len(header))
    print(f"EXR write, {exr_native.frames} frames of {exr_write.WIDTH}x{exr_write.HEIGHT}: "
          f"4 mattes (half) + Cryptomatte (float32), ZIP; same content: {exr_equal}")
    for run in (exr_native, exr_oiio, exr_oiio_write):
        print(f"  {run.label:<22}{run.fps:7.2f} frames/s {run.mb_per_s:7.0f} MB/s")
    print(f"  native vs OpenImageIO   {exr_oiio.seconds / exr_native.seconds:7.2f}x "
          f"({exr_oiio_write.seconds / exr_native.seconds:.2f}x against its writing alone)")
    print(f"Roto channels, same size, ms/frame: mattes written {roto['mattes']:.1f}, roto "
          f"rasterised + written {roto['roto']:.1f} ({roto['roto'] / roto['mattes']:.2f}x), "
          f"rasterising alone {roto['raster']:.1f} (feather 4 px {roto['raster4']:.1f})")
    if service is not None:
        print("-" * len(header))
        print(service_responsiveness.title())
        for line in service_responsiveness.rows(service):
            print(line)
    print("-" * len(header))
    print(service_load.title(load))
    for line in service_load.rows(load):
        print(line)
    if sam_memory is None:
        print("-" * len(header))
        print("SAM engines skipped: transformers is not installed (the [sam] extra)")
    for module, result in ((sam_memory, sam_mem), (sam_throughput, sam_tp)):
        if result is not None:
            print("-" * len(header))
            print(module.title(result))
            print(module.HEADER)
            for line in module.rows(result):
                print(line)
    if sam_tp is None and sam_memory is not None:
        print("SAM throughput per model size: skipped (no CUDA; --sam runs it on the CPU)")
    here = Path(__file__).resolve().parent
    quick = ["--shots", "dog,car-shadow", "--rounds", "2"] if args.quick else []
    for script, extra in (("interactive.py", quick), ("linear_plates.py", quick[:2]),
                          ("review_speed.py", []),
                          ("cryptomatte_cost.py", ["--frames", "20"] if args.quick else []),
                          ("farm.py", ["--frames", "120"] if args.quick else []),
                          ("shapes_tracked.py", ["--quick"] if args.quick else []),
                          ("movie_read.py", ["--frames", "120"] if args.quick else []),
                          ("movie_read.py", ["--size", "3840x2160", "--frames", "150"]),
                          ("cuts.py", []), ("composite.py", []),
                          ("removal.py", ["--shots", "dog,car-shadow"] if args.quick else []),
                          ("removal.py", ["--farm", "40"]),
                          ("removal.py", ["--foreground", *(["--shots", "dog,car-shadow"]
                                                            if args.quick else [])]),
                          ("speed_vs_warp.py", ["--quick"] if args.quick else [])):
        print("-" * len(header), flush=True)
        subprocess.run([sys.executable, str(here / script), *extra], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
