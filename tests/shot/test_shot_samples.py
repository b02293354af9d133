"""Real plates from ../shared/data: OpenEXR samples (moving data windows, multi-part) and DAVIS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from mattetrack.errors import InputError
from mattetrack.geometry import Box2i
from mattetrack.shot import Shot


def oiio_rgb(path: str) -> tuple[np.ndarray, Box2i]:
    """R, G, B of the first part as OIIO reads them, with the data window (the reference)."""
    inp = oiio.ImageInput.open(path)
    spec = inp.spec()
    names = list(spec.channelnames)
    pixels = inp.read_image(0, 0, 0, spec.nchannels, "float")
    inp.close()
    rgb = pixels[:, :, [names.index(c) for c in "RGB"]]
    return rgb, Box2i.from_size(spec.width, spec.height, spec.x, spec.y)


@pytest.mark.parametrize("pattern", ["multipart.####.exr", "singlepart.%04d.exr"])
def test_beachball_moving_data_windows(shared_data: Path, pattern: str) -> None:
    shot = Shot.open(str(shared_data / "exr-samples" / "Beachball" / pattern),
                     colorspace="srgb_tx")  # pass-through: values comparable with OIIO's
    assert shot.frames == [1, 2, 3, 4]
    assert shot.display_window == Box2i(0, 0, 2047, 1555)
    windows = set()
    for frame in shot.frames:
        reference, box = oiio_rgb(shot.file(frame))
        assert shot.data_window(frame) == box
        windows.add(box)
        image = shot.image(frame)
        assert image.shape == (1556, 2048, 3)
        expected = np.zeros_like(image)
        expected[box.ymin : box.ymax + 1, box.xmin : box.xmax + 1] = np.clip(
            np.nan_to_num(reference, nan=0.0, posinf=1.0, neginf=0.0), 0, 1
        )
        np.testing.assert_array_equal(image, expected)
        assert image[box.ymin : box.ymax + 1, box.xmin : box.xmax + 1].max() > 0.1
    assert len(windows) == 4  # the data window moves every frame


def test_beachball_default_colour_is_scene_linear(shared_data: Path) -> None:
    shot = Shot.open(str(shared_data / "exr-samples" / "Beachball" / "singlepart.####.exr"),
                     frame_range=(2, 2))
    assert shot.frames == [2] and shot.colorspace == "ACEScg"
    image = shot.image(2)
    assert np.isfinite(image).all() and image.min() >= 0.0 and image.max() <= 1.0


def test_display_window_samples(shared_data: Path) -> None:
    folder = shared_data / "exr-samples" / "DisplayWindow"
    shot = Shot.open(str(folder / "t##.exr"), colorspace="srgb_tx")
    assert shot.frames == [1, 2, 3, 4]
    assert (shot.width, shot.height) == (400, 300)
    for frame in (1, 2):  # same size, t02's display window starts at (1, 1)
        reference, box = oiio_rgb(shot.file(frame))
        image = shot.image(frame)
        shift = 1 if frame == 2 else 0
        np.testing.assert_array_equal(
            image[: 300 - shift, : 400 - shift], np.clip(reference[shift:, shift:], 0, 1)
        )
        assert box == Box2i(0, 0, 399, 299)
    # t03 and t04 have a 370x280 display window: an error naming the file when read.
    with pytest.raises(InputError, match=r"t03\.exr: display window is 370x280"):
        shot.image(3)
    # On its own, t03 (frame 3, as in the sequence) shows its data window's pixels offset by
    # the display window's (30, 20).
    single = Shot.open(str(folder / "t03.exr"), colorspace="srgb_tx")
    assert single.frames == [3] and single.display_window == Box2i(30, 20, 399, 299)
    reference, _ = oiio_rgb(str(folder / "t03.exr"))
    np.testing.assert_array_equal(single.image(3), np.clip(reference[20:, 30:], 0, 1))


@pytest.mark.parametrize("name", ["Carrots.exr", "Desk.exr"])
def test_scanline_plates(shared_data: Path, name: str) -> None:
    path = shared_data / "exr-samples" / "ScanLines" / name
    shot = Shot.open(str(path))
    reference, box = oiio_rgb(str(path))
    assert shot.frames == [0]
    assert (shot.height, shot.width) == reference.shape[:2]
    image = shot.image(0)
    assert np.isfinite(image).all() and image.max() <= 1.0 and image.mean() > 0.05


def test_davis_jpeg_folders(shared_data: Path) -> None:
    root = shared_data / "davis2016-dev" / "JPEGImages" / "480p"
    shots = sorted(p for p in root.iterdir() if p.is_dir())
    assert shots
    for folder in shots:
        shot = Shot.open(str(folder))
        assert (shot.width, shot.height) == (854, 480)
        assert shot.frames[0] == 0 and shot.frames == list(range(len(shot.frames)))
        assert "sRGB" in shot.colorspace
    # Values pass through unchanged: compare with OIIO's own decode of one frame.
    shot = Shot.open(str(shots[0] / "%05d.jpg"))
    inp = oiio.ImageInput.open(shot.file(3))
    reference = inp.read_image(0, 0, 0, 3, "float")
    inp.close()
    np.testing.assert_array_equal(shot.image(3), reference)
