"""Preview PNGs: a frame, display-referred 8-bit, with object mattes as coloured overlays.

Small on purpose (`max_side`): previews are the only pixels that travel over the socket.
"""

from __future__ import annotations

import cv2
import numpy as np

# Overlay colours (sRGB, 0-1) by object id, cycling; distinct on typical plates.
PALETTE = np.array([
    (1.00, 0.25, 0.25), (0.20, 0.80, 1.00), (1.00, 0.85, 0.10), (0.40, 1.00, 0.35),
    (1.00, 0.35, 0.90), (1.00, 0.55, 0.10), (0.55, 0.45, 1.00), (0.10, 1.00, 0.80),
], np.float32)
TINT = 0.5  # overlay opacity inside the matte; the 0.5 contour is drawn opaque


def overlay_colour(obj_id: int) -> np.ndarray:
    return PALETTE[(obj_id - 1) % len(PALETTE)]


VIEWS = ("overlay", "outline", "matte")  # the preview's looks (the UI's view menu)
STRIPE = 6  # px of each stripe across an out-of-date matte


def render_preview(image: np.ndarray, mattes: dict[int, np.ndarray],
                   max_side: int | None = None, *, opacity: float = TINT,
                   view: str = "overlay", stale: set[int] | frozenset = frozenset()) -> bytes:
    """PNG bytes of `image` ((H, W, 3) float32 display-referred RGB in [0, 1]) with each
    {object id: (H, W) float32 coverage}, downsized (area filter) so that its longer side is
    at most `max_side` pixels.

    view: `overlay` tints each matte in its object's colour at `opacity` and outlines it at 0.5;
    `outline` draws the outlines only; `matte` shows the mattes alone on black (white for one
    object, else each in its colour). Objects in `stale` (mattes out of date: the prompts
    changed since) are striped, so they never pass for current ones.
    """
    h, w = image.shape[:2]
    size = None
    if max_side is not None and max(h, w) > max_side:
        scale = max_side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    hh, ww = image.shape[:2]
    if view == "matte":
        out = np.zeros((hh, ww, 3), np.float32)
    else:
        out = np.array(image, np.float32, copy=True)
    kernel = np.ones((3, 3), np.uint8)
    stripes = None
    if stale:
        yy, xx = np.mgrid[0:hh, 0:ww]
        stripes = (((xx + yy) // STRIPE) % 2 == 0)
    for obj_id, coverage in mattes.items():
        if size is not None:
            coverage = cv2.resize(coverage, size, interpolation=cv2.INTER_AREA)
        coverage = np.clip(coverage, 0.0, 1.0)
        colour = overlay_colour(obj_id)
        if view == "matte":
            if len(mattes) == 1:
                colour = np.ones(3, np.float32)
            if obj_id in stale:
                coverage = coverage * np.where(stripes, 1.0, 0.5).astype(np.float32)
            out = np.maximum(out, coverage[:, :, None] * colour)
            continue
        if view == "overlay":
            alpha = opacity * coverage
            if obj_id in stale:
                alpha = alpha * stripes
            out = out * (1.0 - alpha[:, :, None]) + colour * alpha[:, :, None]
        inside = (coverage >= 0.5).astype(np.uint8)
        edge = cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, kernel).astype(bool) & (inside > 0)
        if obj_id in stale:
            edge &= stripes  # a dashed outline
        out[edge] = colour
    pixels = (np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    # Fast zlib level: a preview is encoded per click and decoded once.
    ok, data = cv2.imencode(".png", pixels[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()
