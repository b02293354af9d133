"""The allocator settings (memorytuning.py): big frames' memory is reused, not mapped afresh."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
import numpy as np
from mattetrack.memorytuning import keep_big_allocations
tuned = sys.argv[1] == "tuned" and keep_big_allocations()

def big_maps():
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            if line.rstrip().endswith("[heap]"):  # the heap growing is what is wanted
                continue
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if hi - lo >= 90 << 20:
                out.append(lo)
    return out

before = big_maps()
seen = set()
for _ in range(3):
    a = np.ones((2160, 3840, 3), np.float32)  # 100 MB, a 4K float frame
    seen.update(set(big_maps()) - set(before))
    del a
print(tuned, len(seen))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_big_arrays_come_from_the_heap_once_tuned() -> None:
    def probe(mode: str) -> tuple[str, int]:
        out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True,
                             text=True, check=True).stdout.split()
        return out[0], int(out[1])

    tuned, maps_tuned = probe("tuned")
    _, maps_plain = probe("plain")
    assert tuned == "True"
    assert maps_plain >= 1  # glibc maps each 100 MB array on its own (and unmaps it on free)
    assert maps_tuned == 0  # tuned: they come from the heap, and freed memory is reused
