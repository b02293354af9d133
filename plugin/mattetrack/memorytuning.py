"""The C allocator told to keep big frames' memory for reuse (glibc only; elsewhere nothing).

glibc serves every allocation over 32 MB (its mmap threshold's ceiling) with a fresh mmap and
unmaps it on free, so each 4K float frame, and each 100 MB temporary numpy makes of one, starts
as untouched pages: the kernel faults in and zeroes 25,000 pages again every frame (measured
180 ms for one 100 MB array on this kind of VM, 7 ms once the memory is reused). With mmap off
(M_MMAP_MAX 0) and the heap trimmed only past 1 GiB free at its top, freed frames are reused:
40 frames of a 4K EXR track 16.5 -> 11.5 s, peak RSS 2.04 -> 2.29 GB (docs/tuning.md,
"Speed: 4K"). Memory stays bounded by the caches' configuration, as before: nothing is kept
that was not in use at the peak.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
TRIM_BYTES = 1 << 30


def keep_big_allocations() -> bool:
    """Applies the settings to this process; whether they took (glibc on Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        # The process's own symbols (libc's among them): ctypes.util.find_library would run
        # ldconfig, 7 ms of start-up.
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_BYTES))
