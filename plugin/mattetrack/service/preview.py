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


def render_preview(image: np.ndarray, mattes: dict[int, np.ndarray],
                   max_side: int | None = None) -> bytes:
    """PNG bytes of `image` ((H, W, 3) float32 display-referred RGB in [0, 1]) with each
    {object id: (H, W) float32 coverage} tinted in its colour and outlined at 0.5, downsized
    (area filter) so that its longer side is at most `max_side` pixels."""
    h, w = image.shape[:2]
    size = None
    if max_side is not None and max(h, w) > max_side:
        scale = max_side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    out = np.array(image, np.float32, copy=True)
    kernel = np.ones((3, 3), np.uint8)
    for obj_id, coverage in mattes.items():
        if size is not None:
            coverage = cv2.resize(coverage, size, interpolation=cv2.INTER_AREA)
        colour = overlay_colour(obj_id)
        alpha = (TINT * np.clip(coverage, 0.0, 1.0))[:, :, None]
        out = out * (1.0 - alpha) + colour * alpha
        inside = (coverage >= 0.5).astype(np.uint8)
        edge = cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, kernel).astype(bool) & (inside > 0)
        out[edge] = colour
    pixels = (np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    # Fast zlib level: a preview is encoded per click and decoded once.
    ok, data = cv2.imencode(".png", pixels[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()
