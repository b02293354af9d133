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


# The preview's looks (the UI's view menu); `composite`: the objects over a background.
VIEWS = ("overlay", "outline", "matte", "composite")
# Encodings: PNG (what hosts read), BMP (uncompressed: 3 ms where PNG takes 105 ms at
# 1920x1080, for a UI on the same machine, where 6 MB cross the loopback in a few ms).
FORMATS = {"png": ("image/png", ".png", [cv2.IMWRITE_PNG_COMPRESSION, 1]),
           "bmp": ("image/bmp", ".bmp", [])}
STRIPE = 6  # px of each stripe across an out-of-date matte
_EDGE = np.ones((3, 3), np.uint8)


def render_preview(image: np.ndarray, mattes: dict[int, np.ndarray],
                   max_side: int | None = None, *, opacity: float = TINT,
                   view: str = "overlay", stale: set[int] | frozenset = frozenset(),
                   fmt: str = "png", composite=None) -> bytes:
    """`fmt` bytes (see FORMATS) of `image` ((H, W, 3) float32 display-referred RGB in [0, 1])
    with each {object id: (H, W) float32 coverage}, downsized (area filter) so that its longer
    side is at most `max_side` pixels.

    view: `overlay` tints each matte in its object's colour at `opacity` and outlines it at 0.5;
    `outline` draws the outlines only; `matte` shows the mattes alone on black (white for one
    object, else each in its colour); `composite` shows the objects (their mattes added) over
    a background: `composite(image, alpha)` makes it ((h, w, 3) display RGB, at the preview's
    size), and nothing is drawn over it. Objects in `stale` (mattes out of date: the prompts
    changed since) are striped, so they never pass for current ones.
    """
    h, w = image.shape[:2]
    size = None
    if max_side is not None and max(h, w) > max_side:
        scale = max_side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    # 8-bit BGR from the start (the encoders' order); each matte is drawn only over the box
    # where it is non-zero: 1080p previews are made in tens of ms, not hundreds.
    if view == "composite" and composite is not None:
        covs = [m if size is None else cv2.resize(m, size, interpolation=cv2.INTER_AREA)
                for m in mattes.values()]
        alpha = np.minimum(sum(covs), 1.0).astype(np.float32) if covs else \
            np.zeros(image.shape[:2], np.float32)
        out = cv2.convertScaleAbs(cv2.cvtColor(composite(image, alpha), cv2.COLOR_RGB2BGR),
                                  alpha=255.0)
        mattes = {}
    elif view == "matte":
        out = np.zeros((*image.shape[:2], 3), np.uint8)
    else:
        out = cv2.convertScaleAbs(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), alpha=255.0)
    for obj_id, coverage in mattes.items():
        if size is not None:
            coverage = cv2.resize(coverage, size, interpolation=cv2.INTER_AREA)
        x, y, bw, bh = cv2.boundingRect((coverage > 0.5 / 255.0).astype(np.uint8))
        if bw == 0 or bh == 0:
            continue
        # One pixel more each way: the outline's gradient needs its neighbours.
        x0, y0 = max(0, x - 1), max(0, y - 1)
        x1, y1 = min(out.shape[1], x + bw + 1), min(out.shape[0], y + bh + 1)
        cov = np.clip(coverage[y0:y1, x0:x1], 0.0, 1.0)
        roi = out[y0:y1, x0:x1]
        colour = overlay_colour(obj_id)[::-1] * 255.0  # BGR
        stripes = None
        if obj_id in stale:
            yy, xx = np.indices(cov.shape)
            stripes = ((xx + x0 + yy + y0) // STRIPE) % 2 == 0
        if view == "matte":
            if len(mattes) == 1:
                colour = np.full(3, 255.0, np.float32)
            if stripes is not None:
                cov = cov * np.where(stripes, 1.0, 0.5).astype(np.float32)
            np.maximum(roi, (cov[:, :, None] * colour + 0.5).astype(np.uint8), out=roi)
            continue
        if view == "overlay" and opacity > 0:
            alpha = opacity * cov
            if stripes is not None:
                alpha = alpha * stripes
            alpha = alpha[:, :, None]
            roi[:] = (roi * (1.0 - alpha) + colour * alpha + 0.5).astype(np.uint8)
        inside = (cov >= 0.5).astype(np.uint8)
        edge = cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, _EDGE).astype(bool) & (inside > 0)
        if stripes is not None:
            edge &= stripes  # a dashed outline
        roi[edge] = np.round(colour).astype(np.uint8)
    _, suffix, params = FORMATS[fmt]
    ok, data = cv2.imencode(suffix, out, params)
    if not ok:
        raise RuntimeError(f"{fmt} encoding failed")
    return data.tobytes()
