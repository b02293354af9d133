"""A colour conversion baked into a shaper + 3D LUT, for fast float-plate conversion.

The exact OCIO display/view processor (ACES output transform: ~0.4 s per 2K frame on one core) is
sampled once on a 65^3 grid in a log domain and then applied as one OCIO `GroupTransform`
(log shaper -> tetrahedral `Lut3DTransform`), about 5x cheaper and still C++ without the GIL.

The shaper is ACEScct's curve (a built-in `LogCameraTransform`, config-independent): it spreads
linear values from about -0.007 to 222.9 over [0, 1] with a linear toe, so darks, mids and
highlights get similar numbers of grid cells. Anything above 222.9 is treated as 222.9.

Accuracy against the exact view: docs/tuning.md, "Colour". `bake` checks the baked result on
ramps and random colours and returns None (use the exact processor) when a config's view does not
bake well, e.g. a view that does not saturate above the shaper's range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import PyOpenColorIO as ocio

GRID = 65
# ACEScct (S-2016-001) as an OCIO LogCameraTransform: 0.18 -> 0.4136, 0 -> 0.0729, 1 -> 0.5548.
_CCT = dict(
    linSideBreak=[0.0078125] * 3,
    base=2.0,
    logSideSlope=[1 / 17.52] * 3,
    logSideOffset=[9.72 / 17.52] * 3,
    linSideSlope=[1.0] * 3,
    linSideOffset=[0.0] * 3,
)
# Acceptance of a bake, in display code values (0..255) against the exact processor.
MAX_MEAN_ERROR = 0.5
MAX_RAMP_ERROR = 2.0


@dataclass(frozen=True)
class LutStats:
    """Errors of a bake against the exact processor, in display code values (0..255)."""

    mean: float
    max: float
    ramp_max: float


def _raw_config() -> ocio.Config:
    # A raw config holds no colour spaces; it only builds processors for explicit transforms.
    # Its processor cache keys on transform ids, and a mutated Lut3DTransform could hit a stale
    # entry, so the cache is off.
    raw = ocio.Config.CreateRaw()
    raw.setProcessorCacheFlags(ocio.PROCESSOR_CACHE_OFF)
    return raw


def _shaper() -> ocio.LogCameraTransform:
    return ocio.LogCameraTransform(**_CCT)


def validation_colours(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(random colours (n, 3), a grey ramp (m, 3)), float32 scene-linear.

    Random colours are uniform in the shaper domain (so as likely dark as bright); the ramp runs
    linearly over 0..1, then in log steps up to the half-float maximum. (Pure primaries at
    extreme values are left out of the acceptance: the output transform clips them inside a
    LUT cell whatever the grid, which is where the max error lives.)
    """
    rng = np.random.default_rng(seed)
    to_linear = _raw_config().getProcessor(_shaper(), ocio.TRANSFORM_DIR_INVERSE)
    rand = rng.random((20000, 3), dtype=np.float32)
    to_linear.getDefaultCPUProcessor().applyRGB(rand)
    levels = np.concatenate([np.linspace(0, 1, 256), np.geomspace(1e-4, 65504.0, 512)])
    levels = levels.astype(np.float32)[:, None]
    return rand, np.ascontiguousarray(np.repeat(levels, 3, axis=1))


def display_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-value |a - b| after both are clipped to [0, 1], in code values (0..255)."""
    return np.abs(np.clip(a, 0.0, 1.0) - np.clip(b, 0.0, 1.0)) * 255.0


def bake(
    exact: ocio.CPUProcessor,
    apply: Callable[[ocio.CPUProcessor, np.ndarray], None] | None = None,
    grid: int = GRID,
) -> tuple[ocio.CPUProcessor, LutStats] | None:
    """The exact processor baked into a shaper + `grid`^3 LUT, with its measured errors.

    `apply(processor, rgb)` runs a processor in place on an (n, 3) float32 array (lets the
    caller use its thread pool). Returns None when the bake misses the acceptance bounds.
    """
    run = apply or (lambda proc, rgb: proc.applyRGB(rgb))
    raw = _raw_config()
    to_linear = raw.getProcessor(_shaper(), ocio.TRANSFORM_DIR_INVERSE).getDefaultCPUProcessor()
    axis = np.linspace(0.0, 1.0, grid, dtype=np.float32)
    # OCIO's Lut3D data is indexed [r][g][b] with blue varying fastest (C order of r, g, b).
    r, g, b = np.meshgrid(axis, axis, axis, indexing="ij")
    table = np.ascontiguousarray(np.stack([r, g, b], axis=-1).reshape(-1, 3))
    run(to_linear, table)
    run(exact, table)
    np.nan_to_num(table, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    lut = ocio.Lut3DTransform(gridSize=grid)
    lut.setInterpolation(ocio.INTERP_TETRAHEDRAL)
    lut.setData(table.ravel())
    fast = raw.getProcessor(ocio.GroupTransform([_shaper(), lut])).getDefaultCPUProcessor()
    stats = measure(exact, fast)
    if stats.mean > MAX_MEAN_ERROR or stats.ramp_max > MAX_RAMP_ERROR:
        return None
    return fast, stats


def measure(exact: ocio.CPUProcessor, fast: ocio.CPUProcessor) -> LutStats:
    """Errors of `fast` against `exact` on `validation_colours`, in code values."""
    rand, ramps = validation_colours()
    out = []
    for colours in (rand, ramps):
        want, got = colours.copy(), colours.copy()
        exact.applyRGB(want)
        fast.applyRGB(got)
        out.append(display_error(want, got))
    return LutStats(float(out[0].mean()), float(out[0].max()), float(out[1].max()))
