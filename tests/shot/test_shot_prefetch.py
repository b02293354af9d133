"""Shot read-ahead: direction detection, the depth bound, hints, errors, threads, close."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mattetrack.errors import InputError
from mattetrack.shot import Shot, imagefile

N = 12


@pytest.fixture
def seq(sequence_writer: Callable[..., Path]) -> Path:
    frames = {f: np.full((8, 10, 3), f / 20.0, np.float32) for f in range(N)}
    return sequence_writer("p.{:04d}.exr", frames, "half")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """(frame, thread name) of every pixel read, in order."""
    log: list[tuple[int, str]] = []
    real = imagefile.read

    def read(header: imagefile.ImageHeader, with_alpha: bool = False, **kw) -> np.ndarray:
        log.append((int(header.path[-8:-4]), threading.current_thread().name))
        return real(header, with_alpha, **kw)

    monkeypatch.setattr(imagefile, "read", read)
    return log


def settle(shot: Shot) -> None:
    """Wait until the read-ahead threads have run everything queued so far (several workers:
    until nothing is queued or being read)."""
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        with shot._lock:
            if not shot._queued and not shot._loading:
                return
        time.sleep(0.002)
    raise AssertionError("the read-ahead did not settle in 10 s")


def test_forward_access_reads_ahead_up_to_the_depth(seq: Path, reads: list) -> None:
    with Shot.open(str(seq / "p.####.exr"), prefetch=2, cache_size=8) as shot:
        shot.image(0)
        settle(shot)
        assert [f for f, _ in reads] == [0]  # one access gives no direction: nothing ahead
        shot.image(1)
        settle(shot)
        assert sorted(f for f, _ in reads) == [0, 1, 2, 3]  # two ahead, not three
        # Read ahead on the read-ahead threads: as many as the depth and the cores allow.
        threads = {t for f, t in reads if f in (2, 3)}
        assert all(t.startswith("mattetrack-read_") for t in threads)
        assert len(shot._pool._threads) == min(2, os.cpu_count() or 1)
        for f in range(2, N):
            shot.image(f)
        settle(shot)
        assert sorted(f for f, _ in reads) == list(range(N))  # every frame read exactly once
        assert shot.stats.frames_read == N


def test_backward_access_reads_ahead_backwards(seq: Path, reads: list) -> None:
    with Shot.open(str(seq / "p.####.exr"), prefetch=3) as shot:
        shot.image(9)
        shot.image(8)
        settle(shot)
        assert sorted(f for f, _ in reads) == [5, 6, 7, 8, 9]


def test_read_ahead_pixels_equal_direct_reads(seq: Path) -> None:
    with Shot.open(str(seq), prefetch=0) as plain, Shot.open(str(seq), prefetch=3) as ahead:
        for f in range(N):
            np.testing.assert_array_equal(ahead.image(f), plain.image(f))
            assert not ahead.image(f).flags.writeable


def test_jumps_read_nothing_ahead(seq: Path, reads: list) -> None:
    with Shot.open(str(seq), prefetch=2) as shot:
        for f in (0, 5, 2, 9):
            shot.image(f)
        settle(shot)
        assert [f for f, _ in reads] == [0, 5, 2, 9]


def test_prefetch_hint_reads_in_the_background(seq: Path, reads: list) -> None:
    with Shot.open(str(seq), prefetch=2) as shot:
        shot.prefetch([7, 3, 4, 99])  # unknown frames are ignored; at most 2 in flight
        settle(shot)
        assert sorted(f for f, _ in reads) == [3, 7]  # in parallel: in any order
        assert all(t.startswith("mattetrack-read_") for _, t in reads)
        hits = shot.stats.hits
        shot.image(7)
        assert shot.stats.hits == hits + 1 and len(reads) == 2


def test_memory_is_bounded_by_cache_and_depth(seq: Path) -> None:
    with Shot.open(str(seq), prefetch=2, cache_size=3) as shot:
        for f in range(N):
            shot.image(f)
            settle(shot)
            assert len(shot._cache) <= 3 and len(shot._loading) == 0


def test_depth_never_exceeds_the_cache(seq: Path) -> None:
    with Shot.open(str(seq), prefetch=10, cache_size=4) as shot:
        assert shot._depth == 3  # read-ahead beyond the cache would evict what it read


def test_a_damaged_frame_read_ahead_fails_when_asked_for(seq: Path, reads: list) -> None:
    (seq / "p.0003.exr").write_bytes(b"not an exr at all")
    with Shot.open(str(seq), prefetch=2) as shot:
        shot.image(1)
        shot.image(2)  # reads 3 and 4 ahead; 3 fails in the background, silently
        settle(shot)
        with pytest.raises(InputError, match=r"p\.0003\.exr"):
            shot.image(3)
        with pytest.raises(InputError, match=r"p\.0003\.exr"):
            shot.image(3)  # not cached as a failure for good: read again, fails again
        np.testing.assert_allclose(shot.image(4), shot.image(4))


def test_concurrent_callers_read_each_frame_once(seq: Path, reads: list) -> None:
    with Shot.open(str(seq), prefetch=2, cache_size=N) as shot:
        results: dict[int, list[np.ndarray]] = {f: [] for f in range(N)}

        def worker() -> None:
            for f in range(N):
                results[f].append(shot.image(f))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(f for f, _ in reads) == list(range(N))
        for images in results.values():
            assert all(img is images[0] for img in images)  # the one cached array


def test_close_stops_the_read_ahead(seq: Path, reads: list) -> None:
    shot = Shot.open(str(seq), prefetch=2)
    shot.image(0)
    shot.image(1)
    shot.close()
    count = len(reads)
    shot.prefetch([8, 9])
    assert len(reads) == count and shot._pool is not None
    shot.image(5)  # reading on demand still works
