"""Where the matte is weak: per-frame confidence and the frames where a correction would help
most, for the artist's loop (`track --report`, the service, the UI and the hosts).

The report's JSON (the contract in docs/DESIGN.md)::

    {"frames": [first, last], "objects": [{"name": N, "confidence": {"<frame>": c, ...},
     "suggested": [frame, ...]}]}

c is the engine's own confidence in [0, 1] (`Engine.propagate`), 1.0 on keyframes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

MAX_SUGGESTED = 10
# Frames at or above this confidence are not worth a correction.
GOOD_ENOUGH = 0.9


def suggest_frames(confidence: Mapping[int, float], keyframes: Sequence[int],
                   frames: Sequence[int], limit: int = MAX_SUGGESTED) -> list[int]:
    """Frames to correct, best first: the least confident, never a keyframe, and spread out.

    A correction fixes the frames around it too (tracks restart there), so after a frame is
    picked its neighbours within `gap` frames are skipped (gap grows with the shot: 2 frames, or
    1/25 of it), as are the keyframes' neighbours within 1 frame. frames: the frames in order;
    confidence: {frame: c}.
    """
    order = list(frames)
    position = {f: i for i, f in enumerate(order)}
    gap = max(2, round(len(order) / 25))
    blocked: set[int] = set()
    for k in keyframes:
        if k in position:
            p = position[k]
            blocked.update(range(p - 1, p + 2))
    ranked = sorted((c, position[f]) for f, c in confidence.items()
                    if f in position and c < GOOD_ENOUGH)
    out: list[int] = []
    for _, p in ranked:
        if p in blocked:
            continue
        out.append(order[p])
        if len(out) == limit:
            break
        blocked.update(range(p - gap, p + gap + 1))
    return out


def build_report(session, frames: Sequence[int]) -> dict:
    """The report of a session's last propagation over `frames` (a `Session`)."""
    return report_of([(obj.name, obj.keyframes, session.confidence.get(obj.id, {}))
                      for obj in session.objects], frames)


def report_of(objects: Sequence[tuple[str, Sequence[int], Mapping[int, float]]],
              frames: Sequence[int]) -> dict:
    """The report of objects given as (name, keyframes, {frame: confidence}) over `frames`
    (a farm job's last step gathers them from its tasks)."""
    frames = list(frames)
    wanted = set(frames)
    out = []
    for name, keyframes, confidence in objects:
        conf = {f: c for f, c in confidence.items() if f in wanted}
        out.append({
            "name": name,
            "confidence": {str(f): round(conf[f], 4) for f in frames if f in conf},
            "suggested": suggest_frames(conf, keyframes, frames),
        })
    span = [frames[0], frames[-1]] if frames else []
    return {"frames": span, "objects": out}


def write_report(path: str | Path, session, frames: Sequence[int]) -> None:
    """Write `build_report` to `path` atomically."""
    write_report_doc(path, build_report(session, frames))


def write_report_doc(path: str | Path, doc: dict) -> None:
    """Write a report (`build_report`, `report_of`) to `path` atomically."""
    from mattetrack.store import atomic_write_bytes

    atomic_write_bytes(Path(path), json.dumps(doc, indent=1).encode())
