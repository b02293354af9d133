"""TrackMemo: remembered per-frame tracks on disk, exact, damage-tolerant, within a size cap."""

import os
import time

import numpy as np

from mattetrack.memo import TrackMemo
from mattetrack.pngcodec import quantize16


def test_a_kept_track_reads_back_exactly_after_a_reopen(tmp_path):
    rng = np.random.default_rng(3)
    cov = quantize16(rng.random((24, 40)).astype(np.float32))
    memo = TrackMemo(tmp_path / "tracks", str)
    assert memo.get("a1") is None
    memo.put("a1", cov, 0.1 + 0.2)  # a confidence with no short decimal form
    memo.put("b2", np.zeros((24, 40), np.float32), 1.0)
    again = TrackMemo(tmp_path / "tracks", str)
    got, conf = again.get("a1")
    np.testing.assert_array_equal(got, cov)  # the value computed, bit for bit
    assert conf == 0.1 + 0.2
    assert (again.hits, again.misses, memo.puts) == (1, 0, 2)
    memo.put("a1", cov, 0.5)  # a newer value replaces the old file
    assert TrackMemo(tmp_path / "tracks", str).get("a1")[1] == 0.5
    assert len(list((tmp_path / "tracks").iterdir())) == 2
    assert not list(tmp_path.rglob(".*tmp*"))


def test_a_damaged_file_is_a_miss_and_goes(tmp_path):
    memo = TrackMemo(tmp_path, str)
    memo.put("k", np.ones((8, 8), np.float32), 0.75)
    (path,) = tmp_path.glob("k_*.png")
    path.write_bytes(b"\x89PNG truncated")
    again = TrackMemo(tmp_path, str)
    assert again.get("k") is None and not path.exists()


def test_trim_keeps_the_most_recently_used_within_the_cap(tmp_path):
    rng = np.random.default_rng(0)
    memo = TrackMemo(tmp_path, str, max_mb=1.0)
    for i in range(12):  # noise does not compress: ~130 KB each, ~1.5 MB in all
        memo.put(f"t{i}", rng.random((256, 256)).astype(np.float32), 1.0)
    old = time.time() - 100
    for path in tmp_path.iterdir():
        os.utime(path, (old, old))
    assert memo.get("t0") is not None  # read now: the most recently used
    removed = memo.trim()
    left = {p.name.split("_")[0] for p in tmp_path.iterdir()}
    assert removed > 0 and "t0" in left and len(left) == 12 - removed
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 2**20
    off = TrackMemo(tmp_path / "off", str, max_mb=0)  # a cap of 0 keeps nothing
    off.put("x", np.ones((4, 4), np.float32), 1.0)
    assert off.get("x") is None and not (tmp_path / "off").exists()
