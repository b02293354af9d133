"""Shot reads every supported image format with the right values, windows and colour."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mattetrack.errors import InputError
from mattetrack.geometry import Box2i
from mattetrack.shot import Shot

# Sources read as sRGB texture pass through OCIO untouched, so pixel values can be compared exactly.
PASS = "srgb_tx"


def ramp(h: int, w: int, seed: int = 0) -> np.ndarray:
    """(h, w, 3) float32 values in [0, 1] that differ per pixel and channel."""
    return np.random.default_rng(seed).random((h, w, 3), dtype=np.float32)


@pytest.mark.parametrize("fmt", ["half", "float"])
@pytest.mark.parametrize("tile", [None, (16, 16)])
def test_exr_data_window_offset_in_display_window(
    tmp_path: Path, image_writer: Callable[..., Path], fmt: str, tile: tuple[int, int] | None
) -> None:
    # Data window (5, 3)-(34, 22) inside a 40x30 display window; pixels must land at that offset.
    pixels = ramp(20, 30)
    path = image_writer(tmp_path / "p.1001.exr", pixels, fmt, origin=(5, 3),
                        display=(0, 0, 40, 30), tile=tile)
    shot = Shot.open(str(path), colorspace=PASS)
    assert (shot.width, shot.height) == (40, 30)
    assert shot.display_window == Box2i(0, 0, 39, 29)
    assert shot.data_window(1001) == Box2i(5, 3, 34, 22)
    image = shot.image(1001)
    assert image.shape == (30, 40, 3) and image.dtype == np.float32
    tol = 1e-3 if fmt == "half" else 1e-6
    np.testing.assert_allclose(image[3:23, 5:35], pixels, atol=tol)
    outside = np.ones((30, 40), bool)
    outside[3:23, 5:35] = False
    assert not image[outside].any()


def test_exr_overscan_and_offset_display_window(
    tmp_path: Path, image_writer: Callable[..., Path]
) -> None:
    # Display window (10, 20)-(29, 34); the data window (0, 15)-(39, 44) overscans it on all sides.
    pixels = ramp(30, 40, seed=3)
    path = image_writer(tmp_path / "o.exr", pixels, "float", origin=(0, 15),
                        display=(10, 20, 20, 15))
    shot = Shot.open(str(path), colorspace=PASS)
    assert shot.display_window == Box2i(10, 20, 29, 34)
    image = shot.image(0)
    assert image.shape == (15, 20, 3)
    np.testing.assert_allclose(image, pixels[5:20, 10:30], atol=1e-6)


def test_exr_data_window_outside_display_gives_black(
    tmp_path: Path, image_writer: Callable[..., Path]
) -> None:
    path = image_writer(tmp_path / "far.exr", ramp(4, 4) + 0.5, "half", origin=(100, 100),
                        display=(0, 0, 8, 6))
    image = Shot.open(str(path)).image(0)
    assert image.shape == (6, 8, 3) and not image.any()


def test_float_exr_is_scene_linear_in_the_srgb_encoding(
    tmp_path: Path, image_writer: Callable[..., Path]
) -> None:
    path = image_writer(tmp_path / "grey.exr", np.full((4, 6, 3), 0.18, np.float32), "half")
    shot = Shot.open(str(path))
    assert shot.colorspace == "ACEScg"
    np.testing.assert_allclose(shot.image(0), 0.461, atol=0.003)


def test_exr_nan_and_inf_pixels_are_safe(
    tmp_path: Path, image_writer: Callable[..., Path]
) -> None:
    pixels = np.full((2, 3, 3), 0.18, np.float32)
    pixels[0, 0] = np.nan
    pixels[0, 1] = np.inf
    pixels[0, 2] = -np.inf
    image = Shot.open(str(image_writer(tmp_path / "bad.exr", pixels, "half"))).image(0)
    assert np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1
    np.testing.assert_allclose(image[0, 0], 0, atol=1e-6)
    np.testing.assert_allclose(image[0, 1], 1, atol=0.01)


def test_exr_layered_channel_names(tmp_path: Path, image_writer: Callable[..., Path]) -> None:
    pixels = np.concatenate([np.full((4, 5, 1), 0.9, np.float32), ramp(4, 5)], axis=2)
    names = ["depth.Z", "rgba.R", "rgba.G", "rgba.B"]
    path = image_writer(tmp_path / "layers.exr", pixels, "float", names=names)
    np.testing.assert_allclose(Shot.open(str(path), colorspace=PASS).image(0), pixels[:, :, 1:])


def test_exr_multipart_uses_first_part_with_colour(
    tmp_path: Path, multipart_writer: Callable[..., Path]
) -> None:
    colour = ramp(6, 8, seed=5)
    path = multipart_writer(tmp_path / "mp.0001.exr", [
        ("depth", ["Z"], np.full((6, 8, 1), 0.7, np.float32), "float"),
        ("beauty", ["R", "G", "B", "A"], np.dstack([colour, np.ones((6, 8))]).astype(np.float32),
         "half"),
        ("other", ["R", "G", "B"], np.zeros((6, 8, 3), np.float32), "half"),
    ])
    shot = Shot.open(str(path), colorspace=PASS)
    assert shot.frames == [1]
    np.testing.assert_allclose(shot.image(1), colour, atol=1e-3)


def test_exr_grey_and_single_channel(tmp_path: Path, image_writer: Callable[..., Path]) -> None:
    grey = np.random.default_rng(2).random((5, 7, 1), dtype=np.float32)
    for name in ("Y", "mask"):
        path = image_writer(tmp_path / f"{name}.exr", grey, "float", names=[name])
        image = Shot.open(str(path), colorspace=PASS).image(0)
        np.testing.assert_allclose(image, np.repeat(grey, 3, axis=2))


def test_exr_without_colour_channels(tmp_path: Path, image_writer: Callable[..., Path]) -> None:
    path = image_writer(tmp_path / "uv.exr", ramp(4, 4)[:, :, :2], "half", names=["u", "v"])
    with pytest.raises(InputError, match=r"uv\.exr: no colour channels"):
        Shot.open(str(path))


def test_exr_uint_colour_channels_are_refused(tmp_path: Path) -> None:
    # UINT holds ids (Cryptomatte-like, object ids) in EXR: never read as colour. OIIO cannot
    # write UINT EXR channels, so PyPI OpenEXR writes this plate.
    openexr = pytest.importorskip("OpenEXR", reason="PyPI OpenEXR (dev extra)")
    ids = np.arange(48 * 64, dtype=np.uint32).reshape(48, 64)
    path = tmp_path / "ids.exr"
    header = {"compression": openexr.ZIP_COMPRESSION, "type": openexr.scanlineimage}
    openexr.File(header, {"R": ids, "G": ids, "B": ids}).write(str(path))
    with pytest.raises(InputError, match=r"ids\.exr: channel R is UINT"):
        Shot.open(str(path))


@pytest.mark.parametrize(
    ("name", "fmt", "attrs", "tol"),
    [
        ("p.png", "uint8", None, 0.5 / 255 + 1e-6),
        ("p_16bit.png", "uint16", None, 0.5 / 65535 + 1e-6),
        ("p.tif", "uint8", None, 0.5 / 255 + 1e-6),
        ("p_16bit.tif", "uint16", None, 0.5 / 65535 + 1e-6),
        # OIIO truncates to 10 bits when writing: up to one code value off.
        ("p.dpx", "uint16", {"oiio:BitsPerSample": 10}, 1 / 1023 + 1e-6),
    ],
)
def test_integer_formats_are_srgb_passed_through(
    tmp_path: Path, image_writer: Callable[..., Path], name: str, fmt: str,
    attrs: dict | None, tol: float,
) -> None:
    pixels = ramp(9, 11, seed=4)
    path = image_writer(tmp_path / name, pixels, fmt, attrs=attrs)
    shot = Shot.open(str(path))
    assert shot.colorspace == Shot.open(str(path), colorspace="srgb_tx").colorspace
    assert shot.data_window(0) == shot.display_window == Box2i(0, 0, 10, 8)
    np.testing.assert_allclose(shot.image(0), pixels, atol=tol)


def test_float_tiff_is_scene_linear(tmp_path: Path, image_writer: Callable[..., Path]) -> None:
    path = image_writer(tmp_path / "f.tif", np.full((3, 4, 3), 0.18, np.float32), "float")
    shot = Shot.open(str(path))
    assert shot.colorspace == "ACEScg"
    np.testing.assert_allclose(shot.image(0), 0.461, atol=0.003)


def test_jpeg(tmp_path: Path, image_writer: Callable[..., Path]) -> None:
    # Smooth content: JPEG keeps it within a few code values.
    y, x = np.mgrid[0:32, 0:48].astype(np.float32)
    pixels = np.dstack([x / 47, y / 31, np.full_like(x, 0.5)])
    path = image_writer(tmp_path / "j.jpg", pixels, "uint8", attrs={"CompressionQuality": 100})
    image = Shot.open(str(path)).image(0)
    assert image.shape == (32, 48, 3)
    assert np.abs(image - pixels).max() < 0.04


def test_grey_png_becomes_rgb(tmp_path: Path, image_writer: Callable[..., Path]) -> None:
    grey = np.linspace(0, 1, 20, dtype=np.float32).reshape(4, 5, 1)
    image = Shot.open(str(image_writer(tmp_path / "g.png", grey, "uint8"))).image(0)
    np.testing.assert_allclose(image, np.repeat(grey, 3, axis=2), atol=0.5 / 255 + 1e-6)


@pytest.mark.parametrize("name", ["t.png", "t.jpg", "t.exr", "t.dpx", "t.tif"])
def test_truncated_files_are_input_errors(
    tmp_path: Path, image_writer: Callable[..., Path], name: str
) -> None:
    fmt = "half" if name.endswith(".exr") else "uint8"
    full = image_writer(tmp_path / f"full_{name}", ramp(64, 64), fmt)
    data = full.read_bytes()
    cut = tmp_path / name
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=str(cut).replace(".", r"\.")) as info:
        Shot.open(str(cut)).image(0)
    assert "\n" not in str(info.value)


def test_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.exr"
    path.write_text("not an image at all")
    with pytest.raises(InputError, match="notes.exr"):
        Shot.open(str(path))


def test_a_linear_exr_of_an_8_bit_picture_reads_as_that_picture(
    tmp_path: Path, image_writer: Callable[..., Path]
) -> None:
    """The same picture gives the engines the same image whatever it is stored as: 8-bit sRGB
    values taken to ACEScg and stored as half floats come back as those 8-bit values."""
    import PyOpenColorIO as ocio

    from mattetrack.color import BUILTIN_CONFIG

    rng = np.random.default_rng(4)
    codes = rng.integers(0, 256, (40, 64, 3), dtype=np.uint8)
    png = image_writer(tmp_path / "p.png", codes, "uint8")
    linear = np.ascontiguousarray(codes.astype(np.float32) / 255.0)
    config = ocio.Config.CreateFromBuiltinConfig(BUILTIN_CONFIG)
    config.getProcessor("sRGB - Texture", "ACEScg").getDefaultCPUProcessor().applyRGB(linear)
    exr = image_writer(tmp_path / "p.exr", linear, "half")
    a = Shot.open(str(png)).image(0)
    b = Shot.open(str(exr), colorspace="ACEScg").image(0)
    assert np.abs(a - b).max() <= 1.0 / 255 + 1e-6
    assert np.mean(a == b) > 0.99  # bit for bit, but where half floats rounded across a code
