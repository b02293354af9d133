"""read_mask: coverage in [0, 1] from grey, palette, RGB(A) and EXR mask images."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mattetrack.errors import InputError
from mattetrack.shot import read_mask


def disc(h: int = 20, w: int = 30) -> np.ndarray:
    """(h, w) bool disc, the object."""
    y, x = np.mgrid[0:h, 0:w]
    return (x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(h, w) / 3) ** 2


def test_davis_annotation(shared_data: Path) -> None:
    root = shared_data / "davis2016-dev" / "Annotations" / "480p"
    path = sorted(p for p in root.iterdir() if p.is_dir())[0] / "00000.png"
    with Image.open(path) as img:
        expected = np.asarray(img.convert("L"), np.float32) / 255
    mask = read_mask(str(path), 854, 480)
    assert mask.shape == (480, 854) and mask.dtype == np.float32
    np.testing.assert_array_equal(mask, expected)
    assert set(np.unique(mask)) <= {0.0, 1.0} and mask.any()


def test_grey_png(tmp_path: Path) -> None:
    path = tmp_path / "m.png"
    Image.fromarray((disc() * 255).astype(np.uint8), "L").save(path)
    np.testing.assert_array_equal(read_mask(str(path), 30, 20), disc().astype(np.float32))


def test_palette_png_any_non_zero_index(tmp_path: Path) -> None:
    labels = np.zeros((20, 30), np.uint8)
    labels[disc()] = 1
    labels[0:3, 0:3] = 2
    img = Image.fromarray(labels, "P")
    # Index 1 is black like index 0: only the index tells the object apart.
    img.putpalette([0, 0, 0, 0, 0, 0, 255, 0, 0] + [0] * (3 * 253))
    path = tmp_path / "labels.png"
    img.save(path)
    np.testing.assert_array_equal(read_mask(str(path), 30, 20), (labels != 0).astype(np.float32))


def test_rgba_uses_alpha_unless_opaque(tmp_path: Path) -> None:
    alpha = (disc() * 255).astype(np.uint8)
    rgba = np.dstack([np.full((20, 30, 3), 255, np.uint8), alpha])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_mask(str(tmp_path / "a.png"), 30, 20), alpha / 255)

    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[disc()] = (255, 255, 255)
    rgb[0, 0] = (255, 0, 0)  # pure red: Rec.709 luminance 0.2126
    opaque = np.dstack([rgb, np.full((20, 30), 255, np.uint8)])
    Image.fromarray(opaque, "RGBA").save(tmp_path / "o.png")
    Image.fromarray(rgb, "RGB").save(tmp_path / "rgb.png")
    for name in ("o.png", "rgb.png"):
        mask = read_mask(str(tmp_path / name), 30, 20)
        expected = disc().astype(np.float32)
        expected[0, 0] = 0.2126
        np.testing.assert_allclose(mask, expected, atol=1e-3)


def test_16bit_grey(tmp_path: Path, image_writer: Callable[..., Path]) -> None:
    values = np.linspace(0, 1, 600, dtype=np.float32).reshape(20, 30)
    path = image_writer(tmp_path / "m16.png", values, "uint16")
    np.testing.assert_allclose(read_mask(str(path), 30, 20), values, atol=1e-4)


def test_exr_on_display_window(tmp_path: Path, image_writer: Callable[..., Path]) -> None:
    patch = np.full((5, 6, 1), 0.75, np.float32)
    patch[0, 0] = 3.0  # clipped to 1
    patch[1, 1] = np.nan  # made 0
    path = image_writer(tmp_path / "m.exr", patch, "half", names=["A"], origin=(10, 4),
                        display=(0, 0, 30, 20))
    mask = read_mask(str(path), 30, 20)
    expected = np.zeros((20, 30), np.float32)
    expected[4:9, 10:16] = 0.75
    expected[4, 10] = 1.0
    expected[5, 11] = 0.0
    np.testing.assert_array_equal(mask, expected)


def test_float_exr_rgb_luminance(tmp_path: Path, image_writer: Callable[..., Path]) -> None:
    rgb = np.zeros((20, 30, 3), np.float32)
    rgb[disc()] = 1.0
    path = image_writer(tmp_path / "rgb.exr", rgb, "float")
    np.testing.assert_allclose(read_mask(str(path), 30, 20), disc(), atol=1e-6)


def test_wrong_size(tmp_path: Path) -> None:
    path = tmp_path / "m.png"
    Image.fromarray((disc() * 255).astype(np.uint8), "L").save(path)
    with pytest.raises(InputError) as info:
        read_mask(str(path), 854, 480)
    assert str(info.value) == f"{path}: mask is 30x20, the shot is 854x480"


def test_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "m.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(InputError, match="m.png"):
        read_mask(str(path), 30, 20)
    with pytest.raises(InputError, match="missing.png"):
        read_mask(str(tmp_path / "missing.png"), 30, 20)
