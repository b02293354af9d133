"""Movies (OpenCV-written MJPG and MPEG-4, read through PyAV): frame numbers 0..N-1, sRGB 8-bit
values, sequential reads never seek."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mattetrack.errors import InputError
from mattetrack.shot import Shot

N = 30


def colour(i: int) -> tuple[int, int, int]:
    """A flat RGB colour per frame, far enough apart to survive lossy codecs."""
    return (i * 8, 255 - i * 8, 100)


@pytest.fixture(params=[("clip.avi", "MJPG"), ("clip.mp4", "mp4v")], ids=["avi-mjpg", "mp4-mp4v"])
def movie(request: pytest.FixtureRequest, tmp_path: Path,
          movie_writer: Callable[..., Path]) -> Path:
    name, fourcc = request.param
    frames = [np.full((48, 64, 3), colour(i), np.uint8) for i in range(N)]
    return movie_writer(tmp_path / name, frames, fourcc)


def assert_frame(image: np.ndarray, i: int) -> None:
    np.testing.assert_allclose(image[24, 32], np.array(colour(i)) / 255, atol=6 / 255)


def test_movie_frames_and_values(movie: Path) -> None:
    with Shot.open(str(movie)) as shot:
        assert shot.is_movie
        assert shot.frames == list(range(N))
        assert (shot.width, shot.height) == (64, 48)
        assert shot.data_window(5) == shot.display_window
        assert shot.file(3) == str(movie)
        assert "sRGB" in shot.colorspace
        image = shot.image(0)
        assert image.shape == (48, 64, 3) and image.dtype == np.float32
        assert not image.flags.writeable
        assert_frame(image, 0)


def test_sequential_reads_do_not_seek(movie: Path) -> None:
    with Shot.open(str(movie), cache_size=2) as shot:
        for i in shot.frames:
            assert_frame(shot.image(i), i)
        assert shot._movie.seeks == 0
        # Going backwards seeks once, then reading on from there does not.
        for i in (10, 11, 12, 13):
            assert_frame(shot.image(i), i)
        assert shot._movie.seeks == 1
        assert_frame(shot.image(15), 15)  # a short skip forwards grabs instead of seeking
        assert shot._movie.seeks == 1
        assert_frame(shot.image(2), 2)
        assert_frame(shot.image(29), 29)
        assert shot._movie.seeks == 3


def test_movie_frame_range(movie: Path) -> None:
    with Shot.open(str(movie), frame_range=(25, 40)) as shot:
        assert shot.frames == [25, 26, 27, 28, 29]
        assert_frame(shot.image(27), 27)
        with pytest.raises(InputError, match=r"frame 3 is not in the shot \(frames 25-29\)"):
            shot.image(3)


def test_not_a_movie(tmp_path: Path) -> None:
    path = tmp_path / "broken.mov"
    path.write_bytes(b"\x00" * 1000)
    with pytest.raises(InputError, match="broken.mov"):
        Shot.open(str(path))
