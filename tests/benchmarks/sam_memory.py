"""Peak memory of the deep engines does not grow with shot length (100 vs 2000 frames).

The tiny random SAM 2 checkpoint of the engine tests (`tiny_models.tiny_model("sam2")`,
256 px input) is `save_pretrained` into a temporary folder and loaded through `--model DIR`, so
thousands of frames are affordable on a CPU; the memory bank it keeps per frame has the real
models' structure (memory features, position encodings, object pointers), only smaller. The plate
is a 320x180 half-float EXR sequence under build/bench/synth320-exr (one chunk of synthetic
frames, played forwards and backwards as hard links, as speed_memory.py does at 1080p).

- `mattetrack track PLATE --engine sam2 --model DIR --point 0:160,90` as a subprocess for each
  length: its peak RSS (os.wait4, from a small launcher process: see `_LAUNCHER`) and frames/s;
- the same command in-process with `mattetrack.engines.sam.engine.forget` wrapped (as the
  engine tests do) to read `bank_bytes(session)` after every frame: the largest bank and the
  last one; on CUDA also `torch.cuda.max_memory_allocated` of that run;
- for contrast, transformers' own streaming session, uncapped (`model(session, frame_idx=i,
  frame=pixels)` over the same decoded frames, a mask prompt on frame 0), in a subprocess for
  100 and 400 frames: it keeps every frame and every output, so its peak RSS (and on CUDA its
  GPU memory) grows with the shot.

frames/s is over each run's whole wall time, start-up (imports, loading) included.

    .venv/bin/python tests/benchmarks/sam_memory.py [--frames 100,2000] [--unbounded 100,400]
        [--device auto|cpu|cuda] [--quick]

--quick: 100 vs 500 frames, and 100 vs 200 for the uncapped session.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "engines" / "sam"))

import speed_memory as sm  # noqa: E402
from sam_model_sizes import device_name  # noqa: E402

from mattetrack.engines.devices import pick_device  # noqa: E402

WIDTH, HEIGHT = 320, 180
FRAMES = (100, 2000)
UNBOUNDED = (100, 400)
QUICK_FRAMES = (100, 500)
QUICK_UNBOUNDED = (100, 200)
MIB = 1024 * 1024


@dataclass
class MemRun:
    """One run: what ran, over how many frames, and the memory it took."""

    label: str
    frames: int
    seconds: float
    peak_rss_mib: float | None = None
    bank_max_mib: float | None = None  # the session's tensors, largest after any frame
    bank_last_mib: float | None = None  # ... after the last frame
    cuda_peak_mib: float | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds


@dataclass
class MemoryResult:
    device: str
    cli: list[MemRun]  # mattetrack track, subprocess: peak RSS
    bank: list[MemRun]  # mattetrack track, in-process: bank_bytes (and CUDA peak)
    unbounded: list[MemRun]  # transformers' own session, subprocess


# --------------------------------------------------------------------------------------------
# The plate and the checkpoint


def synthetic_small(frames: int) -> str:
    """Pattern of a `frames`-long 320x180 scene-linear half EXR shot (written once, reused)."""
    from mattetrack.synthetic import render_shot

    folder = sm.BENCH / f"synth{WIDTH}-exr"
    unique = folder / "unique"
    if not (unique / "done").exists():
        unique.mkdir(parents=True, exist_ok=True)
        for i, (linear, _) in enumerate(render_shot(sm.CHUNK, WIDTH, HEIGHT, seed=11,
                                                    motion_blur_samples=3)):
            sm._write_half_exr(unique / f"{i:05d}.exr", linear)
        (unique / "done").touch()
    pattern = folder / "plate.%05d.exr"
    sm.linked_sequence(unique, pattern, frames, sm.CHUNK, "exr")
    return str(pattern)


def save_tiny_sam2(folder: Path) -> Path:
    """The engine tests' tiny SAM 2 (seed 0), saved as a checkpoint folder."""
    from tiny_models import tiny_model
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # save_pretrained's "Writing model shards" bar
    tiny_model("sam2", seed=0).save_pretrained(folder)
    return folder


# --------------------------------------------------------------------------------------------
# Runs


def _track_args(plate: str, model: Path, frames: int, device: str, out: Path) -> list[str]:
    return [plate, "--engine", "sam2", "--model", str(model), "--device", device,
            "--range", f"0-{frames - 1}", "--point", f"0:{WIDTH // 2},{HEIGHT // 2}",
            "-o", str(out / "m.####.exr")]


