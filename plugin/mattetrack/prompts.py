"""Prompts: what an artist tells the engine about one object on one frame.

Coordinates are pixels of the display window, origin at its top-left corner, x right, y down;
pixel (i, j) covers [i, i+1) x [j, j+1), so the centre of the top-left pixel is (0.5, 0.5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from mattetrack.errors import InputError


@dataclass
class FramePrompts:
    """All prompts for one object on one frame.

    points: (N, 2) float32 x, y; labels: (N,) int8, 1 = positive (object), 0 = negative;
    box: (x0, y0, x1, y1) or None; mask: (H, W) float32 coverage in [0, 1] or None.
    """

    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int8))
    box: tuple[float, float, float, float] | None = None
    mask: np.ndarray | None = None

    def add_point(self, x: float, y: float, positive: bool = True) -> None:
        self.points = np.vstack([self.points, np.array([[x, y]], np.float32)])
        self.labels = np.concatenate([self.labels, np.array([1 if positive else 0], np.int8)])

    @property
    def empty(self) -> bool:
        return len(self.points) == 0 and self.box is None and self.mask is None

    def validate(self, width: int, height: int, where: str = "prompt") -> None:
        """Raise InputError when a point or box lies outside a width x height display window."""
        for (x, y), label in zip(self.points, self.labels, strict=True):
            if not (0 <= x <= width and 0 <= y <= height):
                kind = "point" if label else "negative point"
                raise InputError(
                    f"{where}: {kind} {x:g},{y:g} is outside the {width}x{height} frame"
                )
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            if not (x1 > x0 and y1 > y0):
                raise InputError(f"{where}: box {x0:g},{y0:g},{x1:g},{y1:g} needs x1 > x0, y1 > y0")
            if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
                raise InputError(
                    f"{where}: box {x0:g},{y0:g},{x1:g},{y1:g} is off the {width}x{height} frame"
                )
        if self.mask is not None and self.mask.shape != (height, width):
            h, w = self.mask.shape[:2]
            raise InputError(f"{where}: mask is {w}x{h}, the frame is {width}x{height}")


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_FRAME = r"(?:(-?\d+):)?"
_POINT_RX = re.compile(rf"\A{_FRAME}({_NUM}),({_NUM})\Z")
_BOX_RX = re.compile(rf"\A{_FRAME}({_NUM}),({_NUM}),({_NUM}),({_NUM})\Z")
_MASK_RX = re.compile(r"\A(-?\d+):(.+)\Z")


def parse_point(text: str, option: str = "--point") -> tuple[int | None, float, float]:
    """`[F:]X,Y` -> (frame or None, x, y)."""
    m = _POINT_RX.match(text.strip())
    if not m:
        raise InputError(f"{option} {text!r}: expected [FRAME:]X,Y, e.g. 1001:420,310")
    frame = int(m.group(1)) if m.group(1) is not None else None
    return frame, float(m.group(2)), float(m.group(3))


BoxXY = tuple[float, float, float, float]


def parse_box(text: str, option: str = "--box") -> tuple[int | None, BoxXY]:
    """`[F:]X0,Y0,X1,Y1` -> (frame or None, (x0, y0, x1, y1))."""
    m = _BOX_RX.match(text.strip())
    if not m:
        raise InputError(
            f"{option} {text!r}: expected [FRAME:]X0,Y0,X1,Y1, e.g. 1001:100,80,400,360"
        )
    frame = int(m.group(1)) if m.group(1) is not None else None
    x0, y0, x1, y1 = (float(m.group(i)) for i in range(2, 6))
    if not (x1 > x0 and y1 > y0):
        raise InputError(f"{option} {text!r}: the box needs X1 > X0 and Y1 > Y0")
    return frame, (x0, y0, x1, y1)


def parse_mask(text: str, option: str = "--mask") -> tuple[int, str]:
    """`F:PATH` -> (frame, path). The frame is required: a mask is drawn on a particular frame."""
    m = _MASK_RX.match(text.strip())
    if not m:
        raise InputError(f"{option} {text!r}: expected FRAME:PATH, e.g. 0:masks/00000.png")
    return int(m.group(1)), m.group(2)
