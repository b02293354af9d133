"""ResultStore: per-object, per-frame coverage on disk, keyed by what produced it, written
atomically.

Layout under the store's root::

    store.json                      {"version": 2, "width": W, "height": H,
                                     "objects": {"<id>": {"name": N, "folder": F}}}
    <F>/<frame>_<key>_<conf>.cov    a frame's result; key: what produced it (`resultkeys`);
                                    conf: the engine's confidence * 10000 (`n`: none)
    <F>/base_<frame>.cov            the matte an artist was looking at when they first prompted
                                    that frame (their prompts there correct it)
    selections/<key>.cov            keyframe selections, by the key of their image and prompts
    tracks/                         an engine's remembered tracks (`mattetrack.memo`), within
                                    `memo_mb`
    outputs.json                    what each output file written with this store holds
                                    (`mattetrack.export.outputmanifest`)

Every coverage file is coverage * 65535 (quantisation error < 1e-5), LZ4 (`covcodec`); the
same files an earlier version kept as 16-bit grey PNGs (`.png`) are read as well.

An object's folder is named after a digest of its name, so its results follow its name (the
command line numbers objects in the order given; a name is what an artist keeps). One result is
kept per object and frame: the newest. Every file is written to a temporary name in the same
folder and renamed into place, so an interrupted run never leaves a half-written result and a
later run picks up what is there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from mattetrack.atomicfile import atomic_write_bytes, remove_stale_temps
from mattetrack.covcodec import SUFFIX as RESULT_SUFFIX
from mattetrack.covcodec import decode_coverage, encode_coverage
from mattetrack.errors import MatteTrackError
from mattetrack.memo import DEFAULT_MEMO_MB, TrackMemo
from mattetrack.pngcodec import from_u16

__all__ = ["ResultStore", "Stored", "atomic_write_bytes"]

_LEGACY_SUFFIX = ".png"  # coverage an earlier version kept: read, never written

_VERSION = 2


def _folder_name(name: str) -> str:
    return "o" + hashlib.blake2b(name.encode(), digest_size=8).hexdigest()


class Stored:
    """One stored frame result: its key, the engine's confidence (or None) and its file."""

    __slots__ = ("key", "confidence", "path")

    def __init__(self, key: str, confidence: float | None, path: Path) -> None:
        self.key, self.confidence, self.path = key, confidence, path


