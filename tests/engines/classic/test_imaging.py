"""Processing-resolution views of a frame: sizes, 8-bit forms, non-finite pixels."""

from __future__ import annotations

import numpy as np

from mattetrack.engines.classic.imaging import WorkImage, processing_size


def test_processing_size_keeps_aspect_and_never_upscales() -> None:
    assert processing_size(1920, 1080, 512) == (512, 288)
    assert processing_size(320, 240, 512) == (320, 240)


def test_non_finite_pixels_read_as_black_and_finite_frames_pass_unchanged() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((90, 160, 3), dtype=np.float32)
    clean = WorkImage.from_image(image, (80, 45))
    dirty = image.copy()
    dirty[10:12, 20:24] = np.nan
    dirty[40, 100] = (np.inf, -np.inf, np.nan)
    work = WorkImage.from_image(dirty, (80, 45))
    assert np.isfinite(work.rgb).all()
    expected = WorkImage.from_image(np.nan_to_num(dirty), (80, 45))
    assert np.array_equal(work.rgb, expected.rgb) and np.array_equal(work.u8, expected.u8)
    # Only the pixels the bad ones fed into differ from the clean frame's.
    changed = np.any(work.rgb != clean.rgb, axis=2)
    assert 0 < np.count_nonzero(changed) <= 6
    assert not np.shares_memory(work.rgb, dirty) and np.isnan(dirty[10, 20, 0])  # input kept
