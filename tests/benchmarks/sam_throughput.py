"""End-to-end frames/s of the deep engines on a 1080p EXR plate against the model alone.

The issue's target: the pipeline around the model (decode, colour, the model's input resize,
edge-aware upsampling, writing) keeps >= 90% of the model's own throughput. Per model size
(`sam_model_sizes.MODEL_SIZES`; random weights, since speed does not depend on their values):

1. The random model is built and `save_pretrained` into a temporary folder, which both
   measurements load through `load_model` / `--model DIR`, the real loading path (deleted
   afterwards). EdgeTAM without timm: the folder is loaded with `sam_model_sizes`' plain-torch
   RepViT-M1 trunk (same weights, same keys) in place of transformers' timm wrapper.
2. Model only: transformers' own streaming inference session for the family, one object
   prompted by a mask on frame 0, then `model(session, frame_idx=i, frame=pixels)` for N frames
   of pre-made device-resident (1, 3, S, S) inputs (bf16 on CUDA, float32 on CPU); the first W
   frames are warm-up, excluded; frames/s.
3. End to end: `mattetrack track PLATE --engine F --model DIR --point 0:960,540 --timings`
   in-process (`mattetrack.cli.main`) on N frames of the synthetic 1080p half-float EXR shot of
   speed_memory.py (scene-linear, so the OCIO colour conversion runs); matte EXRs written.
   "e2e" is the brief's frames / (total_s - setup_s): it still holds the first selection, the
   first frames' warm-up and the writer's drain. "steady" excludes the same W warm-up frames as
   the model-only number: frames yielded per second between the hand-overs to the writer of
   frame W and of frame N-2 (the engine yields each frame one step late), so it is the
   pipeline's sustained rate, writer back-pressure included. ratio = steady / model
   (target >= 0.90); "e2e/model" is the stricter whole-run ratio.
4. Where the time goes: the CLI's stage seconds per frame (decode and colour run on the
   read-ahead thread, writing on the writer thread, both overlapped with the engine), and the
   engine's own non-model steps timed in isolation on the device: the model input (1080p plate
   to the S x S square) and the edge-aware upsampling of one object's logits to 1080p.

Defaults: on CUDA every size, 100 frames (10 warm-up); on the CPU sam2.1-tiny and edgetam,
10 frames (1 warm-up), about 2 minutes on 2 cores (4.2 and 1.1 s per frame).

    .venv/bin/python tests/benchmarks/sam_throughput.py [--sizes a,b] [--frames N]
        [--device auto|cpu|cuda]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import pstats
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed_memory as sm
from sam_model_sizes import (
    MODEL_SIZES,
    build_edgetam_without_timm,
    build_model,
    device_name,
)

from mattetrack.engines.devices import pick_device

WIDTH, HEIGHT = 1920, 1080
CPU_SIZES = ("sam2.1-tiny", "edgetam")
CUDA_FRAMES, CPU_FRAMES = 100, 10
TARGET = 0.90
STAGES = ("decode_s", "colour_s", "read_wait_s", "engine_s", "write_s", "write_wait_s")


@dataclass
class SizeResult:
    """One model size: model-only and end-to-end frames/s, and where the time went."""

    name: str
    family: str
    params_m: float
    device: str
    frames: int
    warmup: int
    model_fps: float
    e2e_fps: float  # frames / (total_s - setup_s)
    steady_fps: float  # after the warm-up frames, as the model-only number
    timings: dict[str, float] = field(default_factory=dict)
    prep_ms: float = 0.0  # plate -> model input, isolated
    upsample_ms: float = 0.0  # logits -> 1080p coverage, isolated
    cuda_peak_mib: float | None = None  # torch.cuda.max_memory_allocated over the e2e run

    @property
    def ratio(self) -> float:
        return self.steady_fps / self.model_fps

    @property
    def e2e_ratio(self) -> float:
        return self.e2e_fps / self.model_fps


def default_sizes(device: str) -> list[str]:
    return list(MODEL_SIZES) if device.startswith("cuda") else list(CPU_SIZES)


def default_frames(device: str) -> int:
    return CUDA_FRAMES if device.startswith("cuda") else CPU_FRAMES


def warmup_frames(frames: int) -> int:
    """Frames excluded as warm-up: 10% (at most 10), at least 1, leaving >= 3 measured."""
    return max(1, min(10, frames // 10, frames - 3))


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


# --------------------------------------------------------------------------------------------
# EdgeTAM without timm: transformers builds its trunk through timm_wrapper, which needs timm and
# torchvision. The saved folder is then loaded into `build_edgetam_without_timm`'s model (the
# state-dict keys are the real model's), everything else in `load_model` unchanged.


class _EdgeTamFromFolder:
    """Stands in for EdgeTamVideoModel in `Family.classes()`: only `from_pretrained`, which
    builds a timm-trunk checkpoint with `RepViTM1` and leaves any other to the real class."""

    real: type | None = None

    @classmethod
    def from_pretrained(cls, source: str, local_files_only: bool = True, dtype=None):
        from safetensors.torch import load_file
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(source, local_files_only=local_files_only)
        backbone = getattr(config.vision_config, "backbone_config", None)
        if getattr(backbone, "model_type", "") != "timm_wrapper":
            return cls.real.from_pretrained(source, local_files_only=local_files_only,
                                            dtype=dtype)
        model = build_edgetam_without_timm(config)
        model.load_state_dict(load_file(str(Path(source) / "model.safetensors")), strict=True)
        return model.to(dtype) if dtype is not None else model


@contextlib.contextmanager
def edgetam_loadable():
    """While inside, `--engine edgetam --model DIR` loads without timm (a no-op with timm)."""
    from transformers.utils import is_timm_available

    from mattetrack.engines.sam.families import Family

    if is_timm_available():
        yield
        return
    real = Family.classes

    def classes(self):
        model_cls, session_cls = real(self)
        if self.engine != "edgetam":
            return model_cls, session_cls
        _EdgeTamFromFolder.real = model_cls
        return _EdgeTamFromFolder, session_cls

    Family.classes = classes
    try:
        yield
    finally:
        Family.classes = real


# --------------------------------------------------------------------------------------------


def _disc(height: int, width: int):
    """(H, W) float32 coverage of a disc in the middle of the frame (the frame-0 mask prompt)."""
    import torch

    y, x = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    r = min(height, width) / 4
    return (((x - width / 2) ** 2 + (y - height / 2) ** 2) <= r * r).float()


def model_only(loaded, frames: int, warmup: int) -> float:
    """The model's own streaming forward over `frames` frames: frames/s after `warmup`."""
    import torch

    from mattetrack.engines.sam.inputs import square_mask

    net, dev, dtype = loaded.model, loaded.device, loaded.dtype
    size = int(net.config.image_size)
    session = loaded.session_class(
        video_height=HEIGHT, video_width=WIDTH, inference_device=dev,
        inference_state_device=dev, video_storage_device=dev, dtype=dtype,
    )
    obj_id = 1
    idx = session.obj_id_to_idx(obj_id)
    session.add_mask_inputs(idx, 0, square_mask(_disc(HEIGHT, WIDTH), size))
    session.obj_with_new_inputs = [obj_id]
    gen = torch.Generator().manual_seed(0)
    # A few distinct inputs, cycled (the session keeps a reference per frame, not a copy).
    pixels = [torch.randn(1, 3, size, size, generator=gen).to(dev, dtype) for _ in range(4)]
    device = str(dev)
    with torch.inference_mode():
        for i in range(frames):
            if i == warmup:
                _sync(device)
                started = time.perf_counter()
            net(session, frame_idx=i, frame=pixels[i % len(pixels)])
        _sync(device)
        seconds = time.perf_counter() - started
    session.reset_inference_session()
    del session, pixels
    return (frames - warmup) / seconds


