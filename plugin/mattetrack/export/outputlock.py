"""One writer per output: a run (CLI, service job, farm task) holds a lock file beside the
outputs while it writes them, so that a second run on the same outputs is refused with a clear
error instead of mixing its frames with the first's.

The lock is `.<pattern>.mattetrack-lock` in the output folder (the pattern's file name, `#`
and `%` kept), made with O_EXCL and holding {"host", "pid", "started"}. A lock whose process is
gone (same host, pid not running) or that cannot be read is taken over; a live one, or one of
another host (a farm sharing the folder), is respected.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from mattetrack.atomicfile import HOST, gone
from mattetrack.errors import InputError

SUFFIX = ".mattetrack-lock"


def lock_path(pattern: str) -> Path:
    path = Path(os.path.abspath(pattern))
    return path.with_name(f".{path.name}{SUFFIX}")


class OutputLock:
    """Held while a run writes the outputs of `pattern`; a context manager. `field` names the
    argument in errors (`output`: -o)."""

    def __init__(self, pattern: str, field: str = "output", path: Path | None = None,
                 what: str = "is writing these outputs") -> None:
        self.pattern = pattern
        self.field = field
        self.path = lock_path(pattern) if path is None else path
        self.what = what
        self._held = False

    @classmethod
    def for_store(cls, root: str) -> OutputLock:
        """The lock of a result store (`--store`): one run uses a store at a time (its
        manifests are read, changed and written back)."""
        return cls(root, "store", Path(root) / ".mattetrack-lock", "is using this store")

    def holder(self) -> dict | None:
        """Who holds the lock now ({host, pid, started}), None if nobody alive does."""
        try:
            info = json.loads(self.path.read_text())
            host, pid = str(info["host"]), int(info["pid"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            return None  # unreadable (a writer killed mid-write): taken over
        if gone(host, pid):
            return None  # its run is gone (killed): taken over
        return info  # a live run, maybe another job of this very process (the service)

    def acquire(self) -> None:
        data = json.dumps({"host": HOST, "pid": os.getpid(), "started": time.time()}).encode()
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                info = self.holder()
                if info is not None:
                    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info["started"]))
                    raise InputError(
                        f"{self.pattern!r}: another mattetrack run (pid {info['pid']} on "
                        f"{info['host']}, since {since}) {self.what}; wait for it or stop it "
                        f"(lock {self.path})", field=self.field) from None
                self.path.unlink(missing_ok=True)  # a dead run's: taken over
                continue
            except OSError as err:
                raise InputError(f"{self.pattern!r}: cannot lock {self.path} ({err.strerror})",
                                 field=self.field) from None
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            self._held = True
            return
        raise InputError(f"{self.pattern!r}: cannot take the lock {self.path}", field=self.field)

    def release(self) -> None:
        if self._held:
            self._held = False
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
