"""TrackMemo: an engine's per-frame intermediate results, kept on disk between runs of a shot.

A correction re-runs the spans around it, and most of what those spans need was computed by
the run before: the track from the keyframe before the correction is the same track over the
same frames, and the optical flow between two plate frames is the same flow. An engine that
restarts its tracks at keyframes (classic) keys each track's per-frame coverage by everything
that decides it (its parameters, the keyframe, the plate frames from the keyframe on), and each
flow by its parameters and its two plate frames, and takes them from here instead of computing
them again.

Layout, in the result store's `tracks/` folder::

    <key>_<confidence>.cov    (h, w) coverage * 65535 (`covcodec`); confidence: the IEEE
                              double's 16 hex digits (exact, so a remembered track blends
                              exactly as a computed one)
    <key>.flow                (h, w, 2) flow (px) on the 1/64 px grid the engine's flows are
                              on (`flowcodec`): ~210 KB at 512x288, read in ~0.5 ms against
                              ~23 ms of DIS
    <key>.vec                 (n,) float32 vector (`MTVEC1\\0`, n as little-endian uint32, the
                              values): what an engine derives from one plate frame and needs in
                              every sweep (a cut detector's signature, ~18 KB), so a frame whose
                              tracks and flows are all remembered need not be read at all

Files are written atomically, on a writer thread (so the run does not wait for the encoding; a
value still waiting there is read from memory); a damaged file is a miss (and is removed; so is
a flow or track an earlier version kept, as a 16-bit PNG or zlib'd). The folder is trimmed to a size
cap, least recently used first (reads touch a file), so disk use is bounded by configuration,
not by the number of corrections.
"""

from __future__ import annotations

import os
import queue
import struct
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mattetrack.atomicfile import atomic_write_bytes
from mattetrack.covcodec import SUFFIX as COVERAGE_SUFFIX
from mattetrack.covcodec import decode_u16, encode_u16
from mattetrack.flowcodec import decode_flow, encode_flow
from mattetrack.pngcodec import from_u16, to_u16

DEFAULT_MEMO_MB = 1024
_FLOW = "flow"  # the kind of a flow (a track's kind is its confidence's hex digits)
_VECTOR = "vector"
_TRACK = "track"  # what `_read` is asked for when it wants a track
_VEC_HEADER = struct.Struct("<8sI")
_VEC_MAGIC = b"MTVEC1\0\0"
_SUFFIX = {_FLOW: ".flow", _VECTOR: ".vec", _TRACK: COVERAGE_SUFFIX}
_OLD_TRACK_SUFFIX = ".png"  # an earlier version's tracks (and flows): misses, removed
_KIND_OF_SUFFIX = {".flow": _FLOW, ".vec": _VECTOR}  # a track's kind is in its file name


def _class(kind: str) -> str:
    """What a kept value is, from its kind: a flow, a vector or (a confidence's hex) a track."""
    return kind if kind in _KIND_OF_SUFFIX.values() else _TRACK


def encode_vector(value: np.ndarray) -> bytes:
    """The file bytes of a 1-d float32 vector."""
    flat = np.ascontiguousarray(value, "<f4").ravel()
    return _VEC_HEADER.pack(_VEC_MAGIC, flat.size) + flat.tobytes()


def decode_vector(data: bytes) -> np.ndarray:
    """The (n,) float32 vector of a vector file's bytes; ValueError when they are not one."""
    if len(data) < _VEC_HEADER.size:
        raise ValueError("too short for a vector file")
    magic, n = _VEC_HEADER.unpack_from(data)
    if magic != _VEC_MAGIC or len(data) != _VEC_HEADER.size + 4 * n:
        raise ValueError("not a vector file, or a damaged one")
    return np.frombuffer(data, "<f4", n, _VEC_HEADER.size).astype(np.float32)


