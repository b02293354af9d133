"""TrackMemo: an engine's per-frame intermediate results, kept on disk between runs of a shot.

A correction re-runs the spans around it, and most of what those spans need was computed by
the run before: the track from the keyframe before the correction is the same track over the
same frames. An engine that restarts its tracks at keyframes (classic) keys each track's
per-frame coverage by everything that decides it (its parameters, the keyframe, the plate
frames from the keyframe on) and takes it from here instead of tracking again.

Layout, in the result store's `tracks/` folder::

    <key>_<confidence>.png    (h, w) coverage * 65535, 16-bit grey PNG; confidence: the IEEE
                              double's 16 hex digits (exact, so a remembered track blends
                              exactly as a computed one)

Files are written atomically; a damaged one is a miss (and is removed). The folder is trimmed
to a size cap, least recently used first (reads touch a file), so disk use is bounded by
configuration, not by the number of corrections.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from mattetrack.atomicfile import atomic_write_bytes
from mattetrack.pngcodec import PNG16_PARAMS, from_u16, to_u16

DEFAULT_MEMO_MB = 1024


class TrackMemo:
    """Per-frame (coverage, confidence) by key, under `folder`; `frame_key(frame)` says what
    decides a plate frame's pixels (engines chain it into their keys). Thread-safe."""

    def __init__(self, folder: str | os.PathLike[str], frame_key: Callable[[int], str],
                 max_mb: float = DEFAULT_MEMO_MB) -> None:
        self.folder = Path(folder)
        self.frame_key = frame_key
        self.max_bytes = int(max_mb * 2**20)
        self._lock = threading.Lock()
        self._index: dict[str, Path] | None = None
        self.hits = 0  # gets answered
        self.misses = 0
        self.puts = 0

    def _files(self) -> dict[str, Path]:
        if self._index is None:
            index: dict[str, Path] = {}
            if self.folder.is_dir():
                for path in self.folder.glob("*_*.png"):
                    index[path.stem.split("_", 1)[0]] = path
            self._index = index
        return self._index

    def get(self, key: str) -> tuple[np.ndarray, float] | None:
        """(coverage (h, w) float32 in [0, 1], confidence) kept under `key`, or None."""
        with self._lock:
            path = self._files().get(key)
        if path is None or self.max_bytes <= 0:
            self.misses += 1
            return None
        try:
            q = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            conf = struct.unpack("<d", bytes.fromhex(path.stem.split("_", 1)[1]))[0]
            if q is None or q.dtype != np.uint16 or q.ndim != 2:
                raise ValueError("not a 16-bit grey PNG")
            os.utime(path)  # recently used: trimmed last
        except (OSError, ValueError, struct.error):
            with self._lock:
                self._files().pop(key, None)
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        self.hits += 1
        return from_u16(q), float(conf)

    def put(self, key: str, coverage: np.ndarray, confidence: float) -> None:
        """Keep (h, w) coverage in [0, 1] (stored at 1/65535 steps: give it quantised so that a
        kept value is the value computed, see `pngcodec.quantize16`) and its confidence."""
        self.puts += 1
        if self.max_bytes <= 0:
            return
        ok, buf = cv2.imencode(".png", to_u16(coverage), PNG16_PARAMS)
        if not ok:
            return  # only a memo: the result itself is unaffected
        path = self.folder / f"{key}_{struct.pack('<d', float(confidence)).hex()}.png"
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            old = self._files().get(key)
            atomic_write_bytes(path, buf.tobytes())
            self._files()[key] = path
        if old is not None and old != path:
            old.unlink(missing_ok=True)

    def trim(self) -> int:
        """Remove the least recently used files until the folder is within its cap; the number
        of files removed."""
        with self._lock:
            files = []
            for key, path in self._files().items():
                try:
                    st = path.stat()
                except OSError:
                    continue
                files.append((st.st_mtime, st.st_size, key, path))
            total = sum(f[1] for f in files)
            removed = 0
            for _, size, key, path in sorted(files):
                if total <= max(self.max_bytes, 0):
                    break
                path.unlink(missing_ok=True)
                del self._files()[key]
                total -= size
                removed += 1
            return removed
