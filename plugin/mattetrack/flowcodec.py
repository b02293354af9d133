"""Optical flows as MatteTrack keeps them (the memo of a result store): on a fixed grid, so a
flow read back is the flow computed, in a file that is quick to read.

A flow file is `MTFLOW2\\0`, height and width (little-endian uint32), then the LZ4 block of the
(h, w, 2) flow times FLOW_STEPS as little-endian int16, its low bytes first and then its high
bytes (most high bytes are 0 or 255: apart, they compress well). At 512x288 that is ~210 KB,
read in ~0.4 ms and written in ~1 ms. A correction round reads a flow for nearly every frame
it re-runs, up to three (docs/tuning.md, "Remembered flows"): zlib (level 1) took ~2.3 ms to
read, the 16-bit PNG before it ~10 ms; DIS takes ~23 ms to compute one.
"""

from __future__ import annotations

import struct

import lz4.block
import numpy as np

# Flows are used on a grid of 1/FLOW_STEPS px within +-FLOW_LIMIT px, so that one remembered as
# 16-bit values is the flow computed. Far finer than DIS resolves: on the DAVIS dev shots grids of
# 1/16 to 1/128 px move the mean J&F as much as any change of the flows does (docs/tuning.md).
FLOW_STEPS = 64
FLOW_LIMIT = 511.0  # * FLOW_STEPS fits an int16

_MAGIC = b"MTFLOW2\0"
_HEADER = struct.Struct("<8sII")


def quantize_flow(flow: np.ndarray) -> np.ndarray:
    """(h, w, 2) flow (px) on the kept grid, float32."""
    return (np.round(np.clip(flow, -FLOW_LIMIT, FLOW_LIMIT) * FLOW_STEPS)
            * (1.0 / FLOW_STEPS)).astype(np.float32)


def encode_flow(flow: np.ndarray) -> bytes:
    """The file bytes of an (h, w, 2) flow on the grid (`quantize_flow`)."""
    h, w = flow.shape[:2]
    steps = np.rint(np.clip(flow, -FLOW_LIMIT, FLOW_LIMIT) * FLOW_STEPS).astype("<i2")
    planes = steps.reshape(-1).view(np.uint8).reshape(-1, 2).T  # (2, n): low bytes, high bytes
    return _HEADER.pack(_MAGIC, h, w) + lz4.block.compress(planes.tobytes(), store_size=False)


def decode_flow(data: bytes) -> np.ndarray:
    """The (h, w, 2) float32 flow (px) of a flow file's bytes; ValueError when they are not
    one (a damaged or foreign file, or one of an earlier format)."""
    if len(data) < _HEADER.size:
        raise ValueError("too short for a flow file")
    magic, h, w = _HEADER.unpack_from(data)
    if magic != _MAGIC:
        raise ValueError("not a flow file")
    n = h * w * 2
    if 2 * n > 255 * (len(data) - _HEADER.size) + 16:  # more than LZ4 can expand to
        raise ValueError("damaged flow file: the header's size is wrong")
    try:
        raw = lz4.block.decompress(data[_HEADER.size:], uncompressed_size=2 * n)
    except lz4.block.LZ4BlockError as e:
        raise ValueError(f"damaged flow file: {e}") from None
    if len(raw) != 2 * n:
        raise ValueError("damaged flow file: wrong length")
    planes = np.frombuffer(raw, np.uint8).reshape(2, n)
    steps = np.empty((n, 2), np.uint8)
    steps[:, 0], steps[:, 1] = planes[0], planes[1]
    flow = steps.view("<i2").reshape(h, w, 2).astype(np.float32)
    flow *= 1.0 / FLOW_STEPS
    return flow
