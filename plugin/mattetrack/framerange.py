"""Frame ranges as users give them (`--range A-B`, the service's `range`), and runs of frames."""

from __future__ import annotations

import re
from collections.abc import Iterable

from mattetrack.errors import InputError


def parse_range(text: str | None) -> tuple[int, int] | None:
    """`A-B` (or a single frame `A`) -> (A, B), inclusive; None for None. Errors carry the field
    `range`."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?", text)
    if not m:
        raise InputError(f"{text!r}: expected A-B, e.g. 1001-1100", field="range")
    a = int(m.group(1))
    b = int(m.group(2)) if m.group(2) is not None else a
    if b < a:
        raise InputError(f"{text!r}: the last frame is before the first", field="range")
    return a, b


def consecutive_runs(frames: Iterable[int]) -> list[list[int]]:
    """Sorted `frames` split where one is missing: [[1, 2, 3], [7, 8]] from 1, 2, 3, 7, 8."""
    runs: list[list[int]] = []
    for f in sorted(frames):
        if runs and f == runs[-1][-1] + 1:
            runs[-1].append(f)
        else:
            runs.append([f])
    return runs
