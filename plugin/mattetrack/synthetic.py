"""Synthetic shots with known truth, for tests, the demo and benchmarks.

A textured, smooth, irregular (star/blob) object moves with translation, rotation and scale over
a textured, panning background; a textured foreground pole crosses in front of it for part of the
shot. Each frame is the average of several sub-frame renders (motion blur, composited in
scene-linear light), and the truth coverage is the same sub-frame average of the object's
*visible* mask, so it is soft wherever the object or the occluder moves.

Everything is deterministic from the seed. 40 frames of 480x270 render in well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

# sRGB display encoding (IEC 61966-2-1); plates are generated in scene-linear Rec.709 primaries.


def linear_to_srgb(rgb: np.ndarray) -> np.ndarray:
    """Scene-linear -> display sRGB (piecewise OETF), clipped to [0, 1]. Any shape, float32."""
    x = np.clip(np.asarray(rgb, np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(
        np.float32
    )


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """Display sRGB -> scene-linear (inverse OETF). Any shape, float32."""
    x = np.clip(np.asarray(rgb, np.float32), 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)


def _noise(rng: np.random.Generator, h: int, w: int, cells: Sequence[float]) -> np.ndarray:
    """(h, w) float32 multi-octave value noise in [0, 1]; `cells` are feature sizes in pixels."""
    out = np.zeros((h, w), np.float32)
    for i, cell in enumerate(cells):
        gh, gw = int(np.ceil(h / cell)) + 3, int(np.ceil(w / cell)) + 3
        grid = rng.standard_normal((gh, gw)).astype(np.float32)
        up = cv2.resize(grid, (int(gw * cell), int(gh * cell)), interpolation=cv2.INTER_CUBIC)
        out += up[int(cell) : int(cell) + h, int(cell) : int(cell) + w] * (0.6**i)
    lo, hi = np.percentile(out, [1, 99])
    return np.clip((out - lo) / max(hi - lo, 1e-6), 0.0, 1.0)


def _palette_texture(
    rng: np.random.Generator,
    h: int,
    w: int,
    colours: Sequence[Sequence[float]],
    cells: Sequence[float],
) -> np.ndarray:
    """(h, w, 3) float32 scene-linear texture mixing 3 sRGB `colours` by two noise fields."""
    c = np.asarray(colours, np.float32)
    a = _noise(rng, h, w, cells)[..., None]
    b = _noise(rng, h, w, cells)[..., None]
    srgb = (1 - a) * c[0] + a * c[1]
    srgb = (1 - 0.5 * b) * srgb + 0.5 * b * c[2]
    # Fine grain so flow and appearance have something to hold on to, as real plates do.
    srgb += 0.06 * (rng.random((h, w, 1), np.float32) - 0.5)
    return srgb_to_linear(srgb)


def _blob_polygon(rng: np.random.Generator, radius: float, n: int = 256) -> np.ndarray:
    """(n, 2) float32 vertices of a smooth star/blob around the origin, mean radius `radius`."""
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones_like(theta)
    for k, amp in ((2, 0.10), (3, 0.22), (5, 0.10)):
        r += amp * np.sin(k * theta + rng.uniform(0, 2 * np.pi))
    return np.stack([radius * r * np.cos(theta), radius * r * np.sin(theta)], 1).astype(np.float32)


@dataclass
class _Scene:
    """Everything a sub-frame render needs; built once per shot."""

    width: int
    height: int
    n_frames: int
    background: np.ndarray  # (Hb, Wb, 3) linear, larger than the frame so it can pan
    pan: tuple[float, float]  # background pan, pixels per frame (x, y)
    obj_tex: np.ndarray  # (S, S, 3) linear, object texture in object-local pixels
    obj_mask: np.ndarray  # (S, S) float32, antialiased object mask in object-local pixels
    path: np.ndarray  # (4,) x0, y0, x1, y1 of the object centre's path, pixels
    wobble: float  # amplitude of the path's sideways wobble, pixels
    spin: float  # total rotation over the shot, degrees
    scale: tuple[float, float]  # scale at the first / last frame
    occ_tex: np.ndarray  # (H, Wo, 3) linear occluder texture
    occ_window: tuple[float, float]  # frames (as fractions of the shot) the occluder crosses
    leave: tuple[float, float] | None = None  # fractions of the shot the object is out of frame
    hide: tuple[float, float] | None = None  # fractions of the shot a wall hides the object


def _build_scene(
    n_frames: int,
    width: int,
    height: int,
    seed: int,
    leave: tuple[float, float] | None = None,
    hide: tuple[float, float] | None = None,
) -> _Scene:
    rng = np.random.default_rng(seed)
    margin = int(0.25 * max(width, height)) + 8
    bg = _palette_texture(
        rng,
        height + 2 * margin,
        width + 2 * margin,
        [(0.20, 0.35, 0.30), (0.55, 0.62, 0.70), (0.30, 0.45, 0.15)],
        [0.12 * width, 0.03 * width, 0.008 * width],
    )
    radius = 0.17 * height
    size = int(2 * radius * 1.6) | 1
    poly = _blob_polygon(rng, radius) + size / 2
    # Rasterise at 4x and area-average: an antialiased mask in object-local pixels.
    ss = 4
    big = np.zeros((size * ss, size * ss), np.uint8)
    cv2.fillPoly(big, [np.round(poly * ss * 16).astype(np.int32)], 255, cv2.LINE_8, shift=4)
    mask = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    obj = _palette_texture(
        rng, size, size, [(0.85, 0.45, 0.15), (0.95, 0.75, 0.30), (0.60, 0.20, 0.20)],
        [0.35 * size, 0.1 * size, 0.03 * size],
    )
    occ_w = max(int(0.07 * width), 4)
    occ = _palette_texture(
        rng, height, occ_w, [(0.25, 0.20, 0.18), (0.40, 0.33, 0.28), (0.15, 0.12, 0.12)],
        [0.5 * occ_w, 0.15 * occ_w, 0.05 * occ_w],
    )
    x0, y0 = rng.uniform(0.25, 0.32) * width, rng.uniform(0.45, 0.55) * height
    x1, y1 = rng.uniform(0.62, 0.70) * width, rng.uniform(0.40, 0.55) * height
    return _Scene(
        width=width,
        height=height,
        n_frames=n_frames,
        background=bg,
        pan=(float(rng.uniform(-1.5, -0.8)) * width / 480, float(rng.uniform(-0.4, 0.4))),
        obj_tex=obj,
        obj_mask=mask,
        path=np.array([x0, y0, x1, y1], np.float32),
        wobble=0.06 * height,
        spin=float(rng.choice([-1, 1]) * rng.uniform(30, 50)),
        scale=(1.0, float(rng.uniform(1.08, 1.2))),
        occ_tex=occ,
        occ_window=(0.25, 0.75),
        leave=leave,
        hide=hide,
    )


def _window_weight(u: float, window: tuple[float, float] | None, ramp: float) -> float:
    """0 outside `window` (fractions of the shot), 1 inside, with smooth ramps `ramp` long just
    before its start and after its end."""
    if window is None:
        return 0.0
    a, b = window
    x = min((u - (a - ramp)) / ramp, ((b + ramp) - u) / ramp)
    x = float(np.clip(x, 0.0, 1.0))
    return x * x * (3 - 2 * x)


def _render_instant(scene: _Scene, t: float) -> tuple[np.ndarray, np.ndarray]:
    """One sub-frame render at time t (frames): (H, W, 3) linear image, (H, W) visible mask."""
    w, h = scene.width, scene.height
    u = t / max(scene.n_frames - 1, 1)  # 0..1 through the shot
    dsize = (w, h)

    # Background: pure translation of a larger texture (sub-pixel, bilinear).
    margin_x = (scene.background.shape[1] - w) / 2
    margin_y = (scene.background.shape[0] - h) / 2
    tx = -margin_x - scene.pan[0] * (t - scene.n_frames / 2)
    ty = -margin_y - scene.pan[1] * (t - scene.n_frames / 2)
    m_bg = np.array([[1, 0, tx], [0, 1, ty]], np.float32)
    img = cv2.warpAffine(scene.background, m_bg, dsize, flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)

    # Object: rotate + scale about its local centre, then move its centre along a wobbly path.
    x0, y0, x1, y1 = scene.path
    cx = x0 + (x1 - x0) * u
    cy = y0 + (y1 - y0) * u + scene.wobble * np.sin(2 * np.pi * u)
    # Leaving the frame: the object slides out past the right edge and comes back.
    cx += _window_weight(u, scene.leave, 0.08) * (w - cx + scene.obj_mask.shape[0])
    s = scene.scale[0] + (scene.scale[1] - scene.scale[0]) * u
    a = np.deg2rad(scene.spin * u)
    half = scene.obj_mask.shape[0] / 2
    rot = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    m_obj = np.hstack([rot, (np.array([cx, cy]) - rot @ np.array([half, half]))[:, None]])
    m_obj = m_obj.astype(np.float32)
    alpha = cv2.warpAffine(scene.obj_mask, m_obj, dsize, flags=cv2.INTER_LINEAR)
    tex = cv2.warpAffine(scene.obj_tex, m_obj, dsize, flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    img = img * (1 - alpha[..., None]) + tex * alpha[..., None]

    # Occluder: a slightly tilted pole crossing left to right during its window, in front of all.
    f0, f1 = scene.occ_window
    v = (u - f0) / (f1 - f0)
    if -0.05 <= v <= 1.05:
        ow = scene.occ_tex.shape[1]
        ox = -ow * 1.5 + v * (w + 3 * ow)
        tilt = 0.12
        m_occ = np.array([[1, tilt, ox - tilt * h / 2], [0, 1, 0]], np.float32)
        occ_alpha = cv2.warpAffine(np.ones((h, ow), np.float32), m_occ, dsize,
                                   flags=cv2.INTER_LINEAR)
        occ_tex = cv2.warpAffine(scene.occ_tex, m_occ, dsize, flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
        img = img * (1 - occ_alpha[..., None]) + occ_tex * occ_alpha[..., None]
        alpha = alpha * (1 - occ_alpha)

    # Full occlusion: a wall slides down in front of the object and back up. It covers only the
    # middle of the frame (where the object is then), so the frame does not read as a cut.
    k = _window_weight(u, scene.hide, 0.1)
    if k > 0:
        wall_h = int(round(k * h))
        wall = np.zeros((h, w), np.float32)
        x0 = int(round(cx - 0.2 * w))
        wall[:wall_h, max(x0, 0):x0 + int(0.4 * w)] = 1.0
        tex = cv2.resize(scene.occ_tex, dsize, interpolation=cv2.INTER_LINEAR)
        img = img * (1 - wall[..., None]) + tex * wall[..., None]
        alpha = alpha * (1 - wall)
    return img, alpha


def render_shot(
    n_frames: int = 40,
    width: int = 480,
    height: int = 270,
    seed: int = 0,
    motion_blur_samples: int = 5,
    shutter: float = 0.5,
    leave: tuple[float, float] | None = None,
    hide: tuple[float, float] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Render a synthetic shot.

    leave: (start, end) fractions of the shot during which the object is entirely out of frame
    (it slides out past the right edge just before and back in just after). hide: (start, end)
    fractions during which a wall in front of everything hides the object entirely (it drops in
    just before and lifts just after). Both None: the object stays in view (the pole crossing it
    hides part of it only).

    Returns one (rgb_linear (H, W, 3) float32 scene-linear, coverage (H, W) float32 in [0, 1]) per
    frame. `shutter` is the open fraction of a frame (0.5 = 180 degrees); each frame averages
    `motion_blur_samples` renders spread over it, and so does its truth coverage.
    """
    scene = _build_scene(n_frames, width, height, seed, leave, hide)
    n = max(int(motion_blur_samples), 1)
    offsets = [(k + 0.5) / n - 0.5 for k in range(n)] if n > 1 else [0.0]
    out = []
    for f in range(n_frames):
        acc_img = np.zeros((height, width, 3), np.float32)
        acc_cov = np.zeros((height, width), np.float32)
        for o in offsets:
            img, cov = _render_instant(scene, f + shutter * o)
            acc_img += img
            acc_cov += cov
        out.append((acc_img / n, np.clip(acc_cov / n, 0.0, 1.0)))
    return out