def isolated_steps(loaded, reps: int = 10) -> tuple[float, float]:
    """(model input ms, upsampling ms) per frame of a 1080p plate, one object, on the device."""
    import numpy as np
    import torch

    from mattetrack.engines.sam.inputs import pixel_values, plate_tensor
    from mattetrack.engines.sam.upsample import UpsampleParams, upsample_logits

    fam, dev = loaded.family, loaded.device
    size = int(loaded.model.config.image_size)
    image = np.random.default_rng(0).random((HEIGHT, WIDTH, 3), dtype=np.float32)
    plate = plate_tensor(image, dev)
    logits = (torch.randn(1, 1, size // 4, size // 4, device=dev) * 8).float()
    params = UpsampleParams()
    out = []
    for step in (lambda: pixel_values(plate, size, fam.mean, fam.std, loaded.dtype),
                 lambda: upsample_logits(logits, plate, params)):
        with torch.inference_mode():
            step()
            _sync(str(dev))
            started = time.perf_counter()
            for _ in range(reps):
                step()
            _sync(str(dev))
        out.append((time.perf_counter() - started) / reps * 1000)
    return out[0], out[1]


def end_to_end(name: str, family: str, folder: Path, frames: int, warmup: int,
               device: str, profile: Path | None = None
               ) -> tuple[dict[str, float], float, float | None]:
    """`mattetrack track` in-process: (its --timings, steady frames/s after `warmup`, peak
    CUDA memory of the run in MiB or None on the CPU). profile: write a cProfile of the run
    there (up to Python 3.11 of the calling thread alone: the engine and the pipeline; from
    3.12, built on sys.monitoring, of every thread, the readers and the writer too)."""
    import torch

    from mattetrack.cli import main
    from mattetrack.export.background import BackgroundWriter

    plate, _ = sm.synthetic_1080p(frames, exr=True)
    out_dir = sm.BENCH / f"sam-throughput-{name}"
    shutil.rmtree(out_dir, ignore_errors=True)
    argv = ["track", plate, "--engine", family, "--model", str(folder), "--device", device,
            "--range", f"0-{frames - 1}", "--point", f"0:{WIDTH // 2},{HEIGHT // 2}",
            "-o", str(out_dir / "m.####.exr"), "--timings", "-q"]
    handed: list[float] = []
    real_submit = BackgroundWriter.submit

    def submit(self, path, job):
        handed.append(time.perf_counter())
        return real_submit(self, path, job)

    err = io.StringIO()
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    BackgroundWriter.submit = submit
    prof = cProfile.Profile() if profile else None
    # On CUDA also the GPU's side: kernel time per operator (the host waiting on a GPU that is
    # behind shows in cProfile only as slow launches).
    gpu_prof = None
    if profile and cuda:
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as torch_profile

        gpu_prof = torch_profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
    try:
        with edgetam_loadable(), contextlib.redirect_stderr(err), \
                (gpu_prof if gpu_prof is not None else contextlib.nullcontext()):
            if prof:
                prof.enable()
            rc = main(argv)
    finally:
        if prof:
            prof.disable()
        BackgroundWriter.submit = real_submit
        shutil.rmtree(out_dir, ignore_errors=True)
    if gpu_prof is not None and profile:
        table = gpu_prof.key_averages().table(sort_by="cuda_time_total", row_limit=50)
        profile.with_suffix(".cuda.txt").write_text(table)
    if prof and profile:
        text = io.StringIO()
        stats = pstats.Stats(prof, stream=text)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)
        profile.write_text(text.getvalue())
    peak = torch.cuda.max_memory_allocated() / (1 << 20) if cuda else None
    text = err.getvalue()
    if rc != 0:
        raise RuntimeError(f"{name}: mattetrack exited {rc}: {text.strip()[-500:]}")
    timings = {}
    for line in text.splitlines():
        if line.startswith("mattetrack: timings "):
            timings = json.loads(line.removeprefix("mattetrack: timings "))
    last = len(handed) - 2  # frame N-1 is handed over with no engine step after frame N-2's
    steady = (last - warmup) / (handed[last] - handed[warmup])
    return timings, steady, peak


def measure_size(name: str, frames: int, device: str, profile: Path | None = None
                 ) -> SizeResult:
    """Both measurements for one model size, its checkpoint in a temporary folder."""
    import torch

    from mattetrack.engines.sam.loading import load_model

    family = MODEL_SIZES[name][0]
    warmup = warmup_frames(frames)
    folder = Path(tempfile.mkdtemp(prefix=f"mattetrack-bench-{name}-"))
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # save_pretrained's "Writing model shards" bar
        torch.manual_seed(0)
        model = build_model(name)
        params_m = sum(p.numel() for p in model.parameters()) / 1e6
        model.save_pretrained(folder)
        del model
        gc.collect()
        with edgetam_loadable():
            loaded = load_model(family, str(folder), device)
        model_fps = model_only(loaded, frames, warmup)
        prep_ms, upsample_ms = isolated_steps(loaded)
        del loaded
        gc.collect()
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
        timings, steady, peak = end_to_end(name, family, folder, frames, warmup, device,
                                           profile)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    run_s = timings["total_s"] - timings["setup_s"]
    return SizeResult(name, family, params_m, device_name(device), int(timings["frames"]),
                      warmup, model_fps, timings["frames"] / run_s, steady, timings, prep_ms,
                      upsample_ms, peak)


def measure(sizes: list[str] | None = None, frames: int | None = None,
            device: str = "auto", profile: Path | None = None) -> list[SizeResult]:
    """One `SizeResult` per size (defaults depend on the device, see the module docstring)."""
    device = str(pick_device(device))
    sizes = sizes or default_sizes(device)
    unknown = [s for s in sizes if s not in MODEL_SIZES]
    if unknown:
        raise ValueError(f"unknown sizes {unknown}; expected some of {list(MODEL_SIZES)}")
    frames = frames or default_frames(device)
    if frames < 4:
        raise ValueError("--frames: at least 4 (1 warm-up, 3 measured)")
    return [measure_size(name, frames, device, profile) for name in sizes]


HEADER = (f"{'model':<18}{'params M':>9}{'model fps':>10}{'e2e fps':>9}{'steady fps':>11}"
          f"{'ratio':>7}{'e2e/model':>10}  target >= {TARGET:.2f}")


def rows(results: list[SizeResult]) -> list[str]:
    """The table's lines (no header): per size the numbers, then its milliseconds per frame."""
    lines = []
    for r in results:
        verdict = "ok" if r.ratio >= TARGET else "BELOW"
        lines.append(f"{r.name:<18}{r.params_m:9.1f}{r.model_fps:10.2f}{r.e2e_fps:9.2f}"
                     f"{r.steady_fps:11.2f}{r.ratio:7.2f}{r.e2e_ratio:10.2f}  {verdict}")
        n = max(r.frames, 1)
        stages = ", ".join(f"{k.removesuffix('_s')} {r.timings.get(k, 0.0) / n * 1000:.0f}"
                           for k in STAGES)
        lines.append(f"{'':<4}ms/frame: model {1000 / r.model_fps:.0f}; {stages}; setup "
                     f"{r.timings.get('setup_s', 0.0):.1f} s; isolated: input resize "
                     f"{r.prep_ms:.1f}, upsample {r.upsample_ms:.1f}"
                     + ("" if r.cuda_peak_mib is None
                        else f"; CUDA peak {r.cuda_peak_mib:.0f} MiB"))
    return lines


def title(results: list[SizeResult]) -> str:
    if not results:
        return "SAM throughput: no sizes"
    r = results[0]
    return (f"SAM throughput: 1920x1080 half EXR (scene-linear, OCIO), {r.frames} frames "
            f"({r.warmup} warm-up excluded), random weights, {r.device}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help=f"comma-separated, of {', '.join(MODEL_SIZES)} "
                        f"(default: all on CUDA, {', '.join(CPU_SIZES)} on the CPU)")
    parser.add_argument("--frames", type=int, help=f"frames per run (default: {CUDA_FRAMES} on "
                        f"CUDA, {CPU_FRAMES} on the CPU)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--json", type=Path, help="also write the results there (gpu_check.py)")
    parser.add_argument("--profile", type=Path,
                        help="a cProfile of the end-to-end run's main thread, written there")
    args = parser.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()] if args.sizes else None
    started = time.perf_counter()
    results = measure(sizes, args.frames, args.device, args.profile)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) | {"ratio": r.ratio} for r in results]))
    print(f"{title(results)}; {time.perf_counter() - started:.0f} s in all")
    print(HEADER)
    print("-" * len(HEADER))
    for line in rows(results):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
