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


def test_damaged_result_is_reported(tmp_path):
    store = ResultStore(tmp_path, 4, 3)
    store.put(1, 5, np.zeros((3, 4), np.float32))
    (tmp_path / "1" / "5.png").write_bytes(b"not a png")
    with pytest.raises(MatteTrackError, match="5.png"):
        store.get(1, 5)