def click_point(coverage: np.ndarray) -> tuple[float, float]:
    """(x, y) display-window pixel centre of the object pixel farthest from its boundary.

    coverage: (H, W) float32; the object is coverage >= 0.5. This is where an artist would click.
    """
    inside = (np.asarray(coverage) >= 0.5).astype(np.uint8)
    if not inside.any():
        raise ValueError("click_point: the coverage has no object pixels")
    # Pad with background so the frame border counts as a boundary too.
    dist = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(x) + 0.5, float(y) + 0.5


class SyntheticSource:
    """An in-memory FrameSource over a rendered shot; `image()` is display-referred sRGB."""

    def __init__(
        self, shot: Sequence[tuple[np.ndarray, np.ndarray]], first_frame: int = 0
    ) -> None:
        self._shot = list(shot)
        self._first = first_frame
        self._height, self._width = self._shot[0][1].shape

    @classmethod
    def render(cls, first_frame: int = 0, **kwargs: object) -> SyntheticSource:
        """Render a shot (`render_shot` keyword arguments) and wrap it."""
        return cls(render_shot(**kwargs), first_frame)  # type: ignore[arg-type]

    @property
    def frames(self) -> list[int]:
        return list(range(self._first, self._first + len(self._shot)))

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    def _index(self, frame: int) -> int:
        i = frame - self._first
        if not 0 <= i < len(self._shot):
            raise KeyError(f"frame {frame} is not in this shot")
        return i

    def image(self, frame: int) -> np.ndarray:
        """(H, W, 3) float32 display-referred sRGB in [0, 1]."""
        return linear_to_srgb(self._shot[self._index(frame)][0])

    def linear(self, frame: int) -> np.ndarray:
        """(H, W, 3) float32 scene-linear render."""
        return self._shot[self._index(frame)][0]

    def truth(self, frame: int) -> np.ndarray:
        """(H, W) float32 truth coverage in [0, 1]."""
        return self._shot[self._index(frame)][1]
