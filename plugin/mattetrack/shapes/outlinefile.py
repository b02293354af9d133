"""One frame's outlines of every object in a file (`temporal.frame_outlines`), exactly: a farm
task saves them as it writes the frame's mattes, and the job's last step fits the shapes of the
whole shot from them, as `track --roto-channels` fits them from the mattes in memory.

An .npz of float arrays named `<object>:<piece>:<outline>:p` (points) and `...:a` (allowed
distance), `<outline>` 0 for the outer boundary and 1.. for the holes; objects by their index
in the session's order. Written atomically (temporary name, rename).
"""

from __future__ import annotations

import io
import os
from collections import defaultdict
from pathlib import Path

import numpy as np

from mattetrack.atomicfile import atomic_write_bytes
from mattetrack.errors import InputError
from mattetrack.shapes.temporal import FrameOutlines


def save_outlines(path: str | os.PathLike[str], objects: list[FrameOutlines]) -> None:
    """Write `objects` (each object's outlines on the frame, in the session's object order)."""
    arrays: dict[str, np.ndarray] = {"count": np.array([len(objects)])}
    for i, found in enumerate(objects):
        for j, (outer, holes) in enumerate(found):
            for k, (points, allowed) in enumerate([outer, *holes]):
                arrays[f"{i}:{j}:{k}:p"] = np.asarray(points)
                arrays[f"{i}:{j}:{k}:a"] = np.asarray(allowed)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(Path(path), buf.getvalue())


def load_outlines(path: str | os.PathLike[str]) -> list[FrameOutlines]:
    """What `save_outlines` wrote, the same arrays bit for bit."""
    try:
        with np.load(os.fspath(path), allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: cannot read the saved outlines ({err})") from None
    pieces: dict[int, dict[int, dict[int, tuple]]] = defaultdict(lambda: defaultdict(dict))
    for name in arrays:
        if name.endswith(":p"):
            i, j, k = (int(x) for x in name.split(":")[:3])
            pieces[i][j][k] = (arrays[name], arrays[name[:-1] + "a"])
    out: list[FrameOutlines] = []
    for i in range(int(arrays["count"][0])):
        found: FrameOutlines = []
        for j in sorted(pieces[i]):
            lines = [pieces[i][j][k] for k in sorted(pieces[i][j])]
            found.append((lines[0], lines[1:]))
        out.append(found)
    return out
