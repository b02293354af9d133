"""Plate colour to the display-referred sRGB the engines see, through OpenColorIO.

The config is the one in `$OCIO` when set, else OCIO's built-in ACES studio config. A plate's
source colour space defaults by pixel type (float: the `scene_linear` role; integer: the config's
sRGB texture space) and `--colorspace` overrides it with any colour space, alias or role.

Sources already in the sRGB texture space pass through untouched (8-bit plates and movies, the
common case, cost nothing); every other source is converted to that sRGB texture encoding
(scene-linear 0.18 -> 0.461, diffuse white 1.0 -> 1.0, brighter values clipped), which is what
Nuke's default sRGB viewer shows of a linear plate. Not through a tone-mapped view such as
"ACES 1.0 - SDR Video": its S-curve compresses shadows and highlights and shifts colours, the
very contrast the engines separate objects by; the dev shots as ACEScg EXRs lost up to 2.3 J&F
against their JPEGs through it and match them through the sRGB encoding (docs/tuning.md,
"Colour: what the engines see of a scene-linear plate"). A config without an sRGB texture
space falls back to its default display and view. Converted pixels are rounded to 8-bit code
values, like an 8-bit sRGB decode.

A view (`tone_map=True`, or the fallback) is baked once per converter into a shaper + 3D LUT
(`colorlut`, ~5x faster, mean error well under 0.5/255); the sRGB encoding of a linear plate (a
matrix, then a curve per channel) runs as one native pass reading half floats as stored
(`colorencode`, `encoding()`; one code off on under 1e-3 of the values checked); `exact=True`
keeps the full OCIO processor for both.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import PyOpenColorIO as ocio

from mattetrack import colorencode, colorlut
from mattetrack.errors import InputError

BUILTIN_CONFIG = "studio-config-v2.2.0_aces-v1.3_ocio-v2.4"

# Ways configs name the sRGB texture space; ACES configs give it the alias `srgb_tx`, older or
# hand-written configs use a plain name or only the `color_picking` / `texture_paint` roles.
_SRGB_CANDIDATES = (
    "srgb_tx",
    "sRGB - Texture",
    "Utility - sRGB - Texture",
    "srgb_texture",
    "sRGB",
    "srgb",
    "color_picking",
    "texture_paint",
)

# A huge finite stand-in for +inf before OCIO (half-float max): inf itself turns into NaN inside
# matrices and tone curves, a very bright value comes out as white, which is what +inf means.
_HALF_MAX = 65504.0

# OCIO's applyRGB releases the GIL, so large frames are converted in row bands on a few threads
# (the ACES view costs about 0.4 s per 2K frame on one core).
_THREADS = max(1, min(8, os.cpu_count() or 1))
_PARALLEL_PIXELS = 1 << 18
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _apply(processor: ocio.CPUProcessor, rgb: np.ndarray) -> None:
    """processor.applyRGB on a C-contiguous (H, W, 3) float32 array, in place, in row bands."""
    global _pool
    if _THREADS == 1 or rgb.shape[0] * rgb.shape[1] < _PARALLEL_PIXELS:
        processor.applyRGB(rgb)
        return
    with _pool_lock:  # shots convert on several threads
        if _pool is None:
            _pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="mattetrack-ocio")
    # Row bands of a C-contiguous array are C-contiguous views, so OCIO writes straight into rgb.
    bands = np.array_split(rgb, _THREADS, axis=0)
    for _ in _pool.map(processor.applyRGB, bands):
        pass


def srgb_texture_space(config: ocio.Config) -> str | None:
    """The config's sRGB texture colour space (canonical name), or None."""
    for name in _SRGB_CANDIDATES:
        space = config.getColorSpace(name)
        if space is not None:
            return space.getName()
    return None


def space_processor(config: ocio.Config, source: str, target: str) -> ocio.CPUProcessor | None:
    """The CPU processor from colour space `source` to `target` (names, aliases or roles), or
    None when it does nothing; InputError when OCIO cannot build it."""
    try:
        cpu = config.getProcessor(ocio.ColorSpaceTransform(src=source, dst=target))
        cpu = cpu.getDefaultCPUProcessor()
    except ocio.Exception as err:
        raise InputError(f"OCIO cannot convert {source!r} to {target!r}: {str(err)[:200]}") \
            from None
    return None if cpu.isNoOp() else cpu


def apply_in_place(processor: ocio.CPUProcessor | None, rgb: np.ndarray) -> None:
    """`processor` on a C-contiguous (H, W, 3) float32 array, in place, in parallel row bands;
    non-finite values are made finite first (see `_HALF_MAX`); None does nothing."""
    if processor is not None:
        _sanitize(rgb, _HALF_MAX)
        _apply(processor, rgb)


