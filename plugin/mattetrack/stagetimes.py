"""Seconds spent per named stage of a run, summed over the threads that do the work, for
`--timings` and the speed benchmarks (`tests/benchmarks/speed_vs_warp.py`).

Stages that are not the shot's reads or the writer's: "flow" (optical flow), "confidence"
(each step's flow reliability: colour and forward-backward checks), "edges" (the full-resolution
edge refinement). Two perf_counter calls per timed call: nothing next to the work timed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_totals: dict[str, float] = {}


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Adds the seconds the block takes to `stage`'s total."""
    started = time.perf_counter()
    try:
        yield
    finally:
        spent = time.perf_counter() - started
        with _lock:
            _totals[stage] = _totals.get(stage, 0.0) + spent


def reset() -> None:
    """Starts every stage from 0 (a run's `--timings` are its own)."""
    with _lock:
        _totals.clear()


def totals() -> dict[str, float]:
    """{stage: seconds} so far in this process."""
    with _lock:
        return dict(_totals)


def since_process_start(at: float) -> float | None:
    """Seconds from this process's start (the OS's record, so the interpreter's own start-up
    counts) to `at`, a time.perf_counter() value; None where the OS does not say (not Linux)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start, ticks since boot
        now = time.clock_gettime(time.CLOCK_BOOTTIME)
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return now - started - (time.perf_counter() - at)
