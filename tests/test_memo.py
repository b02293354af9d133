"""TrackMemo: remembered per-frame tracks and flows on disk, exact, damage-tolerant, within a
size cap."""

import os
import time

import cv2
import numpy as np

from mattetrack.flowcodec import quantize_flow
from mattetrack.memo import TrackMemo
from mattetrack.pngcodec import quantize16


def test_a_kept_track_reads_back_exactly_after_a_reopen(tmp_path):
    rng = np.random.default_rng(3)
    cov = quantize16(rng.random((24, 40)).astype(np.float32))
    memo = TrackMemo(tmp_path / "tracks", str)
    assert memo.get("a1") is None
    memo.put("a1", cov, 0.1 + 0.2)  # a confidence with no short decimal form
    memo.put("b2", np.zeros((24, 40), np.float32), 1.0)
    memo.flush()
    again = TrackMemo(tmp_path / "tracks", str)
    got, conf = again.get("a1")
    np.testing.assert_array_equal(got, cov)  # the value computed, bit for bit
    assert conf == 0.1 + 0.2
    assert (again.hits, again.misses, memo.puts) == (1, 0, 2)
    memo.put("a1", cov, 0.5)  # a newer value replaces the old file
    memo.flush()
    assert TrackMemo(tmp_path / "tracks", str).get("a1")[1] == 0.5
    assert len(list((tmp_path / "tracks").iterdir())) == 2
    assert not list(tmp_path.rglob(".*tmp*"))


def test_a_damaged_file_is_a_miss_and_goes(tmp_path):
    memo = TrackMemo(tmp_path, str)
    memo.put("k", np.ones((8, 8), np.float32), 0.75)
    memo.flush()
    (path,) = tmp_path.glob("k_*.cov")
    path.write_bytes(b"\x89PNG truncated")
    again = TrackMemo(tmp_path, str)
    assert again.get("k") is None and not path.exists()


def test_trim_keeps_the_most_recently_used_within_the_cap(tmp_path):
    rng = np.random.default_rng(0)
    memo = TrackMemo(tmp_path, str, max_mb=1.0)
    for i in range(12):  # noise does not compress: ~130 KB each, ~1.5 MB in all
        memo.put(f"t{i}", rng.random((256, 256)).astype(np.float32), 1.0)
    memo.flush()
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


def test_a_kept_flow_is_the_flow_used_and_no_track(tmp_path):
    rng = np.random.default_rng(5)
    # Motion up to the grid's limit both ways, fine detail below a pixel.
    flow = quantize_flow(rng.normal(0.0, 40.0, (36, 64, 2)).astype(np.float32))
    flow[0, 0] = (511.0, -511.0)
    memo = TrackMemo(tmp_path, str)
    memo.put_flow("f", flow)
    flow_used = flow.copy()
    flow += 1.0  # the caller's array is not what is kept
    # Still on the writer or written: the same either way.
    got = memo.get_flow("f")
    np.testing.assert_array_equal(got, flow_used)
    got += 1.0  # nor is what a caller got
    flow = flow_used
    memo.flush()
    again = TrackMemo(tmp_path, str)
    np.testing.assert_array_equal(again.get_flow("f"), flow)
    assert again.get("f") is None and again.get_flow("nothing") is None  # no track under it
    memo.put("t", np.ones((4, 4), np.float32), 1.0)
    memo.flush()
    assert TrackMemo(tmp_path, str).get_flow("t") is None  # and no flow under a track
    assert (memo.flow_puts, memo.flow_hits, again.flow_hits) == (1, 1, 1)
    (path,) = tmp_path.glob("f.flow")
    path.write_bytes(path.read_bytes()[:100])  # damaged: a miss, and gone
    assert TrackMemo(tmp_path, str).get_flow("f") is None and not path.exists()
    # A flow an earlier version kept as a 16-bit PNG: a miss (computed again), and gone.
    old = tmp_path / "g_flow.png"
    old.write_bytes(cv2.imencode(".png", np.zeros((4, 4, 3), np.uint16))[1].tobytes())
    assert TrackMemo(tmp_path, str).get_flow("g") is None and not old.exists()
    # So is a track an earlier version kept as a 16-bit PNG.
    track = tmp_path / f"h_{'0' * 16}.png"
    track.write_bytes(cv2.imencode(".png", np.zeros((4, 4), np.uint16))[1].tobytes())
    assert TrackMemo(tmp_path, str).get("h") is None and not track.exists()


def test_a_kept_vector_reads_back_exactly_and_is_no_track_or_flow(tmp_path):
    rng = np.random.default_rng(7)
    sig = rng.normal(0.0, 1.0, 4656).astype(np.float32)
    memo = TrackMemo(tmp_path, str)
    assert memo.get_vector("s") is None
    memo.put_vector("s", sig)
    sig_used = sig.copy()
    sig += 1.0  # the caller's array is not what is kept
    np.testing.assert_array_equal(memo.get_vector("s"), sig_used)  # pending or written
    memo.flush()
    again = TrackMemo(tmp_path, str)
    got = again.get_vector("s")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, sig_used)  # bit for bit
    assert again.get("s") is None and again.get_flow("s") is None
    memo.put("t", np.ones((4, 4), np.float32), 1.0)
    memo.put_flow("f", np.zeros((4, 4, 2), np.float32))
    memo.flush()
    assert again.get_vector("t") is None and TrackMemo(tmp_path, str).get_vector("f") is None
    (path,) = tmp_path.glob("s.vec")
    path.write_bytes(path.read_bytes()[:-4])  # damaged (short): a miss, and gone
    assert TrackMemo(tmp_path, str).get_vector("s") is None and not path.exists()


def test_a_memo_that_cannot_write_keeps_nothing_and_raises_nothing(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    memo = TrackMemo(blocked / "tracks", str)
    for i in range(20):
        memo.put(f"k{i}", np.ones((8, 8), np.float32), 1.0)
    memo.flush()
    assert memo.get("k19") is None and memo.trim() == 0


def test_the_writer_stops_when_idle_and_starts_again(tmp_path):
    """A service makes a memo per run: its writer thread must not outlive the writes."""
    import threading

    def writers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "mattetrack-memo"}

    others = writers()  # earlier tests' writers, stopping on their own
    memo = TrackMemo(tmp_path, str)
    for round_ in range(2):
        memo.put(f"k{round_}", np.ones((8, 8), np.float32), 1.0)
        (ours,) = writers() - others
        memo.flush()
        ours.join(timeout=5.0)
        assert not ours.is_alive()
    again = TrackMemo(tmp_path, str)
    assert again.get("k0") is not None and again.get("k1") is not None
