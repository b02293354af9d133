"""Coverage as MatteTrack keeps it for itself (the result store's results, bases and
selections, the memo of tracks, the propagation spill): (h, w) values on the 1/65535 grid
(`pngcodec.to_u16`), LZ4-compressed.

A coverage file is `MTCOV1\\0\\0`, height and width (little-endian uint32), then the LZ4 block
of the (h, w) little-endian uint16 values. Mattes are long runs of 0 and 65535 with a thin soft
edge, which LZ4 finds as well as zlib does. Measured on 40 of breakdance's results at 854x480
(2 cores, docs/tuning.md "Kept coverage"): 0.46 ms to encode (the uint16 conversion included)
and 26 KB, 0.2 ms to decode; the 16-bit PNG kept before (zlib level 1, no row filter) took
3.5 ms and 27 KB, 0.9 ms to decode. Every computed frame is encoded at least once (the store,
and the memo or the spill), and a correction round reads one for every frame it reuses.
"""

from __future__ import annotations

import struct

import lz4.block
import numpy as np

from mattetrack.pngcodec import from_u16, to_u16

_MAGIC = b"MTCOV1\0\0"
_HEADER = struct.Struct("<8sII")
SUFFIX = ".cov"


def encode_u16(values: np.ndarray) -> bytes:
    """The file bytes of (h, w) uint16 coverage values."""
    if values.ndim != 2 or values.dtype != np.uint16:
        raise ValueError(f"coverage values are (h, w) uint16, not {values.shape} {values.dtype}")
    h, w = values.shape
    data = np.ascontiguousarray(values, "<u2").tobytes()
    return _HEADER.pack(_MAGIC, h, w) + lz4.block.compress(data, store_size=False)


def decode_u16(data: bytes) -> np.ndarray:
    """The (h, w) uint16 values of a coverage file's bytes; ValueError when they are not one
    (a damaged or foreign file)."""
    if len(data) < _HEADER.size:
        raise ValueError("too short for a coverage file")
    magic, h, w = _HEADER.unpack_from(data)
    if magic != _MAGIC:
        raise ValueError("not a coverage file")
    n = 2 * h * w
    if n > 255 * (len(data) - _HEADER.size) + 16:  # more than LZ4 can expand to
        raise ValueError("damaged coverage file: the header's size is wrong")
    try:
        raw = lz4.block.decompress(data[_HEADER.size:], uncompressed_size=n)
    except lz4.block.LZ4BlockError as e:
        raise ValueError(f"damaged coverage file: {e}") from None
    if len(raw) != n:
        raise ValueError("damaged coverage file: wrong length")
    return np.frombuffer(raw, "<u2").reshape(h, w).astype(np.uint16)


def encode_coverage(coverage: np.ndarray) -> bytes:
    """The file bytes of (h, w) coverage in [0, 1] (kept at the nearest 1/65535 step)."""
    return encode_u16(to_u16(coverage))


def decode_coverage(data: bytes) -> np.ndarray:
    """(h, w) float32 coverage in [0, 1] of a coverage file's bytes; ValueError as
    `decode_u16`."""
    return from_u16(decode_u16(data))
