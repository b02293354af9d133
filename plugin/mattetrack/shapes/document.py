"""The shapes document: docs/ARCHITECTURE.md's JSON form, read and written.

    {"width": 854, "height": 480, "objects": [
      {"name": "dog", "shapes": [
        {"closed": true, "hole": false,
         "points": {"0": [[x, y, lx, ly, rx, ry], ...], "1": [...]}}]}]}

Points are pixels of the display window, origin top-left, y down; handles absolute. A shape has
the same number of points on every frame it appears on (frames it is absent from are not
listed), and a hole cuts the nearest non-hole shape listed before it. An optional "mattes" key,
{"exr": true, "files": {"0": "/abs/mattes.0000.exr", ...}}, names the mattes the shapes were
fitted to (readers that do not know it ignore it).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mattetrack.errors import InputError
from mattetrack.store import atomic_write_bytes


@dataclass
class Shape:
    """frames: {frame: (n, 6) float64 rows x, y, lx, ly, rx, ry}, the same n on every frame."""

    frames: dict[int, np.ndarray] = field(default_factory=dict)
    hole: bool = False
    closed: bool = True

    @property
    def point_count(self) -> int:
        return len(next(iter(self.frames.values()))) if self.frames else 0


@dataclass
class ShapeObject:
    name: str
    shapes: list[Shape] = field(default_factory=list)


@dataclass
class ShapeDocument:
    """mattes: {frame: matte file} the shapes were fitted to (absolute paths; empty when not
    known), mattes_exr: whether those are EXR; they let a saved document be converted to
    another format (a Nuke script reads the mattes) without fitting again."""

    width: int
    height: int
    objects: list[ShapeObject] = field(default_factory=list)
    mattes: dict[int, str] = field(default_factory=dict)
    mattes_exr: bool = True

    def to_json(self) -> dict:
        data = self._shapes_json()
        if self.mattes:
            data["mattes"] = {"exr": self.mattes_exr,
                              "files": {str(f): p for f, p in sorted(self.mattes.items())}}
        return data

    def _shapes_json(self) -> dict:
        return {
            "width": self.width,
            "height": self.height,
            "objects": [
                {"name": o.name, "shapes": [
                    {"closed": s.closed, "hole": s.hole,
                     "points": {str(f): np.round(rows, 4).tolist()
                                for f, rows in sorted(s.frames.items())}}
                    for s in o.shapes]}
                for o in self.objects
            ],
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON atomically (temporary name, then rename)."""
        text = json.dumps(self.to_json(), separators=(",", ":"))
        atomic_write_bytes(Path(path), text.encode())

    @classmethod
    def from_json(cls, data: dict, where: str = "shapes") -> ShapeDocument:
        try:
            doc = cls(int(data["width"]), int(data["height"]))
            for o in data["objects"]:
                obj = ShapeObject(str(o["name"]))
                for s in o["shapes"]:
                    frames = {int(f): np.asarray(rows, np.float64).reshape(-1, 6)
                              for f, rows in s["points"].items()}
                    counts = {len(r) for r in frames.values()}
                    if len(counts) > 1:
                        raise ValueError(f"a shape of {obj.name!r} changes its point count")
                    obj.shapes.append(Shape(frames, bool(s.get("hole", False)),
                                            bool(s.get("closed", True))))
                doc.objects.append(obj)
            mattes = data.get("mattes")
            if mattes is not None:
                doc.mattes = {int(f): str(p) for f, p in mattes["files"].items()}
                doc.mattes_exr = bool(mattes.get("exr", True))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise InputError(f"{where}: not a MatteTrack shapes document ({err})") from None
        return doc

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ShapeDocument:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise InputError(f"{path}: cannot read shapes JSON ({err})") from None
        return cls.from_json(data, str(path))

    def frames(self) -> list[int]:
        return sorted({f for o in self.objects for s in o.shapes for f in s.frames})
