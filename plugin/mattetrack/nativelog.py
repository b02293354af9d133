"""Native libraries' own lines on stderr, filtered: libpng prints "libpng error: ..." before
OpenImageIO hands the same text back to us, so a damaged PNG would get two lines where our rule
is one. File descriptor 2, where C libraries write, goes through a pipe whose reader passes
everything on at once, byte for byte, except whole lines that start with one of `DROPPED`;
Python's own `sys.stderr` keeps writing to the real stderr (a terminal stays a terminal).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

DROPPED = (b"libpng error: ",)


def _pump(read_fd: int, out_fd: int) -> None:
    pending = b""  # the start of a line that may still turn out to be dropped
    while chunk := os.read(read_fd, 65536):
        data = pending + chunk
        pending = b""
        out = []
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            if end < 0:
                tail = data[start:]
                if any(d.startswith(tail) or tail.startswith(d) for d in DROPPED):
                    pending = tail  # undecided until the line ends
                else:
                    out.append(tail)
                break
            line = data[start:end + 1]
            if not line.startswith(DROPPED):
                out.append(line)
            start = end + 1
        if out:
            os.write(out_fd, b"".join(out))
    if pending and not pending.startswith(DROPPED):
        os.write(out_fd, pending)
    os.close(read_fd)


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Within: file descriptor 2 is filtered (see the module docstring); restored after."""
    try:
        original = os.dup(2)
        read_fd, write_fd = os.pipe()
    except OSError:
        yield
        return
    sys.stderr.flush()
    python_stderr = sys.stderr
    # Python's own writes keep the real stderr (a terminal stays a terminal: progress bars);
    # only what C libraries write to descriptor 2 goes through the filter.
    sys.stderr = open(os.dup(original), "w", buffering=1, encoding=python_stderr.encoding,  # noqa: SIM115
                      errors="backslashreplace")
    os.dup2(write_fd, 2)
    os.close(write_fd)
    pump = threading.Thread(target=_pump, args=(read_fd, original), daemon=True,
                            name="mattetrack-stderr")
    pump.start()
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
            sys.stderr.close()
        sys.stderr = python_stderr
        os.dup2(original, 2)  # the pipe's last writer gone: the pump reads to its end
        pump.join(5)
        os.close(original)
