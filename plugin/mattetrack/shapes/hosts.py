"""Shape coordinates in each host's convention (ours: origin top-left, y down).

- Nuke: pixels, origin bottom-left (y up). Tangents of a Roto point are relative to it.
- Blender masks: normalised to the frame, origin bottom-left, with the shorter axis scaled by the
  aspect so that a circle stays round: x in [0, 1] and y in [0.5 - h/2w, 0.5 + h/2w] for a
  wide frame (docs/CONVENTIONS.md, "Blender").
- Fusion polylines: relative to the frame centre in units of the frame width (x in
  [-0.5, 0.5]), y up; handles relative to their point. That y is in width units (aspect kept, as
  Fusion's masks keep their shape when the frame's aspect changes) is our reading; the facts
  file marks Fusion's aspect handling as unverified, so it lives in this one function.
"""

from __future__ import annotations

import numpy as np


def to_nuke(rows: np.ndarray, height: int) -> np.ndarray:
    """(n, 6) rows x, y, lx, ly, rx, ry (docs/ARCHITECTURE.md) -> (n, 6) centre x, y, left tangent
    (dx, dy), right tangent (dx, dy): pixels, origin bottom-left, tangents relative."""
    x, y = rows[:, 0], height - rows[:, 1]
    lx, ly = rows[:, 2] - rows[:, 0], -(rows[:, 3] - rows[:, 1])
    rx, ry = rows[:, 4] - rows[:, 0], -(rows[:, 5] - rows[:, 1])
    return np.stack([x, y, lx, ly, rx, ry], axis=1)


def to_blender(rows: np.ndarray, width: int, height: int) -> np.ndarray:
    """(n, 6) rows -> (n, 6) co, handle_left, handle_right in Blender's mask space (absolute)."""
    scale = float(max(width, height))
    ox, oy = (scale - width) / 2, (scale - height) / 2  # centre the frame in the square

    def conv(px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (px + ox) / scale, (height - py + oy) / scale

    out = np.empty_like(rows, dtype=np.float64)
    for i in range(3):
        out[:, 2 * i], out[:, 2 * i + 1] = conv(rows[:, 2 * i], rows[:, 2 * i + 1])
    return out


def from_blender(co: np.ndarray, width: int, height: int) -> np.ndarray:
    """Inverse of `to_blender` for (n, 2) points: Blender mask space -> our pixels."""
    scale = float(max(width, height))
    ox, oy = (scale - width) / 2, (scale - height) / 2
    return np.stack([co[:, 0] * scale - ox, height - (co[:, 1] * scale - oy)], axis=1)


def to_fusion(rows: np.ndarray, width: int, height: int) -> np.ndarray:
    """(n, 6) rows -> (n, 6) X, Y, LX, LY, RX, RY: point relative to the frame centre in frame
    widths, y up; handles relative to their point."""
    x = (rows[:, 0] - width / 2) / width
    y = (height / 2 - rows[:, 1]) / width
    lx, ly = (rows[:, 2] - rows[:, 0]) / width, -(rows[:, 3] - rows[:, 1]) / width
    rx, ry = (rows[:, 4] - rows[:, 0]) / width, -(rows[:, 5] - rows[:, 1]) / width
    return np.stack([x, y, lx, ly, rx, ry], axis=1)
