"""Optical flows as MatteTrack keeps them (the memo of a result store): on a fixed grid, so a
flow read back is the flow computed, in a file that is quick to read.

A flow file is `MTFLOW1\\0`, height and width (little-endian uint32), then the zlib stream
(level 1) of the (h, w, 2) flow times FLOW_STEPS as little-endian int16. At 512x288 that is
~170 KB, written in ~4 ms and read in ~2.5 ms; the 16-bit PNG it replaced was ~185 KB and took
~10 ms to read (libpng's 16-bit path and a third channel PNG needs), and a correction round
reads a flow for every frame it re-runs (docs/tuning.md, "Remembered flows").
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

# Flows are used on a grid of 1/FLOW_STEPS px within +-FLOW_LIMIT px, so that one remembered as
# 16-bit values is the flow computed. Far finer than DIS resolves: on the DAVIS dev shots grids of
# 1/16 to 1/128 px move the mean J&F as much as any change of the flows does (docs/tuning.md).
FLOW_STEPS = 64
FLOW_LIMIT = 511.0  # * FLOW_STEPS fits an int16

_MAGIC = b"MTFLOW1\0"
_HEADER = struct.Struct("<8sII")


def quantize_flow(flow: np.ndarray) -> np.ndarray:
    """(h, w, 2) flow (px) on the kept grid, float32."""
    return (np.round(np.clip(flow, -FLOW_LIMIT, FLOW_LIMIT) * FLOW_STEPS)
            * (1.0 / FLOW_STEPS)).astype(np.float32)


def encode_flow(flow: np.ndarray) -> bytes:
    """The file bytes of an (h, w, 2) flow on the grid (`quantize_flow`)."""
    h, w = flow.shape[:2]
    steps = np.rint(np.clip(flow, -FLOW_LIMIT, FLOW_LIMIT) * FLOW_STEPS).astype("<i2")
    return _HEADER.pack(_MAGIC, h, w) + zlib.compress(steps.tobytes(), 1)


def decode_flow(data: bytes) -> np.ndarray:
    """The (h, w, 2) float32 flow (px) of a flow file's bytes; ValueError when they are not
    one (a damaged or foreign file)."""
    if len(data) < _HEADER.size:
        raise ValueError("too short for a flow file")
    magic, h, w = _HEADER.unpack_from(data)
    if magic != _MAGIC:
        raise ValueError("not a flow file")
    try:
        raw = zlib.decompress(data[_HEADER.size:])
    except zlib.error as e:
        raise ValueError(f"damaged flow file: {e}") from None
    if len(raw) != h * w * 4:
        raise ValueError("damaged flow file: wrong length")
    flow = np.frombuffer(raw, "<i2").reshape(h, w, 2).astype(np.float32)
    flow *= 1.0 / FLOW_STEPS
    return flow
