"""ColorConverter: reference values through OCIO, $OCIO, overrides, NaN/inf safety."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import PyOpenColorIO as ocio
import pytest

from mattetrack.color import ColorConverter
from mattetrack.errors import InputError

# A minimal OCIO v2 config: scene-linear 'lin' and an sRGB-encoded 'srgb' (the IEC 61966-2-1 curve),
# viewed through display 'Monitor' / view 'Standard' = srgb.
TINY_CONFIG = """\
ocio_profile_version: 2
roles:
  default: lin
  scene_linear: lin
  color_picking: srgb
displays:
  Monitor:
    - !<View> {name: Standard, colorspace: srgb}
active_displays: []
active_views: []
colorspaces:
  - !<ColorSpace>
    name: lin
    isdata: false
  - !<ColorSpace>
    name: srgb
    isdata: false
    from_scene_reference: !<ExponentWithLinearTransform> {gamma: 2.4, offset: 0.055, \
direction: inverse}
"""


def grey(value: float, shape: tuple[int, int] = (4, 5)) -> np.ndarray:
    return np.full((*shape, 3), value, dtype=np.float32)


@pytest.fixture(autouse=True)
def no_ocio_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from the built-in config unless they set $OCIO themselves."""
    monkeypatch.delenv("OCIO", raising=False)


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.ocio"
    path.write_text(TINY_CONFIG)
    return path


def test_defaults_by_pixel_type() -> None:
    conv = ColorConverter()
    assert conv.source_colorspace(True) == "ACEScg"  # the scene_linear role
    srgb = conv.config.getColorSpace(conv.source_colorspace(False))
    assert "srgb_tx" in srgb.getAliases()


def test_acescg_grey_in_the_srgb_texture_encoding() -> None:
    # Not tone-mapped (the ACES SDR view would give 0.356): the sRGB curve, as Nuke's default
    # viewer shows a linear plate.
    out = ColorConverter().to_display(grey(0.18), source_is_float=True)
    assert out.dtype == np.float32 and out.shape == (4, 5, 3)
    np.testing.assert_allclose(out, 0.461, atol=0.002)
    np.testing.assert_allclose(ColorConverter().to_display(grey(1.0), True), 1.0, atol=0.002)


def test_override_accepts_names_aliases_and_roles() -> None:
    assert ColorConverter("ACEScg").source_colorspace(False) == "ACEScg"
    assert ColorConverter("scene_linear").source_colorspace(False) == "ACEScg"
    conv = ColorConverter("srgb_tx")
    # The override wins over the float default, and sRGB texture sources pass through as they are.
    assert conv.source_colorspace(True) == ColorConverter().source_colorspace(False)
    values = np.linspace(0, 1, 60, dtype=np.float32).reshape(4, 5, 3)
    np.testing.assert_array_equal(conv.to_display(values, source_is_float=True), values)


def test_linear_rec709_to_the_srgb_texture_space_found() -> None:
    # The sRGB space found for integer plates is the real sRGB texture encoding (reference value).
    conv = ColorConverter()
    target = conv.source_colorspace(False)
    cpu = conv.config.getProcessor("Linear Rec.709 (sRGB)", target).getDefaultCPUProcessor()
    rgb = grey(0.18)
    cpu.applyRGB(rgb)
    np.testing.assert_allclose(rgb, 0.461, atol=0.002)


