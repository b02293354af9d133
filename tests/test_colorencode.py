"""The native one-pass sRGB encoding (colorencode.py, native/src/encode.cpp) against the exact
pipeline (OCIO's processor, sanitised, clipped, rounded to 8-bit codes)."""

from __future__ import annotations

import numpy as np
import pytest

from mattetrack.color import ColorConverter


def _plate(seed: int = 0) -> np.ndarray:
    """(64, 96, 3) float32 scene-linear colours: log-normal about 0.18 with highlights to 40,
    a grey ramp through 0 to 1.5, and the non-finite values a damaged plate may hold."""
    rng = np.random.default_rng(seed)
    x = np.exp(rng.normal(np.log(0.18), 1.6, (64, 96, 3))).astype(np.float32)
    x[0, :, :] = np.linspace(-0.05, 1.5, 96, dtype=np.float32)[:, None]
    x[1, :4] = [[np.nan, 0.5, 0.5], [np.inf, 0.2, 0.1], [-np.inf, 0.3, 0.3], [40.0, 0.0, -1.0]]
    return x


def _exact(conv: ColorConverter, x: np.ndarray) -> np.ndarray:
    out = np.array(x, np.float32)
    conv.convert_in_place(out, True)
    return out


def test_the_linear_plates_encoding_is_built_and_matches_the_exact_pipeline() -> None:
    conv = ColorConverter()  # the built-in ACES config: scene_linear (ACEScg) -> sRGB texture
    encoding = conv.encoding(True)
    assert encoding is not None and encoding.off_share < 1e-3
    for dtype in (np.float32, np.float16):
        x = np.ascontiguousarray(_plate().astype(dtype))
        ours = encoding.encode(x)
        exact = _exact(conv, x.astype(np.float32))
        assert ours.dtype == np.float32 and ours.shape == x.shape
        codes = np.abs(np.rint(ours * 255) - np.rint(exact * 255))
        assert codes.max() <= 1 and (codes > 0).mean() < 1e-3, dtype
        # Codes exactly as an 8-bit decode gives them: k / 255 in float32.
        np.testing.assert_array_equal(ours, np.rint(ours * 255) * np.float32(1 / 255))


def test_no_encoding_where_the_conversion_is_not_a_matrix_then_a_curve() -> None:
    assert ColorConverter(tone_map=True).encoding(True) is None  # a view: an S-curve mixes
    assert ColorConverter(exact=True).encoding(True) is None  # asked for OCIO's own
    assert ColorConverter().encoding(False) is None  # sRGB plates need no conversion


def test_bad_arrays_are_refused() -> None:
    encoding = ColorConverter().encoding(True)
    assert encoding is not None
    with pytest.raises(ValueError, match="float16 or float32"):
        encoding.encode(np.zeros((4, 4, 3), np.float64))
    with pytest.raises(ValueError, match=r"\(h, w, 3\)"):
        encoding.encode(np.zeros((4, 4, 4), np.float32))


def test_a_half_exr_plate_is_read_through_it(tmp_path, image_writer) -> None:
    """Shot reads a half EXR as float16 and encodes it natively: the same display image as
    the float path through OCIO, to one code on a few pixels at most."""
    from mattetrack.shot.shot import Shot

    x = _plate(1)[2:]
    x[~np.isfinite(x)] = 0.5
    image_writer(tmp_path / "p.0001.exr", x, "half")
    shot = Shot.open(str(tmp_path / "p.####.exr"))
    got = shot.image(1)
    exact = _exact(ColorConverter(), x.astype(np.float16).astype(np.float32))
    codes = np.abs(np.rint(got * 255) - np.rint(exact * 255))
    assert codes.max() <= 1 and (codes > 0).mean() < 1e-3
