"""Atomic file writes: a reader sees the old file or the new one, never half of one.

A write goes through `.<name>.tmp-<host>-<pid>` beside its target and a rename. A process killed
between the two (kill -9, power) leaves that file behind; `remove_stale_temps` removes those of
processes of this host that are gone, so a rerun into the same folders leaves nothing behind.
Private temporary folders (spills, the service's scratch) are named the same way
(`owned_prefix`), and `remove_dead_folders` removes those of processes that are gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from mattetrack.errors import MatteTrackError

HOST = socket.gethostname() or "localhost"  # this machine, as temporary names and locks say
# Greedy host: the last "-digits" is the pid (host names may hold "-digits" themselves); an
# optional ".digits" after it is a writer thread's id (export/exr.py).
_TEMP = re.compile(r"^\..+\.tmp-(?P<host>.+)-(?P<pid>\d+)(?:\.\d+)?$")


def temp_path(path: Path, suffix: str = "") -> Path:
    """The temporary file a write of `path` goes through (suffix: ".<thread id>" for writers
    that may run on several threads of one process)."""
    return path.with_name(f".{path.name}.tmp-{HOST}-{os.getpid()}{suffix}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename (atomic on POSIX)."""
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if err.filename is None:  # a write's error names no file: name the one meant
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(target: Path, write: Callable[[Path], None], what: str) -> None:
    """Run `write(tmp)` and rename tmp to `target`; on failure remove tmp, keep any old target
    and raise MatteTrackError "<target>: cannot write <what>: <reason>"."""
    # Same folder, so the final os.replace is a rename on one file system (atomic on POSIX); the
    # host, pid and thread id keep concurrent writers of the same file apart.
    tmp = temp_path(target, f".{threading.get_native_id()}")
    try:
        write(tmp)
        os.replace(tmp, target)
    except (ValueError, OSError, RuntimeError, MemoryError) as err:
        tmp.unlink(missing_ok=True)
        reason = str(err).removeprefix(f"{tmp}: ")
        raise MatteTrackError(f"{target}: cannot write {what}: {reason}") from err
    except BaseException:  # KeyboardInterrupt and the like: clean up, then let it through
        tmp.unlink(missing_ok=True)
        raise


def gone(host: str, pid: int) -> bool:
    """Whether process `pid` of `host` is known to be gone: only this host's can be checked
    (another host's, a farm node sharing the folder, never counts as gone)."""
    if host != HOST:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it exists, as someone else's
        return False
    return False


def _dead_entries(folder: str | os.PathLike[str], pattern: re.Pattern) -> list[os.DirEntry]:
    """The entries of `folder` whose names match `pattern` (with `host` and `pid` groups) and
    whose process is gone."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return [e for e in entries
            if (m := pattern.match(e.name)) and gone(m["host"], int(m["pid"]))]


def remove_stale_temps(folder: str | os.PathLike[str]) -> int:
    """Remove the temporary files in `folder` (not below it) that processes of this host left
    when they were killed mid-write; the number removed. Another host's (a farm sharing the
    folder) and live processes' are left alone."""
    removed = 0
    for entry in _dead_entries(folder, _TEMP):
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed += 1
    return removed


def owned_prefix(prefix: str) -> str:
    """The name prefix of a private temporary folder of this process (`prefix`, host, pid):
    what `remove_dead_folders` recognises once the process is gone."""
    return f"{prefix}{HOST}-{os.getpid()}-"


def remove_dead_folders(prefix: str, root: str | os.PathLike[str] | None = None) -> int:
    """Remove the folders in `root` (default: the temporary folder) named by `owned_prefix`
    for processes of this host that are gone (killed before they could clean up); the number
    removed. Anything else, a live process's or another host's, is left alone."""
    root = tempfile.gettempdir() if root is None else os.fspath(root)
    pattern = re.compile(re.escape(prefix) + r"(?P<host>.+)-(?P<pid>\d+)-[^-]+$")
    dead = [e for e in _dead_entries(root, pattern) if e.is_dir(follow_symlinks=False)]
    for entry in dead:
        shutil.rmtree(entry.path, ignore_errors=True)
    return len(dead)
