"""ResultStore: per-object per-frame coverage on disk, atomic, reopened by a later run."""

import numpy as np
import pytest

from mattetrack.errors import MatteTrackError
from mattetrack.store import ResultStore


def test_put_get_roundtrip_and_reopen(tmp_path):
    rng = np.random.default_rng(1)
    cov = rng.random((30, 40)).astype(np.float32)
    store = ResultStore(tmp_path / "s", 40, 30)
    store.set_object(1, "dog")
    store.set_object(7, "ball")
    store.put(1, 1001, cov)
    store.put(1, 1003, cov * 0.5)
    store.put(7, -2, np.ones((30, 40), np.float32))
    np.testing.assert_allclose(store.get(1, 1001), cov, atol=1 / 65535)
    assert store.get(1, 1002) is None
    assert store.frames(1) == [1001, 1003]
    assert store.frames(7) == [-2]

    again = ResultStore(tmp_path / "s", 40, 30)
    assert again.objects == {1: "dog", 7: "ball"}
    np.testing.assert_allclose(again.get(1, 1003), cov * 0.5, atol=1 / 65535)
    # No temporary files are left behind.
    assert not list((tmp_path / "s").rglob(".*tmp*"))


def test_store_refuses_other_shot_size(tmp_path):
    ResultStore(tmp_path, 40, 30)
    with pytest.raises(MatteTrackError, match="40x30 shot"):
        ResultStore(tmp_path, 64, 30)


def test_remove_object_deletes_results(tmp_path):
    store = ResultStore(tmp_path, 4, 3)
    store.set_object(2, "a")
    store.put(2, 0, np.zeros((3, 4), np.float32))
    store.remove_object(2)
    assert store.frames(2) == []
    assert store.objects == {}
    # The same store object takes the object back: its folder is made again (it makes each
    # folder once per run, so removing one must forget that it made it).
    store.set_object(2, "a")
    store.put(2, 1, np.ones((3, 4), np.float32))
    assert store.frames(2) == [1]
    assert np.array_equal(store.get(2, 1), np.ones((3, 4), np.float32))


def test_damaged_result_is_reported(tmp_path):
    store = ResultStore(tmp_path, 4, 3)
    store.put(1, 5, np.zeros((3, 4), np.float32), "abc", 0.5)
    path = store.lookup(1, 5).path
    path.write_bytes(b"not a png")
    with pytest.raises(MatteTrackError, match="5_abc"):
        store.get(1, 5)


def test_an_earlier_versions_png_result_is_read_and_replaced(tmp_path):
    """Results kept as 16-bit PNGs by an earlier version are still reused; a new result of the
    frame replaces the file."""
    import cv2

    store = ResultStore(tmp_path, 4, 3)
    store.set_object(1, "dog")
    old = store._folder(1) / "7_k1_5000.png"
    old.parent.mkdir()
    values = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    cv2.imwrite(str(old), values)
    again = ResultStore(tmp_path, 4, 3)
    assert again.lookup(1, 7).key == "k1" and again.lookup(1, 7).confidence == 0.5
    np.testing.assert_array_equal(again.get(1, 7, "k1"), values / np.float32(65535.0))
    again.put(1, 7, np.ones((3, 4), np.float32), "k2")
    assert not old.exists() and again.lookup(1, 7).path.suffix == ".cov"
    np.testing.assert_array_equal(ResultStore(tmp_path, 4, 3).get(1, 7, "k2"), 1.0)
    # So are its bases (the matte a correction corrects: an input, it must not be lost).
    cv2.imwrite(str(old.parent / "base_9.png"), values)
    assert again.base_frames(1) == [9]
    np.testing.assert_array_equal(again.get_base(1, 9), values / np.float32(65535.0))
    again.put_base(1, 9, np.zeros((3, 4), np.float32))
    assert sorted(p.name for p in old.parent.glob("base_*")) == ["base_9.cov"]
    assert again.base_frames(1) == [9] and not again.get_base(1, 9).any()


def test_results_are_keyed_and_one_is_kept_per_frame(tmp_path):
    store = ResultStore(tmp_path, 4, 3)
    store.set_object(1, "dog")
    store.put(1, 7, np.full((3, 4), 0.25, np.float32), "k1", 0.75)
    assert store.get(1, 7, "k2") is None  # made by something else: not reusable
    np.testing.assert_allclose(store.get(1, 7, "k1"), 0.25, atol=1e-4)
    store.put(1, 7, np.ones((3, 4), np.float32), "k2", None)
    assert store.get(1, 7, "k1") is None
    assert len(list(store.lookup(1, 7).path.parent.glob("7_*.cov"))) == 1
    again = ResultStore(tmp_path, 4, 3)
    stored = again.lookup(1, 7)
    assert stored.key == "k2" and stored.confidence is None
    again.put(1, 8, np.ones((3, 4), np.float32), "k3", 0.3333)
    assert ResultStore(tmp_path, 4, 3).lookup(1, 8).confidence == pytest.approx(0.3333)
    with pytest.raises(ValueError, match="letters and digits"):
        store.put(1, 9, np.ones((3, 4), np.float32), "a_b")


def test_results_follow_the_object_name_not_its_id(tmp_path):
    store = ResultStore(tmp_path, 4, 3)
    store.set_object(1, "dog")
    store.put(1, 0, np.ones((3, 4), np.float32), "x")
    # A later run numbers the objects differently: "dog" is object 2 now.
    again = ResultStore(tmp_path, 4, 3)
    again.set_object(1, "cat")
    again.set_object(2, "dog")
    assert again.frames(2) == [0] and again.frames(1) == []
    assert again.objects == {1: "cat", 2: "dog"}


def test_bases_and_selections(tmp_path):
    store = ResultStore(tmp_path, 4, 3)
    store.set_object(3, "a")
    base = np.full((3, 4), 0.5, np.float32)
    store.put_base(3, 12, base)
    assert store.base_frames(3) == [12]
    np.testing.assert_allclose(store.get_base(3, 12), 0.5, atol=1e-4)
    store.drop_base(3, 12)
    assert store.base_frames(3) == [] and store.get_base(3, 12) is None
    store.put_selection("s1", base)
    np.testing.assert_allclose(ResultStore(tmp_path, 4, 3).get_selection("s1"), 0.5, atol=1e-4)
    assert store.get_selection("s2") is None


def test_a_store_of_another_format_is_refused(tmp_path):
    (tmp_path / "store.json").write_text('{"version": 1, "width": 4, "height": 3, "objects": {}}')
    with pytest.raises(MatteTrackError, match="format 1"):
        ResultStore(tmp_path, 4, 3)


def test_a_killed_writers_temporary_files_go_and_live_ones_stay(tmp_path):
    """kill -9 between a write and its rename leaves `.<name>.tmp-<host>-<pid>`: the next store
    opened there removes those of dead processes of this host, not a live writer's nor another
    host's (a farm sharing the folder)."""
    import subprocess
    import sys

    from mattetrack.atomicfile import temp_path

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    (tmp_path / "o1").mkdir()
    live = temp_path(tmp_path / "o1" / "00003.png")  # ours: alive
    stale = live.with_name(live.name.rsplit("-", 1)[0] + f"-{pid}")
    stale_exr = stale.with_name(stale.name + ".4711")  # a writer thread's
    elsewhere = tmp_path / "o1" / f".00004.png.tmp-another-host-{pid}"
    for path in (live, stale, stale_exr, elsewhere):
        path.write_bytes(b"half")
    ResultStore(tmp_path, 8, 8)
    assert live.exists() and elsewhere.exists()
    assert not stale.exists() and not stale_exr.exists()
