"""One writer per output: a run (CLI, service job, farm task) holds a lock file beside the
outputs while it writes them, so that a second run on the same outputs is refused with a clear
error instead of mixing its frames with the first's.

The lock is `.<pattern>.mattetrack-lock` in the output folder (the pattern's file name, `#`
and `%` kept), made with O_EXCL and holding {"host", "pid", "started"}. A lock whose process is
gone (same host, pid not running) or that cannot be read is taken over; a live one is
respected. Another host's process cannot be looked at (a farm node sharing the folder), so its
holder touches the lock every HEARTBEAT_S seconds while it runs: another host's lock untouched
for STALE_S is a run that died with its node (or was killed with SIGKILL) and is taken over, so
a farm's retry of the task on another worker runs.

A run that writes only some of the shot's frames (`track --frames A-B`: a farm task's share)
locks those frames only, `.<pattern>.<A>-<B>.mattetrack-lock`, so the tasks of one job write
side by side on as many workers as the farm gives it; it is refused where a run holds the whole
pattern or an overlapping range, and a whole run is refused while any range is held.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from mattetrack.atomicfile import HOST, gone
from mattetrack.errors import InputError

SUFFIX = ".mattetrack-lock"
HEARTBEAT_S = 30.0  # the holder touches its lock this often
STALE_S = 300.0  # another host's lock untouched this long is a dead run's (10 beats missed)


def lock_path(pattern: str, frames: tuple[int, int] | None = None) -> Path:
    """The lock of `pattern`'s outputs, or of its `frames` (first, last) only."""
    path = Path(os.path.abspath(pattern))
    span = "" if frames is None else f".{frames[0]}-{frames[1]}"
    return path.with_name(f".{path.name}{span}{SUFFIX}")


def _range_of(lock: Path, pattern_lock: Path) -> tuple[int, int] | None:
    """(first, last) of a range lock of the pattern whose whole lock is `pattern_lock`."""
    stem = pattern_lock.name.removesuffix(SUFFIX)
    name = lock.name
    if not (name.startswith(stem + ".") and name.endswith(SUFFIX)):
        return None
    first, sep, last = name[len(stem) + 1:-len(SUFFIX)].rpartition("-")
    try:
        return (int(first), int(last)) if sep else None
    except ValueError:
        return None


class OutputLock:
    """Held while a run writes the outputs of `pattern`; a context manager. `field` names the
    argument in errors (`output`: -o)."""

    def __init__(self, pattern: str, field: str = "output", path: Path | None = None,
                 what: str = "is writing these outputs",
                 frames: tuple[int, int] | None = None) -> None:
        self.pattern = pattern
        self.field = field
        self.whole = lock_path(pattern) if path is None else path
        self.frames = None if path is not None else frames
        self.path = lock_path(pattern, frames) if self.frames is not None else self.whole
        self.what = what
        self.ranged = path is None
        self._held = False
        self._stop = threading.Event()

    @classmethod
    def for_store(cls, root: str) -> OutputLock:
        """The lock of a result store (`--store`): one run uses a store at a time (its
        manifests are read, changed and written back)."""
        return cls(root, "store", Path(root) / ".mattetrack-lock", "is using this store")

    def holder(self) -> dict | None:
        """Who holds this lock or one it conflicts with now ({host, pid, started}), None if
        nobody alive does: the whole pattern's or an overlapping range's."""
        return _first_alive(self._conflicting())

    def _conflicting(self) -> list[Path]:
        """Lock files that exclude this one (itself first)."""
        out = [self.path]
        if self.frames is not None:
            out.append(self.whole)
        if not self.ranged:  # a store's lock: one, no ranges
            return out
        try:
            names = list(self.whole.parent.iterdir())
        except OSError:
            return out
        for path in names:
            span = _range_of(path, self.whole)
            if span is None or path == self.path:
                continue
            if self.frames is None or (span[0] <= self.frames[1] and self.frames[0] <= span[1]):
                out.append(path)
        return out

    def _refuse(self, info: dict) -> InputError:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info["started"]))
        return InputError(
            f"{self.pattern!r}: another mattetrack run (pid {info['pid']} on "
            f"{info['host']}, since {since}) {self.what}; wait for it or stop it "
            f"(lock {info.get('path', self.path)})", field=self.field)

    def acquire(self) -> None:
        data = json.dumps({"host": HOST, "pid": os.getpid(), "started": time.time()}).encode()
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                info = _alive(self.path)
                if info is not None:
                    raise self._refuse(info) from None
                self.path.unlink(missing_ok=True)  # a dead run's: taken over
                continue
            except OSError as err:
                raise InputError(f"{self.pattern!r}: cannot lock {self.path} ({err.strerror})",
                                 field=self.field) from None
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            self._held = True
            self._stop.clear()
            threading.Thread(target=self._beat, name="mattetrack-lock", daemon=True).start()
            # Taken first, checked after: of two runs that conflict, at least one sees the
            # other's lock.
            info = _first_alive(self._conflicting()[1:])  # others than itself
            if info is not None:
                self.release()
                raise self._refuse(info)
            return
        raise InputError(f"{self.pattern!r}: cannot take the lock {self.path}", field=self.field)

    def release(self) -> None:
        if self._held:
            self._held = False
            self._stop.set()
            self.path.unlink(missing_ok=True)

    def _beat(self) -> None:
        """While held: touch the lock every HEARTBEAT_S (another host's run tells a live
        holder from a dead one by it)."""
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.path)
            except OSError:  # gone (released meanwhile, or removed by hand): nothing to keep
                return

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _alive(path: Path) -> dict | None:
    """The holder ({host, pid, started, path}) of the lock file `path`, None if nobody alive
    holds it (none, its run gone, or unreadable: a writer killed mid-write)."""
    try:
        info = json.loads(path.read_text())
        host, pid = str(info["host"]), int(info["pid"])
        touched = path.stat().st_mtime
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if gone(host, pid):
        return None  # its run is gone (killed): taken over
    if host != HOST and time.time() - touched > STALE_S:
        return None  # another host's run that stopped beating: died with its node
    info["path"] = str(path)
    return info  # a live run, maybe another job of this very process (the service)


def _first_alive(paths: list[Path]) -> dict | None:
    """The holder of the first of `paths` whose run is alive (`_alive`), or None."""
    for path in paths:
        info = _alive(path)
        if info is not None:
            return info
    return None
