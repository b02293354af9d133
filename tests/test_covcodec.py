"""Kept coverage (covcodec.py): exact on the 1/65535 grid, damage detected."""

from __future__ import annotations

import numpy as np
import pytest

from mattetrack.covcodec import decode_coverage, decode_u16, encode_coverage, encode_u16
from mattetrack.pngcodec import quantize16


def test_coverage_reads_back_on_its_grid_exactly():
    rng = np.random.default_rng(3)
    cov = np.zeros((48, 80), np.float32)
    cov[10:30, 20:60] = 1.0
    cov[9, 20:60] = rng.random(40)  # a soft edge
    cov[0, 0] = 1.5  # out of range: clipped as a PNG would
    back = decode_coverage(encode_coverage(cov))
    assert back.dtype == np.float32 and back.shape == cov.shape
    np.testing.assert_array_equal(back, quantize16(cov))
    values = rng.integers(0, 65536, (5, 7)).astype(np.uint16)
    np.testing.assert_array_equal(decode_u16(encode_u16(values)), values)


@pytest.mark.parametrize("damage", ["short", "magic", "size", "truncated"])
def test_damaged_coverage_is_a_value_error(damage):
    data = encode_coverage(np.ones((32, 32), np.float32))
    if damage == "short":
        data = data[:10]
    elif damage == "magic":
        data = b"MTFLOW2\0" + data[8:]
    elif damage == "size":
        data = data[:8] + (1 << 20).to_bytes(4, "little") + data[12:]
    else:
        data = data[:-3]
    with pytest.raises(ValueError):
        decode_coverage(data)


def test_only_uint16_planes_are_encoded():
    with pytest.raises(ValueError, match="uint16"):
        encode_u16(np.zeros((4, 4), np.float32))