class ResultStore:
    """Coverage results of one shot on disk. Coverage arrays are (H, W) float32 in [0, 1].

    Safe to share between threads of one process (an index per object, under a lock).
    """

    def __init__(self, root: str | os.PathLike[str], width: int, height: int,
                 memo_mb: float = DEFAULT_MEMO_MB) -> None:
        self.root = Path(root)
        self.memo_mb = memo_mb
        self.width = width
        self.height = height
        self._names: dict[int, str] = {}
        self._index: dict[int, dict[int, Stored]] = {}
        self._made: set[Path] = set()  # object folders this store made sure exist
        self._lock = threading.RLock()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            manifest = self.root / "store.json"
            if manifest.exists():
                self._load(manifest)
            else:
                self._save()
            # What a run killed mid-write left (results, tracks, selections).
            for folder in [self.root, *(p for p in self.root.iterdir() if p.is_dir())]:
                remove_stale_temps(folder)
        except OSError as err:
            raise MatteTrackError(
                f"{self.root}: cannot use as a result store ({err.strerror})"
            ) from err

    def _load(self, manifest: Path) -> None:
        try:
            meta = json.loads(manifest.read_text())
            version = int(meta.get("version", 1))
            size = (int(meta["width"]), int(meta["height"]))
            names = {int(k): str(v["name"]) for k, v in meta["objects"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise MatteTrackError(f"{manifest}: not a MatteTrack result store ({err})") from err
        if version != _VERSION:
            raise MatteTrackError(f"{self.root}: a result store of MatteTrack's format "
                                  f"{version} (this one reads {_VERSION}); use a new folder")
        if size != (self.width, self.height):
            raise MatteTrackError(
                f"{self.root}: holds results for a {size[0]}x{size[1]} shot, "
                f"this one is {self.width}x{self.height}"
            )
        self._names = names

    def _save(self) -> None:
        meta = {
            "version": _VERSION,
            "width": self.width,
            "height": self.height,
            "objects": {str(k): {"name": v, "folder": _folder_name(v)}
                        for k, v in sorted(self._names.items())},
        }
        atomic_write_bytes(self.root / "store.json", json.dumps(meta, indent=1).encode())

    # -- objects -------------------------------------------------------------------------------
    @property
    def objects(self) -> dict[int, str]:
        """{object id: name} of the objects the store has seen."""
        return dict(self._names)

    def set_object(self, obj_id: int, name: str) -> None:
        """Name object `obj_id` (its results live under its name)."""
        with self._lock:
            if self._names.get(obj_id) != name:
                # Another id that had this name (an earlier run numbered objects differently).
                for other in [k for k, v in self._names.items() if v == name]:
                    del self._names[other]
                    self._index.pop(other, None)
                self._names[obj_id] = name
                self._index.pop(obj_id, None)
                self._save()

    def remove_object(self, obj_id: int) -> None:
        """Forget an object and delete its results."""
        with self._lock:
            folder = self._folder(obj_id)
            if folder.is_dir():
                for f in folder.iterdir():
                    f.unlink()
                folder.rmdir()
            self._made.discard(folder)
            self._index.pop(obj_id, None)
            if self._names.pop(obj_id, None) is not None:
                self._save()

    def _folder(self, obj_id: int) -> Path:
        return self.root / _folder_name(self._names.get(obj_id, f"#{obj_id}"))

    # -- frame results -------------------------------------------------------------------------
    def _entries(self, obj_id: int) -> dict[int, Stored]:
        """{frame: Stored} of an object, read from its folder once."""
        entries = self._index.get(obj_id)
        if entries is None:
            entries = {}
            folder = self._folder(obj_id)
            if folder.is_dir():
                # An earlier version's results first: one of ours for the frame wins.
                for path in [*folder.glob(f"*{_LEGACY_SUFFIX}"),
                             *folder.glob(f"*{RESULT_SUFFIX}")]:
                    parts = path.stem.split("_")
                    if len(parts) != 3 or not parts[0].lstrip("-").isdigit():
                        continue
                    conf = None if parts[2] == "n" else int(parts[2]) / 10000.0
                    entries[int(parts[0])] = Stored(parts[1], conf, path)
            self._index[obj_id] = entries
        return entries

    def put(self, obj_id: int, frame: int, coverage: np.ndarray, key: str = "0",
            confidence: float | None = None) -> None:
        """Store (H, W) float32 coverage of an object on a frame, produced as `key` says
        (letters and digits), with the engine's confidence in [0, 1] (or None); replaces the
        frame's earlier result."""
        if not key.isalnum():
            raise ValueError(f"a result key is letters and digits, not {key!r}")
        conf = "n" if confidence is None else str(int(round(float(np.clip(confidence, 0, 1))
                                                               * 10000)))
        with self._lock:
            folder = self._folder(obj_id)
            if folder not in self._made:
                # Once per folder and run: a mkdir per frame was 0.1 s of an 84-frame round.
                folder.mkdir(exist_ok=True)
                self._made.add(folder)
            path = folder / f"{frame}_{key}_{conf}{RESULT_SUFFIX}"
            self._write(path, coverage)
            entries = self._entries(obj_id)
            old = entries.get(frame)
            entries[frame] = Stored(key, None if confidence is None else float(confidence),
                                    path)
            if old is not None and old.path != path:
                old.path.unlink(missing_ok=True)

    def lookup(self, obj_id: int, frame: int) -> Stored | None:
        """The stored result of an object on a frame (whatever produced it), or None."""
        with self._lock:
            return self._entries(obj_id).get(frame)

    def get(self, obj_id: int, frame: int, key: str | None = None) -> np.ndarray | None:
        """(H, W) float32 coverage, or None when the store has none for that object and frame
        (produced as `key` says, when given)."""
        stored = self.lookup(obj_id, frame)
        if stored is None or (key is not None and stored.key != key):
            return None
        return self._read(stored.path)

    def frames(self, obj_id: int) -> list[int]:
        """Frames that have a stored result for the object, ascending."""
        with self._lock:
            return sorted(self._entries(obj_id))

    # -- bases: what a correction corrects -------------------------------------------------------
    def _base(self, obj_id: int, frame: int) -> Path:
        """Where a base lives, without its suffix."""
        return self._folder(obj_id) / f"base_{frame}"

    def put_base(self, obj_id: int, frame: int, coverage: np.ndarray) -> None:
        """Keep the matte an object had on `frame` when it was first prompted there."""
        stem = self._base(obj_id, frame)
        stem.parent.mkdir(exist_ok=True)
        self._write_named(stem, coverage)

    def get_base(self, obj_id: int, frame: int) -> np.ndarray | None:
        return self._read_named(self._base(obj_id, frame))

    def base_frames(self, obj_id: int) -> list[int]:
        folder = self._folder(obj_id)
        if not folder.is_dir():
            return []
        return sorted({int(p.stem[5:]) for suffix in (RESULT_SUFFIX, _LEGACY_SUFFIX)
                       for p in folder.glob(f"base_*{suffix}")
                       if p.stem[5:].lstrip("-").isdigit()})

    def drop_base(self, obj_id: int, frame: int) -> None:
        stem = self._base(obj_id, frame)
        for suffix in (RESULT_SUFFIX, _LEGACY_SUFFIX):
            Path(f"{stem}{suffix}").unlink(missing_ok=True)

    # -- keyframe selections ---------------------------------------------------------------------
    def put_selection(self, key: str, coverage: np.ndarray) -> None:
        folder = self.root / "selections"
        folder.mkdir(exist_ok=True)
        self._write_named(folder / key, coverage)

    def get_selection(self, key: str) -> np.ndarray | None:
        return self._read_named(self.root / "selections" / key)

    # -- remembered tracks ---------------------------------------------------------------------
    def track_memo(self, frame_key: Callable[[int], str]) -> TrackMemo:
        """The store's memo of engine tracks (see `mattetrack.memo`); frame_key: what decides a
        plate frame's pixels."""
        return TrackMemo(self.root / "tracks", frame_key, self.memo_mb)

    # -- coverage files --------------------------------------------------------------------------
    def _write(self, path: Path, coverage: np.ndarray) -> None:
        if coverage.shape != (self.height, self.width):
            raise ValueError(
                f"coverage is {coverage.shape}, the store holds {self.height}x{self.width}"
            )
        atomic_write_bytes(path, encode_coverage(coverage))

    def _write_named(self, stem: Path, coverage: np.ndarray) -> None:
        """Write `<stem>.cov`, replacing an earlier version's `<stem>.png`."""
        self._write(Path(f"{stem}{RESULT_SUFFIX}"), coverage)
        Path(f"{stem}{_LEGACY_SUFFIX}").unlink(missing_ok=True)

    def _read_named(self, stem: Path) -> np.ndarray | None:
        """`<stem>.cov`, else an earlier version's `<stem>.png`, else None."""
        for suffix in (RESULT_SUFFIX, _LEGACY_SUFFIX):
            path = Path(f"{stem}{suffix}")
            if path.exists():
                return self._read(path)
        return None

    def _read(self, path: Path) -> np.ndarray:
        """(H, W) float32 coverage of a coverage file (ours, or an earlier version's PNG)."""
        coverage = None
        if path.suffix == _LEGACY_SUFFIX:
            q = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if q is not None and q.dtype == np.uint16:
                coverage = from_u16(q)
        else:
            with contextlib.suppress(OSError, ValueError):  # (a damaged file: below)
                coverage = decode_coverage(path.read_bytes())
        if coverage is None or coverage.shape != (self.height, self.width):
            raise MatteTrackError(f"{path}: damaged result file; delete it to recompute")
        return coverage
