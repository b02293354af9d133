"""What each output file holds, so a rerun with a result store leaves alone the files that
would come out the same.

A correction re-propagates a span; the frames outside it keep their results, and so do their
files: rewriting them costs time (a round of the artist's loop reused 21-31 frames per shot at
about 5 ms each) and makes a Nuke Read, a farm sync or a backup see every frame change.

Kept in the store as `outputs.json`: {absolute path: [key, size, mtime_ns, inode]}. key: a
digest of everything that decides the file's bytes (`output_key`); size, mtime_ns and inode: the
file as this tool left it. Every output is written to a new file renamed into place, so a file
written since by anything else (another run, another store, a hand edit) no longer matches and
is written again. A damaged or missing manifest only means every file is written again.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path

from mattetrack import __version__, resultkeys
from mattetrack.atomicfile import atomic_write_bytes

MANIFEST_NAME = "outputs.json"

Entry = tuple[str, int, int, int]  # key, size, mtime_ns, inode


def output_key(settings: object, frame: int, plate: str, results: list[str]) -> str:
    """The key of one output file: the output's settings (anything with a stable repr: the
    pattern, the writer's options, the layers and Cryptomatte), the frame, the plate frame's
    key and the result keys of the mattes it holds, in channel order."""
    return resultkeys.digest(__version__, settings, frame, plate, tuple(results))


def _identity(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


class OutputManifest:
    """The output files written with one result store. Safe to record from a writer thread."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._entries = self._load()
        self._recorded: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Entry]:
        try:
            raw = json.loads(self.path.read_text())
            return {str(p): (str(e[0]), int(e[1]), int(e[2]), int(e[3]))
                    for p, e in raw.items()}
        except (OSError, ValueError, TypeError, IndexError, AttributeError):
            return {}

    def holds(self, path: str, key: str) -> bool:
        """Whether the file at `path` is the one this tool wrote for `key`, untouched since."""
        entry = self._entries.get(os.path.abspath(path))
        return entry is not None and entry[0] == key and _identity(path) == entry[1:]

    def record(self, path: str, key: str) -> None:
        """`path` has just been written (completely) for `key`."""
        ident = _identity(path)
        if ident is not None:
            with self._lock:
                self._recorded[os.path.abspath(path)] = (key, *ident)

    def save(self) -> None:
        """Add what was recorded to the manifest on disk (re-read first: another run with the
        same store may have saved since), atomically. No-op when nothing was recorded."""
        with self._lock:
            recorded = dict(self._recorded)
        if not recorded:
            return
        entries = self._load()
        entries.update(recorded)
        data = json.dumps({p: list(e) for p, e in sorted(entries.items())}, indent=0)
        # The outputs are written: a manifest that could not be saved only costs rewrites.
        with contextlib.suppress(OSError):
            atomic_write_bytes(self.path, data.encode())
        self._entries = entries
