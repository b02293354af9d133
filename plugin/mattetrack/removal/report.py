"""Where a clean plate needs paint: per frame, the share of the hole that no frame of the shot saw
(the part the fill invents), as `remove --report`.

The document is track's report (docs/DESIGN.md, `report.py`) with one entry, named as the clean
plate's `--merge` layer (`<objects>_clean`): its confidence on a frame is the share of that
frame's hole some other frame saw (1.0 where there is no hole), and its suggested frames are the
ones with most invented, spread out: where a paint artist starts.

The shares of the files a run writes are kept beside them (`SHARES_NAME`, keyed like the files
themselves), so the report of a resumed run covers the frames an earlier run wrote.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mattetrack.atomicfile import atomic_write_bytes
from mattetrack.report import report_of

SHARES_NAME = ".mattetrack-remove-invented.json"


def invented_share(hole: np.ndarray, unseen: np.ndarray) -> float:
    """The share of `hole` ((H, W) bool) in `unseen` ((H, W) bool: what no frame saw); 0.0
    without a hole."""
    total = int(np.count_nonzero(hole))
    return float(np.count_nonzero(unseen & hole)) / total if total else 0.0


def removal_report(name: str, shares: dict[int, float], frames: Sequence[int]) -> dict:
    """The report ({"frames": [first, last], "objects": [{"name", "confidence",
    "suggested"}]}) of a removal over `frames`, from {frame: invented share}."""
    return report_of([(name, (), {f: 1.0 - s for f, s in shares.items()})], frames)


class InventedShares:
    """The invented share of each output file, kept in `SHARES_NAME` of its folder:
    {absolute path: [key, share]}; a share counts only while the file's key is the one it was
    written with. Safe to record from a writer thread."""

    def __init__(self, folder: str) -> None:
        self.path = Path(folder) / SHARES_NAME
        self._entries = self._load()
        self._recorded: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _load(self) -> dict[str, tuple[str, float]]:
        try:
            raw = json.loads(self.path.read_text())
            return {str(p): (str(e[0]), float(e[1])) for p, e in raw.items()}
        except (OSError, ValueError, TypeError, IndexError, AttributeError):
            return {}  # missing or damaged: the files kept have no share, nothing else is lost

    def get(self, path: str, key: str) -> float | None:
        """The share recorded for the file at `path` written for `key`, if any."""
        entry = self._entries.get(os.path.abspath(path))
        return entry[1] if entry is not None and entry[0] == key else None

    def record(self, path: str, key: str, share: float) -> None:
        """`path` has just been written for `key`, with `share` of its hole invented."""
        with self._lock:
            self._recorded[os.path.abspath(path)] = (key, share)

    def save(self) -> None:
        """Add what was recorded to the file (re-read first: another run into the same folder
        may have saved since), atomically; nothing when nothing was recorded."""
        with self._lock:
            recorded = dict(self._recorded)
        if not recorded:
            return
        entries = {**self._load(), **recorded}
        doc = {p: [k, round(s, 6)] for p, (k, s) in sorted(entries.items())}
        atomic_write_bytes(self.path, json.dumps(doc, indent=0).encode())