def test_ocio_env_is_honoured(tiny_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCIO", str(tiny_config))
    conv = ColorConverter()
    assert conv.source_colorspace(True) == "lin"
    assert conv.source_colorspace(False) == "srgb"
    # Linear 0.18 to the config's sRGB space -> 0.461.
    np.testing.assert_allclose(conv.to_display(grey(0.18), True), 0.461, atol=0.002)
    np.testing.assert_allclose(conv.to_display(grey(0.18), False), 0.18, atol=1e-6)


def test_config_path_argument(tiny_config: Path) -> None:
    assert ColorConverter(config_path=str(tiny_config)).source_colorspace(True) == "lin"


def test_bad_config_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ocio"
    bad.write_text("this is not\n an ocio config: [\n")
    with pytest.raises(InputError, match="bad.ocio"):
        ColorConverter(config_path=str(bad))


def test_unknown_colorspace_lists_valid_names() -> None:
    with pytest.raises(InputError) as info:
        ColorConverter("ACEScgg")
    message = str(info.value)
    assert "\n" not in message
    assert "'ACEScgg'" in message and "'ACEScg'" in message and "scene_linear" in message


@pytest.mark.parametrize("source_is_float", [True, False])
def test_nan_and_inf_are_made_safe(source_is_float: bool) -> None:
    rgb = grey(0.5, (2, 3))
    rgb[0, 0] = np.nan
    rgb[0, 1] = np.inf
    rgb[0, 2] = -np.inf
    rgb[1, 0] = (np.nan, 0.5, np.inf)
    before = rgb.copy()
    out = ColorConverter().to_display(rgb, source_is_float)
    assert np.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_allclose(out[0, 0], 0.0, atol=1e-6)  # black
    np.testing.assert_allclose(out[0, 1], 1.0, atol=0.01)
    np.testing.assert_allclose(out[0, 2], 0.0, atol=1e-6)
    np.testing.assert_array_equal(rgb[np.isfinite(rgb)], before[np.isfinite(before)])  # untouched


def test_output_is_clipped() -> None:
    rgb = grey(0.5, (1, 2))
    rgb[0, 0] = (-0.5, 2.0, 0.25)
    out = ColorConverter().to_display(rgb, source_is_float=False)
    np.testing.assert_array_equal(out[0, 0], (0.0, 1.0, 0.25))
    out = ColorConverter().to_display(grey(1000.0), source_is_float=True)
    assert out.max() <= 1.0 and out.min() > 0.9


def test_large_frames_are_converted_in_bands_like_small_ones() -> None:
    rng = np.random.default_rng(1)
    big = rng.random((700, 600, 3), dtype=np.float32) * 4  # above the threading threshold
    conv = ColorConverter(exact=True)
    out = conv.to_display(big, True)
    cpu = _exact_srgb(conv)
    ref = big.copy()
    cpu.applyRGB(ref)
    np.testing.assert_allclose(out, _q8(ref), atol=1e-6)


class _CountingConfig:
    """Delegates to an OCIO config and counts getProcessor calls."""

    def __init__(self, config: ocio.Config) -> None:
        self._config = config
        self.processors = 0

    def getProcessor(self, *args: object) -> ocio.Processor:
        self.processors += 1
        return self._config.getProcessor(*args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._config, name)


def test_processors_are_built_once() -> None:
    conv = ColorConverter()
    counting = _CountingConfig(conv.config)
    conv.config = counting  # type: ignore[assignment]
    for _ in range(3):
        conv.to_display(grey(0.18), True)
        conv.to_display(grey(0.18), False)
    assert counting.processors == 1  # the float (view) processor; sRGB needs none


def _q8(ref: np.ndarray) -> np.ndarray:
    """What the converter makes of OCIO's exact output: clipped, rounded to 8-bit codes."""
    out = np.clip(ref, 0, 1).astype(np.float32) * np.float32(255.0)
    return np.rint(out) * np.float32(1.0 / 255.0)


def _exact_srgb(conv: ColorConverter) -> ocio.CPUProcessor:
    """The exact ACEScg -> sRGB texture processor (what float plates are converted with)."""
    return conv.config.getProcessor("ACEScg", "sRGB - Texture").getDefaultCPUProcessor()


def _exact_view(conv: ColorConverter) -> ocio.CPUProcessor:
    """The exact ACES SDR view (what tone_map=True converts with)."""
    view = ocio.DisplayViewTransform(
        src="ACEScg", display="sRGB - Display", view="ACES 1.0 - SDR Video"
    )
    return conv.config.getProcessor(view).getDefaultCPUProcessor()


def _scene_linear_samples() -> np.ndarray:
    """(1, n, 3) scene-linear test colours: a grey ramp to 1000 and random colours up to 16."""
    rng = np.random.default_rng(7)
    ramp = np.repeat(np.geomspace(1e-4, 1000.0, 400, dtype=np.float32)[:, None], 3, axis=1)
    rand = (rng.random((4000, 3), dtype=np.float32) ** 3) * 16
    return np.concatenate([ramp, rand])[None].astype(np.float32)


def test_float_plates_are_converted_exactly_to_srgb() -> None:
    conv = ColorConverter()
    samples = _scene_linear_samples()
    ref = samples.copy()
    _exact_srgb(conv).applyRGB(ref)
    np.testing.assert_array_equal(conv.to_display(samples, True), _q8(ref))
    assert conv.lut_stats[True] is None


def test_a_tone_mapped_view_uses_the_baked_lut_close_to_exact() -> None:
    conv = ColorConverter(tone_map=True)
    samples = _scene_linear_samples()
    out = conv.to_display(samples, True)
    ref = samples.copy()
    _exact_view(conv).applyRGB(ref)
    err = np.abs(out - _q8(ref)) * 255
    stats = conv.lut_stats[True]
    assert stats is not None  # the LUT is in use ...
    assert not np.array_equal(out, _q8(ref))  # ... so results are not bit-exact
    assert err.mean() < 0.5  # code values of 255
    assert err[0, :400].max() < 2.0  # greys: within 2 code values everywhere
    assert stats.mean < 0.5 and stats.ramp_max < 2.0


def test_exact_mode_is_bit_exact_with_ocio() -> None:
    conv = ColorConverter(exact=True, tone_map=True)
    samples = _scene_linear_samples()
    ref = samples.copy()
    _exact_view(conv).applyRGB(ref)
    np.testing.assert_array_equal(conv.to_display(samples, True), _q8(ref))
    assert conv.lut_stats[True] is None


def test_a_view_that_does_not_bake_well_stays_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    from mattetrack import colorlut

    monkeypatch.setattr(colorlut, "MAX_MEAN_ERROR", -1.0)  # no bake can pass
    conv = ColorConverter(tone_map=True)
    samples = _scene_linear_samples()
    ref = samples.copy()
    _exact_view(conv).applyRGB(ref)
    np.testing.assert_array_equal(conv.to_display(samples, True), _q8(ref))
    assert conv.lut_stats[True] is None


def test_lut_error_on_real_exr_plates(shared_data: Path) -> None:
    import OpenImageIO as oiio

    lut, exact = ColorConverter(tone_map=True), ColorConverter(exact=True, tone_map=True)
    for name in ("Beachball/singlepart.0001.exr", "ScanLines/Desk.exr", "ScanLines/Carrots.exr"):
        rgb = oiio.ImageBuf(str(shared_data / "exr-samples" / name)).get_pixels(oiio.FLOAT)
        rgb = np.ascontiguousarray(rgb[..., :3], np.float32)
        err = np.abs(lut.to_display(rgb, True) - exact.to_display(rgb, True)) * 255
        assert err.mean() < 0.5, name
        assert np.percentile(err, 99.9) < 5.0, name  # the max sits on a few saturated pixels


def test_convert_in_place_skips_unit_range_pass_through() -> None:
    conv = ColorConverter()
    rgb = grey(0.25)
    rgb[0, 0] = (1.5, -0.5, 0.5)  # out of range: left alone when the caller vouches for it
    conv.convert_in_place(rgb, False, unit_range=True)
    np.testing.assert_array_equal(rgb[0, 0], (1.5, -0.5, 0.5))
    conv.convert_in_place(rgb, False)
    np.testing.assert_array_equal(rgb[0, 0], (1.0, 0.0, 0.5))
