"""Mask images for `--mask F:PATH` prompts: coverage in [0, 1] on the shot's display window.

Grey images give their value; palette PNGs (DAVIS, label maps) give 1 for any non-zero index; RGB(A)
gives alpha when there is a non-opaque one, else Rec.709 luminance. Values are data: no colour
conversion. EXR masks cover their display window, placed through the data window offsets.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from mattetrack.errors import InputError
from mattetrack.shot import imagefile

_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)  # Rec.709 weights


def _palette_indices(path: str) -> np.ndarray | None:
    """The (H, W) index array of a palette PNG, or None for anything else (OIIO reads those).

    OIIO expands palettes to RGB, which loses the indices (index 1 may well be black), so palette
    PNGs go through Pillow.
    """
    try:
        with Image.open(path) as img:
            if img.format != "PNG" or img.mode != "P":
                return None
            return np.asarray(img)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None  # let OIIO read it and report the error


def _check_size(path: str, width: int, height: int, mask_w: int, mask_h: int) -> None:
    if (mask_w, mask_h) != (width, height):
        raise InputError(f"{path}: mask is {mask_w}x{mask_h}, the shot is {width}x{height}")


def _grey_png(path: str) -> np.ndarray | None:
    """The (H, W) uint8 or uint16 values of a grey PNG (what `track` writes for one object), or
    None for anything else: read by OpenCV in ~1 ms where the general path below takes ~15 ms at
    854x480 (OpenCV expands palettes and keeps alpha, so those are never 2-D)."""
    if not path.lower().endswith(".png"):
        return None
    values = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if values is None or values.ndim != 2 or values.dtype not in (np.uint8, np.uint16):
        return None
    return values


def read_mask(path: str, width: int, height: int) -> np.ndarray:
    """(height, width) float32 coverage in [0, 1] from the mask image at `path`."""
    grey = _grey_png(path)
    if grey is not None:
        _check_size(path, width, height, grey.shape[1], grey.shape[0])
        return grey.astype(np.float32) / np.float32(np.iinfo(grey.dtype).max)
    indices = _palette_indices(path)
    if indices is not None:
        _check_size(path, width, height, indices.shape[1], indices.shape[0])
        return (indices != 0).astype(np.float32)

    header = imagefile.probe(path)
    display = header.display_window
    _check_size(path, width, height, display.width, display.height)
    pixels = imagefile.read(header, with_alpha=True)  # (h, w, 4) over the data window
    pixels = np.nan_to_num(pixels, nan=0.0, posinf=1.0, neginf=0.0)
    alpha = pixels[:, :, 3]
    only_alpha = header.alpha is not None and header.rgb == (header.alpha,) * 3
    if header.alpha is not None and (only_alpha or bool((alpha < 1.0).any())):
        values = alpha
    else:
        values = pixels[:, :, :3] @ _LUMA
    coverage = np.zeros((height, width), dtype=np.float32)
    slices = imagefile.display_slices(header.data_window, display)
    if slices is not None:
        source, target = slices
        coverage[target] = values[source]
    return np.clip(coverage, 0.0, 1.0, out=coverage)
