"""Prompts: what an artist tells the engine about one object on one frame.

Coordinates are pixels of the display window, origin at its top-left corner, x right, y down;
pixel (i, j) covers [i, i+1) x [j, j+1), so the centre of the top-left pixel is (0.5, 0.5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from mattetrack.errors import InputError

DEFAULT_STROKE_WIDTH = 8.0


@dataclass(frozen=True)
class Stroke:
    """A painted line: points (N, 2) float32 x, y (display-window pixels, N >= 1) joined by
    straight segments, `width` px wide; positive paints the object, negative the rest."""

    points: np.ndarray
    positive: bool = True
    width: float = DEFAULT_STROKE_WIDTH

    def samples(self, spacing: float) -> np.ndarray:
        """(M, 2) float32 points along the line, at most `spacing` px apart, ends included."""
        pts = np.asarray(self.points, np.float32).reshape(-1, 2)
        out = [pts[:1]]
        for a, b in zip(pts[:-1], pts[1:], strict=True):
            n = max(1, int(np.ceil(float(np.hypot(*(b - a))) / max(spacing, 1e-3))))
            t = np.arange(1, n + 1, dtype=np.float32)[:, None] / n
            out.append(a + t * (b - a))
        return np.concatenate(out)


@dataclass
class FramePrompts:
    """All prompts for one object on one frame.

    points: (N, 2) float32 x, y; labels: (N,) int8, 1 = positive (object), 0 = negative;
    box: (x0, y0, x1, y1) or None; mask: (H, W) float32 coverage in [0, 1] or None;
    strokes: painted lines, in the order given. base: (H, W) float32 coverage the artist was
    looking at when they first prompted this frame (a propagated matte) or None: the points and
    strokes correct it (a mask, when given, is the artist's own word and takes its place).
    """

    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int8))
    box: tuple[float, float, float, float] | None = None
    mask: np.ndarray | None = None
    strokes: list[Stroke] = field(default_factory=list)
    base: np.ndarray | None = None

    def add_point(self, x: float, y: float, positive: bool = True) -> None:
        self.points = np.vstack([self.points, np.array([[x, y]], np.float32)])
        self.labels = np.concatenate([self.labels, np.array([1 if positive else 0], np.int8)])

    @property
    def empty(self) -> bool:
        """No prompt at all (a base alone is not a prompt: it is what prompts correct)."""
        return (len(self.points) == 0 and self.box is None and self.mask is None
                and not self.strokes)

    @property
    def selects_nothing(self) -> bool:
        """Only negative prompts and nothing for them to take away from (no mask, no base): no
        selection can come of them."""
        return (self.dense is None and self.box is None and not (self.labels == 1).any()
                and not any(s.positive for s in self.strokes))

    @property
    def dense(self) -> np.ndarray | None:
        """The coverage the other prompts refine: the artist's mask, else the base."""
        return self.mask if self.mask is not None else self.base

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
        for stroke in self.strokes:
            for x, y in np.asarray(stroke.points).reshape(-1, 2):
                if not (0 <= x <= width and 0 <= y <= height):
                    kind = "stroke" if stroke.positive else "negative stroke"
                    raise InputError(
                        f"{where}: {kind} point {x:g},{y:g} is outside the {width}x{height} "
                        "frame")
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


_STROKE_RX = re.compile(rf"\A{_FRAME}({_NUM}(?:,{_NUM})*)\Z")


def parse_stroke(text: str, option: str = "--stroke") -> tuple[int | None, np.ndarray]:
    """`[F:]X0,Y0,X1,Y1,...` -> (frame or None, (N, 2) float32 points), N >= 1."""
    m = _STROKE_RX.match(text.strip())
    values = [float(v) for v in m.group(2).split(",")] if m else []
    if not m or len(values) % 2:
        raise InputError(f"{option} {text!r}: expected [FRAME:]X0,Y0,X1,Y1,... (pairs of "
                         "coordinates), e.g. 1001:100,80,140,120,180,130")
    frame = int(m.group(1)) if m.group(1) is not None else None
    return frame, np.array(values, np.float32).reshape(-1, 2)


def parse_mask(text: str, option: str = "--mask") -> tuple[int, str]:
    """`F:PATH` -> (frame, path). The frame is required: a mask is drawn on a particular frame."""
    m = _MASK_RX.match(text.strip())
    if not m:
        raise InputError(f"{option} {text!r}: expected FRAME:PATH, e.g. 0:masks/00000.png")
    return int(m.group(1)), m.group(2)