def _load_config(config_path: str | None) -> ocio.Config:
    """The OCIO config: `config_path`, else `$OCIO`, else the built-in ACES studio config."""
    try:
        if config_path:
            return ocio.Config.CreateFromFile(config_path)
        if os.environ.get("OCIO"):
            return ocio.Config.CreateFromEnv()
        return ocio.Config.CreateFromBuiltinConfig(BUILTIN_CONFIG)
    except ocio.Exception as err:
        where = config_path or os.environ.get("OCIO") or BUILTIN_CONFIG
        raise InputError(f"{where}: cannot load OCIO config: {str(err)[:200]}") from None


def _sanitize(rgb: np.ndarray, posinf: float) -> None:
    """Replace NaN by 0, +inf by `posinf` and -inf by 0, in place.

    Plates are almost always finite, and scanning for that is ~13x cheaper than the replacement
    pass (1 against 13 ms on a 1920x1080 float frame), so the replacement only runs when needed.
    """
    if not np.isfinite(rgb).all():
        np.nan_to_num(rgb, copy=False, nan=0.0, posinf=posinf, neginf=0.0)


class ColorConverter:
    """Decoded plate pixels to display-referred sRGB in [0, 1]; OCIO processors are built once."""

    def __init__(
        self, colorspace: str | None = None, config_path: str | None = None, exact: bool = False,
        tone_map: bool = False,
    ) -> None:
        """tone_map: convert through the config's default display and view (e.g. the ACES SDR
        output transform, baked into a LUT) instead of the sRGB encoding."""
        self.config = _load_config(config_path)
        self.exact = exact
        self.tone_map = tone_map
        self._override = self._resolve(colorspace) if colorspace else None
        # source_is_float -> CPU processor, or None for the pass-through fast path.
        self._processors: dict[bool, ocio.CPUProcessor | None] = {}
        # source_is_float -> the native one-pass encoding of the exact processor, when it has
        # the form for one (`colorencode`): built with the processor.
        self._encodings: dict[bool, colorencode.Encoding | None] = {}
        # source_is_float -> errors of the baked LUT in use (None: exact processor).
        self.lut_stats: dict[bool, colorlut.LutStats | None] = {}
        # Shots convert on prefetch threads: build each processor once, under a lock.
        self._build_lock = threading.Lock()

    def _resolve(self, name: str) -> str:
        """The canonical colour space name for a colour space, alias or role `name`."""
        space = self.config.getColorSpace(name)
        if space is None:
            # The names people usually want first, then the config's own order.
            scene = self.config.getColorSpaces(
                ocio.SEARCH_REFERENCE_SPACE_SCENE, ocio.COLORSPACE_ACTIVE
            )
            wanted = [ocio.ROLE_SCENE_LINEAR, self._srgb_texture(), *(c.getName() for c in scene)]
            known = [n for n in wanted if n and self.config.getColorSpace(n) is not None]
            examples = ", ".join(repr(n) for n in dict.fromkeys(known[:8]))
            raise InputError(
                f"--colorspace {name!r} is not in the OCIO config; try one of {examples}"
            )
        return space.getName()

    def first_known(self, names) -> str | None:
        """The first of `names` (colour spaces or aliases) the config has, canonical; None."""
        for name in names:
            space = self.config.getColorSpace(name)
            if space is not None:
                return space.getName()
        return None

    def _srgb_texture(self) -> str | None:
        return srgb_texture_space(self.config)

    def source_colorspace(self, source_is_float: bool) -> str:
        """The colour space pixels of this type are read as (canonical name in the config)."""
        if self._override:
            return self._override
        if source_is_float:
            space = self.config.getColorSpace(ocio.ROLE_SCENE_LINEAR)
            if space is None:
                raise InputError("the OCIO config has no scene_linear role; give --colorspace")
            return space.getName()
        srgb = self._srgb_texture()
        if srgb is None:
            raise InputError("the OCIO config has no sRGB texture colour space; give --colorspace")
        return srgb

    def key(self, source_is_float: bool) -> tuple[str, ...]:
        """What decides the converted pixels of this type of source: the config (its cache id),
        the source colour space, the view and whether the exact processor is used."""
        display = self.config.getDefaultDisplay()
        return (self.config.getCacheID(), self.source_colorspace(source_is_float), display,
                self.config.getDefaultView(display), str(self.exact), str(self.tone_map))

    def _processor(self, source_is_float: bool) -> ocio.CPUProcessor | None:
        if source_is_float in self._processors:
            return self._processors[source_is_float]
        with self._build_lock:
            if source_is_float not in self._processors:
                self._processors[source_is_float] = self._build(source_is_float)
            return self._processors[source_is_float]

    def _build(self, source_is_float: bool) -> ocio.CPUProcessor | None:
        """The exact processor, or its LUT bake unless `exact`; None when no conversion."""
        source = self.source_colorspace(source_is_float)
        processor = None
        whole: ocio.Processor | None = None
        srgb = self._srgb_texture()
        if source != srgb:
            transform, target = self._transform(source, None if self.tone_map else srgb)
            try:
                whole = self.config.getProcessor(transform)
                cpu = whole.getDefaultCPUProcessor()
            except ocio.Exception as err:
                raise InputError(
                    f"OCIO cannot convert {source!r} to {target}: {str(err)[:200]}"
                ) from None
            processor = None if cpu.isNoOp() else cpu
        self.lut_stats[source_is_float] = None
        self._encodings[source_is_float] = None
        # Only a view is worth baking: the sRGB encoding (a matrix and a curve) costs the same
        # exact (41 ms per 1080p frame either way), and its clip at 1 bakes poorly.
        tone_mapped = self.tone_map or srgb is None
        if processor is not None and not self.exact and tone_mapped:
            baked = colorlut.bake(processor, _apply)
            if baked is not None:  # else the view does not bake well: stay exact
                processor, self.lut_stats[source_is_float] = baked
        elif processor is not None and not self.exact:
            assert whole is not None
            self._encodings[source_is_float] = colorencode.build(whole, processor)
        return processor

    def reads_half(self, source_is_float: bool) -> bool:
        """Whether `converted` takes half floats as they are (no float32 copy first)."""
        return self.encoding(source_is_float) is not None

    def converted(self, rgb: np.ndarray, source_is_float: bool,
                  unit_range: bool = False) -> np.ndarray:
        """(H, W, 3) C-contiguous float16 or float32 decoded pixels -> display sRGB float32,
        in place where they are float32 and OCIO converts them; through the native encoding
        (a new array) where it exists and the values are not known to be [0, 1] already."""
        encoding = None if unit_range else self.encoding(source_is_float)
        if encoding is not None:
            return encoding.encode(rgb)
        if rgb.dtype != np.float32:
            rgb = rgb.astype(np.float32)
        self.convert_in_place(rgb, source_is_float, unit_range=unit_range)
        return rgb

    def encoding(self, source_is_float: bool) -> colorencode.Encoding | None:
        """The native one-pass conversion to display codes (`colorencode`) of this type of
        source, or None where OCIO's processor is used (no conversion, a view, `exact`, or a
        conversion without a matrix-then-curve form)."""
        self._processor(source_is_float)
        return self._encodings.get(source_is_float)

    def _transform(self, source: str, srgb: str | None) -> tuple[ocio.Transform, str]:
        """The transform from `source` to the engines' image, and its description: the sRGB
        texture encoding when the config has one (no tone mapping: see the module's
        docstring), else the config's default display and view."""
        if srgb is not None:
            return ocio.ColorSpaceTransform(src=source, dst=srgb), repr(srgb)
        display = self.config.getDefaultDisplay()
        view = self.config.getDefaultView(display)
        return (ocio.DisplayViewTransform(src=source, display=display, view=view),
                f"{display!r} / {view!r}")

    def to_display(self, rgb: np.ndarray, source_is_float: bool) -> np.ndarray:
        """(H, W, 3) decoded pixels -> new (H, W, 3) float32 display sRGB, finite, in [0, 1].

        `rgb` is left as it is. Integer sources are expected already normalised to [0, 1].
        """
        out = np.array(rgb, dtype=np.float32, order="C", copy=True)
        self.convert_in_place(out, source_is_float)
        return out

    def convert_in_place(
        self, rgb: np.ndarray, source_is_float: bool, unit_range: bool = False
    ) -> None:
        """Like `to_display`, in place on a C-contiguous (H, W, 3) float32 array.

        unit_range: the caller knows the values are finite and in [0, 1] already (integer
        decodes), so a pass-through conversion does nothing at all.
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) array, got shape {rgb.shape}")
        if rgb.dtype != np.float32 or not rgb.flags.c_contiguous:
            raise ValueError("convert_in_place needs a C-contiguous float32 array")
        processor = self._processor(source_is_float)
        if processor is None and unit_range:
            return
        if processor is not None:
            _sanitize(rgb, _HALF_MAX)
            _apply(processor, rgb)
        _sanitize(rgb, 1.0)
        np.clip(rgb, 0.0, 1.0, out=rgb)
        if processor is not None:
            # Rounded to 8-bit code values, as an 8-bit sRGB decode is: the engines work on
            # 8-bit views anyway (flow, colour bins), and the same picture then gives the same
            # mattes whatever it was stored as (docs/tuning.md, "what the engines see").
            # (times 1/255 in float32, as OpenImageIO turns 8-bit codes into floats: bit for bit)
            np.multiply(rgb, 255.0, out=rgb)
            np.rint(rgb, out=rgb)
            np.multiply(rgb, np.float32(1.0 / 255.0), out=rgb)