def cli_run(plate: str, model: Path, frames: int, device: str) -> MemRun:
    """`mattetrack track` as a subprocess: peak RSS of the whole command."""
    out = sm.BENCH / f"sam-memory-{frames}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [*sm.mattetrack_cmd(), "track", *_track_args(plate, model, frames, device, out),
           "--timings", "-q"]
    try:
        _, err, seconds, rss = sm.run_measured(f"track x{frames}", cmd)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    timings = {}
    for line in err.splitlines():
        if line.startswith("mattetrack: timings "):
            timings = json.loads(line.removeprefix("mattetrack: timings "))
    return MemRun("mattetrack track (subprocess)", int(timings.get("frames", 0)), seconds,
                  peak_rss_mib=rss, timings=timings)


def bank_run(plate: str, model: Path, frames: int, device: str) -> MemRun:
    """`mattetrack track` in-process, reading the engine's bank after every frame."""
    import torch

    import mattetrack.engines.sam.engine as engine_mod
    from mattetrack.cli import main
    from mattetrack.engines.sam.memory import bank_bytes

    sizes: list[int] = []
    real = engine_mod.forget

    def spy(session, frame_idx, memory_frames):
        real(session, frame_idx, memory_frames)
        sizes.append(bank_bytes(session))

    out = sm.BENCH / f"sam-memory-bank-{frames}"
    shutil.rmtree(out, ignore_errors=True)
    cuda = device.startswith("cuda")
    if cuda:
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    err = io.StringIO()
    engine_mod.forget = spy
    started = time.perf_counter()
    try:
        with contextlib.redirect_stderr(err):
            rc = main(["track", *_track_args(plate, model, frames, device, out), "-q"])
    finally:
        engine_mod.forget = real
        shutil.rmtree(out, ignore_errors=True)
    seconds = time.perf_counter() - started
    if rc != 0:
        raise RuntimeError(f"in-process track x{frames} exited {rc}: {err.getvalue()[-500:]}")
    peak = torch.cuda.max_memory_allocated() / MIB if cuda else None
    return MemRun("engine bank (in-process)", frames, seconds, bank_max_mib=max(sizes) / MIB,
                  bank_last_mib=sizes[-1] / MIB, cuda_peak_mib=peak)


def unbounded_run(plate: str, model: Path, frames: int, device: str) -> MemRun:
    """transformers' own session over `frames` frames, in a subprocess: its peak RSS."""
    cmd = [sys.executable, __file__, "--unbounded-child", str(frames), "--model", str(model),
           "--plate", plate, "--device", device]
    out, _, seconds, rss = sm.run_measured(f"uncapped session x{frames}", cmd)
    info = json.loads(out.strip().splitlines()[-1])
    return MemRun("transformers session, uncapped", info["frames"], seconds,
                  peak_rss_mib=rss, bank_max_mib=info["bank_mib"],
                  bank_last_mib=info["bank_mib"], cuda_peak_mib=info.get("cuda_peak_mib"))


def _unbounded_child(frames: int, model: str, plate: str, device: str) -> int:
    """The subprocess of `unbounded_run`: stream `frames` decoded frames through the model's
    own session with nothing ever dropped; print one JSON line."""
    import torch

    from mattetrack.engines.sam.inputs import pixel_values, plate_tensor, square_mask
    from mattetrack.engines.sam.loading import load_model
    from mattetrack.engines.sam.memory import bank_bytes
    from mattetrack.shot import Shot

    loaded = load_model("sam2", model, device)
    net, dev, fam = loaded.model, loaded.device, loaded.family
    size = int(net.config.image_size)
    shot = Shot.open(plate, frame_range=(0, frames - 1))
    try:
        session = loaded.session_class(
            video_height=shot.height, video_width=shot.width, inference_device=dev,
            inference_state_device=dev, video_storage_device=dev, dtype=loaded.dtype,
        )
        y, x = np.mgrid[: shot.height, : shot.width]
        disc = ((x - shot.width / 2) ** 2 + (y - shot.height / 2) ** 2
                <= (shot.height / 4) ** 2).astype(np.float32)
        idx = session.obj_id_to_idx(1)
        session.add_mask_inputs(idx, 0, square_mask(torch.from_numpy(disc).to(dev), size))
        session.obj_with_new_inputs = [1]
        with torch.inference_mode():
            for i, frame in enumerate(shot.frames):
                plate_t = plate_tensor(shot.image(frame), dev)
                net(session, frame_idx=i, frame=pixel_values(plate_t, size, fam.mean, fam.std,
                                                             loaded.dtype))
        info = {"frames": len(shot.frames), "bank_mib": bank_bytes(session) / MIB}
        if dev.type == "cuda":
            info["cuda_peak_mib"] = torch.cuda.max_memory_allocated() / MIB
    finally:
        shot.close()
    print(json.dumps(info))
    return 0


