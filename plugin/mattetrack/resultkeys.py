"""Keys that say what produced a result, so a result store can tell what a rerun may reuse.

A key is a short hex digest of everything the result depends on:
- the engine and all its parameters (`Engine.cache_key`), and MatteTrack's version;
- the plate: each frame's file (path, size, modification time) and how it is read (colour
  space, range of the shot), or the pixels themselves for sources that are not files;
- for a keyframe selection, the prompts on that frame (points, labels, box, mask, strokes and
  the matte they correct);
- for a propagated frame, the selections of the keyframes it depends on: the neighbouring ones
  for engines whose tracks restart at every keyframe (`EngineSpec.span_results`), every one for
  engines whose memory holds them all, and the plate frames in between.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

from mattetrack.prompts import FramePrompts


def digest(*parts: object) -> str:
    """A 20-hex-digit digest of `parts` (bytes, arrays, or anything with a stable repr)."""
    h = hashlib.blake2b(digest_size=10)
    for part in parts:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            h.update(repr((arr.dtype.str, arr.shape)).encode())
            h.update(arr.data)
        elif isinstance(part, bytes):
            h.update(part)
        else:
            h.update(repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


def prompts_key(prompts: FramePrompts) -> str:
    """What an object's prompts on one frame say, as a key."""
    strokes = [(s.points, s.positive, s.width) for s in prompts.strokes]
    return digest(prompts.points, prompts.labels, prompts.box,
                  b"-" if prompts.mask is None else prompts.mask,
                  b"-" if prompts.base is None else prompts.base, *strokes)


def span_key(engine_key: str, frame: int, keys: Iterable[tuple[int, str]],
             plates: Iterable[str]) -> str:
    """The key of a propagated frame: engine, frame, (keyframe, selection key) pairs it depends
    on and the plate keys of the frames between them."""
    return digest(engine_key, frame, tuple(keys), tuple(plates))
