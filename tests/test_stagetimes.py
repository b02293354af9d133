"""Stage seconds (stagetimes.py): summed over threads, and the process's age read from the OS."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from mattetrack import stagetimes


def test_timed_blocks_add_up_across_threads() -> None:
    before = stagetimes.totals().get("test-stage", 0.0)

    def work() -> None:
        with stagetimes.timed("test-stage"):
            time.sleep(0.05)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spent = stagetimes.totals()["test-stage"] - before
    assert 0.15 <= spent < 0.5  # three overlapping 50 ms blocks count three times


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_since_process_start_is_the_processes_age() -> None:
    now = time.perf_counter()
    age = stagetimes.since_process_start(now)
    assert age is not None and age > 0
    # A second later the same mark is as old, not older: it is a point in time.
    later = stagetimes.since_process_start(now)
    assert later is not None and abs(later - age) < 0.05
    assert stagetimes.since_process_start(now - 1.0) == pytest.approx(age - 1.0, abs=0.05)
