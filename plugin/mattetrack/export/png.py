"""PNG matte output: 8-bit grey coverage for one object, palette-indexed labels for several."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from mattetrack.errors import MatteTrackError
from mattetrack.pngcodec import png_params
from mattetrack.store import atomic_write_bytes

# zlib level 1 and the Sub row filter: a grey matte is written in 2.0 ms at 854 x 480 (26.5 KB)
# where Pillow's adaptive filter search took 5.6 ms (24.3 KB); the writer thread shares the
# machine with tracking (docs/tuning.md, "The artist's loop").
GREY_PNG_PARAMS: list[int] = png_params("SUB")

# Index 0 is black (no object); then distinct colours, as in the DAVIS palette.
_PALETTE_BASE = [
    (0, 0, 0),
    (128, 0, 0),
    (0, 128, 0),
    (128, 128, 0),
    (0, 0, 128),
    (128, 0, 128),
    (0, 128, 128),
    (128, 128, 128),
    (64, 0, 0),
    (192, 0, 0),
    (64, 128, 0),
    (192, 128, 0),
]


def _palette() -> list[int]:
    colours = list(_PALETTE_BASE)
    while len(colours) < 256:
        i = len(colours)
        colours.append(((i * 67) % 256, (i * 151) % 256, (i * 211) % 256))
    return [c for rgb in colours for c in rgb]


def label_image(mattes: Sequence[np.ndarray]) -> np.ndarray:
    """(H, W) uint8 labels: 1 + index of the object covering most, 0 where none reaches 0.5."""
    if len(mattes) > 255:
        raise MatteTrackError("PNG label output holds at most 255 objects; use EXR")
    stack = np.stack(mattes)
    best = stack.argmax(axis=0)
    covered = stack.max(axis=0) >= 0.5
    return np.where(covered, best + 1, 0).astype(np.uint8)


def write_matte_png(path: str | os.PathLike[str], mattes: Sequence[np.ndarray]) -> None:
    """Write (H, W) float32 coverages atomically: grey for one object, labels for several."""
    if len(mattes) == 1:
        grey = np.rint(np.clip(mattes[0], 0, 1) * 255).astype(np.uint8)
        ok, encoded = cv2.imencode(".png", grey, GREY_PNG_PARAMS)
        if not ok:
            raise MatteTrackError(f"{path}: PNG encoding failed")
        data = encoded.tobytes()
    else:
        img = Image.fromarray(label_image(mattes), mode="P")
        img.putpalette(_palette())
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=1)
        data = buf.getvalue()
    try:
        atomic_write_bytes(Path(path), data)
    except OSError as err:
        raise MatteTrackError(f"{path}: cannot write ({err.strerror})") from err


def write_matte_frame_png(options, output, shot, frame, channels, mattes, crypto=None) -> None:
    """`export.kinds` writer: frame `frame`'s mattes as `output.path(frame)` (PNG takes no EXR
    options, channel names or Cryptomatte)."""
    write_matte_png(output.path(frame), mattes)
