"""Disk errors end in one line naming the file, exit 2, with nothing half-written left: outputs or
the result store on a full disk (a tmpfs of 40 or 300 KB), a store on a read-only file system.

Mounting needs root (CAP_SYS_ADMIN); where the test cannot mount it says so and skips."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def shot(png_plate) -> Path:
    return png_plate(20, 480, 270, seed=5)


@contextlib.contextmanager
def _tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir()
    got = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                         capture_output=True, text=True)
    if got.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({got.stderr.strip() or got.returncode})")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def _track(shot: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mattetrack", "track", str(shot / "p.####.png"),
                           "--mask", f"1001:{shot / 'mask.png'}", "-q", *args],
                          capture_output=True, text=True, timeout=120)


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if ".tmp-" in p.name or p.name.endswith("-lock")]


def test_outputs_on_a_full_disk(shot, tmp_path):
    with _tmpfs(tmp_path / "full", "size=40k") as disk:
        got = _track(shot, "-o", str(disk / "out" / "m.####.exr"))
        assert got.returncode == 2 and got.stderr.count("\n") == 1, got.stderr
        assert "No space left on device" in got.stderr and str(disk / "out") in got.stderr
        assert _temps(disk) == []


def test_the_result_store_on_a_full_disk(shot, tmp_path):
    with _tmpfs(tmp_path / "full", "size=300k") as disk:
        got = _track(shot, "-o", str(tmp_path / "out" / "m.####.exr"), "--store",
                     str(disk / "store"))
        assert got.returncode == 2 and got.stderr.count("\n") == 1, got.stderr
        assert got.stderr.startswith(f"mattetrack: error: {disk / 'store'}")
        assert "No space left on device" in got.stderr and "Traceback" not in got.stderr
        assert _temps(disk) == [] and _temps(tmp_path / "out") == []


def test_a_store_on_a_read_only_file_system(shot, tmp_path):
    with _tmpfs(tmp_path / "ro", "size=1m,ro") as disk:
        got = _track(shot, "-o", str(tmp_path / "out" / "m.####.exr"), "--store",
                     str(disk / "store"))
        assert got.returncode == 2 and got.stderr.count("\n") == 1, got.stderr
        assert f"{disk / 'store'}: cannot use as a result store (Read-only file system)" in (
            got.stderr)
        assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
