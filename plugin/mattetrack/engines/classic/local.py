"""Local appearance: what object and background look like *here*, learned from the last frame.

The keyframe's model (patches.PatchModel) is one histogram over visual words for the whole
frame: a word that is mostly object in one place and mostly background in another (the dark
engine of a bike and the dark forest, the dancer's red hoodie and a spectator's) gets one blurred
share. And it is the keyframe's: an object that comes close to the camera, turns or changes
lighting shows looks the keyframe never had. Video SnapCut (Bai, Wang, Simons & Sapiro, 2009;
After Effects' Roto Brush) tracks with localised classifiers along the outline, learned from the
last frame's result; this is the same idea over the keyframe's words: the frame is cut into
tiles, each with the words' counts on either side of the last frame's decision, and a pixel asks
the tile it came from (by the flow) how often its word was object there. The keyframe's share
stays in every tile's estimate as `alpha` pseudo-counts, so a tile with few samples of a word
falls back to it, and only decisions surer than `margin` (log-odds) are learned from, so the
boundary a track is unsure about does not teach itself (`LocalParams`; measured in
docs/tuning.md, "Local looks").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mattetrack.engines.classic.imaging import bounding_box
from mattetrack.engines.classic.patches import PatchModel


@dataclass(frozen=True)
class LocalParams:
    """The local looks' tiles and how much they trust themselves."""

    # Tile size (processing px): a few band widths, so a tile holds both sides of the outline.
    tile: int = 24
    # Pseudo-counts of the keyframe's share in each tile's estimate of a word.
    alpha: float = 16.0
    # Decisions with log-odds nearer 0 than this are not learned from.
    margin: float = 2.0


@dataclass
class LocalLooks:
    """Per-tile word counts of one frame's decision.

    object_counts / all_counts: (tiles_y * tiles_x * words,) float64 counts of each word on the
    object side / on either side, per tile (row-major tiles, then words); tiles_x: tiles per row.
    """

    object_counts: np.ndarray
    all_counts: np.ndarray
    tiles_x: int
    words: int
    params: LocalParams

    @classmethod
    def learn(cls, words: np.ndarray, hard: np.ndarray, sure: np.ndarray,
              n_words: int, params: LocalParams | None = None) -> LocalLooks:
        """words: (h, w) int64 word per pixel (-1: none, patches.PatchModel.words_in);
        hard: (h, w) bool the frame's decision; sure: (h, w) bool pixels to learn from."""
        params = params or LocalParams()
        step = params.tile
        h, w = words.shape
        tiles_y, tiles_x = h // step + 1, w // step + 1
        size = tiles_y * tiles_x * n_words
        use = (words >= 0) & sure
        box = bounding_box(use)
        if box is None:
            return cls(np.zeros(size), np.zeros(size), tiles_x, n_words, params)
        y0, y1, x0, x1 = box
        tile = ((np.arange(y0, y1) // step)[:, None] * tiles_x + (np.arange(x0, x1) // step)[None])
        use = use[y0:y1, x0:x1]
        key = tile[use] * n_words + words[y0:y1, x0:x1][use]
        return cls(np.bincount(key, hard[y0:y1, x0:x1][use], size),
                   np.bincount(key, None, size).astype(np.float64), tiles_x, n_words, params)

    def posterior(self, model: PatchModel, words: np.ndarray, unseen: np.ndarray,
                  to_prev: np.ndarray) -> np.ndarray:
        """(h, w) float32 P(object) of the current frame's pixels that have a word.

        words / unseen: patches.PatchModel.words_in of the current frame; to_prev: (h, w, 2)
        flow to the frame these counts were learned on (where each pixel came from). 0.5 where
        no word; the never-seen-colour cap applies as in the keyframe's model.
        """
        h, w = words.shape
        out = np.full((h, w), 0.5, np.float32)
        box = bounding_box(words >= 0)
        if box is None:
            return out
        y0, y1, x0, x1 = box
        sub = words[y0:y1, x0:x1]
        has = sub >= 0
        word = sub[has]
        # Dense over the box (cheaper than gathering coordinates): the tile each pixel came from.
        flow = to_prev[y0:y1, x0:x1]
        sx = np.arange(x0, x1, dtype=np.float32)[None] + flow[..., 0] + 0.5
        sy = np.arange(y0, y1, dtype=np.float32)[:, None] + flow[..., 1] + 0.5
        tx = np.clip(sx, 0, w - 1).astype(np.int64) // self.params.tile
        ty = np.clip(sy, 0, h - 1).astype(np.int64) // self.params.tile
        key = (ty * self.tiles_x + tx)[has] * self.words + word
        keyframe = model.p_object[word]
        alpha = self.params.alpha
        local = (self.object_counts[key] + alpha * keyframe) / (self.all_counts[key] + alpha)
        # A pixel that came into view over the frame's edge has no local history: the border
        # tile it would clip to may hold the object (a wheel at the bottom edge) and would call
        # whatever enters "object".
        inside = ((sx >= 0) & (sx < w) & (sy >= 0) & (sy < h))[has]
        local = np.where(inside, local, keyframe)
        block = out[y0:y1, x0:x1]
        block[has] = local
        block[unseen[y0:y1, x0:x1]] = np.minimum(block[unseen[y0:y1, x0:x1]],
                                                 model.unseen_colour)
        return out
