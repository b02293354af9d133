"""Patch appearance: texture tells apart what colour cannot; unseen colours are not the object;
the nearest-word search."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info

from mattetrack.engines.classic import patches
from mattetrack.engines.classic.patches import (
    FrameFeatures,
    PatchModel,
    PatchParams,
    patch_features,
    sample_view,
)

A = np.array([0.8, 0.3, 0.2], np.float32)
B = np.array([0.3, 0.5, 0.8], np.float32)


def _scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rgb (180, 240, 3), object (180, 240) float32): a disc with a fine 2-px checkerboard of
    colours A and B on a background of large A and B blobs. Both have the same colours in about
    the same shares, so only the texture tells them apart."""
    rng = np.random.default_rng(seed)
    h, w = 180, 240
    y, x = np.mgrid[:h, :w]
    fine = ((y // 2 + x // 2) % 2).astype(bool)
    coarse = np.kron(rng.random((h // 30 + 1, w // 30 + 1)) > 0.5,
                     np.ones((30, 30), bool))[:h, :w]
    disc = (x - 120) ** 2 + (y - 90) ** 2 <= 50**2
    pick = np.where(disc, fine, coarse)
    rgb = np.where(pick[..., None], A, B).astype(np.float32)
    rgb += rng.normal(0, 0.01, rgb.shape).astype(np.float32)
    return np.clip(rgb, 0, 1), disc.astype(np.float32)


def _model(rgb: np.ndarray, cov: np.ndarray) -> PatchModel:
    return PatchModel.learn([sample_view(FrameFeatures(rgb), cov, np.random.default_rng(0))])


def test_texture_separates_what_colour_cannot() -> None:
    rgb, obj = _scene(0)
    model = _model(rgb, obj)
    rgb2, obj2 = _scene(1)  # another frame: the background blobs are elsewhere
    post = model.posterior_in(FrameFeatures(rgb2))
    y, x = np.mgrid[:180, :240]
    inside = (x - 120) ** 2 + (y - 90) ** 2 <= 40**2
    outside = ((x - 120) ** 2 + (y - 90) ** 2 >= 60**2) & (x > 10) & (x < 230)
    assert post[inside].mean() > 0.85, post[inside].mean()
    assert post[outside].mean() < 0.3, post[outside].mean()
    # The same question for colour alone has no answer: both colours are on both sides.
    share_obj = (rgb2[obj2 > 0.5, 0] > 0.5).mean()
    share_bg = (rgb2[outside, 0] > 0.5).mean()
    assert abs(share_obj - share_bg) < 0.2


def test_colour_never_seen_on_the_object_is_not_the_object() -> None:
    rgb, obj = _scene(0)
    model = _model(rgb, obj)
    green = rgb.copy()
    green[80:100, 110:130] = [0.1, 0.9, 0.1]  # an occluder of a new colour on the object
    post = model.posterior_in(FrameFeatures(green))
    assert post[84:96, 114:126].max() <= PatchParams.unseen_colour + 1e-6


def test_boxes_match_the_whole_frame() -> None:
    """Descriptors computed over a box (with margin) equal the whole frame's there, so asking
    about a small region gives the same answer as asking about everything."""
    rgb, obj = _scene(0)
    feats = FrameFeatures(rgb)
    full = patch_features(rgb)
    assert np.allclose(feats.box(40, 120, 60, 200), full[40:120, 60:200], atol=1e-5)
    model = _model(rgb, obj)
    where = np.zeros(obj.shape, bool)
    where[50:130, 70:170] = True
    part = model.posterior_in(FrameFeatures(rgb), where)
    whole = model.posterior_in(FrameFeatures(rgb))
    assert np.array_equal(part[where], whole[where])
    assert np.all(part[~where] == 0.5)


def test_nearest_word_is_exact_and_runs_blas_on_one_thread(monkeypatch) -> None:
    """The word search equals a brute-force nearest centre, and runs its BLAS product on one
    thread without changing the process's own setting."""
    rng = np.random.default_rng(1)
    q = rng.random((4000, patches.DIMS), dtype=np.float32)
    centres = rng.random((256, patches.DIMS), dtype=np.float32)
    brute = np.argmin(((q[:, None, :] - centres[None]) ** 2).sum(-1), 1)
    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    seen: list[list[int]] = []
    real_argmin = np.argmin

    def spying_argmin(a, *args, **kwargs):
        seen.append([i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"])
        return real_argmin(a, *args, **kwargs)

    monkeypatch.setattr(patches.np, "argmin", spying_argmin)
    found = patches._nearest(q, centres)
    monkeypatch.undo()
    assert np.mean(found == brute) > 0.999  # float32 rounding may swap a near tie
    assert seen and all(n == 1 for counts in seen for n in counts)
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before
