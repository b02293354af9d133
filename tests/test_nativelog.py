"""The stderr filter: libpng's own error lines dropped, everything else passed on at once."""

from __future__ import annotations

import contextlib
import os
import threading
import time

from mattetrack.nativelog import _pump


def _through(chunks: list[bytes]) -> tuple[bytes, list[bytes]]:
    """What the pump passes on for `chunks` written one by one, and what had come out after
    each write (a progress bar must not wait for a newline)."""
    src_r, src_w = os.pipe()
    out_r, out_w = os.pipe()
    pump = threading.Thread(target=_pump, args=(src_r, out_w))
    pump.start()
    seen = []
    os.set_blocking(out_r, False)
    got = b""
    for chunk in chunks:
        os.write(src_w, chunk)
        time.sleep(0.05)
        with contextlib.suppress(BlockingIOError):
            got += os.read(out_r, 65536)
        seen.append(got)
    os.close(src_w)
    pump.join(5)
    os.close(out_w)
    os.set_blocking(out_r, True)
    while chunk := os.read(out_r, 65536):
        got += chunk
    os.close(out_r)
    return got, seen


def test_libpng_error_lines_are_dropped_even_split_across_writes():
    got, _ = _through([b"libpng err", b"or: IDAT: bad\nmattetrack: error: p.png: bad\n"])
    assert got == b"mattetrack: error: p.png: bad\n"


def test_everything_else_passes_at_once_progress_bars_included():
    got, seen = _through([b"tracking:  10%\r", b"tracking:  20%\r", b"libpng warning: x\n",
                          b"lib", b"rary\n"])
    assert seen[0] == b"tracking:  10%\r" and seen[1].endswith(b"20%\r")
    assert got == b"tracking:  10%\rtracking:  20%\rlibpng warning: x\nlibrary\n"
