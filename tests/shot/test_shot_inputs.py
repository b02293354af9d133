"""Shot.open inputs: patterns, folders, single files, frame ranges, gaps, frame checks, cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import mattetrack.shot.imagefile as imagefile
from mattetrack.errors import InputError
from mattetrack.shot import Shot


def frame_pixels(frame: int, h: int = 6, w: int = 8) -> np.ndarray:
    """A flat frame whose value encodes the frame number (in 8-bit steps)."""
    return np.full((h, w, 3), (frame % 50) * 5 / 255, np.float32)


def frame_of(image: np.ndarray) -> int:
    return round(float(image[0, 0, 0]) * 255 / 5)


@pytest.fixture
def png_seq(sequence_writer: Callable[..., Path]) -> Path:
    """Folder with plate.0001.png .. plate.0010.png."""
    return sequence_writer("plate.{:04d}.png", {f: frame_pixels(f) for f in range(1, 11)}, "uint8")


@pytest.mark.parametrize("pattern", ["plate.####.png", "plate.%04d.png"])
def test_pattern(png_seq: Path, pattern: str) -> None:
    shot = Shot.open(str(png_seq / pattern))
    assert shot.frames == list(range(1, 11))
    assert (shot.width, shot.height) == (8, 6)
    assert shot.path == str(png_seq / pattern)
    assert shot.file(7) == str(png_seq / "plate.0007.png")
    assert not shot.is_movie
    for f in (1, 7, 10):
        assert frame_of(shot.image(f)) == f


def test_folder(png_seq: Path) -> None:
    (png_seq / "notes.txt").write_text("not a frame")
    (png_seq / "._plate.0003.png").write_bytes(b"macOS resource fork")
    shot = Shot.open(str(png_seq))
    assert shot.frames == list(range(1, 11))
    assert frame_of(shot.image(4)) == 4


def test_folder_unpadded_frames(sequence_writer: Callable[..., Path]) -> None:
    folder = sequence_writer("f{}.png", {f: frame_pixels(f) for f in (8, 9, 10, 11)}, "uint8")
    shot = Shot.open(str(folder))
    assert shot.frames == [8, 9, 10, 11]
    assert shot.file(10) == str(folder / "f10.png")


def test_folder_with_two_sequences_is_ambiguous(png_seq: Path) -> None:
    (png_seq / "other.0001.png").write_bytes((png_seq / "plate.0001.png").read_bytes())
    with pytest.raises(InputError, match="several sequences"):
        Shot.open(str(png_seq))


def test_folder_without_sequence(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(InputError, match="no numbered image sequence"):
        Shot.open(str(tmp_path))


@pytest.mark.parametrize(("name", "frame"), [
    ("plate.1001.png", 1001), ("00017.png", 17), ("shot_0042.png", 42),
    ("t03.png", 3), ("Carrots.png", 0),
])
def test_single_file_frame_number(
    tmp_path: Path, image_writer: Callable[..., Path], name: str, frame: int
) -> None:
    path = image_writer(tmp_path / name, frame_pixels(3), "uint8")
    shot = Shot.open(str(path))
    assert shot.frames == [frame]
    assert shot.file(frame) == str(path)
    assert frame_of(shot.image(frame)) == 3


def test_frame_range(png_seq: Path) -> None:
    shot = Shot.open(str(png_seq / "plate.####.png"), frame_range=(3, 5))
    assert shot.frames == [3, 4, 5]
    # A range reaching past the sequence keeps the frames that exist.
    assert Shot.open(str(png_seq), frame_range=(8, 100)).frames == [8, 9, 10]
    with pytest.raises(InputError, match="no frames in --range 20-30"):
        Shot.open(str(png_seq), frame_range=(20, 30))
    with pytest.raises(InputError, match="first frame is after the last"):
        Shot.open(str(png_seq), frame_range=(5, 3))


def test_missing_frame_in_the_middle(png_seq: Path) -> None:
    (png_seq / "plate.0005.png").unlink()
    (png_seq / "plate.0007.png").unlink()
    with pytest.raises(InputError) as info:
        Shot.open(str(png_seq / "plate.####.png"))
    assert str(info.value).startswith(str(png_seq / "plate.0005.png"))
    with pytest.raises(InputError, match=r"plate\.0005\.png"):
        Shot.open(str(png_seq))
    # A range that avoids the gap is fine.
    assert Shot.open(str(png_seq), frame_range=(1, 4)).frames == [1, 2, 3, 4]


def test_nothing_matches(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no files match"):
        Shot.open(str(tmp_path / "plate.####.exr"))
    with pytest.raises(InputError, match="does not exist"):
        Shot.open(str(tmp_path / "nope" / "plate.####.exr"))
    with pytest.raises(InputError, match="no such file or folder"):
        Shot.open(str(tmp_path / "plate.exr"))


def test_check_frame(png_seq: Path) -> None:
    shot = Shot.open(str(png_seq))
    shot.check_frame(5)
    with pytest.raises(InputError, match=r"^frame 12 is not in the shot \(frames 1-10\)$"):
        shot.check_frame(12)
    for call in (shot.image, shot.file, shot.data_window):
        with pytest.raises(InputError, match="frame 0 is not in the shot"):
            call(0)


def test_images_are_read_only_and_cached(png_seq: Path) -> None:
    shot = Shot.open(str(png_seq))
    image = shot.image(2)
    assert not image.flags.writeable
    with pytest.raises(ValueError):
        image[0, 0, 0] = 1.0
    assert shot.image(2) is image


def test_cache_is_bounded(png_seq: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    real_read = imagefile.read

    def counting_read(header: imagefile.ImageHeader, with_alpha: bool = False) -> np.ndarray:
        reads.append(header.path)
        return real_read(header, with_alpha)

    monkeypatch.setattr(imagefile, "read", counting_read)
    shot = Shot.open(str(png_seq), cache_size=3, prefetch=0)  # the LRU alone
    assert reads == []  # opening reads no pixels
    for f in (1, 2, 3, 1, 2, 3):
        shot.image(f)
    assert len(reads) == 3
    shot.image(4)  # evicts 1, the least recently used
    shot.image(3)
    assert len(reads) == 4
    shot.image(1)
    assert len(reads) == 5
    assert len(shot._cache) == 3
    for f in shot.frames:
        shot.image(f)
    assert len(shot._cache) == 3

    uncached = Shot.open(str(png_seq), cache_size=0)
    reads.clear()
    uncached.image(1)
    uncached.image(1)
    assert len(reads) == 2


def test_display_window_size_must_not_change(
    sequence_writer: Callable[..., Path], image_writer: Callable[..., Path]
) -> None:
    folder = sequence_writer("p.{:04d}.exr", {f: frame_pixels(f) for f in (1, 2, 3)}, "half")
    image_writer(folder / "p.0002.exr", frame_pixels(2, 7, 8), "half")
    shot = Shot.open(str(folder))
    shot.image(1)
    shot.image(3)
    with pytest.raises(InputError, match=r"p\.0002\.exr: display window is 8x7, the shot's is 8x6"):
        shot.image(2)


def test_moving_data_window(
    sequence_writer: Callable[..., Path], tmp_path: Path, image_writer: Callable[..., Path]
) -> None:
    folder = tmp_path / "moving"
    folder.mkdir()
    patch = np.full((4, 4, 3), 0.5, np.float32)
    for f in range(3):
        image_writer(folder / f"m.{f:04d}.exr", patch, "half", origin=(2 * f, f),
                     display=(0, 0, 12, 8))
    shot = Shot.open(str(folder / "m.####.exr"), colorspace="srgb_tx")
    for f in range(3):
        box = shot.data_window(f)
        assert (box.xmin, box.ymin, box.width, box.height) == (2 * f, f, 4, 4)
        image = shot.image(f)
        expected = np.zeros((8, 12, 3), np.float32)
        expected[f : f + 4, 2 * f : 2 * f + 4] = 0.5
        np.testing.assert_array_equal(image, expected)
