"""Motion evidence: pixels moving with the background are taken away from the object."""

from __future__ import annotations

import numpy as np

from mattetrack.engines.classic import ClassicEngine
from mattetrack.engines.classic.camera import background_evidence
from mattetrack.engines.classic.engine import ClassicParams
from mattetrack.engines.classic.flow import DenseFlow, FlowPair
from mattetrack.synthetic import SyntheticSource, render_shot


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    import cv2

    noise = rng.random((h // 4, w // 4, 3)).astype(np.float32)
    return cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _frames(bg_shift: int, obj_shift: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two 160x240 frames: the camera pans right by bg_shift px (the background moves left), a
    60x60 textured square moves by obj_shift px (both along x). Returns (prev, cur, the square's
    mask in cur)."""
    rng = np.random.default_rng(3)
    h, w = 160, 240
    bg = _texture(rng, h, w + 40)
    sq = _texture(rng, 60, 60)
    out = []
    for t in (0, 1):
        img = bg[:, 20 + t * bg_shift: 20 + t * bg_shift + w].copy()
        x = 90 + t * obj_shift
        img[50:110, x:x + 60] = sq
        out.append(img)
    mask = np.zeros((h, w), bool)
    mask[50:110, 90 + obj_shift:150 + obj_shift] = True
    return out[0], out[1], mask


def _pair(prev: np.ndarray, cur: np.ndarray) -> FlowPair:
    flow = DenseFlow()
    grey = [(0.299 * i[..., 0] + 0.587 * i[..., 1] + 0.114 * i[..., 2]) for i in (prev, cur)]
    g8 = [(g * 255).astype(np.uint8) for g in grey]
    return FlowPair.from_flow(flow(g8[1], g8[0]), cur, prev, flow(g8[0], g8[1]))


def test_leak_moving_with_background_gets_negative_evidence() -> None:
    prev, cur, square = _frames(bg_shift=4, obj_shift=4)
    pair = _pair(prev, cur)
    leak = np.zeros_like(square)
    leak[110:130, 94:154] = True  # background just below the square, called object
    obj = square | leak
    motion = np.array([[1, 0, 4], [0, 1, 0]], np.float64)  # the square's prev -> cur
    away = np.ones_like(obj)
    away[30:150, 60:180] = False
    out = background_evidence(pair, obj, motion, away, clamp=2.2)
    assert out is not None
    llr, separable = out
    inner_leak = np.zeros_like(leak)
    inner_leak[114:126, 100:148] = True
    inner_square = np.zeros_like(square)
    inner_square[58:102, 100:148] = True
    assert separable[inner_leak].all() and separable[inner_square].all()
    assert np.median(llr[inner_leak]) < -1.5  # clearly background
    assert np.median(llr[inner_square]) > -0.3  # the object itself is left alone
    assert llr.max() <= 0.0  # one-sided: moving with the object proves nothing


def test_no_evidence_when_object_moves_with_background() -> None:
    prev, cur, square = _frames(bg_shift=3, obj_shift=-3)
    pair = _pair(prev, cur)
    motion = np.array([[1, 0, -3], [0, 1, 0]], np.float64)  # as the background moves
    away = np.ones_like(square)
    away[30:150, 60:180] = False
    out = background_evidence(pair, square, motion, away, clamp=2.2)
    assert out is not None
    llr, separable = out
    assert not separable.any()
    assert float(np.abs(llr[square]).mean()) < 0.3


def test_keyframe_leak_shrinks_as_object_moves_away() -> None:
    """An artist's keyframe that wrongly includes a slab of background: the object moves off it
    while the camera pans. The keyframe's appearance model learns the slab as object (the artist
    said so), so only motion tells it apart: with the motion evidence the track keeps 61% of the
    slab on average over the next five frames, without it 91% (measured)."""
    src = SyntheticSource(render_shot(16, 480, 270, seed=1))
    truth0 = src.truth(0)
    ys, xs = np.nonzero(truth0 >= 0.5)
    slab = np.zeros_like(truth0)
    slab[ys.max(): ys.max() + 30, xs.min(): xs.max()] = 1.0
    key = np.maximum(truth0, slab)
    leak0 = int(np.count_nonzero((key >= 0.5) & (truth0 < 0.5)))

    def leak_left(camera_clamp: float) -> float:
        params = ClassicParams()
        params.propagate.track.camera_clamp = camera_clamp
        res = {f: c[0] for f, c, _ in
               ClassicEngine(params).propagate(src, {0: {0: key}}, src.frames)}
        left = [np.count_nonzero((res[f] >= 0.5) & (src.truth(f) < 0.5)) / leak0
                for f in src.frames[1:6]]
        return float(np.mean(left))

    with_evidence, without = leak_left(0.9), leak_left(0.5)
    assert with_evidence < 0.75, with_evidence
    assert without > with_evidence + 0.2, (with_evidence, without)