class TrackMemo:
    """Per-frame (coverage, confidence) and flows by key, under `folder`; `frame_key(frame)`
    says what decides a plate frame's pixels (engines chain it into their keys). Thread-safe.
    `flush()` (and `trim()`) wait for the writer."""

    def __init__(self, folder: str | os.PathLike[str], frame_key: Callable[[int], str],
                 max_mb: float = DEFAULT_MEMO_MB) -> None:
        self.folder = Path(folder)
        self.frame_key = frame_key
        self.max_bytes = int(max_mb * 2**20)
        self._lock = threading.Lock()
        self._index: dict[str, Path] | None = None
        # key -> (kind, value: uint16 coverage or float32 flow) put but not yet written
        self._pending: dict[str, tuple[str, np.ndarray]] = {}
        # Bounded: a writer that falls behind holds up the puts, not memory.
        self._queue: queue.Queue[str] = queue.Queue(maxsize=16)
        self._writer: threading.Thread | None = None
        self._queued = 0  # puts not yet written
        self._broken = False  # a write failed (disk full...): keep nothing more
        self._folder_made = False  # made by the writer thread (the only one that writes files)
        self.hits = 0  # track gets answered
        self.misses = 0
        self.puts = 0
        self.flow_hits = 0
        self.flow_puts = 0

    def _files(self) -> dict[str, Path]:
        if self._index is None:
            index: dict[str, Path] = {}
            if self.folder.is_dir():
                for suffix in (_OLD_TRACK_SUFFIX, _SUFFIX[_TRACK]):  # ours win
                    for path in self.folder.glob(f"*_*{suffix}"):
                        index[path.stem.split("_", 1)[0]] = path
                for suffix in _KIND_OF_SUFFIX:
                    for path in self.folder.glob(f"*{suffix}"):
                        index[path.stem] = path
            self._index = index
        return self._index

    def _read(self, key: str, want: str) -> tuple[str, np.ndarray] | None:
        """(kind, value) kept under `key` if it is of the class asked for (`want`): a track's
        (confidence hex, (h, w) uint16 coverage), a flow's ("flow", (h, w, 2) float32) or a
        vector's ("vector", (n,) float32)."""
        if self.max_bytes <= 0:
            return None
        with self._lock:
            pending = self._pending.get(key)
            path = self._files().get(key)
        if pending is not None:  # (the caller's copy: the writer still needs it)
            return (pending[0], pending[1].copy()) if _class(pending[0]) == want else None
        if path is None:
            return None
        kind = _KIND_OF_SUFFIX.get(path.suffix) or path.stem.split("_", 1)[1]
        if _class(kind) != want:
            return None
        try:
            if path.suffix != _SUFFIX[want]:  # an earlier version's PNG track or flow
                raise ValueError("a track or flow in an earlier format")
            if want == _FLOW:
                value = decode_flow(path.read_bytes())
            elif want == _VECTOR:
                value = decode_vector(path.read_bytes())
            else:
                value = decode_u16(path.read_bytes())
            os.utime(path)  # recently used: trimmed last
        except (OSError, ValueError):
            with self._lock:
                self._files().pop(key, None)
            path.unlink(missing_ok=True)
            return None
        return kind, value

    def get(self, key: str) -> tuple[np.ndarray, float] | None:
        """(coverage (h, w) float32 in [0, 1], confidence) kept under `key`, or None."""
        kept = self._read(key, _TRACK)
        try:
            conf = None if kept is None else struct.unpack("<d", bytes.fromhex(kept[0]))[0]
        except (ValueError, struct.error):
            conf = None
        if kept is None or conf is None:
            self.misses += 1
            return None
        self.hits += 1
        return from_u16(kept[1]), float(conf)

    def put(self, key: str, coverage: np.ndarray, confidence: float) -> None:
        """Keep (h, w) coverage in [0, 1] (stored at 1/65535 steps: give it quantised so that a
        kept value is the value computed, see `pngcodec.quantize16`) and its confidence."""
        self.puts += 1
        self._write(key, struct.pack("<d", float(confidence)).hex(), to_u16(coverage))

    def get_flow(self, key: str) -> np.ndarray | None:
        """(h, w, 2) float32 flow (px) kept under `key`, or None."""
        kept = self._read(key, _FLOW)
        if kept is None:
            return None
        self.flow_hits += 1
        return kept[1]

    def put_flow(self, key: str, flow: np.ndarray) -> None:
        """Keep an (h, w, 2) flow (px; give it on the grid, `flowcodec.quantize_flow`, so that
        a kept flow is the flow used)."""
        self.flow_puts += 1
        self._write(key, _FLOW, np.array(flow, np.float32))  # a copy: queued

    def get_vector(self, key: str) -> np.ndarray | None:
        """(n,) float32 vector kept under `key`, or None."""
        kept = self._read(key, _VECTOR)
        return None if kept is None else kept[1]

    def put_vector(self, key: str, value: np.ndarray) -> None:
        """Keep a 1-d vector (float32, exactly)."""
        self._write(key, _VECTOR, np.array(value, np.float32).ravel())  # a copy: queued

    def _write(self, key: str, kind: str, value: np.ndarray) -> None:
        """Hand a value to the writer, which keeps it as `<key>.flow` (kind "flow"),
        `<key>.vec` (kind "vector") or `<key>_<kind>.cov` (uint16 coverage)."""
        if self.max_bytes <= 0 or self._broken:
            return
        with self._lock:
            self._pending[key] = (kind, value)
            self._queued += 1  # the writer does not stop while this is above 0
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_files, daemon=True,
                                                name="mattetrack-memo")
                self._writer.start()
        self._queue.put(key)

    def _write_files(self) -> None:
        """The writer thread: encode and write each pending value, atomically, replacing an
        older file of its key; it stops when idle (a long-lived service makes a memo per run)."""
        while True:
            try:
                key = self._queue.get(timeout=0.5)
            except queue.Empty:
                with self._lock:
                    if self._queued == 0:
                        self._writer = None
                        return
                continue
            with self._lock:
                item = self._pending.get(key)
            try:
                if item is not None and not self._broken:
                    self._write_file(key, *item)
            except Exception:  # only a memo: the results are unaffected
                self._broken = True  # (disk full, a folder that cannot be written...)
            finally:
                with self._lock:
                    if item is not None and self._pending.get(key) is item:
                        del self._pending[key]
                    self._queued -= 1
                self._queue.task_done()

    def _write_file(self, key: str, kind: str, value: np.ndarray) -> None:
        if kind == _FLOW:
            data, path = encode_flow(value), self.folder / f"{key}{_SUFFIX[_FLOW]}"
        elif kind == _VECTOR:
            data, path = encode_vector(value), self.folder / f"{key}{_SUFFIX[_VECTOR]}"
        else:
            data, path = encode_u16(value), self.folder / f"{key}_{kind}{_SUFFIX[_TRACK]}"
        if not self._folder_made:  # once per memo, as the store makes its folders
            self.folder.mkdir(parents=True, exist_ok=True)
            self._folder_made = True
        atomic_write_bytes(path, data)
        with self._lock:
            old = self._files().get(key)
            self._files()[key] = path
        if old is not None and old != path:
            old.unlink(missing_ok=True)

    def flush(self) -> None:
        """Wait until everything put is written (or given up)."""
        self._queue.join()

    def trim(self) -> int:
        """Remove the least recently used files until the folder is within its cap (after the
        writer is done); the number of files removed."""
        self.flush()
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
