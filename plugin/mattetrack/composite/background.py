"""What goes under the object: `--background #RRGGBB | IMAGE | SEQUENCE | MOVIE`.

A colour is an sRGB code value (as a colour picker gives it). Pictures are read as `track`
reads a plate (their own colour space: float files scene-linear, others sRGB, a movie's tags)
and brought to the working space. The plate's n-th frame gets the background's n-th frame (a
background has its own numbering), its last frame held when it is shorter; a still serves every
frame. A picture of another size is scaled to cover the plate's display window, centred, the
overhang cut off (the "fill" of an editor's timeline). Outside the display window (an EXR's
overscan) a picture gives black, a colour its colour.
"""

from __future__ import annotations

import os
import re

import cv2
import numpy as np

from mattetrack.color import srgb_texture_space
from mattetrack.composite.frames import WORKING, Spaces, on_window
from mattetrack.errors import InputError
from mattetrack.geometry import Box2i

_COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")


class Background:
    """`at(index, display, window)`: (window.height, window.width, 3) float32 working-space
    pixels under the plate's `index`-th frame (0-based), over `window` of the display box."""

    def at(self, index: int, display: Box2i, window: Box2i) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        """Releases what the background holds open."""


class ColourBackground(Background):
    def __init__(self, linear: np.ndarray, text: str) -> None:
        self.colour = linear.astype(np.float32)
        self.text = text

    def at(self, index: int, display: Box2i, window: Box2i) -> np.ndarray:
        return np.broadcast_to(self.colour, (window.height, window.width, 3))

    def __repr__(self) -> str:
        return f"ColourBackground({self.text!r})"


class PictureBackground(Background):
    """A still, a sequence or a movie (a `Shot`), read on demand; the last frame made is kept
    (a still is converted once)."""

    def __init__(self, shot, spaces: Spaces) -> None:
        self.shot = shot
        self.spaces = spaces
        self._kept: tuple[int, tuple, np.ndarray] | None = None

    def at(self, index: int, display: Box2i, window: Box2i) -> np.ndarray:
        frames = self.shot.frames
        frame = frames[min(index, len(frames) - 1)]
        size = (display.width, display.height)
        if self._kept is None or self._kept[:2] != (frame, size):
            decoded = self.shot.decoded(frame)
            rgb = on_window(decoded.rgb, decoded.data_window, decoded.display_window)
            self._kept = (frame, size, _cover(self.spaces.working(rgb), size))
        return on_window(self._kept[2], display, window)

    def close(self) -> None:
        self.shot.close()

    def __repr__(self) -> str:
        return f"PictureBackground({self.shot.path!r})"


def _cover(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`rgb` scaled to cover (width, height) `size`, centred, the overhang cut off."""
    h, w = rgb.shape[:2]
    if (w, h) == size:
        return rgb
    scale = max(size[0] / w, size[1] / h)
    sw, sh = max(size[0], round(w * scale)), max(size[1], round(h * scale))
    shrink = scale < 1.0
    scaled = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA if shrink else
                        cv2.INTER_LINEAR)
    x, y = (sw - size[0]) // 2, (sh - size[1]) // 2
    return np.ascontiguousarray(scaled[y:y + size[1], x:x + size[0]])


def open_background(text: str, config, frame_numbers: str = "index") -> Background:
    """The background `text` names; InputError naming --background when it is neither a
    colour nor a readable picture."""
    from mattetrack.shot import Shot

    match = _COLOUR.fullmatch(text.strip())
    if match and (text.startswith("#") or not os.path.exists(text)):
        code = np.array([int(match.group(1)[i:i + 2], 16) for i in (0, 2, 4)], np.float32) / 255
        spaces = Spaces.of(config, srgb_texture_space(config) or WORKING)
        return ColourBackground(spaces.working(code.reshape(1, 1, 3)).reshape(3), text)
    try:
        shot = Shot.open(text, prefetch=0, cache_size=1, frame_numbers=frame_numbers)
    except InputError as err:
        raise InputError(f"--background {text!r}: {err}") from None
    return PictureBackground(shot, Spaces.of(config, shot.colorspace))

