"""Local looks: the same visual word can be object in one place and background in another."""

from __future__ import annotations

import numpy as np

from mattetrack.engines.classic.local import LocalLooks, LocalParams
from mattetrack.engines.classic.patches import DIMS, NBINS, PatchModel

TILE, ALPHA = LocalParams.tile, LocalParams.alpha  # the defaults under test


def _model(share: float) -> PatchModel:
    return PatchModel(np.zeros((2, DIMS), np.float32), np.array([share, 0.5], np.float32),
                      np.ones(NBINS, bool))


def test_a_word_is_object_where_it_was_object_and_background_elsewhere() -> None:
    h, w = 2 * TILE, 4 * TILE
    words = np.zeros((h, w), np.int64)  # one word everywhere
    hard = np.zeros((h, w), bool)
    hard[:, : 2 * TILE] = True  # object on the left half, background on the right
    model = _model(0.5)  # the keyframe cannot tell: one share for the whole frame
    local = LocalLooks.learn(words, hard, np.ones((h, w), bool), 2)
    still = np.zeros((h, w, 2), np.float32)
    post = local.posterior(model, words, np.zeros((h, w), bool), still)
    n = TILE * TILE  # samples per tile
    assert np.allclose(post[:, : 2 * TILE], (n + ALPHA * 0.5) / (n + ALPHA))
    assert np.allclose(post[:, 2 * TILE:], (ALPHA * 0.5) / (n + ALPHA))
    # A pixel asks the tile it came from: moved 2 tiles right, the left half's answer follows.
    moved = np.zeros((h, w, 2), np.float32)
    moved[..., 0] = -2 * TILE
    post = local.posterior(model, words, np.zeros((h, w), bool), moved)
    assert post[0, 3 * TILE] > 0.9
    # ... and one that came in over the frame's edge has no local history: the keyframe's share.
    assert post[0, 0] == 0.5


def test_unsure_pixels_and_unseen_colours() -> None:
    h, w = TILE, TILE
    words = np.zeros((h, w), np.int64)
    hard = np.ones((h, w), bool)
    model = _model(0.3)
    local = LocalLooks.learn(words, hard, np.zeros((h, w), bool), 2)  # nothing sure: no counts
    still = np.zeros((h, w, 2), np.float32)
    unseen = np.zeros((h, w), bool)
    unseen[0, 0] = True
    post = local.posterior(model, words, unseen, still)
    assert np.allclose(post[1:, :], 0.3)  # the keyframe's share
    assert post[0, 0] <= 0.1 + 1e-6  # a colour never seen on the object stays capped
    words[0, 1] = -1
    assert local.posterior(model, words, unseen, still)[0, 1] == 0.5  # no word: no opinion
