"""The sRGB encoding of a scene-linear plate in one native pass (`_native.encode_codes`).

The engines see 8-bit code values (`color`'s module docstring). When OCIO's conversion is an
affine matrix followed by a per-channel monotonic curve (the sRGB texture encoding of a linear
space: ACEScg -> Rec.709 primaries -> the sRGB curve), each channel's code is fixed by the
matrix's output alone, and the curve reduces to 255 thresholds per channel: the smallest input
reaching each code, found by bisection against OCIO's own processor for that curve. The native
loop then does the matrix and a table lookup per channel, reading half-float pixels as they are
(no float32 copy), without the GIL and on all cores (docs/tuning.md, "Speed: 4K").

`build` checks the result against the exact pipeline (OCIO, sanitise, clip, round) on ramps,
random colours and non-finite values, and returns None (keep OCIO) unless they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import PyOpenColorIO as ocio

# Transforms that act on each channel alone (a curve, a range, a 1D LUT).
_PER_CHANNEL = (ocio.ExponentTransform, ocio.ExponentWithLinearTransform, ocio.LogTransform,
                ocio.LogAffineTransform, ocio.LogCameraTransform, ocio.RangeTransform,
                ocio.Lut1DTransform)
# Agreement asked of a build against the exact pipeline: codes off by one on at most this share
# of the values checked (a float's last bit on a code's edge), never by more.
MAX_OFF_SHARE = 1e-3


@dataclass(frozen=True)
class Encoding:
    """matrix: (3, 4) float32 rows [m0 m1 m2 offset]; thresholds: (3, 255) float32 ascending;
    off_share: share of the checked values one code away from the exact pipeline."""

    matrix: np.ndarray
    thresholds: np.ndarray
    off_share: float

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        """(h, w, 3) float16 or float32 C-contiguous scene-linear pixels -> new (h, w, 3)
        float32 display codes / 255."""
        from mattetrack import _native

        return _native.encode_codes(pixels, self.matrix, self.thresholds)


def _codes(y: np.ndarray) -> np.ndarray:
    """The exact pipeline's codes of OCIO's output y (float32): NaN -> 0, +inf -> 1, clipped,
    times 255, rounded half to even (as `ColorConverter.convert_in_place`)."""
    y = np.nan_to_num(y, nan=0.0, posinf=1.0, neginf=0.0)
    return np.rint(np.clip(y, 0.0, 1.0) * np.float32(255.0))


def _run(cpu: ocio.CPUProcessor, rgb: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(rgb, np.float32).copy()
    cpu.applyRGB(out)
    return out


def _to_key(x: np.ndarray) -> np.ndarray:
    """float32 -> int64 keys in the same order (negative floats reversed below zero)."""
    bits = x.astype(np.float32).view(np.int32).astype(np.int64)
    return np.where(bits >= 0, bits, -(bits & 0x7FFFFFFF) - 1)


def _from_key(k: np.ndarray) -> np.ndarray:
    bits = np.where(k >= 0, k, (-(k + 1)) | 0x80000000).astype(np.uint32)
    return bits.view(np.float32)


def _thresholds(curve: ocio.CPUProcessor) -> np.ndarray | None:
    """(3, 255) smallest inputs reaching codes 1..255 per channel (+inf: never reached,
    -inf: always), or None when a channel's codes do not rise with its input."""
    dense = np.concatenate([-np.geomspace(1e4, 1e-8, 2000), [0.0], np.geomspace(1e-8, 1e4, 6000)])
    codes = _codes(_run(curve, np.repeat(dense.astype(np.float32)[:, None], 3, 1)))
    if (np.diff(codes, axis=0) < 0).any():
        return None
    big = np.float32(np.finfo(np.float32).max)
    lo = np.full((255, 3), _to_key(np.array([-big]))[0])
    hi = np.full((255, 3), _to_key(np.array([big]))[0])
    wanted = np.arange(1, 256, dtype=np.float32)[:, None]
    top = _codes(_run(curve, np.full((1, 3), big)))[0]
    bottom = _codes(_run(curve, np.full((1, 3), -big)))[0]
    while (hi - lo > 1).any():  # invariant: code(hi) >= wanted > code(lo)
        mid = (lo + hi) // 2
        reached = _codes(_run(curve, _from_key(mid).reshape(-1, 3))).reshape(255, 3) >= wanted
        hi, lo = np.where(reached, mid, hi), np.where(reached, lo, mid)
    out = _from_key(hi).reshape(255, 3).copy()
    level = np.repeat(wanted, 3, 1)
    out[level > top[None, :]] = np.inf  # never reached
    out[level <= bottom[None, :]] = -np.inf  # always reached
    return np.ascontiguousarray(out.T, np.float32)


def _split(processor: ocio.Processor):
    """(matrices, curves): the processor's transforms as two groups, matrices first, or None
    when a transform is neither or a matrix follows a curve."""
    matrices, curves = ocio.GroupTransform(), ocio.GroupTransform()
    any_curve = False
    for t in processor.createGroupTransform():
        if isinstance(t, ocio.MatrixTransform) and not any_curve:
            matrices.appendTransform(t)
        elif isinstance(t, _PER_CHANNEL):
            curves.appendTransform(t)
            any_curve = True
        else:
            return None
    return matrices, curves


def _check_values() -> np.ndarray:
    """(n, 3) float32: grey and primary ramps from -0.1 to 64, random colours (log-normal
    about 0.18), NaN and the infinities."""
    ramp = np.concatenate([np.linspace(-0.1, 1.5, 4000), np.geomspace(1.5, 64, 1000)])
    grey = np.repeat(ramp[:, None], 3, 1)
    primaries = [np.eye(3)[c] * ramp[:, None] for c in range(3)]
    rng = np.random.default_rng(0)
    colours = np.exp(rng.normal(np.log(0.18), 1.5, (40000, 3)))
    special = np.array([[np.nan, 0.5, 0.5], [np.inf, 0.2, 0.1], [-np.inf, 0.3, 0.3],
                        [65504, 65504, 65504], [-1, -1, -1]])
    return np.concatenate([grey, *primaries, colours, special]).astype(np.float32)


def build(processor: ocio.Processor, exact_cpu: ocio.CPUProcessor) -> Encoding | None:
    """The native encoding of `processor` (whose exact CPU processor is `exact_cpu`), or None
    when its form does not allow one or it disagrees with the exact pipeline."""
    split = _split(processor)
    if split is None:
        return None
    raw = ocio.Config.CreateRaw()
    matrices, curves = (raw.getProcessor(g).getDefaultCPUProcessor() for g in split)
    basis = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    mapped = _run(matrices, basis).astype(np.float64)
    matrix = np.concatenate([(mapped[1:] - mapped[0]).T, mapped[0][:, None]], 1)
    thresholds = _thresholds(curves)
    if thresholds is None:
        return None
    encoding = Encoding(np.ascontiguousarray(matrix, np.float32), thresholds, 0.0)
    values = _check_values()
    exact = _codes(_run(exact_cpu, np.nan_to_num(values, nan=0.0, posinf=65504.0, neginf=0.0)))
    ours = encoding.encode(values.reshape(-1, 1, 3)).reshape(-1, 3) * np.float32(255.0)
    off = np.abs(np.rint(ours) - exact)
    if off.max() > 1 or (off > 0).mean() > MAX_OFF_SHARE:
        return None
    return Encoding(encoding.matrix, thresholds, float((off > 0).mean()))
