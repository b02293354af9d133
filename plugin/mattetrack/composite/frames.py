"""Plate pixels around the linear working space the composite is computed in.

The composite is computed in the OCIO config's `scene_linear` role: the soft edge of a moving
object is light from the object and from the background added together (motion blur, defocus,
hair), which holds in linear light only. A float plate (EXR) usually is scene-linear already and
is used as it is; a display-referred plate (PNG, a movie) is decoded from its colour space (the
one `track` reads it as: `--colorspace`, the movie's tags, else sRGB) and encoded back.
Outputs keep the plate's colour space, except integer files of a float plate: they get the sRGB
texture encoding, as a Nuke Write does for 8- and 16-bit formats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import PyOpenColorIO as ocio

from mattetrack.color import apply_in_place, space_processor, srgb_texture_space
from mattetrack.geometry import Box2i

WORKING = ocio.ROLE_SCENE_LINEAR


@dataclass
class Spaces:
    """The conversions of one plate: `to_working` from its colour space `source`, `back` to
    its colour space and `encoded` to the sRGB texture encoding (None: nothing to do)."""

    source: str
    to_working: ocio.CPUProcessor | None
    back: ocio.CPUProcessor | None
    encoded: ocio.CPUProcessor | None

    @classmethod
    def of(cls, config: ocio.Config, source: str) -> Spaces:
        srgb = srgb_texture_space(config) or source
        return cls(source, space_processor(config, source, WORKING),
                   space_processor(config, WORKING, source),
                   space_processor(config, WORKING, srgb))

    def working(self, rgb: np.ndarray) -> np.ndarray:
        """(h, w, 3) plate pixels in the working space: a new C-contiguous float32 array."""
        out = np.array(rgb, dtype=np.float32, order="C", copy=True)
        apply_in_place(self.to_working, out)
        return out

    def output(self, rgb: np.ndarray, plate_is_float: bool, file_is_float: bool) -> np.ndarray:
        """(h, w, 3) working-space pixels, in place, to what a file of that kind holds (see the
        module docstring)."""
        rgb = np.ascontiguousarray(rgb, dtype=np.float32)
        apply_in_place(self.encoded if plate_is_float and not file_is_float else self.back, rgb)
        return rgb


def on_window(display_array: np.ndarray, display: Box2i, window: Box2i,
              fill: float = 0.0) -> np.ndarray:
    """An array over the display window ((H, W[, C])) cut or padded (with `fill`) to `window`,
    another box of the same pixel grid (an EXR's data window)."""
    if window == display:
        return display_array
    shape = (window.height, window.width, *display_array.shape[2:])
    out = np.full(shape, fill, dtype=display_array.dtype)
    inside = window.intersect(display)
    if inside is not None:
        out[inside.ymin - window.ymin:inside.ymax - window.ymin + 1,
            inside.xmin - window.xmin:inside.xmax - window.xmin + 1] = \
            display_array[inside.ymin - display.ymin:inside.ymax - display.ymin + 1,
                          inside.xmin - display.xmin:inside.xmax - display.xmin + 1]
    return out
