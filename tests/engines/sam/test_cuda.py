"""The deep engines' CUDA paths, on tiny random checkpoints: float32 on the GPU gives the CPU's
mattes, bf16 (the CUDA default) runs and stays close, the pinned one-frame-late copies hand back
what the GPU computed, `torch.compile` changes nothing but speed, and the GPU's peak memory does
not grow with the shot. They need a CUDA device: `make gpu-check` runs them on a GPU machine
(tests/benchmarks/gpu_check.sh); here they skip and say why.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mattetrack.engines.sam import SamEngine, load_model
from mattetrack.engines.sam.engine import _ToHost
from mattetrack.prompts import FramePrompts
from mattetrack.synthetic import SyntheticSource

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(),
                       reason="no CUDA device here (make gpu-check runs these on a GPU)"),
]

W, H = 320, 180
FAMILY_NAMES = ("sam2", "edgetam", "sam3")


@pytest.fixture(scope="module")
def source() -> SyntheticSource:
    return SyntheticSource.render(n_frames=12, width=W, height=H, seed=1, first_frame=1001)


@pytest.fixture
def no_tf32(monkeypatch):
    """Full float32 arithmetic on the GPU (cuDNN convolutions default to TF32's 10-bit mantissa),
    so that a difference from the CPU is the code's, not the precision's."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)


def _key(source: SyntheticSource, frame: int) -> np.ndarray:
    return (source.image(frame)[..., 0] > 0.5).astype(np.float32)


def _mattes(eng: SamEngine, source: SyntheticSource, frames=None) -> dict[int, np.ndarray]:
    frames = frames or source.frames
    keys = {5: {frames[0]: _key(source, frames[0])}}
    return {r[0]: r[1][5] for r in eng.propagate(source, keys, frames)}


def _engine(checkpoints, family: str, device: str, dtype=None, **kw) -> SamEngine:
    loaded = load_model(family, str(checkpoints[family]), device, dtype=dtype, **kw)
    return SamEngine(family, loaded=loaded)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_float32_on_cuda_gives_the_cpu_mattes(tiny_checkpoints, source, family, no_tf32):
    cpu = _engine(tiny_checkpoints, family, "cpu", torch.float32)
    gpu = _engine(tiny_checkpoints, family, "cuda", torch.float32)
    prompts = FramePrompts()
    prompts.add_point(160.5, 90.5)
    prompts.add_point(40.5, 20.5, positive=False)
    a, b = (e.select(source.image(1004), prompts) for e in (cpu, gpu))
    assert b.dtype == np.float32 and b.shape == (H, W)
    assert np.abs(a - b).max() < 1e-3
    ma, mb = _mattes(cpu, source), _mattes(gpu, source)
    assert list(ma) == list(mb) == source.frames
    diffs = [np.abs(ma[f] - mb[f]) for f in source.frames]
    # Summation order differs between the devices; over 11 tracked frames the model feeds its
    # own outputs back through memory, so allow a little more than one frame's rounding.
    assert max(d.mean() for d in diffs) < 1e-3
    assert max(d.max() for d in diffs) < 5e-2


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_bfloat16_is_the_cuda_default_and_stays_close(tiny_checkpoints, source, family):
    f32 = _engine(tiny_checkpoints, family, "cuda", torch.float32)
    bf16 = _engine(tiny_checkpoints, family, "cuda")
    assert bf16.loaded.dtype == torch.bfloat16
    assert next(bf16.loaded.model.parameters()).dtype == torch.bfloat16
    ma, mb = _mattes(f32, source), _mattes(bf16, source)
    first = source.frames[0]
    np.testing.assert_array_equal(mb[first], _key(source, first))  # a keyframe is its own matte
    for f in source.frames:
        assert mb[f].dtype == np.float32 and np.isfinite(mb[f]).all()
        assert mb[f].min() >= 0.0 and mb[f].max() <= 1.0
    # bf16 keeps 8 bits of mantissa: mattes move, but by little on average.
    assert max(np.abs(ma[f] - mb[f]).mean() for f in source.frames) < 0.05


def test_pinned_copies_hand_back_what_the_gpu_computed():
    """The forward sweep starts a frame's copy to the host and takes it one frame later; in
    between the GPU goes on (and reuses freed memory). Every copy must be the frame's own."""
    host = _ToHost(torch.device("cuda"))
    staged = []
    for i in range(24):
        cov = torch.full((1080, 1920), float(i), device="cuda")
        conf = torch.tensor(i / 24, device="cuda")
        staged.append(host.start(cov, conf))
        del cov, conf  # their blocks go back to the allocator while the copies may still run
        torch.randn(4096, 4096, device="cuda").sum()  # other work on the stream meanwhile
    for i, item in enumerate(staged):
        assert item[0].is_pinned()
        out, conf = host.finish(item)
        assert out.shape == (1080, 1920) and out.dtype == np.float32
        assert (out == i).all() and conf == pytest.approx(i / 24)


def test_a_plate_sent_behind_gpu_work_arrives_whole():
    """A plate goes up to the GPU while earlier work is still queued there: every pixel
    arrives, in the (3, H, W) layout the model input is made from."""
    from mattetrack.engines.sam.inputs import plate_tensor

    image = np.random.default_rng(0).random((1080, 1920, 3), dtype=np.float32)
    busy = torch.randn(8192, 8192, device="cuda")
    torch.cuda.synchronize()
    busy @ busy  # ~1 ms of work queued ahead of the copy
    plate = plate_tensor(image, torch.device("cuda"))
    assert plate.shape == (3, 1080, 1920) and plate.device.type == "cuda"
    np.testing.assert_array_equal(plate.permute(1, 2, 0).cpu().numpy(), image)


def test_compiled_image_encoder_gives_the_same_mattes_on_cuda(tiny_checkpoints, source):
    eager = _engine(tiny_checkpoints, "sam2", "cuda")
    compiled = _engine(tiny_checkpoints, "sam2", "cuda", compile=True)
    assert type(compiled.loaded.model.vision_encoder).__name__ == "OptimizedModule"
    frames = source.frames[:4]
    ma, mb = _mattes(eager, source, frames), _mattes(compiled, source, frames)
    # Inductor fuses bf16 operations in another order than eager kernels do.
    assert max(np.abs(ma[f] - mb[f]).mean() for f in frames) < 0.02


def test_peak_gpu_memory_does_not_grow_with_the_shot(tiny_checkpoints):
    long = SyntheticSource.render(n_frames=72, width=W, height=H, seed=2, first_frame=1)
    eng = _engine(tiny_checkpoints, "sam2", "cuda")
    peaks = []
    for n in (24, 72):
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        frames = long.frames[:n]
        assert len(_mattes(eng, long, frames)) == n
        torch.cuda.synchronize()
        peaks.append(torch.cuda.max_memory_allocated())
    # The memory bank is capped at the frames the model attends to (at most 16 here, < 24).
    assert peaks[1] <= peaks[0] * 1.02 + (1 << 20), peaks
