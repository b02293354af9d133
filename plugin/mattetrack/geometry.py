"""Pixel windows, in OpenEXR's convention.

A `Box2i` is inclusive on both corners, like OpenEXR's `Imath::Box2i`: a 1920x1080 display window
is (0, 0)-(1919, 1079). Arrays in MatteTrack cover the *display window* (shape (height, width),
index [y, x], origin top-left); the data window is where a file actually has pixels and may be
smaller, larger (overscan) or offset.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Box2i:
    """Inclusive integer pixel box (xmin, ymin)-(xmax, ymax)."""

    xmin: int
    ymin: int
    xmax: int
    ymax: int

    @classmethod
    def from_size(cls, width: int, height: int, x: int = 0, y: int = 0) -> Box2i:
        return cls(x, y, x + width - 1, y + height - 1)

    @property
    def width(self) -> int:
        return self.xmax - self.xmin + 1

    @property
    def height(self) -> int:
        return self.ymax - self.ymin + 1

    @property
    def empty(self) -> bool:
        return self.xmax < self.xmin or self.ymax < self.ymin

    def intersect(self, other: Box2i) -> Box2i | None:
        box = Box2i(
            max(self.xmin, other.xmin),
            max(self.ymin, other.ymin),
            min(self.xmax, other.xmax),
            min(self.ymax, other.ymax),
        )
        return None if box.empty else box

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.xmin, self.ymin, self.xmax, self.ymax)
