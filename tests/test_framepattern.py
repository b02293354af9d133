"""FramePattern: parsing `####` / `%0Nd` tokens, writing frame paths, scanning the disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mattetrack.framepattern import FramePattern


@pytest.mark.parametrize(
    ("text", "head", "padding", "tail"),
    [
        ("plate.####.exr", "plate.", 4, ".exr"),
        ("plate.%04d.exr", "plate.", 4, ".exr"),
        ("frames/%05d.jpg", "frames/", 5, ".jpg"),
        ("out/mattes_#.png", "out/mattes_", 1, ".png"),
        ("plate.%d.dpx", "plate.", 0, ".dpx"),
        ("/abs/dir/shot_v002.########.exr", "/abs/dir/shot_v002.", 8, ".exr"),
    ],
)
def test_parse(text: str, head: str, padding: int, tail: str) -> None:
    assert FramePattern.parse(text) == FramePattern(head, padding, tail)


def test_parse_without_token_is_none() -> None:
    assert FramePattern.parse("plate.1001.exr") is None
    assert FramePattern.parse("movie.mov") is None


def test_only_the_file_name_holds_the_token() -> None:
    pattern = FramePattern.parse("renders/#3/plate.%04d.exr")
    assert pattern == FramePattern("renders/#3/plate.", 4, ".exr")
    assert FramePattern.parse("renders/#3/plate.exr") is None


def test_two_tokens_are_an_error() -> None:
    with pytest.raises(ValueError, match="more than one"):
        FramePattern.parse("plate.####.%04d.exr")


def test_path() -> None:
    pattern = FramePattern.parse("shots/plate.####.exr")
    assert pattern.path(1001) == "shots/plate.1001.exr"
    assert pattern.path(7) == "shots/plate.0007.exr"
    assert pattern.path(12345) == "shots/plate.12345.exr"  # wider than the padding: all digits
    assert pattern.path(-3) == "shots/plate.-0003.exr"
    assert FramePattern.parse("p.%d.png").path(7) == "p.7.png"
    assert FramePattern.parse("%05d.jpg").path(0) == "00000.jpg"


def test_directory_and_str() -> None:
    assert FramePattern.parse("plate.####.exr").directory == "."
    assert FramePattern.parse("a/b/plate.%04d.exr").directory == "a/b"
    assert str(FramePattern.parse("a/plate.%04d.exr")) == "a/plate.####.exr"
    # str() re-parses to a pattern writing the same names.
    for text in ("a/plate.%04d.exr", "p.%d.png", "x_##.tif"):
        pattern = FramePattern.parse(text)
        again = FramePattern.parse(str(pattern))
        assert [again.path(f) for f in (0, 7, 1001)] == [pattern.path(f) for f in (0, 7, 1001)]


def touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(b"")


def test_scan_finds_frames_sorted(tmp_path: Path) -> None:
    touch(tmp_path, "plate.1003.exr", "plate.1001.exr", "plate.1002.exr")
    touch(tmp_path, "plate.1001.exr.tmp", "plate.1001.jpg", "other.1001.exr", "plate.abcd.exr")
    found = FramePattern.parse(str(tmp_path / "plate.####.exr")).scan()
    assert list(found) == [1001, 1002, 1003]
    assert found[1002] == str(tmp_path / "plate.1002.exr")


def test_scan_padding_must_match(tmp_path: Path) -> None:
    touch(tmp_path, "p.0001.exr", "p.01.exr", "p.10000.exr", "p.1.exr")
    assert list(FramePattern.parse(str(tmp_path / "p.####.exr")).scan()) == [1, 10000]
    # Numbers wider than the padding are written in full, so 10000 fits every padding up to 5.
    assert list(FramePattern.parse(str(tmp_path / "p.##.exr")).scan()) == [1, 10000]
    assert list(FramePattern.parse(str(tmp_path / "p.%d.exr")).scan()) == [1, 10000]


def test_scan_negative_frames(tmp_path: Path) -> None:
    touch(tmp_path, "p.-0002.exr", "p.-0001.exr", "p.0000.exr", "p.0001.exr")
    assert list(FramePattern.parse(str(tmp_path / "p.####.exr")).scan()) == [-2, -1, 0, 1]


def test_scan_relative_pattern(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path, "00000.jpg", "00001.jpg")
    monkeypatch.chdir(tmp_path)
    assert FramePattern.parse("%05d.jpg").scan() == {0: "00000.jpg", 1: "00001.jpg"}
    os.mkdir("sub")
    touch(tmp_path / "sub", "f_01.png")
    assert FramePattern.parse("sub/f_##.png").scan() == {1: os.path.join("sub", "f_01.png")}


def test_scan_missing_folder_is_empty(tmp_path: Path) -> None:
    assert FramePattern.parse(str(tmp_path / "nope" / "p.####.exr")).scan() == {}