def measure(frames: tuple[int, ...] = FRAMES, unbounded: tuple[int, ...] = UNBOUNDED,
            device: str = "auto", quick: bool = False) -> MemoryResult:
    """Every run (see the module docstring); `quick` shortens both series."""
    if quick:
        frames, unbounded = QUICK_FRAMES, QUICK_UNBOUNDED
    device = str(pick_device(device))
    plate = synthetic_small(max((*frames, *unbounded)))
    folder = Path(tempfile.mkdtemp(prefix="mattetrack-bench-tiny-sam2-"))
    try:
        save_tiny_sam2(folder)
        cli = [cli_run(plate, folder, n, device) for n in frames]
        bank = [bank_run(plate, folder, n, device) for n in frames]
        ref = [unbounded_run(plate, folder, n, device) for n in unbounded]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return MemoryResult(device_name(device), cli, bank, ref)


# --------------------------------------------------------------------------------------------
# The table


def _f(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


HEADER = (f"{'run':<32}{'frames':>7}{'peak RSS':>10}{'bank max':>10}{'bank last':>10}"
          f"{'CUDA peak':>10}{'frames/s':>9}   (MiB)")


def rows(result: MemoryResult) -> list[str]:
    """The table's lines (no header): each series, then its long/short ratios."""
    lines = []
    for runs in (result.cli, result.bank, result.unbounded):
        for r in runs:
            lines.append(f"{r.label:<32}{r.frames:7d}{_f(r.peak_rss_mib, '10.0f'):>10}"
                         f"{_f(r.bank_max_mib, '10.2f'):>10}{_f(r.bank_last_mib, '10.2f'):>10}"
                         f"{_f(r.cuda_peak_mib, '10.0f'):>10}{r.fps:9.1f}")
        if len(runs) >= 2:
            a, b = runs[0], runs[-1]
            parts = []
            for name, key in (("peak RSS", "peak_rss_mib"), ("bank max", "bank_max_mib"),
                              ("CUDA peak", "cuda_peak_mib")):
                x, y = getattr(a, key), getattr(b, key)
                if x and y:
                    parts.append(f"{name} x{y / x:.2f}")
            lines.append(f"{'':<4}{b.frames} vs {a.frames} frames: " + ", ".join(parts))
    return lines


def title(result: MemoryResult) -> str:
    return (f"SAM memory: tiny sam2 checkpoint (256 px), {WIDTH}x{HEIGHT} half EXR, "
            f"{result.device}")


def _frames(text: str) -> tuple[int, ...]:
    values = tuple(int(v) for v in text.split(",") if v.strip())
    if len(values) < 2 or min(values) < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: expected two or more lengths, e.g. 100,2000")
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=_frames, default=FRAMES,
                        help="shot lengths for mattetrack track (default: 100,2000)")
    parser.add_argument("--unbounded", type=_frames, default=UNBOUNDED,
                        help="shot lengths for transformers' uncapped session (default: 100,400)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--quick", action="store_true",
                        help="100 vs 500 frames, 100 vs 200 uncapped (a smoke test)")
    parser.add_argument("--json", type=Path, help="also write the results there (gpu_check.py)")
    parser.add_argument("--unbounded-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--plate", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.unbounded_child:
        return _unbounded_child(args.unbounded_child, args.model, args.plate, args.device)
    started = time.perf_counter()
    result = measure(args.frames, args.unbounded, args.device, args.quick)
    if args.json:
        args.json.write_text(json.dumps(asdict(result)))
    print(f"{title(result)}; {time.perf_counter() - started:.0f} s in all")
    print(HEADER)
    print("-" * len(HEADER))
    for line in rows(result):
        print(line)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
