"""removal/report.py: the invented share of a hole, the report made of them, and the shares
kept beside the files (a damaged or stale record is no share, never an error)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mattetrack.removal.report import SHARES_NAME, InventedShares, invented_share, removal_report


def test_the_share_is_the_unseen_part_of_the_hole() -> None:
    hole = np.zeros((10, 10), bool)
    hole[2:6, 2:6] = True  # 16 px
    unseen = np.zeros_like(hole)
    unseen[2:4, 2:6] = True  # 8 of them
    unseen[9, 9] = True  # outside the hole: not counted
    assert invented_share(hole, unseen) == 0.5
    assert invented_share(np.zeros_like(hole), unseen) == 0.0


def test_the_report_suggests_the_frames_with_most_invented() -> None:
    shares = {f: 0.0 for f in range(1001, 1021)}
    shares.update({1004: 0.6, 1005: 0.5, 1015: 0.9})
    doc = removal_report("boom_clean", shares, list(range(1001, 1021)))
    entry = doc["objects"][0]
    assert doc["frames"] == [1001, 1020] and entry["name"] == "boom_clean"
    assert entry["confidence"]["1015"] == 0.1 and entry["confidence"]["1001"] == 1.0
    assert entry["suggested"] == [1015, 1004]  # 1005 is 1004's neighbour: one paint covers it


def test_shares_are_kept_by_key_and_merged_with_another_runs(tmp_path: Path) -> None:
    one = InventedShares(str(tmp_path))
    other = InventedShares(str(tmp_path))
    one.record(str(tmp_path / "c.0001.exr"), "k1", 0.25)
    one.save()
    other.record(str(tmp_path / "c.0002.exr"), "k1", 0.5)
    other.save()  # re-reads first: the first run's record stays
    again = InventedShares(str(tmp_path))
    assert again.get(str(tmp_path / "c.0001.exr"), "k1") == 0.25
    assert again.get(str(tmp_path / "c.0002.exr"), "k1") == 0.5
    assert again.get(str(tmp_path / "c.0001.exr"), "k2") is None  # written for other inputs
    (tmp_path / SHARES_NAME).write_text("{not json")
    assert InventedShares(str(tmp_path)).get(str(tmp_path / "c.0001.exr"), "k1") is None
